"""cluster_autoscaling end to end: ansible-playbook conformance.yml --tags verify,cluster_autoscaling on the simulator.

The simulator's cluster-autoscaler (aiconform/sim/controllers/autoscaler.py, kwok provider semantics) answers with
the real event reasons and messages (TriggeredScaleUp "pod triggered scale-up: [{gpu-a 1->2 (max: 3)}]",
NotTriggerScaleUp "... max node group size reached") and writes cluster-autoscaler-status in the YAML format of
the AICR GKE sample (fixtures/stacks/..._cluster-autoscaler-status.yaml). Timeouts are shortened by inventory.
"""
from __future__ import annotations

import pytest
from helpers.conformance_e2e import probe_namespaces, run_conformance
from helpers.sim import SimHandle

pytestmark = pytest.mark.e2e
REQ = "cluster_autoscaling"
FAST = {"aiconform_cluster_autoscaling_node_pool_label": "kwok-nodegroup=gpu-a",
        "aiconform_cluster_autoscaling_tolerations": [{"key": "kwok-provider", "operator": "Exists",
                                                        "effect": "NoSchedule"}],
        "aiconform_cluster_autoscaling_pending_timeout": 15, "aiconform_cluster_autoscaling_scale_up_timeout": 15,
        "aiconform_cluster_autoscaling_scale_down_timeout": 20, "aiconform_cluster_autoscaling_stability_window": 2}


@pytest.fixture
def lab(request, sim_factory) -> SimHandle:
    return sim_factory(request.param)


@pytest.mark.parametrize("lab", ["conformant-autoscaling"], indirect=True)
def test_gpu_pool_scales_up_and_down(lab, tmp_path):
    entry, out = run_conformance(lab, tmp_path, REQ, FAST)
    assert entry["status"] == "Implemented", (entry["reasons"], out[-3000:])
    assert {c["outcome"] for c in entry["checks"]} == {"pass"}
    assert entry["test_name"] == "TestAcceleratorClusterAutoscaling"
    assert entry["facts"]["trigger"]["triggered_scale_up"] == ["pod triggered scale-up: [{gpu-a 1->2 (max: 3)}]"]
    assert "autoscalerStatus: Running" in "\n".join(e["content"] for e in entry["evidence"])
    assert not probe_namespaces(lab, REQ)


@pytest.mark.parametrize("lab", ["gpu-lab"], indirect=True)
def test_no_autoscaler_and_no_pool_is_na_with_what_was_looked_for(lab, tmp_path):
    entry, out = run_conformance(lab, tmp_path, REQ, {})
    assert entry["status"] == "N/A", (entry["reasons"], out[-3000:])
    assert "cluster-autoscaler-status" in entry["reasons"][0] and "karpenter.sh" in entry["reasons"][0]


@pytest.mark.parametrize("lab", ["conformant-autoscaling"], indirect=True)
def test_autoscaler_without_configured_pool_is_unknown(lab, tmp_path):
    entry, out = run_conformance(lab, tmp_path, REQ, {})
    assert entry["status"] == "unknown", (entry["reasons"], out[-3000:])
    assert "aiconform_cluster_autoscaling_node_pool_label" in entry["reasons"][0]


@pytest.mark.parametrize("lab", ["broken-autoscaler"], indirect=True)
def test_autoscaler_that_never_adds_a_node_times_out(lab, tmp_path):
    entry, out = run_conformance(lab, tmp_path, REQ, {**FAST, "aiconform_cluster_autoscaling_scale_up_timeout": 4})
    assert entry["status"] == "Not Implemented", (entry["reasons"], out[-3000:])
    up = next(c for c in entry["checks"] if c["name"] == "ScaleUpOnNewNode")
    assert up["outcome"] == "fail" and "timed out after 4s" in up["reason"]
    assert "max node group size reached" in up["reason"]
    assert not probe_namespaces(lab, REQ)


@pytest.mark.parametrize("lab", ["conformant-autoscaling"], indirect=True)
def test_api_fault_is_an_error_and_leaves_nothing_behind(lab, tmp_path):
    lab.faults({"path": r"/api/v1/namespaces/aiconform-cluster-autoscaling-[^/]+/pods$", "verb": "create",
                "status": 500})
    entry, out = run_conformance(lab, tmp_path, REQ, FAST)
    assert entry["status"] == "error", (entry["reasons"], out[-3000:])
    assert "500" in " ".join(entry["reasons"])
    assert not probe_namespaces(lab, REQ)
