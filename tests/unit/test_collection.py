"""The collection is self-contained (issue #19): plugins import only the collection's module_utils, by FQCN or
relatively; nothing edits sys.path; the data files modules read are bundled and the bundle is current."""
from __future__ import annotations

import ast
import importlib.util
from pathlib import Path

import pytest

from aiconform import MODULE_UTILS, PROJECT_ROOT, collection, datafiles

PLUGINS = PROJECT_ROOT / "plugins"
FQCN = "ansible_collections.aiconform.conformance.plugins.module_utils"


def _imports(path: Path) -> list[tuple[int, str, int]]:
    """(line, module, level) of every import in a file, nested ones included."""
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name, 0) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            out.append((node.lineno, node.module or "", node.level))
    return out


def _plugin_files() -> list[Path]:
    return sorted(p for p in PLUGINS.rglob("*.py") if "__pycache__" not in p.parts and p.name != "_bundled_data.py"
                  and "manifests" not in p.parts)


def test_no_plugin_imports_the_aiconform_package_or_edits_sys_path() -> None:
    bad = []
    for path in _plugin_files():
        for line, module, level in _imports(path):
            if level == 0 and (module == "aiconform" or module.startswith("aiconform.")):
                bad.append(f"{path.relative_to(PROJECT_ROOT)}:{line}: imports {module}")
        text = path.read_text(encoding="utf-8")
        if "sys.path" in text:
            bad.append(f"{path.relative_to(PROJECT_ROOT)}: edits sys.path")
    assert not bad, "\n".join(bad)


def test_modules_and_plugins_import_module_utils_by_fqcn() -> None:
    users = [p for p in _plugin_files() if "module_utils" not in p.parts]
    fqcn = [p.name for p in users if any(m.startswith(FQCN) for _, m, _ in _imports(p))]
    # every module but the pure-doc ones (verify_status, webhook_certificate, conformance_report) and every
    # action/lookup plugin that needs the runtime
    for name in ("verify.py", "cluster_facts.py", "wait_ready.py", "cleanup_leftovers.py", "verify_dra_support.py",
                 "verify_status.py", "conformance_report.py", "versions.py"):
        assert name in fqcn, f"{name} does not import {FQCN}"


def test_module_utils_imports_itself_relatively() -> None:
    bad = [f"{p.relative_to(PROJECT_ROOT)}:{line}: {module}" for p in _plugin_files() if "module_utils" in p.parts
           for line, module, level in _imports(p) if level == 0 and module.startswith(("aiconform", "ansible_collections"))]
    assert not bad, "module_utils must import itself relatively (it loads as aiconform.* and as the FQCN):\n" + \
        "\n".join(bad)


def test_every_verifier_is_imported_statically() -> None:
    from aiconform.verifiers import every
    packages = sorted(p.name for p in (MODULE_UTILS / "verifiers").iterdir()
                      if (p / "__init__.py").exists() and not p.name.startswith("_"))
    assert sorted(every.IDS) == packages
    imported = sorted(a.name for node in ast.walk(ast.parse((MODULE_UTILS / "verifiers" / "every.py").read_text()))
                      if isinstance(node, ast.ImportFrom) and node.level == 1 for a in node.names)
    assert imported == packages


def test_aiconform_names_are_the_module_utils_files() -> None:
    import aiconform.kube
    import aiconform.verifiers.runtime
    assert Path(aiconform.kube.__file__).parent == MODULE_UTILS
    assert Path(aiconform.verifiers.runtime.__file__).parent == MODULE_UTILS / "verifiers"


def test_the_bundle_is_current() -> None:
    assert collection.main(["bundle", "--check"]) == 0, "run: .venv/bin/python -m aiconform.collection bundle"


def test_the_bundle_check_notices_a_changed_manifest(tmp_path: Path) -> None:
    import shutil
    root = tmp_path / "c"
    shutil.copytree(MODULE_UTILS, root / "plugins" / "module_utils", ignore=shutil.ignore_patterns("__pycache__"))
    (root / "aiconform" / "data").mkdir(parents=True)
    shutil.copy(PROJECT_ROOT / "aiconform" / "data" / "versions.yml", root / "aiconform" / "data")
    assert datafiles.bundle_source(str(root)) == collection.bundle()
    pod = root / "plugins" / "module_utils" / "verifiers" / "_manifests" / "probe-pod.yaml"
    pod.write_text(pod.read_text() + "# changed\n")
    assert datafiles.bundle_source(str(root)) != collection.bundle()


def test_bundle_holds_every_manifest_and_data_file() -> None:
    from aiconform import _bundled_data
    on_disk = {str(p.relative_to(PROJECT_ROOT)) for p in MODULE_UTILS.rglob("*")
               if p.is_file() and {"manifests", "_manifests", "data"} & set(p.relative_to(MODULE_UTILS).parts)
               and "__pycache__" not in p.parts}
    assert on_disk and on_disk <= set(_bundled_data.FILES)
    assert "aiconform/data/versions.yml" in _bundled_data.FILES


