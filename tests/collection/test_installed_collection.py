"""Issue #19: the collection runs on its own, as from AWX/AAP or an execution environment.

Built with ``ansible-galaxy collection build``, installed into an empty directory, run with a virtual environment
holding only ansible-core and the collection's ``requirements.txt`` (no ``aiconform`` package, no checkout, no
ansible.cfg): ``ansible-playbook aiconform.conformance.conformance`` against the simulated lab must run every
phase and write its reports outside the collection (``reports/`` in the working directory by default).
"""
from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from helpers.collection import build, clean_env, clean_venv, install
from helpers.sim import SimHandle

from aiconform import lab

pytestmark = pytest.mark.e2e


class Installed:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.venv = clean_venv()
        self.collections = root / "collections"
        self.collections.mkdir()
        self.collection = install(build(root / "build"), self.collections, self.venv / "bin" / "ansible-galaxy")
        self.home = root / "home"
        self.home.mkdir()
        self.work = root / "work"
        self.work.mkdir()

    def env(self, **extra: str) -> dict[str, str]:
        return clean_env(self.venv, self.collections, self.home, extra)

    def playbook(self, *args: str, timeout: float = 900, env: dict[str, str] | None = None
                 ) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(self.venv / "bin" / "ansible-playbook"), *args], cwd=self.work,
                              env=env or self.env(), capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    return Installed(tmp_path_factory.mktemp("installed"))


@pytest.fixture(scope="module")
def run(installed: Installed, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    sim = SimHandle(lab.LAB_SCENARIO, workdir=tmp_path_factory.mktemp("sim"))
    try:
        inventory = installed.root / "inventory.yml"
        lab.write_inventory(inventory, sim.kubeconfig)
        start = time.monotonic()
        proc = installed.playbook("aiconform.conformance.conformance", "-i", str(inventory))
        return {"proc": proc, "wall": time.monotonic() - start,
                "output": proc.stdout[-6000:] + proc.stderr[-3000:]}
    finally:
        sim.stop()


def test_the_clean_venv_has_no_aiconform_package(installed: Installed) -> None:
    proc = subprocess.run([str(installed.venv / "bin" / "python"), "-c", "import aiconform"], capture_output=True,
                          text=True, env=installed.env(), cwd=installed.work)
    assert proc.returncode != 0 and "No module named 'aiconform'" in proc.stderr


def test_the_installed_collection_is_the_built_one(installed: Installed) -> None:
    manifest = json.loads((installed.collection / "MANIFEST.json").read_text())
    assert manifest["collection_info"]["namespace"] == "aiconform"
    assert (installed.collection / "playbooks" / "conformance.yml").is_file()
    assert not (installed.collection / "aiconform").exists(), "the CLI package is not part of the collection"
    assert not (installed.collection / "tests").exists()


def test_conformance_by_fqcn_runs_every_phase(run: dict[str, Any]) -> None:
    proc = run["proc"]
    assert proc.returncode == 0, run["output"]
    out = proc.stdout + proc.stderr
    assert "No module named" not in out, run["output"]
    for phase in ("Preflight", "Install phase", "Verify phase", "Report phase"):
        assert f"PLAY [{phase}]" in out, f"{phase} did not run:\n{run['output']}"


def test_reports_are_written_outside_the_collection(installed: Installed, run: dict[str, Any]) -> None:
    latest = installed.work / "reports" / lab.LAB_HOST / "latest"
    assert latest.is_dir(), run["output"]
    results = json.loads((latest / "results.json").read_text())
    assert not (installed.collection / "reports").exists()
    statuses = {r["id"]: r["status"] for r in results["requirements"]}
    assert len(statuses) >= 9, statuses
    # Every verifier module ran from the installed collection (no "error" from a missing import or data file).
    assert all(s == "Implemented" for s in statuses.values()), statuses
    for name in ("PRODUCT.yaml", "README.md", "report.html", "junit.xml", "e2e.log"):
        assert (latest / name).is_file(), name
