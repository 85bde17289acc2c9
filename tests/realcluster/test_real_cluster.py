"""The same verify phase against a real cluster, when AICONFORM_TEST_KUBECONFIG names its kubeconfig.

Skipped otherwise (no cluster can be reached from CI). Run, for example:
    AICONFORM_TEST_KUBECONFIG=~/.kube/lab.yaml AICONFORM_TEST_CONTEXT=lab make test ARGS="-m realcluster"
"""
from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
import yaml

from aiconform import PROJECT_ROOT
from aiconform.toolchain import ansible_env

KUBECONFIG = os.environ.get("AICONFORM_TEST_KUBECONFIG")

pytestmark = [
    pytest.mark.realcluster,
    pytest.mark.skipif(not KUBECONFIG, reason="AICONFORM_TEST_KUBECONFIG is not set: no real cluster to test"),
]


def test_verify_phase_reaches_a_verdict_for_every_selected_requirement(tmp_path: Path) -> None:
    host = {"ansible_connection": "local", "aiconform_kubeconfig": str(Path(KUBECONFIG).expanduser()),
            "aiconform_reports_dir": str(tmp_path / "reports")}
    if os.environ.get("AICONFORM_TEST_CONTEXT"):
        host["aiconform_context"] = os.environ["AICONFORM_TEST_CONTEXT"]
    inventory = tmp_path / "hosts.yml"
    inventory.write_text(yaml.safe_dump({"all": {"hosts": {"real-cluster": host}}}))
    tags = os.environ.get("AICONFORM_TEST_TAGS", "verify")
    proc = subprocess.run(["ansible-playbook", "conformance.yml", "-i", str(inventory), "--tags", tags],
                          cwd=PROJECT_ROOT, env=ansible_env(), capture_output=True, text=True, timeout=5400)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    results = json.loads((tmp_path / "reports" / "real-cluster" / "latest" / "results.json").read_text())
    assert results["requirements"], "no requirement verified"
    for req in results["requirements"]:
        assert req["status"], req["id"]
        if req["status"] != "Implemented":
            assert req["reasons"], f"{req['id']} is {req['status']} without a reason"
