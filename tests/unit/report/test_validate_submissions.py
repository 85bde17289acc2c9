"""The validator on real submissions under ../shared/fixtures/evidence, the CLI, and the online checker."""
from __future__ import annotations

import urllib.error
from pathlib import Path

import pytest
import yaml
from aiconform.report import render
from aiconform.report.validate import (
    USER_AGENT,
    detect_version,
    http_url_checker,
    resolve_evidence,
    validate_document,
    validate_file,
)
from report_fixtures import model

from aiconform import PROJECT_ROOT
from aiconform.cli import main

EVIDENCE = PROJECT_ROOT.parent / "shared" / "fixtures" / "evidence"
needs_shared = pytest.mark.skipif(not EVIDENCE.is_dir(), reason="../shared fixtures absent")
CNCF = EVIDENCE / "cncf-k8s-ai-conformance"

# Verdicts of the newest cncf validate.go (hybrid), offline rules. Every submission here was accepted when it was
# merged; the newest validator rejects two of them for rules added after they were merged, and so does aiconform.
VALID = [
    "cncf-k8s-ai-conformance/v1.35/kops/PRODUCT.yaml",  # local evidence paths, kubernetesVersion v1.35.3, SHOULD N/A
    "cncf-k8s-ai-conformance/v1.35/nvidia-nim-eks/PRODUCT.yaml",  # layered product, http evidence only
    "NVIDIA-aicr/docs/conformance/cncf/submission/PRODUCT.yaml",  # no vX.Y/ in path: version from metadata
]
PROBLEMS = {
    "cncf-k8s-ai-conformance/v1.33/gardener/PRODUCT.yaml": [
        # k8sConformanceUrl is required for every version since 2026-01 (merged 2025-10)
        "Missing metadata field: k8sConformanceUrl (or k8s_conformance_url)",
    ],
    "cncf-k8s-ai-conformance/v1.35/daocloud/PRODUCT.yaml": [
        # a Ginkgo log named e2e.log: the hybrid parser needs go test -v output (cncf PR #143)
        "Invalid test artifact for 'dra_support': e2e.log (parsing e2e log: no '--- PASS/FAIL/SKIP:' result lines found)",
    ],
}
# stricter aiconform findings on real submissions: warnings only, errors with --strict
STRICTER = {
    "cncf-k8s-ai-conformance/v1.33/gardener/PRODUCT.yaml": [
        "Requirement 'accelerator_metrics': description differs from the v1.33 template (id, description and level "
        "must be submitted unchanged)",
    ],
}
PARTIAL_COPIES = {
    "cncf-k8s-ai-conformance/v1.35/openshift/PRODUCT.yaml": {"dra-support.md"},
    "cncf-k8s-ai-conformance/v1.35/upcloud/PRODUCT.yaml": set(),
}


@needs_shared
@pytest.mark.parametrize("rel", VALID)
def test_valid_submissions_accepted(rel: str) -> None:
    res = validate_file(EVIDENCE / rel)
    assert res.ok, res.errors
    assert res.version == "v1.35"


@needs_shared
@pytest.mark.parametrize("rel", sorted(PROBLEMS))
def test_real_problems_reported(rel: str) -> None:
    res = validate_file(EVIDENCE / rel)
    assert not res.ok
    for problem in PROBLEMS[rel]:
        assert problem in res.errors, res.errors


@needs_shared
def test_gardener_truncated_description_is_only_a_strict_finding() -> None:
    path = CNCF / "v1.33/gardener/PRODUCT.yaml"
    res = validate_file(path)
    assert sorted(res.errors) == sorted(PROBLEMS["cncf-k8s-ai-conformance/v1.33/gardener/PRODUCT.yaml"])
    assert res.stricter == STRICTER["cncf-k8s-ai-conformance/v1.33/gardener/PRODUCT.yaml"]
    strict = validate_file(path, strict=True)
    assert any(line.startswith("ERROR (strict): Requirement 'accelerator_metrics'") for line in strict.lines())


@needs_shared
@pytest.mark.parametrize("rel", VALID)
def test_valid_submissions_have_no_stricter_finding_and_pass_strict(rel: str) -> None:
    res = validate_file(EVIDENCE / rel, strict=True)
    assert res.ok, res.lines()
    assert any("was not checked against the CNCF Landscape" in n for n in res.notes)


@needs_shared
@pytest.mark.parametrize("rel", sorted(PARTIAL_COPIES))
def test_partial_copies_only_miss_files_not_in_the_fixture(rel: str) -> None:
    path = EVIDENCE / rel
    res = validate_file(path)
    present = {p.name for p in path.parent.iterdir()}
    assert res.errors, "expected missing evidence files in the partial fixture copy"
    for e in res.errors:
        assert "not found at" in e, e
    doc = yaml.safe_load(path.read_text())
    local = {ev for items in doc["spec"].values() for i in items for ev in i.get("evidence") or []
             if not str(ev).startswith("http")}
    assert {ev for ev in local if any(f": {ev} (not found" in e for e in res.errors)} == local - present


@needs_shared
def test_every_real_submission_yields_only_known_findings() -> None:
    for path in sorted(EVIDENCE.rglob("PRODUCT.yaml")):
        rel = str(path.relative_to(EVIDENCE))
        res = validate_file(path)
        assert not res.load_error, (rel, res.load_error)
        assert res.stricter == STRICTER.get(rel, []), (rel, res.stricter)
        if rel in VALID:
            assert res.ok, (rel, res.errors)
        elif rel in PROBLEMS:
            assert all(e in PROBLEMS[rel] or "not found at" in e for e in res.errors), (rel, res.errors)
        else:
            assert rel in PARTIAL_COPIES, f"new fixture {rel}: classify it"


