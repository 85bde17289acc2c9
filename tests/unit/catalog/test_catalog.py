"""The catalog matches the upstream templates word for word, and the version rule holds."""
from __future__ import annotations

import re
import warnings
from pathlib import Path

import pytest
import yaml

from aiconform import PROJECT_ROOT, catalog

SHARED = PROJECT_ROOT.parent / "shared"
CNCF_DOCS = SHARED / "fixtures" / "requirements" / "cncf-k8s-ai-conformance" / "docs"
SIGS_DOCS = SHARED / "fixtures" / "requirements" / "kubernetes-sigs-ai-conformance" / "conformance-versions"
KARS = SHARED / "fixtures" / "requirements" / "kubernetes-sigs-ai-conformance" / "kars"
needs_shared = pytest.mark.skipif(not CNCF_DOCS.is_dir(), reason="../shared fixtures absent")


def _templates() -> list[Path]:
    if not SHARED.is_dir():
        return []
    return sorted(CNCF_DOCS.glob("AIConformance-*.yaml")) + sorted(SIGS_DOCS.glob("KubernetesAIConformance-*.yaml"))


def _template_version(path: Path) -> str:
    return "v" + path.stem.rsplit("-", 1)[1]


@needs_shared
def test_every_cncf_template_has_a_catalog_set() -> None:
    found = {_template_version(p) for p in CNCF_DOCS.glob("AIConformance-*.yaml")}
    assert found == set(catalog.versions())


@needs_shared
@pytest.mark.parametrize("template", _templates(), ids=lambda p: p.name)
def test_catalog_equals_template_word_for_word(template: Path) -> None:
    doc = yaml.safe_load(template.read_text(encoding="utf-8"))
    version = _template_version(template)
    expected = [(cat, item["id"], item["level"], item["description"])
                for cat, items in doc["spec"].items() for item in items]
    got = [(r.category, r.id, r.level, r.description) for r in catalog.requirement_set(version)]
    assert got == expected
    # category order too
    assert list(dict.fromkeys(c for c, *_ in got)) == list(doc["spec"])


@needs_shared
def test_kar_numbers_match_kar_files() -> None:
    for rid in catalog.all_ids():
        req = catalog.requirement("v1.37" if rid != "dra_support" else "v1.35", rid)
        if req.kar is None:
            assert rid == "ai_inference"
            continue
        number = int(req.kar.split("-")[1])
        dirs = [d for d in KARS.iterdir() if int(d.name.split("-")[0]) == number]
        assert dirs, f"{rid}: no KAR folder for {req.kar}"
        kar_yaml = dirs[0] / "kar.yaml"
        if kar_yaml.exists():
            text = kar_yaml.read_text()
            meta = yaml.safe_load(text)
            # "kar-number: 0011" is YAML-1.1 octal for safe_load; compare the raw digits
            assert int(re.search(r"(?m)^kar-number:\s*(\d+)", text).group(1), 10) == number
            assert str(meta["title"]).strip() == req.kar_title


def test_v137_typo_is_kept() -> None:
    desc = catalog.requirement("v1.37", "accelerator_metrics").description
    assert "makes they available" in desc
    assert "makes them available" in catalog.requirement("v1.36", "accelerator_metrics").description


@pytest.mark.parametrize(("version", "count", "musts"), [
    ("v1.33", 9, 8), ("v1.34", 9, 9), ("v1.35", 12, 9), ("v1.36", 14, 8), ("v1.37", 15, 8),
])
def test_counts_per_version(version: str, count: int, musts: int) -> None:
    reqs = catalog.requirement_set(version)
    assert len(reqs) == count
    assert sum(r.is_must for r in reqs) == musts


@pytest.mark.parametrize("spelling", ["v1.35", "v1.35.3", "1.35", "1.35.0", "v1.35.3-gke.1200", " v1.35 "])
def test_version_spellings(spelling: str) -> None:
    assert [r.version for r in catalog.requirement_set(spelling)] == ["v1.35"] * 12


@pytest.mark.parametrize("bad", ["v1.32", "1.20", "latest", "", "v2"])
def test_unsupported_versions_raise(bad: str) -> None:
    with pytest.raises(catalog.UnsupportedVersionError):
        catalog.requirement_set(bad)


def test_newer_minor_uses_newest_set_with_warning() -> None:
    with pytest.warns(catalog.NewerVersionWarning, match="v1.38"):
        reqs = catalog.requirement_set("v1.38.1")
    assert {r.version for r in reqs} == {"v1.37"}
    with pytest.raises(catalog.UnsupportedVersionError):
        catalog.requirement_set("v1.38", strict=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        catalog.requirement_set("v1.37")  # no warning for a known version


# the newest cncf validate.go: conditionalMustRequirements for every version, autoTestedRequirements v1.37+
@pytest.mark.parametrize(("version", "auto", "cond"), [
    ("v1.33", {}, ["cluster_autoscaling"]),
    ("v1.36", {}, ["cluster_autoscaling"]),
    ("v1.37", {"secure_accelerator_access": "TestSecureAcceleratorAccess", "gang_scheduling": "TestGangScheduling",
               "cluster_autoscaling": "TestAcceleratorClusterAutoscaling"}, ["cluster_autoscaling"]),
])
def test_hybrid_maps(version: str, auto: dict[str, str], cond: list[str]) -> None:
    assert catalog.auto_tested(version) == auto
    assert catalog.conditional_must(version) == cond
    for r in catalog.requirement_set(version):
        assert r.auto_tested == (r.id in auto)
        assert r.conditional_must == (r.id in cond)
        if r.id in auto:
            assert r.test_name == auto[r.id]


def test_all_ids_and_test_names() -> None:
    ids = catalog.all_ids()
    assert len(ids) == 16 and len(set(ids)) == 16
    names = catalog.test_names()
    assert set(names) == set(ids)
    assert len(set(names.values())) == 16
    assert names["robust_controller"] == "TestRobustCRDControllerOperation"
    assert names["accelerator_metrics"] == "TestAcceleratorPerformanceMetrics"
    assert names["ai_service_metrics"] == "TestAIServiceMetrics"
    assert names["workload_sandboxing"] == "TestWorkloadSandboxing"
    assert names["driver_runtime_management"] == "TestAcceleratorDriverRuntimeManagement"
    assert all(n.startswith("Test") for n in names.values())
