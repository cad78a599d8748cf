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


def test_cache_folders_move_to_the_temporary_folder_when_home_is_unusable(tmp_path, monkeypatch):
    import tempfile

    not_a_folder = tmp_path / "home"
    not_a_folder.write_text("a file where HOME should be")
    for name in ("XDG_CACHE_HOME", backend_module.CACHE_ENV_VAR):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(not_a_folder))
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    cache = backend_module.prepare_cache_folders()
    assert cache.startswith(str(tmp_path / "tmp" / "lgi-studio-"))
    assert os.environ["XDG_CACHE_HOME"] in cache  # Taichi's own files follow
    assert os.environ[backend_module.CACHE_ENV_VAR] == cache


def test_cache_folder_follows_xdg_and_an_explicit_choice_wins(tmp_path, monkeypatch):
    monkeypatch.delenv(backend_module.CACHE_ENV_VAR, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert backend_module.prepare_cache_folders() == str(tmp_path / "xdg" / "lgi-studio" / "taichi")
    monkeypatch.setenv(backend_module.CACHE_ENV_VAR, str(tmp_path / "mine"))
    assert backend_module.prepare_cache_folders() == str(tmp_path / "mine")


def test_importing_the_kernels_without_home_does_not_abort(tmp_path):
    # Taichi's import aborts the process when neither HOME nor XDG_CACHE_HOME is set
    drop = ("HOME", "XDG_CACHE_HOME", backend_module.CACHE_ENV_VAR)
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env["TMPDIR"] = str(tmp_path)
    code = "import os, lgi_kernels, taichi; print(os.environ['TI_OFFLINE_CACHE_FILE_PATH'])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().startswith(str(tmp_path))