def test_version_detection() -> None:
    assert detect_version("x/v1.36/prod/PRODUCT.yaml", {"metadata": {"kubernetesVersion": "v1.35"}}) == "v1.36"
    assert detect_version("PRODUCT.yaml", {"metadata": {"kubernetesVersion": "v1.35.3"}}) == "v1.35"
    assert detect_version("v1.36/p/PRODUCT.yaml", {}, "1.34") == "v1.34"
    assert detect_version("PRODUCT.yaml", {}) == ""
    assert not validate_document({"metadata": {}, "spec": {}}, "").ok
    res = validate_document({"metadata": {}, "spec": {}}, "v1.38")
    assert any("Schema not found" in e for e in res.errors)


@pytest.mark.parametrize(("link", "expected"), [
    ("junit.xml", ("junit.xml", "")),
    ("file://results/junit.xml#TestGangScheduling", ("results/junit.xml", "TestGangScheduling")),
    ("file://v1.37/prod/e2e.log", ("e2e.log", "")),
    ("/evidence/a.md", ("evidence/a.md", "")),
])
def test_resolve_evidence(tmp_path: Path, link: str, expected: tuple[str, str]) -> None:
    assert resolve_evidence(tmp_path / "v1.37" / "prod", link) == expected


@pytest.mark.parametrize("link", ["file://v1.37/other/junit.xml", "../x.md", "file://a/../../x", "file://", "#T"])
def test_resolve_evidence_rejects(tmp_path: Path, link: str) -> None:
    with pytest.raises(ValueError):
        resolve_evidence(tmp_path / "v1.37" / "prod", link)


def test_online_checks_use_injected_fetcher(tmp_path: Path) -> None:
    run_dir = render.write_run(model("v1.35"), tmp_path / "reports")[0]
    doc = yaml.safe_load((run_dir / "PRODUCT.yaml").read_text())
    doc["spec"]["networking"][0]["evidence"].append("https://docs.example.com/gateway")
    seen: list[str] = []

    def checker(url: str) -> str | None:
        seen.append(url)
        return "status code 403" if "logo" in url else None

    offline = validate_document(doc, "v1.35", product_dir=run_dir)
    assert offline.ok and seen == []
    online = validate_document(doc, "v1.35", product_dir=run_dir, online=True, url_checker=checker)
    assert "https://docs.example.com/gateway" in seen
    assert "https://github.com/cncf/k8s-conformance/tree/master/v1.35/example" in seen
    assert online.errors == ["Invalid URL in metadata productLogoUrl: https://example.com/logo.svg (status code 403)"]


def test_http_url_checker_head_then_get_with_user_agent() -> None:
    calls: list[tuple[str, str, float]] = []

    class Resp:
        def __init__(self, status: int) -> None:
            self.status = status

        def __enter__(self) -> Resp:
            return self

        def __exit__(self, *a: object) -> None:
            return None

    def opener(req, timeout: float):  # type: ignore[no-untyped-def]
        calls.append((req.get_method(), req.get_header("User-agent"), timeout))
        if req.get_method() == "HEAD":
            raise urllib.error.HTTPError(req.full_url, 405, "no HEAD", {}, None)  # type: ignore[arg-type]
        return Resp(200)

    assert http_url_checker(opener=opener)("https://x.example") is None
    assert calls == [("HEAD", USER_AGENT, 30.0), ("GET", USER_AGENT, 30.0)]

    def failing(req, timeout: float):  # type: ignore[no-untyped-def]
        raise urllib.error.HTTPError(req.full_url, 404, "nf", {}, None)  # type: ignore[arg-type]

    assert http_url_checker(opener=failing)("https://x.example") == "status code 404"


def test_cli_validate_exit_codes_and_lines(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run_dir = render.write_run(model("v1.37"), tmp_path / "reports")[0]
    assert main(["validate", str(run_dir / "PRODUCT.yaml")]) == 0
    assert "Validation successful with 0 warning(s)." in capsys.readouterr().out
    doc = yaml.safe_load((run_dir / "PRODUCT.yaml").read_text())
    doc["spec"]["operator"][0]["status"] = "Not Implemented"
    doc["spec"]["security"][1]["status"] = "N/A"
    (run_dir / "PRODUCT.yaml").write_text(yaml.safe_dump(doc))
    assert main(["validate", str(run_dir / "PRODUCT.yaml"), "--version", "v1.37"]) == 1
    out = capsys.readouterr().out.splitlines()
    assert "ERROR: Requirement 'robust_controller' is MUST level but status is 'Not Implemented'. It must be 'Implemented'." in out
    assert all(not line.startswith("ERROR") or line.count("ERROR: ") == 1 for line in out)


def test_cli_report_rerender_and_fleet(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    reports = tmp_path / "reports"
    run_dir = render.write_run(model("v1.37", cluster="a"), reports)[0]
    render.write_run(model("v1.33", cluster="b"), reports)
    (run_dir / "PRODUCT.yaml").unlink()
    assert main(["report", str(run_dir)]) == 0
    assert (run_dir / "PRODUCT.yaml").is_file()
    assert main(["report", "--fleet", str(reports)]) == 0
    md = (reports / "fleet.md").read_text()
    assert "| a | v1.37 |" in md and "| b | v1.33 |" in md
    assert "Workload Sandboxing" in md and "DRA Support" in md
    assert "<table>" in (reports / "fleet.html").read_text()
    assert main(["report", str(tmp_path / "nope")]) == 2
