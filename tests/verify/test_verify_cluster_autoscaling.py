"""cluster_autoscaling on the simulator: the verify job in-process; the first test through ansible-playbook.
The tests call ``helpers.conformance_e2e.verify_in_process`` (the verify job's code, the options the plan
task gives from the same inventory variables); the first runs ``ansible-playbook conformance.yml --tags
verify,cluster_autoscaling``.

The simulator's cluster-autoscaler (aiconform/sim/controllers/autoscaler.py, kwok provider semantics) answers with
the real event reasons and messages (TriggeredScaleUp "pod triggered scale-up: [{gpu-a 1->2 (max: 3)}]",
NotTriggerScaleUp "... max node group size reached") and writes cluster-autoscaler-status in the YAML format of
the AICR GKE sample (fixtures/stacks/..._cluster-autoscaler-status.yaml). Timeouts are shortened by inventory.
"""
from __future__ import annotations

import json

import pytest
import yaml
from helpers.conformance_e2e import probe_namespaces, run_conformance, verify_in_process
from helpers.sim import SimHandle, run_tool, until

pytestmark = pytest.mark.e2e
REQ = "cluster_autoscaling"
FAST = {"aiconform_cluster_autoscaling_node_pool_label": "kwok-nodegroup=gpu-a",
        "aiconform_cluster_autoscaling_tolerations": [{"key": "kwok-provider", "operator": "Exists",
                                                        "effect": "NoSchedule"}],
        "aiconform_cluster_autoscaling_pending_timeout": 15, "aiconform_cluster_autoscaling_scale_up_timeout": 15,
        "aiconform_cluster_autoscaling_scale_down_timeout": 20, "aiconform_cluster_autoscaling_stability_window": 2}


def _autoscaler_settled(lab: SimHandle) -> bool:
    """The autoscaler's start-up is over: its status written, every group at least at its min size, no scale-up
    in progress, every node Ready (a probe started earlier sees the pool change under it: no baseline)."""
    got = run_tool(lab, "kubectl", "get", "configmaps", "-A", "--field-selector", "metadata.name=cluster-autoscaler-status",
                   "-o", "jsonpath={.items[*].data.status}")
    status = yaml.safe_load(got.stdout) if got.returncode == 0 and got.stdout.strip() else None
    if not isinstance(status, dict):
        return False
    wide = status.get("clusterWide") or {}
    counts = ((wide.get("health") or {}).get("nodeCounts") or {}).get("registered") or {}
    return ((wide.get("scaleUp") or {}).get("status") == "NoActivity" and counts.get("ready") == counts.get("total")
            and all(g["health"]["cloudProviderTarget"] >= g["health"]["minSize"] for g in status.get("nodeGroups") or []))


@pytest.fixture
def lab(request, sim_factory) -> SimHandle:
    """The scenario's simulator; with a cluster-autoscaler, once its start-up (min-size nodes) is over, as the
    playbook's preflight and plan tasks gave it time to be."""
    sim = sim_factory(request.param)
    if "autoscal" in request.param:
        assert until(lambda: _autoscaler_settled(sim), timeout=60), "the simulated cluster-autoscaler never settled"
    return sim


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
    entry, out = verify_in_process(lab, tmp_path, REQ, {})
    assert entry["status"] == "N/A", (entry["reasons"], out[-3000:])
    assert "cluster-autoscaler-status" in entry["reasons"][0] and "karpenter.sh" in entry["reasons"][0]


@pytest.mark.parametrize("lab", ["conformant-autoscaling"], indirect=True)
def test_autoscaler_without_configured_pool_is_unknown(lab, tmp_path):
    entry, out = verify_in_process(lab, tmp_path, REQ, {})
    assert entry["status"] == "unknown", (entry["reasons"], out[-3000:])
    assert "aiconform_cluster_autoscaling_node_pool_label" in entry["reasons"][0]


