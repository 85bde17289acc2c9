"""pod_autoscaling on the simulator: the verify job in-process; the first test through ansible-playbook.
The tests call ``helpers.conformance_e2e.verify_in_process`` (the verify job's code, the options the plan
task gives from the same inventory variables); the first runs ``ansible-playbook conformance.yml --tags
verify,pod_autoscaling``.

The simulator's HPA controller (aiconform/sim/controllers/hpa.py) runs upstream's algorithm on the custom
metric prometheus-adapter's rule exposes (workload_gpu_utilization from DCGM_FI_DEV_GPU_UTIL). The load is
what the probe really does: it flips its ConfigMap `load` to "1" (the workload pods run their GPU kernel) and
back to "0"; the emulated DCGM value of such a pod is 100 under load and 0 idle, as the Viettel v1.35 evidence
(`gpu-inference-… -> 100`) and the idle L4 of the kOps DCGM dump show. Timeouts are shortened by inventory.
"""
from __future__ import annotations

import importlib

import pytest
from helpers.conformance_e2e import probe_namespaces, run_conformance, verify_in_process
from helpers.sim import SimHandle

pytestmark = pytest.mark.e2e
REQ = "pod_autoscaling"
FAST = {"aiconform_pod_autoscaling_stabilization_window": 3, "aiconform_pod_autoscaling_pod_ready_timeout": 15,
        "aiconform_pod_autoscaling_scale_up_timeout": 15, "aiconform_pod_autoscaling_scale_down_timeout": 20,
        "aiconform_pod_autoscaling_control_window": 3}


@pytest.mark.parametrize("lab", ["conformant"], indirect=True)
def test_conformant_hpa_scales_up_and_down(lab, tmp_path):
    entry, out = run_conformance(lab, tmp_path, REQ, FAST)
    assert entry["status"] == "Implemented", (entry["reasons"], out[-3000:])
    assert {c["outcome"] for c in entry["checks"]} == {"pass"}
    facts = entry["facts"]
    assert facts["scale_up"]["hpa"]["desiredReplicas"] == 2
    assert all(v["value"] == "100" for v in facts["scale_up"]["metric_values"])  # busy GPU, as Viettel's
    # CPU-only control: the GPU metric stayed at 0 and the HPA kept the minimum
    assert facts["control"]["samples"] >= 1 and facts["control"]["max_value"] == 0 and facts["control"]["desired_max"] == 1
    assert facts["source"]["name"] == "custom" and facts["load_image"] == "nvcr.io/nvidia/cuda:12.9.0-devel-ubuntu24.04"
    # scale-down waited for the stabilization window
    assert facts["scale_down"]["after_s"] >= 3
    assert any(e["reason"] == "SuccessfulRescale" and "above target" in e["message"] for e in facts["events"])
    assert not probe_namespaces(lab, REQ)


@pytest.mark.parametrize("lab", ["gpu-lab"], indirect=True)
def test_without_metrics_apis_is_not_implemented(lab, tmp_path):
    entry, out = verify_in_process(lab, tmp_path, REQ, FAST)
    assert entry["status"] == "Not Implemented", (entry["reasons"], out[-3000:])
    reason = " ".join(entry["reasons"])
    assert "APIService v1beta1.custom.metrics.k8s.io not registered" in reason
    assert "external.metrics.k8s.io not registered" in reason


@pytest.mark.parametrize("lab", ["broken-hpa"], indirect=True)
def test_hpa_that_never_scales_times_out(lab, tmp_path):
    entry, out = verify_in_process(lab, tmp_path, REQ, {**FAST, "aiconform_pod_autoscaling_scale_up_timeout": 4})
    assert entry["status"] == "Not Implemented", (entry["reasons"], out[-3000:])
    up = next(c for c in entry["checks"] if c["name"] == "ScaleUpOnAcceleratorMetric")
    assert up["outcome"] == "fail" and "timed out after 4s" in up["reason"]
    assert not probe_namespaces(lab, REQ)


@pytest.mark.parametrize("lab", ["conformant"], indirect=True)
def test_api_fault_is_an_error_and_leaves_nothing_behind(lab, tmp_path):
    lab.faults({"path": r"/apis/autoscaling/v2/namespaces/aiconform-pod-autoscaling-[^/]+/horizontalpodautoscalers$",
                "verb": "create", "status": 403})
    entry, out = verify_in_process(lab, tmp_path, REQ, FAST)
    assert entry["status"] == "error", (entry["reasons"], out[-3000:])
    assert "forbidden" in " ".join(entry["reasons"])
    assert not probe_namespaces(lab, REQ)


def _kubectl(lab: SimHandle, *args: str) -> None:
    from helpers.sim import run_tool
    done = run_tool(lab, "kubectl", *args)
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("lab", ["broken-hpa-cpu-metric"], indirect=True)
def test_custom_metric_that_follows_cpu_is_not_implemented(lab, tmp_path):
    entry, out = verify_in_process(lab, tmp_path, REQ, FAST)
    assert entry["status"] == "Not Implemented", (entry["reasons"], out[-3000:])
    origin = next(c for c in entry["checks"] if c["name"] == "MetricFollowsAcceleratorLoad")
    assert origin["outcome"] == "fail" and "follows CPU load" in origin["reason"], origin
    assert entry["facts"]["control"]["max_value"] == 100  # the "GPU" metric rose with CPU only
    assert not probe_namespaces(lab, REQ)


