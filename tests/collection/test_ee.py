"""Execution environment files (issue #19): ansible-builder makes a build context naming the collection's
Python and system dependencies; the collection's meta/execution-environment.yml is what introspection reads;
pins match versions.yml, requirements.lock and galaxy.yml."""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from aiconform import PROJECT_ROOT, versions

BUILDER = Path(sys.executable).parent / "ansible-builder"
needs_builder = pytest.mark.skipif(not BUILDER.exists(), reason="ansible-builder is not installed (make setup)")


def _lock_pin(name: str) -> str:
    from helpers.locks import pin

    return pin(name)


def _requirement_names(path: Path) -> list[str]:
    return [re.split(r"[<>=!~ \[;]", line.strip())[0].lower().replace("_", "-")
            for line in path.read_text().splitlines() if line.strip() and not line.lstrip().startswith("#")]


def test_ee_definition_pins_come_from_versions_and_the_lock() -> None:
    ee = yaml.safe_load((PROJECT_ROOT / "execution-environment.yml").read_text())
    image = versions.get("execution_environment.images.base_image")
    assert ee["images"]["base_image"]["name"] == f"{image['registry']}/{image['repository']}:{image['tag']}"
    assert ee["dependencies"]["ansible_core"]["package_pip"] == f"ansible-core=={_lock_pin('ansible-core')}"
    assert ee["dependencies"]["ansible_runner"]["package_pip"] == f"ansible-runner=={_lock_pin('ansible-runner')}"


def test_collection_requirements_match_galaxy_yml() -> None:
    galaxy = yaml.safe_load((PROJECT_ROOT / "galaxy.yml").read_text())
    reqs = yaml.safe_load((PROJECT_ROOT / "collections" / "requirements.yml").read_text())
    assert {c["name"]: c["version"] for c in reqs["collections"]} == galaxy["dependencies"]


def test_requirements_txt_holds_what_the_runtime_imports() -> None:
    names = _requirement_names(PROJECT_ROOT / "requirements.txt")
    # kubernetes (kube.py, kubernetes.core), PyYAML, jsonpatch (kubernetes.core's k8s patches), prometheus-client
    # (verifiers/exposition.py), Jinja2 (report templates)
    for name in ("kubernetes", "pyyaml", "jsonpatch", "prometheus-client", "jinja2"):
        assert name in names
    assert "pytest" not in names and "ansible-lint" not in names and "ansible-core" not in names


@needs_builder
def test_ansible_builder_create_names_the_dependencies(tmp_path: Path) -> None:
    context = tmp_path / "context"
    proc = subprocess.run([str(BUILDER), "create", "-f", str(PROJECT_ROOT / "execution-environment.yml"),
                           "-c", str(context), "--output-filename", "Containerfile"], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    containerfile = (context / "Containerfile").read_text()
    assert "quay.io/fedora/fedora:42" in containerfile
    assert "ansible-core==" in containerfile and "ansible-runner==" in containerfile
    build = context / "_build"
    assert "kubernetes.core" in (build / "requirements.yml").read_text()
    assert set(_requirement_names(build / "requirements.txt")) >= {"kubernetes", "pyyaml", "jsonpatch"}
    bindep = (build / "bindep.txt").read_text()
    assert "helm" in bindep and "kubectl" in bindep


@needs_builder
def test_introspection_of_the_collection_finds_its_dependencies(tmp_path: Path) -> None:
    """What `ansible-builder build` runs in the image over the installed collections."""
    collection = tmp_path / "ansible_collections" / "aiconform" / "conformance"
    collection.mkdir(parents=True)
    for name in ("meta", "requirements.txt", "bindep.txt", "galaxy.yml"):
        src = PROJECT_ROOT / name
        (shutil.copytree if src.is_dir() else shutil.copy)(src, collection / name)
    proc = subprocess.run([str(BUILDER), "introspect", str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    found = yaml.safe_load(proc.stdout[proc.stdout.index("python:"):]) if "python:" in proc.stdout else {}
    assert found, proc.stdout
    python = " ".join(found.get("python") or [])
    system = " ".join(found.get("system") or [])
    assert "kubernetes" in python and "jsonpatch" in python, proc.stdout  # (PyYAML: ansible-core has it)
    assert "helm" in system and "kubectl" in system, proc.stdout