@pytest.mark.parametrize("lab", ["broken-autoscaler"], indirect=True)
def test_autoscaler_that_never_adds_a_node_times_out(lab, tmp_path):
    entry, out = verify_in_process(lab, tmp_path, REQ, {**FAST, "aiconform_cluster_autoscaling_scale_up_timeout": 4})
    assert entry["status"] == "Not Implemented", (entry["reasons"], out[-3000:])
    up = next(c for c in entry["checks"] if c["name"] == "ScaleUpOnNewNode")
    assert up["outcome"] == "fail" and "timed out after 4s" in up["reason"]
    assert "max node group size reached" in up["reason"]
    assert not probe_namespaces(lab, REQ)


@pytest.mark.parametrize("lab", ["conformant-autoscaling"], indirect=True)
def test_api_fault_is_an_error_and_leaves_nothing_behind(lab, tmp_path):
    lab.faults({"path": r"/api/v1/namespaces/aiconform-cluster-autoscaling-[^/]+/pods$", "verb": "create",
                "status": 500})
    entry, out = verify_in_process(lab, tmp_path, REQ, FAST)
    assert entry["status"] == "error", (entry["reasons"], out[-3000:])
    assert "500" in " ".join(entry["reasons"])
    assert not probe_namespaces(lab, REQ)


# -- scale from zero, Karpenter, managed Karpenter -------------------------------------------------------------
def _apply(lab: SimHandle, obj: dict) -> None:
    done = run_tool(lab, "kubectl", "apply", "-f", "-", input=json.dumps(obj))
    assert done.returncode == 0, done.stderr


ZERO = {**FAST, "aiconform_cluster_autoscaling_node_pool_label": "kwok-nodegroup=gpu-z"}
KARP = {k: v for k, v in FAST.items() if k != "aiconform_cluster_autoscaling_tolerations"} | {
    "aiconform_cluster_autoscaling_node_pool_label": "karpenter.sh/nodepool=gpu"}


@pytest.mark.parametrize("lab", ["autoscaling-from-zero"], indirect=True)
def test_ca_pool_scaling_from_zero_is_implemented(lab, tmp_path):
    entry, out = verify_in_process(lab, tmp_path, REQ, ZERO)
    assert entry["status"] == "Implemented", (entry["reasons"], out[-3000:])
    trig = entry["facts"]["trigger"]
    # the scheduler cannot name the accelerator: no node carries the pool's label yet
    assert not trig["names_resource"] and trig["pool_was_empty"]
    assert "didn't match Pod's node affinity/selector" in trig["unschedulable_message"]
    assert trig["triggered_scale_up"] == ["pod triggered scale-up: [{gpu-z 0->1 (max: 2)}]"]
    pending = next(c for c in entry["checks"] if c["name"] == "TriggerPodUnschedulable")
    assert pending["outcome"] == "pass" and "TriggeredScaleUp" in pending["reason"]
    assert entry["facts"]["mechanism"]["name"] == "cluster-autoscaler"
    assert not probe_namespaces(lab, REQ)


@pytest.mark.parametrize("lab", ["autoscaling-from-zero"], indirect=True)
def test_ca_from_zero_without_scale_up_is_not_implemented(lab, tmp_path):
    _apply(lab, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {
        "name": "cluster-autoscaler-sim-faults", "namespace": "kube-system",
        "annotations": {"sim.aiconform.io/cluster-autoscaler": "max-size-reached"}}, "data": {}})
    entry, out = verify_in_process(lab, tmp_path, REQ, {**ZERO, "aiconform_cluster_autoscaling_scale_up_timeout": 4})
    assert entry["status"] == "Not Implemented", (entry["reasons"], out[-3000:])
    checks = {c["name"]: c for c in entry["checks"]}
    assert checks["TriggerPodUnschedulable"]["outcome"] == "fail"
    assert "no autoscaler recorded a scale-up" in checks["TriggerPodUnschedulable"]["reason"]
    assert "max node group size reached" in checks["ScaleUpOnNewNode"]["reason"]


