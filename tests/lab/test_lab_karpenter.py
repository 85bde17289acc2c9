"""cluster_autoscaling decided by the real Karpenter (kwok provider, ``aiconform lab up --stack karpenter``).

The lab runs Karpenter's kwok provider built from sigs.k8s.io/karpenter (its Deployment's pod runs the binary) with
a GPU NodePool that has no node: the verifier's trigger pod is pending, Karpenter nominates a NodeClaim, creates a
kwok Node for it, the pod runs there, and after the pod is deleted Karpenter consolidates the empty node away ->
Implemented. With the NodePool's ``limits`` at 0 GPUs Karpenter refuses to launch anything -> Not Implemented.
Nothing is stubbed: every node, NodeClaim and Nominated event comes from Karpenter.

`make lab-build` builds the stack (``aiconform lab build --stack karpenter``); without its binary these tests skip
with the reason, except under CI, where that is a failure (``require_binaries``).
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from helpers.lab import LabHandle, stack_lab, verify_on_lab
from helpers.sim import run_tool

from aiconform import PROJECT_ROOT
from aiconform.labcluster import build, karpenter

pytestmark = pytest.mark.lab
STACK = "karpenter"
REQ = "cluster_autoscaling"
VARS = {"aiconform_cluster_autoscaling_node_pool_label": f"karpenter.sh/nodepool={karpenter.NODEPOOL}",
        "aiconform_cluster_autoscaling_pending_timeout": 60,
        "aiconform_cluster_autoscaling_scale_up_timeout": 90,
        "aiconform_cluster_autoscaling_scale_down_timeout": 120,
        "aiconform_cluster_autoscaling_stability_window": 4}


lab = stack_lab(STACK)


def _verify(lab: LabHandle, tmp_path: Path, extra: dict[str, Any] | None = None) -> tuple[dict[str, Any], str]:
    results, out, _run = verify_on_lab(lab, tmp_path, REQ, {**VARS, **(extra or {})})
    return results[REQ], out


def _kubectl_json(lab: LabHandle, *args: str) -> dict[str, Any]:
    res = run_tool(lab, "kubectl", *args, "-o", "json")  # type: ignore[arg-type]
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout)


def test_lab_status_names_the_stacks_components(lab: LabHandle) -> None:
    version = build.upstream_pin("karpenter")["version"]
    res = subprocess.run([sys.executable, "-m", "aiconform.cli", "lab", "status", "--kubeconfig", str(lab.kubeconfig)],
                         cwd=PROJECT_ROOT, env=lab.subprocess_env(), capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    assert f"real: karpenter {version} (built from sigs.k8s.io/karpenter)" in res.stdout, res.stdout
    assert build.program_of("karpenter").binary.exists()
    info = json.loads((lab.state / "lab.json").read_text())["stack"]["karpenter"]
    assert info["version"] == version and "Deployment karpenter/karpenter" in info["runs_as"], info
    assert "nodepools.karpenter.sh" in info["crds"] and "kwoknodeclasses.karpenter.kwok.sh" in info["crds"], info
    # Karpenter itself judged its NodePool Ready (NodeClassReady from the KWOKNodeClass the lab marked Ready)
    np = _kubectl_json(lab, "get", "nodepools.karpenter.sh", karpenter.NODEPOOL)
    assert {c["type"]: c["status"] for c in np["status"]["conditions"]}["Ready"] == "True", np["status"]


def test_karpenter_grows_and_shrinks_the_gpu_pool(lab: LabHandle, tmp_path: Path) -> None:
    entry, out = _verify(lab, tmp_path)
    assert entry["status"] == "Implemented", "\n".join((json.dumps(entry["reasons"]), out[-3000:],
                                                         lab.log("kwok")[-1500:]))
    facts = entry["facts"]
    mech = facts["mechanism"]
    assert mech["name"] == "karpenter" and f"Deployment {karpenter.NAMESPACE}/{karpenter.NAME}" in mech["how"], mech
    assert "NodeClass kwok" in mech["how"], mech
    trig = facts["trigger"]
    # scale from zero: the pool had no node, Karpenter nominated a NodeClaim for the pending pod
    assert trig["pool_was_empty"] and trig["running_on_new_node"], trig
    ev = trig["scale_up_events"]
    claim = trig["nodeclaim"]
    assert ev and ev[0]["reason"] == "Nominated" and ev[0]["source"] == "karpenter", ev
    assert ev[0]["message"] == f"Pod should schedule on: nodeclaim/{claim['name']}", ev
    # the node is the one Karpenter's kwok provider created for that NodeClaim
    assert claim["nodeName"] == trig["node"] and claim["nodepool"] == karpenter.NODEPOOL, claim
    assert str(claim["providerID"]).startswith("kwok://") and trig["node"].startswith(f"kwok-{claim['name']}-"), claim
    assert claim["conditions"].get("Initialized") == "True", claim
    down = facts["scale_down"]
    assert down["returned"] and down["stable"], down
    # consolidated away by Karpenter: no NodeClaim and no node of the pool left
    assert not _kubectl_json(lab, "get", "nodeclaims.karpenter.sh")["items"]
    assert not _kubectl_json(lab, "get", "nodes", "-l", f"karpenter.sh/nodepool={karpenter.NODEPOOL}")["items"]


def test_karpenter_at_its_nodepool_limit_is_not_implemented(lab: LabHandle, tmp_path: Path) -> None:
    """Runs last in the module: the NodePool's limits forbid any GPU node from here on."""
    patch = json.dumps({"spec": {"limits": {"nvidia.com/gpu": "0"}}})
    res = run_tool(lab, "kubectl", "patch", "nodepools.karpenter.sh", karpenter.NODEPOOL,  # type: ignore[arg-type]
                   "--type=merge", "-p", patch)
    assert res.returncode == 0, res.stderr
    entry, out = _verify(lab, tmp_path, {"aiconform_cluster_autoscaling_scale_up_timeout": 25})
    assert entry["status"] == "Not Implemented", "\n".join((json.dumps(entry["reasons"]), out[-3000:]))
    checks = {c["name"]: c for c in entry["checks"]}
    assert checks["ScaleUpOnNewNode"]["outcome"] == "fail", checks
    trig = entry["facts"]["trigger"]
    assert trig["pending"] and not trig.get("running_on_new_node") and not trig["scale_up_events"], trig
    # Karpenter itself said why: its own FailedScheduling event on the pod names the NodePool's limits
    assert any("limits" in m for m in trig["not_triggered"]), trig["events"]
    assert "limits" in checks["ScaleUpOnNewNode"]["reason"], checks["ScaleUpOnNewNode"]
    assert not _kubectl_json(lab, "get", "nodeclaims.karpenter.sh")["items"]
