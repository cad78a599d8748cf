"""pyproject.toml lists the packages by hand (kernels/ installs as lgi_kernels); a package missing from the
list still works in an editable install and is missing from a wheel or the PyInstaller build."""

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_every_package_folder_is_listed_in_pyproject():
    # read by pattern: tomllib is Python 3.11+, and the project supports 3.10
    text = (ROOT / "pyproject.toml").read_text()
    listed = set(ast.literal_eval(re.search(r"^packages = (\[.*\])$", text, re.M).group(1)))
    package_dir = dict(re.findall(r'"([\w.]+)" = "([\w/]+)"', re.search(r"^package-dir = (.*)$", text, re.M).group(1)))
    assert package_dir == {"lgi_studio": "lgi_studio", "lgi_kernels": "kernels"}
    found = set()
    for name, folder in package_dir.items():
        for init in (ROOT / folder).rglob("__init__.py"):
            parts = init.parent.relative_to(ROOT / folder).parts
            found.add(".".join((name, *parts)))
    assert found == listed
