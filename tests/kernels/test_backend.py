"""Backend start-up: lazy, idempotent, thread-safe, with a clear reason and a clear refusal."""

import os
import subprocess
import sys
import threading

import pytest

from lgi_kernels import BackendError, active_backend, ensure_backend
from lgi_kernels import backend as backend_module


def run_python(code: str, **env: str) -> subprocess.CompletedProcess:
    full_env = {k: v for k, v in os.environ.items() if k != "LGI_BACKEND"}
    full_env.update(env)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=full_env, timeout=120)


def test_importing_the_app_starts_neither_taichi_nor_qt():
    heavy = "('taichi', 'PySide6', 'lgi_kernels')"
    code = f"import sys, lgi_studio, lgi_studio.cli; print([m for m in sys.modules if m.split('.')[0] in {heavy}])"
    out = run_python(code)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_importing_the_kernels_does_not_start_a_backend():
    out = run_python("import lgi_kernels; print(lgi_kernels.active_backend())")
    assert out.stdout.strip() == "None"


def test_ensure_backend_is_idempotent_and_thread_safe():
    results = []
    threads = [threading.Thread(target=lambda: results.append(ensure_backend())) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(results)) == 1
    assert results[0] == active_backend() == ensure_backend("cpu")


def test_switching_backend_in_a_running_process_is_refused():
    with pytest.raises(BackendError, match="already started as cpu"):
        ensure_backend("vulkan")


def test_unknown_backend_name_is_refused():
    with pytest.raises(BackendError, match="unknown backend 'tpu'"):
        ensure_backend("tpu")


def test_environment_variable_selects_the_backend():
    out = run_python(
        "from lgi_kernels import ensure_backend; i = ensure_backend(); print(i.name, '|', i.reason)", LGI_BACKEND="cpu"
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "cpu | cpu requested explicitly"


def test_auto_selection_says_why_it_fell_back():
    out = run_python("from lgi_kernels import ensure_backend; i = ensure_backend(); print(i.name, '|', i.reason)")
    assert out.returncode == 0, out.stderr
    name, reason = out.stdout.strip().split(" | ")
    assert name in ("cuda", "vulkan", "metal", "cpu")
    if name == "cpu":
        assert reason.startswith("CUDA not available: ")
        assert reason.endswith(", using CPU")


@pytest.mark.skipif(backend_module._unavailable_reason("cuda") is None, reason="this machine has CUDA")
def test_missing_gpu_gives_a_clear_error():
    out = run_python("from lgi_kernels import ensure_backend; ensure_backend('cuda')")
    assert out.returncode != 0
    assert "BackendError: cuda backend not available: " in out.stderr
