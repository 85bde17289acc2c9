"""pod_autoscaling end to end: ansible-playbook conformance.yml --tags verify,pod_autoscaling on the simulator.

The simulator's HPA controller (aiconform/sim/controllers/hpa.py) runs upstream's algorithm on the custom
metric prometheus-adapter's rule exposes (workload_gpu_utilization from DCGM_FI_DEV_GPU_UTIL). The load is
what the probe really does: it flips its ConfigMap `load` to "1" (the workload pods run their GPU kernel) and
back to "0"; the emulated DCGM value of such a pod is 100 under load and 0 idle, as the Viettel v1.35 evidence
(`gpu-inference-… -> 100`) and the idle L4 of the kOps DCGM dump show. Timeouts are shortened by inventory.
"""
from __future__ import annotations

import pytest
from helpers.conformance_e2e import probe_namespaces, run_conformance
from helpers.sim import SimHandle

pytestmark = pytest.mark.e2e
REQ = "pod_autoscaling"
FAST = {"aiconform_pod_autoscaling_stabilization_window": 3, "aiconform_pod_autoscaling_pod_ready_timeout": 15,
        "aiconform_pod_autoscaling_scale_up_timeout": 15, "aiconform_pod_autoscaling_scale_down_timeout": 20}


@pytest.fixture
def lab(request, sim_factory) -> SimHandle:
    return sim_factory(request.param)


@pytest.mark.parametrize("lab", ["conformant"], indirect=True)
def test_conformant_hpa_scales_up_and_down(lab, tmp_path):
    entry, out = run_conformance(lab, tmp_path, REQ, FAST)
    assert entry["status"] == "Implemented", (entry["reasons"], out[-3000:])
    assert {c["outcome"] for c in entry["checks"]} == {"pass"}
    facts = entry["facts"]
    assert facts["scale_up"]["hpa"]["desiredReplicas"] == 2
    assert all(v["value"] == "100" for v in facts["scale_up"]["metric_values"])  # busy GPU, as Viettel's
    # scale-down waited for the stabilization window
    assert facts["scale_down"]["after_s"] >= 3
    assert any(e["reason"] == "SuccessfulRescale" and "above target" in e["message"] for e in facts["events"])
    assert not probe_namespaces(lab, REQ)


@pytest.mark.parametrize("lab", ["gpu-lab"], indirect=True)
def test_without_metrics_apis_is_not_implemented(lab, tmp_path):
    entry, out = run_conformance(lab, tmp_path, REQ, FAST)
    assert entry["status"] == "Not Implemented", (entry["reasons"], out[-3000:])
    assert "v1beta1.metrics.k8s.io not registered" in " ".join(entry["reasons"])


@pytest.mark.parametrize("lab", ["broken-hpa"], indirect=True)
def test_hpa_that_never_scales_times_out(lab, tmp_path):
    entry, out = run_conformance(lab, tmp_path, REQ, {**FAST, "aiconform_pod_autoscaling_scale_up_timeout": 4})
    assert entry["status"] == "Not Implemented", (entry["reasons"], out[-3000:])
    up = next(c for c in entry["checks"] if c["name"] == "ScaleUpOnAcceleratorMetric")
    assert up["outcome"] == "fail" and "timed out after 4s" in up["reason"]
    assert not probe_namespaces(lab, REQ)


@pytest.mark.parametrize("lab", ["conformant"], indirect=True)
def test_api_fault_is_an_error_and_leaves_nothing_behind(lab, tmp_path):
    lab.faults({"path": r"/apis/autoscaling/v2/namespaces/aiconform-pod-autoscaling-[^/]+/horizontalpodautoscalers$",
                "verb": "create", "status": 403})
    entry, out = run_conformance(lab, tmp_path, REQ, FAST)
    assert entry["status"] == "error", (entry["reasons"], out[-3000:])
    assert "forbidden" in " ".join(entry["reasons"])
    assert not probe_namespaces(lab, REQ)
