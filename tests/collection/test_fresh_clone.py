"""A fresh clone is the collection (issue #19): without `make setup`, with only ansible-core, the collection's
requirements.txt and its collection dependencies (collections/requirements.yml, as AWX/AAP installs them),
every playbook passes --syntax-check, by path from the checkout and by FQCN."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from helpers.collection import clean_env, clean_venv

from aiconform import PROJECT_ROOT
from aiconform.toolchain import COLLECTIONS_DIR

pytestmark = pytest.mark.e2e
PLAYBOOKS = ("conformance", "preflight", "install", "verify", "report", "teardown")


@pytest.fixture(scope="module")
def clone(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The tracked files of the working tree (what a clone of it holds, symlinks kept), and kubernetes.core."""
    root = tmp_path_factory.mktemp("clone")
    checkout = root / "checkout"
    files = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=PROJECT_ROOT,
                           capture_output=True, check=True).stdout.decode().split("\0")
    for name in filter(None, files):
        src = PROJECT_ROOT / name
        if not src.exists() and not src.is_symlink():
            continue  # deleted in the working tree
        dst = checkout / name
        dst.parent.mkdir(parents=True, exist_ok=True)
        if src.is_symlink():
            dst.symlink_to(src.readlink())
        else:
            shutil.copy2(src, dst)
    # `ansible-galaxy collection install -r collections/requirements.yml` (Galaxy is unreachable from CI): the
    # copy make setup fetched, somewhere outside the checkout
    deps = root / "deps"
    shutil.copytree(COLLECTIONS_DIR / "ansible_collections" / "kubernetes" / "core",
                    deps / "ansible_collections" / "kubernetes" / "core", symlinks=True)
    home = root / "home"
    home.mkdir()
    return {"checkout": checkout, "deps": deps, "home": home}


def _syntax_check(clone: dict[str, Path], *playbooks: str) -> subprocess.CompletedProcess[str]:
    venv = clean_venv()
    env = clean_env(venv, clone["deps"], clone["home"])
    # as AWX: its own collections path plus the project's (ansible.cfg's ./collections is relative to the project)
    env["ANSIBLE_COLLECTIONS_PATH"] = f"{clone['checkout'] / 'collections'}:{clone['deps']}"
    return subprocess.run([str(venv / "bin" / "ansible-playbook"), "--syntax-check", *playbooks,
                           "-i", "inventory/sample"], cwd=clone["checkout"], env=env, capture_output=True, text=True,
                          timeout=300)


def test_the_clone_has_no_setup(clone: dict[str, Path]) -> None:
    assert not (clone["checkout"] / ".tools").exists() and not (clone["checkout"] / ".venv").exists()
    assert (clone["checkout"] / "collections" / "ansible_collections" / "aiconform" / "conformance" / "galaxy.yml").is_file()


def test_conformance_yml_syntax_check(clone: dict[str, Path]) -> None:
    proc = _syntax_check(clone, "conformance.yml")
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_playbooks_by_fqcn(clone: dict[str, Path]) -> None:
    """One ansible-playbook for all (it checks each playbook it is given; one start instead of six)."""
    proc = _syntax_check(clone, *(f"aiconform.conformance.{name}" for name in PLAYBOOKS))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for name in PLAYBOOKS:
        assert f"/ansible_collections/aiconform/conformance/playbooks/{name}.yml\n" in proc.stdout, proc.stdout


def test_an_unknown_fqcn_playbook_fails(clone: dict[str, Path]) -> None:
    proc = _syntax_check(clone, "aiconform.conformance.no_such_playbook")
    assert proc.returncode != 0


def test_a_missing_dependency_is_a_clear_error(clone: dict[str, Path]) -> None:
    """Without kubernetes.core (collections/requirements.yml not installed) Ansible says what is missing."""
    venv = clean_venv()
    env = clean_env(venv, clone["checkout"] / "collections", clone["home"])
    proc = subprocess.run([str(venv / "bin" / "ansible-playbook"), "--syntax-check", "conformance.yml"],
                          cwd=clone["checkout"], env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode != 0 and "kubernetes.core" in proc.stdout + proc.stderr
