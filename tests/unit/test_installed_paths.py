"""Issue #19: an aiconform installed from its wheel (no checkout) runs the collection installed beside it: the playbook
by FQCN from the current directory, the collection's site-packages first on the collections path, no ansible.cfg of
the project. (tests/collection/test_wheel.py runs it for real.)"""
from __future__ import annotations

from pathlib import Path

import pytest

from aiconform import toolchain
from aiconform.runner import engine


@pytest.fixture
def installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    site = tmp_path / "site-packages"
    collection = site / "ansible_collections" / "aiconform" / "conformance"
    for module in (toolchain, engine):
        monkeypatch.setattr(module, "IN_CHECKOUT", False)
        monkeypatch.setattr(module, "COLLECTION_ROOT", collection)
    return collection


def test_playbook_by_fqcn_from_the_working_directory(installed: Path, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    (installed / "playbooks").mkdir(parents=True)
    (installed / "playbooks" / "conformance.yml").write_text("---\n")
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    assert engine.playbook_location() == (str(work), "aiconform.conformance.conformance")


def test_a_missing_collection_is_a_usage_error(installed: Path) -> None:
    with pytest.raises(engine.UsageError, match="collection is not installed"):
        engine.playbook_location()


def test_the_checkout_runs_its_own_conformance_yml() -> None:
    project_dir, playbook = engine.playbook_location()
    assert (Path(project_dir) / playbook).is_file() and playbook == "conformance.yml"


def test_ansible_env_of_an_installed_aiconform(installed: Path) -> None:
    site = str(installed.parents[2])
    env = toolchain.ansible_env({"PATH": "/usr/bin", "HOME": "/home/u"})
    assert env["ANSIBLE_COLLECTIONS_PATH"].split(":") == [site, "~/.ansible/collections",
                                                          "/usr/share/ansible/collections"]
    assert "ANSIBLE_CONFIG" not in env and "ANSIBLE_ROLES_PATH" not in env
    assert "ANSIBLE_COLLECTIONS_SCAN_SYS_PATH" not in env
    # the user's own collections path is kept, after the installed collection
    env = toolchain.ansible_env({"PATH": "/usr/bin", "ANSIBLE_COLLECTIONS_PATH": "/opt/cols"})
    assert env["ANSIBLE_COLLECTIONS_PATH"] == f"{site}:/opt/cols"