@pytest.mark.parametrize("lab", ["karpenter"], indirect=True)
def test_karpenter_nodepool_scales_from_zero_and_consolidates(lab, tmp_path):
    entry, out = verify_in_process(lab, tmp_path, REQ, KARP)
    assert entry["status"] == "Implemented", (entry["reasons"], out[-3000:])
    facts = entry["facts"]
    assert facts["mechanism"]["name"] == "karpenter" and "Deployment karpenter/karpenter" in facts["mechanism"]["how"]
    ev = facts["trigger"]["scale_up_events"]
    assert ev and ev[0]["reason"] == "Nominated" and ev[0]["source"] == "karpenter"
    assert ev[0]["message"] == f"Pod should schedule on: nodeclaim/{facts['trigger']['nodeclaim']['name']}"
    assert facts["trigger"]["nodeclaim"]["nodeName"] == facts["trigger"]["node"]
    assert facts["scale_down"]["returned"] and facts["scale_down"]["stable"]
    assert not probe_namespaces(lab, REQ)


@pytest.mark.parametrize("lab", ["karpenter-managed"], indirect=True)
def test_managed_karpenter_eks_auto_mode_is_implemented(lab, tmp_path):
    entry, out = verify_in_process(lab, tmp_path, REQ, KARP)
    assert entry["status"] == "Implemented", (entry["reasons"], out[-3000:])
    mech = entry["facts"]["mechanism"]
    assert mech["name"] == "karpenter" and "managed by the provider" in mech["how"] and "EKS Auto Mode" in mech["how"]
    assert entry["facts"]["trigger"]["scale_up_events"][0]["source"] == "eks-auto-mode/compute"


@pytest.mark.parametrize("lab", ["broken-karpenter"], indirect=True)
def test_karpenter_at_its_limits_is_not_implemented(lab, tmp_path):
    entry, out = verify_in_process(lab, tmp_path, REQ, {**KARP, "aiconform_cluster_autoscaling_scale_up_timeout": 4})
    assert entry["status"] == "Not Implemented", (entry["reasons"], out[-3000:])
    up = next(c for c in entry["checks"] if c["name"] == "ScaleUpOnNewNode")
    assert up["outcome"] == "fail" and "all available instance types exceed limits for nodepool" in up["reason"]
    assert not probe_namespaces(lab, REQ)


@pytest.mark.parametrize("lab", ["karpenter"], indirect=True)
def test_two_autoscalers_and_a_pool_neither_claims_is_unknown_naming_the_variable(lab, tmp_path):
    _apply(lab, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {
        "name": "cluster-autoscaler-status", "namespace": "kube-system"}, "data": {"status": ""}})
    entry, out = verify_in_process(lab, tmp_path, REQ, {**FAST, "aiconform_cluster_autoscaling_node_pool_label":
                                                      "cloud.google.com/gke-nodepool=gpu"})
    assert entry["status"] == "unknown", (entry["reasons"], out[-3000:])
    reason = entry["reasons"][0]
    assert "aiconform_cluster_autoscaling_autoscaler" in reason and "karpenter" in reason and "cluster-autoscaler" in reason
    assert not probe_namespaces(lab, REQ)


# -- DRA-only GPUs: the probe pods claim a device, the trigger waits for its claim ------------------------------
DRA = {**FAST, "aiconform_cluster_autoscaling_node_pool_label": "kwok-nodegroup=gpu-d"}


@pytest.mark.parametrize("lab", ["autoscaling-dra"], indirect=True)
def test_dra_only_pool_scales_on_a_pending_claim(lab, tmp_path):
    entry, out = verify_in_process(lab, tmp_path, REQ, DRA)
    assert entry["status"] == "Implemented", (entry["reasons"], out[-3000:])
    facts = entry["facts"]
    assert facts["claims"]["mode"] == "dra" and facts["claims"]["device_class"] == "gpu.nvidia.com"
    assert facts["trigger"]["claims"] == "dra" and "cannot allocate all claims" in facts["trigger"]["unschedulable_message"]
    assert facts["trigger"]["triggered_scale_up"] == ["pod triggered scale-up: [{gpu-d 1->2 (max: 3)}]"]
    base = next(c for c in entry["checks"] if c["name"] == "StableBaseline")
    assert "gpu.nvidia.com device (DRA)" in base["reason"]
    assert not probe_namespaces(lab, REQ)


