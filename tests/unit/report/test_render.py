"""Every artifact rendered from results.json fixtures for v1.33..v1.37, checked and validated."""
from __future__ import annotations

import json
import re
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiconform.report import gotest, render
from aiconform.report.model import NOT_RUN_REASON
from aiconform.report.validate import validate_file
from aiconform.results import Check, Evidence, Outcome, Status
from report_fixtures import PLATFORM, model, result

from aiconform import catalog

VERSIONS = catalog.versions()


def write(tmp_path: Path, m: dict[str, Any]) -> Path:
    return render.write_run(m, tmp_path / "reports")[0]


def product(run_dir: Path) -> dict[str, Any]:
    return yaml.safe_load((run_dir / "PRODUCT.yaml").read_text())


def edit_product(run_dir: Path, fn: Any) -> Path:
    doc = product(run_dir)
    fn(doc)
    (run_dir / "PRODUCT.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    return run_dir / "PRODUCT.yaml"


def item(doc: dict[str, Any], req_id: str) -> dict[str, Any]:
    return next(i for items in doc["spec"].values() for i in items if i["id"] == req_id)


# ------------------------------------------------------------------------------------------ all artifacts

@pytest.mark.parametrize("version", VERSIONS)
def test_run_directory_has_every_artifact(tmp_path: Path, version: str) -> None:
    run_dir = write(tmp_path, model(version))
    assert run_dir == tmp_path / "reports" / "lab-a" / "20261127T041500Z"
    for name in render.ARTIFACTS:
        assert (run_dir / name).is_file(), name
    latest = tmp_path / "reports" / "lab-a" / "latest"
    assert latest.is_symlink() and latest.resolve() == run_dir.resolve()
    for req in catalog.requirement_set(version):
        assert (run_dir / "evidence" / req.id / "00-summary.md").is_file()
        names = sorted(p.name for p in (run_dir / "evidence" / req.id).iterdir())
        assert names == ["00-summary.md", f"01-kubectl-get-pods-for-{req.id}.txt", "02-probe-object.yaml"]
    assert "$ kubectl get pods -A" in (run_dir / "evidence/gang_scheduling/01-kubectl-get-pods-for-gang_scheduling.txt").read_text()
    assert yaml.safe_load((run_dir / "evidence/gang_scheduling/02-probe-object.yaml").read_text())["kind"] == "Pod"


@pytest.mark.parametrize("version", VERSIONS)
def test_product_yaml_passes_validate(tmp_path: Path, version: str) -> None:
    run_dir = write(tmp_path, model(version))
    res = validate_file(run_dir / "PRODUCT.yaml", version=version)
    assert res.ok, res.lines()
    assert res.warnings == []  # v1.37 auto-tested ids carry file://junit.xml#Test evidence


@pytest.mark.parametrize("version", VERSIONS)
def test_product_yaml_fields_verbatim_and_ordered(tmp_path: Path, version: str) -> None:
    doc = product(write(tmp_path, model(version)))
    got = [(cat, i["id"], i["description"], i["level"]) for cat, items in doc["spec"].items() for i in items]
    want = [(r.category, r.id, r.description, r.level) for r in catalog.requirement_set(version)]
    assert got == want
    meta = doc["metadata"]
    assert list(meta) == ["kubernetesVersion", "platformName", "platformVersion", "vendorName", "websiteUrl", "repoUrl",
                          "documentationUrl", "productLogoUrl", "description", "contactEmailAddress",
                          "k8sConformanceUrl"]
    assert meta["kubernetesVersion"] == version


def test_v137_auto_tested_evidence_references_junit(tmp_path: Path) -> None:
    run_dir = write(tmp_path, model("v1.37"))
    doc = product(run_dir)
    for rid, test in catalog.auto_tested("v1.37").items():
        assert f"file://junit.xml#{test}" in item(doc, rid)["evidence"]
    assert not any(e.startswith("file://") for e in item(doc, "robust_controller")["evidence"])
    for e in item(doc, "gang_scheduling")["evidence"]:
        if not e.startswith("file://"):
            assert e.startswith("evidence/gang_scheduling/") and (run_dir / e).is_file()


# ------------------------------------------------------------------------------------------ validate fails

def _must(version: str) -> str:
    return next(r.id for r in catalog.requirement_set(version) if r.is_must and r.id != "cluster_autoscaling")


MUTATIONS = {
    "id dropped": (lambda v: lambda d: d["spec"][catalog.requirement(v, _must(v)).category].remove(item(d, _must(v))),
                   "Missing requirement"),
    "bad status": (lambda v: lambda d: item(d, _must(v)).__setitem__("status", "Done"), "Invalid status"),
    "placeholder metadata": (lambda v: lambda d: d["metadata"].__setitem__("vendorName", "[Vendor Name]"),
                             "placeholder value"),
    "bad k8sConformanceUrl": (lambda v: lambda d: d["metadata"].__setitem__("k8sConformanceUrl", "https://example.com/x"),
                              "Invalid k8sConformanceUrl format"),
    "missing evidence file": (lambda v: lambda d: item(d, _must(v))["evidence"].append("evidence/nope.md"),
                              "not found at"),
    "evidence escapes dir": (lambda v: lambda d: item(d, _must(v))["evidence"].append("../other/PRODUCT.yaml"),
                             "escapes the product directory"),
}


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("mutation", sorted(MUTATIONS))
def test_edited_product_yaml_fails(tmp_path: Path, version: str, mutation: str) -> None:
    make, expected = MUTATIONS[mutation]
    path = edit_product(write(tmp_path, model(version)), make(version))
    res = validate_file(path, version=version)
    assert not res.ok
    assert any(expected in e for e in res.errors), res.errors


# aiconform's stricter checks: warnings (the cncf validator does not compare them), errors with strict=True
STRICT_MUTATIONS = {
    "description changed": (lambda v: lambda d: item(d, _must(v)).__setitem__(
        "description", item(d, _must(v))["description"] + " (vendor wording)"), "description differs"),
    "level changed": (lambda v: lambda d: item(d, _must(v)).__setitem__("level", "SHOULD"), "differs from the"),
}


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("mutation", sorted(STRICT_MUTATIONS))
def test_edited_product_yaml_strict_findings(tmp_path: Path, version: str, mutation: str) -> None:
    make, expected = STRICT_MUTATIONS[mutation]
    path = edit_product(write(tmp_path, model(version)), make(version))
    res = validate_file(path, version=version)
    assert res.ok and not res.errors
    assert any(expected in w for w in res.stricter), res.stricter
    strict = validate_file(path, version=version, strict=True)
    assert not strict.ok and any(line.startswith("ERROR (strict): ") and expected in line for line in strict.lines())


@pytest.mark.parametrize("version", VERSIONS)
def test_description_whitespace_is_no_difference(tmp_path: Path, version: str) -> None:
    rid = _must(version)
    path = edit_product(write(tmp_path, model(version)), lambda d: item(d, rid).__setitem__(
        "description", "  " + item(d, rid)["description"].replace(" ", "\n  ", 3) + "\n"))
    assert "\n" in item(product(path.parent), rid)["description"]
    res = validate_file(path, version=version, strict=True)
    assert res.ok and not res.stricter, res.lines()


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("status", [Status.NOT_IMPLEMENTED, Status.PARTIAL, Status.ERROR, Status.UNKNOWN])
def test_must_not_implemented_fails_validation(tmp_path: Path, version: str, status: Status) -> None:
    rid = _must(version)
    run_dir = write(tmp_path, model(version, {rid: result(rid, status, reasons=["broken"])}))
    res = validate_file(run_dir / "PRODUCT.yaml")
    assert not res.ok
    assert any(f"'{rid}' is MUST level" in e for e in res.errors)


@pytest.mark.parametrize("version", VERSIONS)
def test_na_without_notes_fails(tmp_path: Path, version: str) -> None:
    rid = next(r.id for r in catalog.requirement_set(version) if r.level == "SHOULD" or r.conditional_must) \
        if any(r.level == "SHOULD" for r in catalog.requirement_set(version)) else _must(version)
    run_dir = write(tmp_path, model(version, {rid: result(rid, Status.NOT_APPLICABLE, notes="no such hardware")}))
    assert item(product(run_dir), rid)["notes"] == "no such hardware"
    path = edit_product(run_dir, lambda d: item(d, rid).__setitem__("notes", ""))
    res = validate_file(path)
    assert f"Notes required for '{rid}' when status is N/A" in res.errors


def test_na_without_any_justification_gets_visible_placeholder(tmp_path: Path) -> None:
    run_dir = write(tmp_path, model("v1.37", {"gpu_sharing": result("gpu_sharing", Status.NOT_APPLICABLE, reasons=[])}))
    assert item(product(run_dir), "gpu_sharing")["notes"] == "[justification required]"


@pytest.mark.parametrize("version", VERSIONS)
def test_conditional_must_na_is_a_warning_in_every_version(tmp_path: Path, version: str) -> None:
    # the newest cncf validate.go: checkRequirementStatus allows N/A for cluster_autoscaling whatever the version
    m = model(version, {"cluster_autoscaling": result("cluster_autoscaling", Status.NOT_APPLICABLE,
                                                      notes="bare metal: no node autoscaling")})
    run_dir = write(tmp_path, m)
    res = validate_file(run_dir / "PRODUCT.yaml")
    assert res.ok, res.errors
    assert any("'cluster_autoscaling' is MUST level and marked N/A" in w for w in res.warnings)
    assert not any(e.startswith("file://") for e in item(product(run_dir), "cluster_autoscaling")["evidence"])
    # another MUST marked N/A is still an error
    rid = _must(version)
    path = edit_product(run_dir, lambda d: (item(d, rid).__setitem__("status", "N/A"),
                                            item(d, rid).__setitem__("notes", "no such hardware")))
    res = validate_file(path)
    assert f"Requirement '{rid}' is MUST level but status is 'N/A'. It must be 'Implemented'." in res.errors


def test_failing_test_inside_junit_fails(tmp_path: Path) -> None:
    run_dir = write(tmp_path, model("v1.37"))
    junit = run_dir / "junit.xml"
    junit.write_text(junit.read_text().replace(
        'name="TestRobustCRDControllerOperation" time="2.500">',
        'name="TestRobustCRDControllerOperation" time="2.500"><failure message="boom">boom</failure>', 1)
        .replace('name="TestRobustCRDControllerOperation" time="2.500" />',
                 'name="TestRobustCRDControllerOperation" time="2.500"><failure message="boom">boom</failure></testcase>'))
    assert "<failure" in junit.read_text()
    res = validate_file(run_dir / "PRODUCT.yaml")
    assert "Test artifact file://junit.xml contains failing tests: TestRobustCRDControllerOperation" in res.errors


def test_skipped_mapped_test_with_implemented_fails(tmp_path: Path) -> None:
    run_dir = write(tmp_path, model("v1.37"))
    junit = run_dir / "junit.xml"
    text = re.sub(r'(<testcase classname="[^"]+" name="TestGangScheduling" time="[^"]+")( />|>)',
                  r'\1><skipped message="no gang" /></testcase><testcase classname="x" name="ignored"\2', junit.read_text())
    junit.write_text(text)
    res = validate_file(run_dir / "PRODUCT.yaml")
    assert any("is Implemented but test 'TestGangScheduling' was skipped" in e for e in res.errors), res.errors


def test_unknown_should_is_left_blank_and_skipped_by_validator(tmp_path: Path) -> None:
    run_dir = write(tmp_path, model("v1.36", omit=("gpu_sharing",)))
    it = item(product(run_dir), "gpu_sharing")
    assert it["status"] == "" and it["evidence"] == []
    assert NOT_RUN_REASON in it["notes"]
    assert validate_file(run_dir / "PRODUCT.yaml").ok


# ------------------------------------------------------------------------------------------ status mapping

@pytest.mark.parametrize(("status", "level", "product_status", "outcome"), [
    (Status.IMPLEMENTED, "MUST", "Implemented", "pass"),
    (Status.IMPLEMENTED, "SHOULD", "Implemented", "pass"),
    (Status.NOT_IMPLEMENTED, "MUST", "Not Implemented", "fail"),
    (Status.NOT_IMPLEMENTED, "SHOULD", "Not Implemented", "skip"),
    (Status.PARTIAL, "MUST", "Partially Implemented", "fail"),
    (Status.PARTIAL, "SHOULD", "Partially Implemented", "skip"),
    (Status.NOT_APPLICABLE, "SHOULD", "N/A", "skip"),
    (Status.ERROR, "MUST", "Not Implemented", "fail"),
    (Status.ERROR, "SHOULD", "", "skip"),
    (Status.UNKNOWN, "MUST", "Not Implemented", "skip"),
    (Status.UNKNOWN, "SHOULD", "", "skip"),
])
def test_status_mapping(status: Status, level: str, product_status: str, outcome: str) -> None:
    rid = "gang_scheduling" if level == "MUST" else "gpu_sharing"
    rendered = render.render_all(model("v1.36", {rid: result(rid, status, reasons=["why not"], notes="n")}))
    row = next(r for r in rendered.view.rows if r.req.id == rid)
    assert (row.product_status, row.outcome) == (product_status, outcome)
    e2e = gotest.parse_e2e_log(rendered.files["e2e.log"])
    junit = gotest.parse_junit(rendered.files["junit.xml"])
    assert e2e.outcome_for(row.req.test_name) == outcome == junit.outcome_for(row.req.test_name)
    if status in (Status.UNKNOWN, Status.ERROR):
        assert "why not" in row.notes


# ------------------------------------------------------------------------------------------ junit / e2e.log

@pytest.mark.parametrize("version", VERSIONS)
def test_junit_and_e2e_parse_like_the_v137_validator(tmp_path: Path, version: str) -> None:
    rid_fail = _must(version)
    m = model(version, {rid_fail: result(rid_fail, Status.NOT_IMPLEMENTED, checks=[
        Check("controller running", Outcome.PASS), Check("webhook answers", Outcome.FAIL, "timeout after 30s")])},
        omit=(next(r.id for r in catalog.requirement_set(version) if r.id not in (rid_fail,) and r.level == "MUST"
                   and r.id != "cluster_autoscaling" and r.id != rid_fail),))
    rendered = render.render_all(m)
    reports = {"junit": gotest.parse_junit(rendered.files["junit.xml"]),
               "e2e": gotest.parse_e2e_log(rendered.files["e2e.log"])}
    for kind, rep in reports.items():
        for row in rendered.view.rows:
            assert rep.outcome_for(row.req.test_name) == row.outcome, (kind, row.req.id)
            for c in row.result.checks:
                assert f"{row.req.test_name}/{gotest.subtest_name(c.name)}" in rep.tests
        test = catalog.requirement(version, rid_fail).test_name
        assert sorted(rep.failures) == sorted([test, f"{test}/webhook_answers"]), kind
    log = rendered.files["e2e.log"].splitlines()
    assert log[-2] == "FAIL" and log[-1].startswith("FAIL\taiconform/conformance\t")
    assert f"=== RUN   {test}" in log
    assert any(re.fullmatch(rf"--- FAIL: {test} \(\d+\.\d\ds\)", line) for line in log)
    assert any(re.fullmatch(rf"    --- FAIL: {test}/webhook_answers \(\d+\.\d\ds\)", line) for line in log)
    root = ET.fromstring(rendered.files["junit.xml"])
    assert root.tag == "testsuites" and int(root.get("failures")) == 2


def test_all_pass_e2e_log_ends_with_ok() -> None:
    log = render.render_all(model("v1.35")).files["e2e.log"].splitlines()
    assert log[-2] == "PASS" and re.fullmatch(r"ok  \taiconform/conformance\t\d+\.\d{3}s", log[-1])


def test_failing_check_under_passing_requirement_is_not_a_failure() -> None:
    m = model("v1.37", {"gang_scheduling": result("gang_scheduling", checks=[
        Check("optional metrics", Outcome.FAIL, "no prometheus"), Check("gang admitted", Outcome.PASS)])})
    rendered = render.render_all(m)
    rep = gotest.parse_e2e_log(rendered.files["e2e.log"])
    assert rep.failures == []
    assert rep.tests["TestGangScheduling/optional_metrics"] == "skip"
    assert rendered.validation.ok, rendered.validation.errors


def test_gotest_json_parser_and_package_failures() -> None:
    lines = [{"Action": "run", "Test": "TestA"}, {"Action": "pass", "Test": "TestA"},
             {"Action": "skip", "Test": "TestB/x"}, {"Action": "skip", "Test": "TestB/y"},
             {"Action": "fail", "Package": "p"}]
    rep = gotest.parse_gotest_json("\n".join(json.dumps(x) for x in lines))
    assert rep.outcome_for("TestA") == "pass" and rep.outcome_for("TestB") == "skip"
    assert rep.outcome_for("TestC") == "not found"
    assert rep.failures == ["package p"]
    with pytest.raises(gotest.ArtifactError):
        gotest.parse_gotest_json("not json")


# ------------------------------------------------------------------------------------------ README.md

SEED_SECTIONS = ["## Platform Information", "## Compliance Summary", "### Requirements at a Glance",
                 "## Detailed Requirements", "**Level:**", "**Status:**", "**Evidence:**", "**Notes:**",
                 "| **Vendor** |", "| **Platform** |", "| **Platform Version** |", "| **Kubernetes Version** |",
                 "| **Total** |", "| Category | Requirement | Level | Status |"]


@pytest.mark.parametrize("version", VERSIONS)
def test_readme_has_every_seed_section(version: str) -> None:
    rendered = render.render_all(model(version, {"gang_scheduling": result("gang_scheduling", notes="Kueue 0.19")}))
    md = rendered.files["README.md"]
    for section in SEED_SECTIONS:
        assert section in md, section
    assert md.startswith(f"# {PLATFORM['platformName']} — AI Conformance Report")
    for req in catalog.requirement_set(version):
        assert f"#### ✅ {req.title}" in md
        assert f"> {req.description}" in md
    groups = [c.title for c in catalog.categories() if any(r.category == c.key for r in catalog.requirement_set(version))]
    positions = [md.index(f" {g}\n") for g in groups]
    assert positions == sorted(positions)
    assert "SIMULATED" not in md
    assert "> Kueue 0.19" in md


def test_simulated_cluster_is_loud_everywhere() -> None:
    rendered = render.render_all(model("v1.35", simulated=True))
    assert "SIMULATED CLUSTER — NOT A CONFORMANCE SUBMISSION" in rendered.files["README.md"]
    assert "SIMULATED CLUSTER — NOT A CONFORMANCE SUBMISSION" in rendered.files["report.html"]
    assert rendered.files["PRODUCT.yaml"].startswith("# SIMULATED CLUSTER")
    assert any("SIMULATED" in m for m in rendered.messages)


def test_lab_cluster_says_lab_with_kwok_nodes_and_no_accelerators_everywhere() -> None:
    m = model("v1.35", simulated=True)
    m["cluster"]["engine"] = "lab"
    rendered = render.render_all(m)
    said = "lab (kwok nodes, no real accelerators)"
    for name in ("README.md", "report.html", "PRODUCT.yaml", "e2e.log", "junit.xml"):
        text = rendered.files[name]
        assert said in text or said.upper() in text or 'name="engine" value="lab"' in text, name
        assert "API simulator" not in text, name
    assert rendered.files["PRODUCT.yaml"].startswith("# LAB CLUSTER")
    assert any(said in msg for msg in rendered.messages)


# ------------------------------------------------------------------------------------------ metadata

@pytest.mark.parametrize(("field", "value", "message"), [
    ("platformName", None, "platformName is missing"),
    ("vendorName", "", "vendorName is missing"),
    ("websiteUrl", "[Website URL]", "websiteUrl is still a placeholder"),
    ("contactEmailAddress", "not-an-email", "contactEmailAddress is not an e-mail address"),
    ("documentationUrl", "docs.example.com", "documentationUrl is not an http(s) URL"),
    ("k8sConformanceUrl", "https://github.com/cncf/k8s-conformance/blob/master/v1.35/x", "k8sConformanceUrl has the wrong format"),
    ("platformVersion", 4.22, "platformVersion must be a string"),
])
def test_platform_metadata_problems_are_visible(field: str, value: Any, message: str) -> None:
    plat = dict(PLATFORM)
    if value is None:
        del plat[field]
    else:
        plat[field] = value
    rendered = render.render_all(model("v1.35", platform=plat))
    assert any(message in m and m.startswith("ERROR") for m in rendered.messages), rendered.messages
    assert message.split(" ")[0] in rendered.files["README.md"]
    meta = yaml.safe_load(rendered.files["PRODUCT.yaml"])["metadata"]
    assert meta[field] not in ("", None)
    if value in (None, ""):
        assert meta[field].startswith("[") and meta[field].endswith("]")
    if field in ("contactEmailAddress", "documentationUrl"):  # the cncf validator does not check these shapes
        assert rendered.validation.ok and any(field in w for w in rendered.validation.stricter)
    else:
        assert not rendered.validation.ok or field == "platformVersion"


def test_snake_case_platform_keys_accepted() -> None:
    plat = {("k8s_conformance_url" if k == "k8sConformanceUrl" else k): v for k, v in PLATFORM.items()}
    plat["k8s_conformance_url"] = "https://github.com/cncf/k8s-conformance/tree/main/v1.35/example"
    rendered = render.render_all(model("v1.35", platform=plat))
    assert rendered.validation.ok, rendered.validation.errors
    assert "k8sConformanceUrl" in yaml.safe_load(rendered.files["PRODUCT.yaml"])["metadata"]


# ------------------------------------------------------------------------------------------ secrets, HTML

def test_secrets_never_reach_artifacts(tmp_path: Path) -> None:
    m = model("v1.35", {"gang_scheduling": result("gang_scheduling", evidence=[
        Evidence("kubeconfig", content="users:\n- user:\n    token: sup3rs3cr3tvalue\n", command="kubectl --token=abcdef123 get x")])})
    m["cluster"].update(token="clustertoken123", kubeconfig="/root/.kube/config",
                        api_server="https://admin:hunter2@10.1.2.3:6443/api?x=1")
    run_dir = write(tmp_path, m)
    for path in run_dir.rglob("*"):
        if path.is_file():
            text = path.read_text()
            for secret in ("sup3rs3cr3tvalue", "abcdef123", "clustertoken123", "hunter2", "/root/.kube/config"):
                assert secret not in text, (path, secret)
    assert json.loads((run_dir / "results.json").read_text())["cluster"]["api_server"] == "https://10.1.2.3:6443"


def test_html_is_escaped_and_self_contained() -> None:
    evil = "<script>alert(1)</script>"
    m = model("v1.37", {"gang_scheduling": result("gang_scheduling", reasons=[evil], checks=[Check(evil, Outcome.PASS)],
                                                  evidence=[Evidence(evil, content=evil)])})
    m["platform"]["platformName"] = evil
    html = render.render_all(m).files["report.html"]
    assert evil not in html and "&lt;script&gt;" in html
    assert not re.search(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", html)
    assert "<link" not in html and "@import" not in html and "<script" not in html
    assert html.count("<details>") >= 15
    assert 'class="badge ok"' in html


# ------------------------------------------------------------------------------------------ rerender, latest

def test_rerender_from_results_json_alone(tmp_path: Path) -> None:
    run_dir = write(tmp_path, model("v1.37", {"gpu_sharing": result("gpu_sharing", Status.NOT_IMPLEMENTED)}))
    before = {p.relative_to(run_dir): p.read_text() for p in run_dir.rglob("*") if p.is_file()}
    for p in list(run_dir.iterdir()):
        if p.name != "results.json":
            if p.is_dir():
                shutil.rmtree(p)
            else:
                p.unlink()
    render.rerender(run_dir)
    after = {p.relative_to(run_dir): p.read_text() for p in run_dir.rglob("*") if p.is_file()}
    assert after == before


def test_latest_points_at_newest_run(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    new = render.write_run(model("v1.35", run_id="20261127T050000Z"), reports)[0]
    old = render.write_run(model("v1.35", run_id="20261126T050000Z"), reports)[0]
    latest = reports / "lab-a" / "latest"
    assert latest.resolve() == new.resolve() != old.resolve()
    assert not list((reports / "lab-a").glob(".latest*"))


def test_newer_minor_renders_with_newest_set_and_warning() -> None:
    m = model("v1.37")
    m["cluster"]["kubernetes_version"] = "v1.38"
    rendered = render.render_all(m)
    assert rendered.view.set_version == "v1.37"
    assert any("v1.38" in x for x in rendered.messages)
    assert "v1.38" in rendered.files["README.md"]


def test_unsupported_version_raises() -> None:
    m = model("v1.35")
    m["cluster"]["kubernetes_version"] = "v1.30"
    with pytest.raises(catalog.UnsupportedVersionError):
        render.render_all(m)