@pytest.mark.parametrize("lab", ["keda"], indirect=True)
def test_keda_external_metrics_without_metrics_server_is_implemented(lab, tmp_path):
    entry, out = verify_in_process(lab, tmp_path, REQ, FAST)
    assert entry["status"] == "Implemented", (entry["reasons"], out[-3000:])
    assert {c["outcome"] for c in entry["checks"]} == {"pass"}
    facts = entry["facts"]
    assert facts["source"]["name"] == "external" and facts["hpa_name"]["name"] == "keda-hpa-aiconform-gpu-workload"
    assert facts["prometheus"]["address"] == "http://prometheus-operated.monitoring.svc:9090"
    assert 'DCGM_FI_DEV_GPU_UTIL{exported_namespace="' in facts["query"]
    assert facts["control"]["max_value"] == 0 and facts["scale_up"]["max_value"] == 100
    apis = next(c for c in entry["checks"] if c["name"] == "MetricsAPIsAvailable")["reason"]
    assert "KEDA" in apis and "v1beta1.metrics.k8s.io not registered (not required)" in apis
    assert any(e["reason"] == "SuccessfulRescale" and "external metric s0-prometheus" in e["message"]
               for e in facts["events"])
    assert not probe_namespaces(lab, REQ)


@pytest.mark.parametrize("lab", ["broken-keda"], indirect=True)
def test_keda_whose_hpa_never_scales_is_not_implemented(lab, tmp_path):
    entry, out = verify_in_process(lab, tmp_path, REQ, {**FAST, "aiconform_pod_autoscaling_scale_up_timeout": 4})
    assert entry["status"] == "Not Implemented", (entry["reasons"], out[-3000:])
    up = next(c for c in entry["checks"] if c["name"] == "ScaleUpOnAcceleratorMetric")
    assert up["outcome"] == "fail" and "timed out after 4s" in up["reason"]
    assert not probe_namespaces(lab, REQ)


@pytest.mark.parametrize("lab", ["keda"], indirect=True)
def test_external_metrics_server_that_is_not_keda_is_unknown(lab, tmp_path):
    _kubectl(lab, "delete", "crd", "scaledobjects.keda.sh", "triggerauthentications.keda.sh")
    entry, out = verify_in_process(lab, tmp_path, REQ, FAST)
    assert entry["status"] == "unknown", (entry["reasons"], out[-3000:])
    assert "keda/keda-operator-metrics-apiserver, not KEDA" in entry["reasons"][0]
    assert "aiconform_pod_autoscaling_metrics_source" in entry["reasons"][0]


@pytest.mark.parametrize("lab", ["keda"], indirect=True)
def test_keda_without_a_prometheus_address_is_unknown_naming_the_variable(lab, tmp_path):
    _kubectl(lab, "delete", "service", "-n", "monitoring", "prometheus-operated")
    entry, out = verify_in_process(lab, tmp_path, REQ, FAST)
    assert entry["status"] == "unknown", (entry["reasons"], out[-3000:])
    assert "aiconform_pod_autoscaling_prometheus_address" in entry["reasons"][0]


@pytest.mark.parametrize("lab", ["amd-keda"], indirect=True)
def test_two_vendors_is_unknown_and_amd_chosen_by_inventory_is_implemented(lab, tmp_path):
    entry, out = verify_in_process(lab, tmp_path, REQ, FAST)
    assert entry["status"] == "unknown", (entry["reasons"], out[-3000:])
    assert "amd.com/gpu" in entry["reasons"][0] and "aiconform_pod_autoscaling_accelerator_resource" in entry["reasons"][0]
    (tmp_path / "amd").mkdir()
    entry, out = verify_in_process(lab, tmp_path / "amd", REQ, {**FAST,
                                                              "aiconform_pod_autoscaling_accelerator_resource": "amd.com/gpu"})
    assert entry["status"] == "Implemented", (entry["reasons"], out[-3000:])
    facts = entry["facts"]
    assert facts["accelerator"]["vendor"] == "amd" and facts["load_image"] == "docker.io/rocm/dev-ubuntu-24.04:6.4.3-complete"
    assert facts["query"].startswith("avg(gpu_gfx_activity{")
    assert all(p["node"].startswith("amd-gpu-worker") for p in facts["scale_up"]["pods"])
    assert not probe_namespaces(lab, REQ)


DISCOVERY = r"^/apis/custom\.metrics\.k8s\.io/v1beta1$"


@pytest.mark.parametrize("lab", ["conformant"], indirect=True)
def test_a_custom_metrics_api_answering_503_for_a_moment_is_waited_out(lab, tmp_path):
    """The aggregator's Available lags: seen on the lab right after the real prometheus-adapter was installed."""
    lab.faults({"path": DISCOVERY, "verb": "get", "status": 503, "times": 2})
    entry, out = verify_in_process(lab, tmp_path, REQ, FAST)
    assert entry["status"] == "Implemented", (entry["reasons"], out[-3000:])
    assert lab.admin("/_sim/faults")["rules"][0]["hits"] == 2  # both 503s were seen, and waited out


@pytest.mark.parametrize("lab", ["conformant"], indirect=True)
def test_a_custom_metrics_api_that_keeps_answering_503_is_not_implemented_not_an_error(lab, tmp_path, monkeypatch):
    fetch = importlib.import_module("aiconform.verifiers.pod_autoscaling.fetch")  # the module, not the function
    assert fetch.DISCOVERY_WAIT == 60  # the wait a run gives; in-process it is cut to 8 s
    monkeypatch.setattr(fetch, "DISCOVERY_WAIT", 8)
    lab.faults({"path": DISCOVERY, "verb": "get", "status": 503})
    entry, out = verify_in_process(lab, tmp_path, REQ, FAST)
    assert entry["status"] == "Not Implemented", (entry["reasons"], out[-3000:])
    assert "answered 503 for 8 s" in " ".join(entry["reasons"]), entry["reasons"]
    assert not probe_namespaces(lab, REQ)