@pytest.mark.parametrize("lab", ["autoscaling-dra"], indirect=True)
def test_dra_only_pool_without_its_deviceclass_is_unknown_naming_the_variable(lab, tmp_path):
    entry, out = verify_in_process(lab, tmp_path, REQ, {**DRA, "aiconform_cluster_autoscaling_device_class": "gpu.amd.com"})
    assert entry["status"] == "unknown", (entry["reasons"], out[-3000:])
    assert "aiconform_cluster_autoscaling_device_class" in entry["reasons"][0]
    assert "DeviceClass gpu.amd.com" in entry["reasons"][0]


@pytest.mark.parametrize("lab", ["autoscaling-dra"], indirect=True)
def test_dra_only_pool_that_never_grows_is_not_implemented(lab, tmp_path):
    _apply(lab, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {
        "name": "cluster-autoscaler-sim-faults", "namespace": "kube-system",
        "annotations": {"sim.aiconform.io/cluster-autoscaler": "max-size-reached"}}, "data": {}})
    entry, out = verify_in_process(lab, tmp_path, REQ, {**DRA, "aiconform_cluster_autoscaling_scale_up_timeout": 4})
    assert entry["status"] == "Not Implemented", (entry["reasons"], out[-3000:])
    checks = {c["name"]: c for c in entry["checks"]}
    assert checks["TriggerPodUnschedulable"]["outcome"] == "pass"  # Unschedulable for its claim
    assert checks["ScaleUpOnNewNode"]["outcome"] == "fail"


@pytest.mark.parametrize("lab", ["autoscaling-managed"], indirect=True)
def test_provider_run_autoscaler_scaling_from_zero_is_implemented(lab, tmp_path):
    entry, out = verify_in_process(lab, tmp_path, REQ, ZERO)
    assert entry["status"] == "Implemented", (entry["reasons"], out[-3000:])
    mech = entry["facts"]["mechanism"]
    assert mech["name"] == "cluster-autoscaler" and "managed by the provider" in mech["how"]
    assert entry["facts"]["autoscaler"]["deployments"] == []
    assert entry["facts"]["trigger"]["triggered_scale_up"] == ["pod triggered scale-up: [{gpu-z 0->1 (max: 2)}]"]


@pytest.mark.parametrize("lab", ["autoscaling-managed"], indirect=True)
def test_provider_run_autoscaler_that_cannot_grow_is_not_implemented(lab, tmp_path):
    _apply(lab, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {
        "name": "cluster-autoscaler-sim-faults", "namespace": "kube-system",
        "annotations": {"sim.aiconform.io/cluster-autoscaler": "max-size-reached"}}, "data": {}})
    entry, out = verify_in_process(lab, tmp_path, REQ, {**ZERO, "aiconform_cluster_autoscaling_scale_up_timeout": 4})
    assert entry["status"] == "Not Implemented", (entry["reasons"], out[-3000:])
    assert "max node group size reached" in " ".join(entry["reasons"])


@pytest.mark.parametrize("lab", ["karpenter-managed"], indirect=True)
def test_managed_karpenter_at_its_limits_is_not_implemented(lab, tmp_path):
    done = run_tool(lab, "kubectl", "patch", "nodepools.karpenter.sh", "gpu", "--type=merge", "-p",
                    json.dumps({"spec": {"limits": {"nvidia.com/gpu": 0}}}))
    assert done.returncode == 0, done.stderr
    entry, out = verify_in_process(lab, tmp_path, REQ, {**KARP, "aiconform_cluster_autoscaling_scale_up_timeout": 4})
    assert entry["status"] == "Not Implemented", (entry["reasons"], out[-3000:])
    assert "exceed limits for nodepool" in " ".join(entry["reasons"])
