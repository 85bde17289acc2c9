"""The wheel also installs the aiconform.conformance collection, as ``ansible_collections/aiconform/conformance/``.

ansible-core finds collections in ``ansible_collections/`` directories on ``sys.path`` (that is how the ``ansible``
package ships its collections), so after ``pip install aiconform`` the ``aiconform`` command and
``ansible-playbook aiconform.conformance.<playbook>`` run from any directory. One source: the files are taken from
this checkout (or sdist) at build time, chosen as ``ansible-galaxy collection build`` chooses them (its default
ignore patterns plus ``build_ignore`` in galaxy.yml), plus galaxy.yml itself (the collection's metadata, which
ansible-galaxy turns into MANIFEST.json). Editable installs copy nothing: the checkout is the collection there.
Everything else is in pyproject.toml.
"""
from __future__ import annotations

import fnmatch
import os
import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.command.sdist import sdist

ROOT = Path(__file__).resolve().parent
TARGET = Path("ansible_collections", "aiconform", "conformance")
# ansible-galaxy's own (ansible/galaxy/collection/__init__.py, _build_files_manifest_walk) minus galaxy.yml, plus
# what an sdist adds at its root (and its release tree while it is made)
DEFAULT_IGNORE = ["MANIFEST.json", "FILES.json", "galaxy.yaml", ".git", "*.pyc", "*.retry", "tests/output",
                  "aiconform-conformance-*.tar.gz", "PKG-INFO", "setup.cfg", "aiconform-[0-9]*"]
IGNORE_DIRS = {"CVS", ".bzr", ".hg", ".git", ".svn", "__pycache__", ".tox"}


def build_ignore(root: Path) -> list[str]:
    """galaxy.yml's ``build_ignore`` list (a plain YAML list of strings; read without PyYAML, which the isolated
    build environment lacks)."""
    patterns: list[str] = []
    inside = False
    for line in (root / "galaxy.yml").read_text(encoding="utf-8").splitlines():
        if line.startswith("build_ignore:"):
            inside = True
        elif inside and line.lstrip().startswith("- "):
            patterns.append(line.lstrip()[2:].split(" #")[0].strip().strip("'\""))
        elif inside and line.strip() and not line.lstrip().startswith("#"):
            break
    if not patterns:
        raise SystemExit("galaxy.yml has no build_ignore list: refusing to copy the whole tree into the wheel")
    return patterns


def collection_files(root: Path = ROOT) -> list[str]:
    """The collection's files, relative to ``root``, sorted."""
    ignore = DEFAULT_IGNORE + build_ignore(root)
    found: list[str] = []

    def ignored(rel: str) -> bool:
        return any(fnmatch.fnmatch(rel, pattern) for pattern in ignore)

    def walk(directory: Path, rel_dir: str) -> None:
        for entry in sorted(os.scandir(directory), key=lambda e: e.name):
            rel = f"{rel_dir}{entry.name}"
            if entry.is_dir():
                if entry.name in IGNORE_DIRS or ignored(rel) or entry.is_symlink():
                    continue  # a linked directory: ansible-galaxy keeps it as a link, a wheel cannot
                walk(Path(entry.path), rel + "/")
            elif entry.is_file() and not ignored(rel):
                found.append(rel)

    walk(root, "")
    return found


class BuildPyWithCollection(build_py):
    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return
        target = Path(self.build_lib) / TARGET
        shutil.rmtree(target, ignore_errors=True)  # build/lib persists between builds: no file removed since
        for rel in collection_files():
            dest = target / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(ROOT / rel, dest)


class SdistWithCollection(sdist):
    """The sdist carries the collection's files too, so a wheel built from it has them."""

    def make_release_tree(self, base_dir: str, files: list[str]) -> None:
        collection = collection_files()  # before base_dir (in this directory) exists
        super().make_release_tree(base_dir, files)
        for rel in collection:
            dest = Path(base_dir) / rel
            if not dest.exists():
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(ROOT / rel, dest)


setup(cmdclass={"build_py": BuildPyWithCollection, "sdist": SdistWithCollection})