def test_a_module_without_the_files_reads_the_bundle(tmp_path: Path) -> None:
    """What AnsiballZ sees: module_utils inside a zip, no data file beside it."""
    from aiconform import _bundled_data
    anchor = str(tmp_path / "payload.zip" / "ansible_collections" / "aiconform" / "conformance" / "plugins" /
                 "module_utils" / "verifiers" / "_accelerator.py")
    text = datafiles.read_text(anchor, "_manifests", "probe-pod.yaml")
    assert text == _bundled_data.FILES["plugins/module_utils/verifiers/_manifests/probe-pod.yaml"]
    versions = str(Path(anchor).parent.parent / "versions.py")
    assert datafiles.read_text(versions, "..", "..", "aiconform", "data", "versions.yml") == \
        (PROJECT_ROOT / "aiconform" / "data" / "versions.yml").read_text()
    with pytest.raises(datafiles.DataFileError, match="missing"):
        datafiles.read_text(anchor, "_manifests", "nope.yaml")


def _report_action():
    spec = importlib.util.spec_from_file_location("_report_action", PLUGINS / "action" / "conformance_report.py")
    mod = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(mod)
    return mod


def test_default_reports_dir(tmp_path: Path) -> None:
    action = _report_action()
    # a checkout: reports/ at the repository root (playbook_dir is playbooks/ for the phase playbooks)
    assert action.default_reports_dir(str(PROJECT_ROOT / "playbooks")) == str(PROJECT_ROOT / "reports")
    # an installed collection (MANIFEST.json at its root): the working directory, never inside the collection
    installed = tmp_path / "ansible_collections" / "aiconform" / "conformance"
    (installed / "playbooks").mkdir(parents=True)
    (installed / "MANIFEST.json").write_text("{}")
    work = tmp_path / "work"
    assert action.default_reports_dir(str(installed / "playbooks"), cwd=str(work)) == str(work / "reports")
    # installed by the aiconform wheel (site-packages/ansible_collections/aiconform/conformance: galaxy.yml, no
    # MANIFEST.json): the working directory too
    wheel = tmp_path / "site-packages" / "ansible_collections" / "aiconform" / "conformance"
    (wheel / "playbooks").mkdir(parents=True)
    (wheel / "galaxy.yml").write_text("namespace: aiconform\n")
    assert action.default_reports_dir(str(wheel / "playbooks"), cwd=str(work)) == str(work / "reports")
    # a checkout that happens to be called conformance is still a checkout
    clone = tmp_path / "src" / "aiconform" / "conformance"
    (clone / "playbooks").mkdir(parents=True)
    (clone / "galaxy.yml").write_text("namespace: aiconform\n")
    assert action.default_reports_dir(str(clone / "playbooks"), cwd=str(work)) == str(clone / "reports")
    # a playbook of the user's own: beside it
    own = tmp_path / "site"
    own.mkdir()
    assert action.default_reports_dir(str(own)) == str(own / "reports")


def test_license_and_galaxy_metadata() -> None:
    import yaml
    license_text = (PROJECT_ROOT / "LICENSE").read_text()
    assert license_text.lstrip().startswith("Apache License") and "Version 2.0, January 2004" in license_text
    assert "END OF TERMS AND CONDITIONS" in license_text
    galaxy = yaml.safe_load((PROJECT_ROOT / "galaxy.yml").read_text())
    assert galaxy["license"] == ["Apache-2.0"]
    # no invented URLs: the project has no public repository address yet
    for key in ("repository", "homepage", "issues", "documentation"):
        assert "example" not in str(galaxy.get(key, "")), key
    from aiconform import __version__
    assert galaxy["version"] == __version__


def test_module_utils_of_an_installed_collection_when_there_is_no_checkout(tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    import aiconform
    monkeypatch.setattr(aiconform, "PROJECT_ROOT", tmp_path / "site-packages")
    monkeypatch.setattr(sys, "path", [p for p in sys.path if "collections" not in p])  # conftest's .tools link
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    installed = tmp_path / "cols" / "ansible_collections" / "aiconform" / "conformance" / "plugins" / "module_utils"
    monkeypatch.setenv("ANSIBLE_COLLECTIONS_PATH", str(tmp_path / "nowhere"))
    assert aiconform._module_utils() == tmp_path / "site-packages" / "plugins" / "module_utils"  # none: named
    installed.mkdir(parents=True)
    monkeypatch.setenv("ANSIBLE_COLLECTIONS_PATH", f"{tmp_path / 'nowhere'}:{tmp_path / 'cols'}")
    assert aiconform._module_utils() == installed
