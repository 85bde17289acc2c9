"""``ansible-test sanity`` on the collection as it ships: the built tarball extracted under
``ansible_collections/aiconform/conformance/`` (the layout ansible-test needs), plus ``tests/sanity``.

ansible-test runs each sanity test in a virtual environment of its own, which it seeds with pip through a
``get-pip.py`` it downloads from a host CI cannot reach; ``get_pip_offline.py`` stands in for it (pip from the
interpreter's bundled wheel, the pinned packages from the package index). Its venvs are cached under
``~/.cache/aiconform/ansible-test`` (HOME of the ansible-test process), keyed by ansible-core's version.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tarfile
import venv
from pathlib import Path

from aiconform import PROJECT_ROOT
from helpers.collection import build, pinned_ansible_core

CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "aiconform" / "ansible-test"
HERE = Path(__file__).resolve().parent


def ansible_test_venv() -> Path:
    """A venv holding ansible-core as requirements.lock pins it (ansible-test comes with it)."""
    core = pinned_ansible_core()
    target = CACHE / f"venv-{core}-py{sys.version_info[0]}.{sys.version_info[1]}"
    if (target / ".complete").exists():
        return target
    venv.EnvBuilder(with_pip=True, clear=True).create(target)
    proc = subprocess.run([str(target / "bin" / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check",
                           f"ansible-core=={core}"], capture_output=True, text=True, timeout=900)
    if proc.returncode != 0:
        shutil.rmtree(target, ignore_errors=True)
        raise RuntimeError(f"pip install ansible-core failed:\n{proc.stdout[-2000:]}{proc.stderr[-2000:]}")
    (target / ".complete").write_text(core)
    return target


def home(venv_dir: Path) -> Path:
    """HOME for ansible-test, with the get-pip stand-in where it looks for its cached copy."""
    source = next((venv_dir / "lib").glob("python3*/site-packages/ansible_test/_internal/python_requirements.py"))
    m = re.search(r"pip='([0-9.]+)'", source.read_text())
    if not m:
        raise RuntimeError(f"cannot tell which pip {source} bootstraps")
    cache = CACHE / "home" / ".ansible" / "test" / "cache"
    cache.mkdir(parents=True, exist_ok=True)
    shutil.copy(HERE / "get_pip_offline.py", cache / f"get_pip_{m.group(1).replace('.', '_')}.py")
    return CACHE / "home"


def layout(root: Path) -> Path:
    """The built collection at root/ansible_collections/aiconform/conformance, with tests/sanity."""
    tarball = build(root / "build")
    collection = root / "ansible_collections" / "aiconform" / "conformance"
    collection.mkdir(parents=True)
    with tarfile.open(tarball) as tar:
        tar.extractall(collection, filter="data")
    shutil.copytree(PROJECT_ROOT / "tests" / "sanity", collection / "tests" / "sanity")
    return collection


def run_sanity(collection: Path, *args: str, timeout: float = 1800) -> subprocess.CompletedProcess[str]:
    venv_dir = ansible_test_venv()
    env = {"PATH": os.pathsep.join([str(venv_dir / "bin"), "/usr/local/bin", "/usr/bin", "/bin"]),
           "HOME": str(home(venv_dir)), "LANG": "C.UTF-8"}
    python = f"{sys.version_info[0]}.{sys.version_info[1]}"
    return subprocess.run([str(venv_dir / "bin" / "ansible-test"), "sanity", "--requirements", "--python", python,
                           "--color", "no", *args], cwd=collection, env=env, capture_output=True, text=True,
                          timeout=timeout)
