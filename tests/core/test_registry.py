"""The one table of schemes, and what derives from it."""

import pytest

from lgi_kernels import RenderMode
from lgi_studio.core import registry, scheme_names
from lgi_studio.core.fit import FitConfig
from lgi_studio.core.model import Gaussians
from lgi_studio.core.schemes import get_scheme
from lgi_studio.io import lgi_format
from tests.conftest import random_gaussians


def test_every_table_derives_from_the_registry():
    assert tuple(registry.REGISTRY) == scheme_names.SCHEMES
    assert scheme_names.DEFAULT_SCHEME == "lgi-sq"
    assert {name: e.file_id for name, e in registry.REGISTRY.items()} == lgi_format.SCHEME_IDS
    assert len(set(lgi_format.SCHEME_IDS.values())) == len(registry.REGISTRY)
    for name, entry in registry.REGISTRY.items():
        scheme = get_scheme(name)
        assert type(scheme).__name__ == entry.class_name
        assert scheme.name == name
        assert scheme.sized_codebook == entry.sized_codebook


def test_file_ids_are_those_files_already_carry():
    """Ids are stored in every .lgi: renumbering one would misread old files."""
    assert registry.SCHEME_IDS == {"float32": 0, "vq": 1, "gaussianimage": 2, "lgi": 3, "lgi-sq": 4}


@pytest.mark.parametrize("name", list(registry.REGISTRY))
def test_sized_codebook_says_whether_the_size_changes_the_file(name):
    """A scheme marked sized stores a different file at another codebook size; one that is not ignores it,
    and so must refuse it."""
    g = Gaussians(*random_gaussians(60, 3), (40, 30))
    scheme = get_scheme(name)
    mode = RenderMode.ACCUMULATED_SUM
    sizes = {len(scheme.pack(scheme.quantize(g, mode, scheme.train(g, mode, k, seed=0)))) for k in (4, 32)}
    assert (len(sizes) == 2) == registry.REGISTRY[name].sized_codebook


@pytest.mark.parametrize("name", ["lgi-sq", "gaussianimage", "float32"])
def test_a_scheme_without_a_sized_codebook_refuses_one(name):
    with pytest.raises(ValueError, match=f"scheme {name} has no codebook size to set"):
        FitConfig(count=100, scheme=name, codebook_size=64)
    FitConfig(count=100, scheme=name)  # without one it is fine


@pytest.mark.parametrize("name", ["lgi", "vq"])
def test_a_sized_scheme_takes_one(name):
    assert FitConfig(count=100, scheme=name, codebook_size=64).codebook_size == 64


def test_the_registry_imports_nothing_heavy():
    import subprocess
    import sys

    code = "import sys, lgi_studio.core.registry; print(sorted(m for m in ('numpy', 'taichi') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
