"""Issue #19: `pip install aiconform` works anywhere. The wheel carries the aiconform.conformance collection
(site-packages/ansible_collections/aiconform/conformance, see setup.py), so the installed `aiconform` command runs
the pipeline from any directory and writes its reports there, never into site-packages.

The wheel is built from the checkout (``pip wheel --no-deps``) and installed with ``--no-deps`` into a fresh venv
whose only other packages are the runtime dependencies (requirements.lock, a cached venv reached through a .pth
file): no checkout on sys.path, no editable aiconform, no PYTHONPATH, no ansible.cfg. kubernetes.core is where a user
puts it with ``ansible-galaxy collection install`` (~/.ansible/collections). site-packages is made read-only for the
run, as a system-wide or execution-environment install is.
"""
from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import venv
import zipfile
from pathlib import Path
from typing import Any

import pytest
from helpers.collection import build_wheel, runtime_venv, site_packages

from aiconform import lab
from aiconform.toolchain import BIN_DIR, COLLECTIONS_DIR

pytestmark = pytest.mark.e2e
REQ = "dra_support"
COLLECTION = Path("ansible_collections", "aiconform", "conformance")


def _tree(root: Path) -> dict[str, tuple[int, int]]:
    """Every file under root with its size and mtime (what a write would change)."""
    out = {}
    for path in root.rglob("*"):
        if path.is_file():
            st = path.stat()
            out[str(path.relative_to(root))] = (st.st_size, st.st_mtime_ns)
    return out


def _chmod_tree(root: Path, writable: bool) -> None:
    for path in [root, *root.rglob("*")]:
        if path.is_symlink():
            continue
        mode = path.stat().st_mode
        path.chmod(mode | stat.S_IWUSR if writable else mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))


class Installed:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.wheel = build_wheel(root / "dist")
        runtime = runtime_venv()
        self.runtime_bin = runtime / "bin"  # ansible-playbook, ansible-runner's scripts
        self.venv = root / "venv"
        venv.EnvBuilder(with_pip=False).create(self.venv)
        self.site = site_packages(self.venv)
        (self.site / "_aiconform_runtime_deps.pth").write_text(str(site_packages(runtime)) + "\n")
        proc = subprocess.run([str(self.venv / "bin" / "python"), "-m", "pip", "install", "--no-deps", "--no-index",
                               "--disable-pip-version-check", "-q", str(self.wheel)],
                              capture_output=True, text=True, timeout=300, env=self.env(), cwd=root)
        if proc.returncode != 0:
            raise RuntimeError(f"pip install of the wheel failed:\n{proc.stdout}{proc.stderr}")
        self.home = root / "home"
        # kubernetes.core as `ansible-galaxy collection install kubernetes.core` puts it (Galaxy is unreachable here:
        # the copy make setup fetched)
        shutil.copytree(COLLECTIONS_DIR / "ansible_collections" / "kubernetes" / "core",
                        self.home / ".ansible" / "collections" / "ansible_collections" / "kubernetes" / "core")
        self.work = root / "work"
        self.work.mkdir()

    def env(self) -> dict[str, str]:
        """A user's shell: the venv's bin first (ansible-playbook from the runtime deps after it), no PYTHONPATH,
        no ANSIBLE_* settings, HOME in the test's directory."""
        return {"PATH": os.pathsep.join([str(self.venv / "bin"), str(self.runtime_bin),
                                         str(BIN_DIR), "/usr/local/bin", "/usr/bin", "/bin"]),
                "HOME": str(self.root / "home"), "LANG": "C.UTF-8", "NO_PROXY": "127.0.0.1,localhost",
                "no_proxy": "127.0.0.1,localhost"}

    def aiconform(self, *args: str, timeout: float = 900) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(self.venv / "bin" / "aiconform"), *args], cwd=self.work, env=self.env(),
                              capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    return Installed(tmp_path_factory.mktemp("wheel"))


@pytest.fixture(scope="module")
def run(installed: Installed) -> dict[str, Any]:
    before = _tree(installed.site)
    _chmod_tree(installed.site, writable=False)
    try:
        version = installed.aiconform("--version", timeout=60)
        proc = installed.aiconform("conformance", "--only", REQ)
    finally:
        _chmod_tree(installed.site, writable=True)
    return {"version": version, "proc": proc, "before": before, "after": _tree(installed.site),
            "output": proc.stdout[-6000:] + proc.stderr[-3000:]}


def test_the_wheel_carries_the_collection(installed: Installed) -> None:
    names = set(zipfile.ZipFile(installed.wheel).namelist())
    for rel in ("galaxy.yml", "playbooks/conformance.yml", "plugins/module_utils/about.py",
                "roles/aiconform_preflight/meta/argument_specs.yml", "meta/runtime.yml", "inventory/sample/hosts.yml"):
        assert str(COLLECTION / rel) in names, f"{rel} is not in {installed.wheel.name}"
    assert not any(n.startswith((f"{COLLECTION}/tests/", f"{COLLECTION}/aiconform/")) for n in names)
    assert (installed.site / COLLECTION / "playbooks" / "conformance.yml").is_file()


def test_the_installed_package_is_not_the_checkout(installed: Installed) -> None:
    proc = subprocess.run([str(installed.venv / "bin" / "python"), "-c",
                           "import aiconform, sys; print(aiconform.__file__); print(aiconform.IN_CHECKOUT); "
                           "print(aiconform.COLLECTION_ROOT)"],
                          capture_output=True, text=True, env=installed.env(), cwd=installed.work)
    assert proc.returncode == 0, proc.stderr
    file, in_checkout, collection = proc.stdout.split()
    assert Path(file).is_relative_to(installed.site), file
    assert in_checkout == "False"
    assert Path(collection) == installed.site / COLLECTION


def test_version(run: dict[str, Any]) -> None:
    proc = run["version"]
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "aiconform 0.1.0"


def test_conformance_runs_from_any_directory(run: dict[str, Any]) -> None:
    proc = run["proc"]
    assert proc.returncode == 0, run["output"]
    assert "No module named" not in proc.stdout + proc.stderr, run["output"]
    assert "aiconform run (SIMULATED): every selected MUST requirement is Implemented" in proc.stdout, run["output"]


def test_reports_go_to_the_working_directory_not_site_packages(installed: Installed, run: dict[str, Any]) -> None:
    latest = installed.work / "reports" / lab.LAB_HOST / "latest"
    assert (latest / "results.json").is_file(), run["output"]
    statuses = {r["id"]: r["status"] for r in json.loads((latest / "results.json").read_text())["requirements"]}
    assert statuses.get(REQ) == "Implemented", statuses
    assert not (installed.site / COLLECTION / "reports").exists()
    changed = {k for k in run["before"].keys() | run["after"].keys() if run["before"].get(k) != run["after"].get(k)}
    assert not changed, f"written into site-packages: {sorted(changed)[:20]}"
