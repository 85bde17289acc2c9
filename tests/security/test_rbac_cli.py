"""`aiconform rbac generate` reads the simulator's request log (or a list / JSON lines) and writes the bundle."""
from __future__ import annotations

import json
from pathlib import Path

import yaml

from aiconform.cli import main
from aiconform.rbac import load_rules
from aiconform.rbac_cli import read_records

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
