"""`aiconform rbac generate` reads the simulator's request log (or a list / JSON lines) and writes the bundle."""
from __future__ import annotations

import json
from pathlib import Path

import yaml

from aiconform.cli import main
from aiconform.rbac import build_rules, grants, load_rules, missing_grants, read_records

RECORDS = [
    {"method": "GET", "path": "/api/v1/namespaces/gpu-operator/services/dcgm:9400/proxy/metrics", "query": "",
     "user_agent": "aiconform/0.1.0 (verify/accelerator_metrics)"},
    {"method": "POST", "path": "/apis/batch/v1/namespaces/p/jobs", "query": "", "user_agent": "aiconform/0.1.0 (verify/g)"},
    {"method": "GET", "path": "/api/v1/namespaces", "query": "labelSelector=x", "user_agent": "OpenAPI-Generator/37.0.2/python"},
]


def test_generate_from_the_simulator_log(tmp_path: Path) -> None:
    log = tmp_path / "requests.json"
    log.write_text(json.dumps({"log": RECORDS}))
    out = tmp_path / "rbac" / "verify.yaml"
    assert main(["rbac", "generate", "--from-requests", str(log), "-o", str(out)]) == 0
    text = out.read_text()
    kinds = [d["kind"] for d in yaml.safe_load_all(text) if d]
    assert kinds == ["Namespace", "ServiceAccount", "ClusterRole", "ClusterRoleBinding"]
    rules = load_rules(text)
    assert {"apiGroups": [""], "resources": ["services/proxy"], "verbs": ["get"]} in rules
    assert {"apiGroups": ["batch"], "resources": ["jobs"], "verbs": ["create"]} in rules
    assert "# needed by: verify/accelerator_metrics" in text and "# needed by: kubernetes.core" in text


def test_other_input_shapes_and_errors(tmp_path: Path) -> None:
    assert read_records(json.dumps(RECORDS)) == RECORDS
    assert read_records("\n".join(json.dumps(r) for r in RECORDS)) == RECORDS
    empty = tmp_path / "empty.json"
    empty.write_text("[]")
    assert main(["rbac", "generate", "--from-requests", str(empty)]) == 2
    assert main(["rbac", "generate", "--from-requests", str(tmp_path / "missing.json")]) == 2


def _rec(method: str, path: str, component: str, query: str = "") -> dict[str, str]:
    return {"method": method, "path": path, "query": query, "user_agent": f"aiconform/0.1.0 ({component})"}


def test_several_logs_give_the_union_of_their_rules(tmp_path: Path) -> None:
    a = [_rec("GET", "/api/v1/nodes", "preflight"), _rec("POST", "/apis/batch/v1/namespaces/p/jobs", "verify/g")]
    b = [_rec("GET", "/api/v1/nodes", "verify/c", "watch=true"),
         _rec("POST", "/apis/policy/v1/namespaces/p/poddisruptionbudgets", "verify/c")]
    for name, log in (("a.json", a), ("b.json", b)):
        (tmp_path / name).write_text(json.dumps({"log": log}))
    out = tmp_path / "verify.yaml"
    assert main(["rbac", "generate", "--from-requests", str(tmp_path / "a.json"),
                 "--from-requests", str(tmp_path / "b.json"), "-o", str(out)]) == 0
    union = load_rules(out.read_text())
    assert grants(union) == grants(build_rules(a)) | grants(build_rules(b))
    assert {"apiGroups": [""], "resources": ["nodes"], "verbs": ["list", "watch"]} in union
    assert "# needed by: preflight, verify/c\n" in out.read_text()
    assert missing_grants(union, build_rules(a)) == [] and missing_grants(union, build_rules(b)) == []
    assert missing_grants(build_rules(a), build_rules(b)) == ["watch nodes.core",
                                                              "create poddisruptionbudgets.policy"]
    (tmp_path / "empty.json").write_text("[]")  # one failed run must not silently shrink the union
    assert main(["rbac", "generate", "--from-requests", str(tmp_path / "a.json"),
                 "--from-requests", str(tmp_path / "empty.json")]) == 2


def test_creating_a_role_needs_what_the_role_grants(tmp_path: Path) -> None:
    # kube-apiserver's escalation check: the creator must hold every permission of the Role it creates
    manifests = tmp_path / "probe" / "manifests"
    manifests.mkdir(parents=True)
    manifests.joinpath("epp.yaml").write_text(yaml.safe_dump([
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "x"}},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": {"name": "x"},
         "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "watch"]}]}]))
    log = [_rec("POST", "/apis/rbac.authorization.k8s.io/v1/namespaces/p/roles", "verify/probe"),
           _rec("POST", "/api/v1/namespaces/p/pods", "verify/probe")]
    rules = build_rules(log, verifiers_dir=tmp_path)
    pods = next(r for r in rules if r.get("resources") == ["pods"])
    assert pods["verbs"] == ["create", "get", "watch"]
    assert pods["_needed_by"] == ["verify/probe", "verify/probe (held to create its Role)"]
    assert [r["verbs"] for r in build_rules(log[1:], verifiers_dir=tmp_path)] == [["create"]]  # no Role, no grant


def test_the_coverage_runs_exercise_every_requirement() -> None:
    from aiconform import catalog
    from aiconform.rbac.coverage import COVERAGE_RUNS

    covered = {rid for run in COVERAGE_RUNS for rid in run.implemented}
    assert covered == set(catalog.all_ids()), set(catalog.all_ids()) ^ covered
    for run in COVERAGE_RUNS:
        assert set(run.requirements) <= set(run.implemented)
