"""accelerator_metrics on the simulator: the verify job in-process; the first test through ansible-playbook.
The tests call ``helpers.conformance_e2e.verify_in_process`` (the verify job's code, the options the plan
task gives from the same inventory variables); the first runs ``ansible-playbook conformance.yml --tags
verify,accelerator_metrics``.

The simulator's DCGM exporter (aiconform/sim/controllers/dcgm.py) answers /metrics behind the API server's
service and pod proxies with the metric set, HELP/TYPE lines and label names of the real dumps in
../shared/fixtures/stacks (kOps L4 dcgm_metrics.prom; Linode pod-label dump), one series per GPU of the
exporter's node. Utilization is emulated: it is 100 while a pod holds the GPU, 0 otherwise. Timeouts are
shortened through inventory variables.
"""
from __future__ import annotations

import pytest
import yaml
from helpers.conformance_e2e import probe_namespaces, run_conformance, verify_in_process
from helpers.sim import run_tool

pytestmark = pytest.mark.e2e
REQ = "accelerator_metrics"
FAST = {"aiconform_accelerator_metrics_scrape_timeout": 5, "aiconform_accelerator_metrics_probe_start_timeout": 15,
        "aiconform_accelerator_metrics_utilization_timeout": 6, "aiconform_accelerator_metrics_sample_interval": 1}


def checks(entry: dict) -> dict[str, str]:
    return {c["name"]: c["outcome"] for c in entry["checks"]}


@pytest.mark.parametrize("lab", ["conformant"], indirect=True)
def test_conformant_dcgm_exporter_is_implemented(lab, tmp_path):
    entry, out = run_conformance(lab, tmp_path, REQ, FAST)
    assert entry["status"] == "Implemented", (entry["reasons"], out[-3000:])
    assert entry["test_name"] == "TestAcceleratorPerformanceMetrics"
    got = checks(entry)
    assert got["PerAcceleratorUtilization"] == got["PerAcceleratorMemory"] == got["EveryAcceleratorCovered"] == "pass"
    assert got["WorkloadDrivenUtilization"] == "pass"
    assert got["OptionalTemperature"] == got["OptionalPower"] == "pass"
    assert got["SeriesPerAdvertisedDevice"] == "pass"
    assert entry["facts"]["endpoint"]["found_by"] == "the configured Service"
    assert "(NVIDIA DCGM exporter)" in entry["reasons"][0]
    wl = entry["facts"]["workload"]
    assert wl["allocation"] == "device-plugin" and wl["scraped"].startswith("exporter pod gpu-operator/")
    evidence = "\n".join(e["content"] for e in entry["evidence"])
    assert "DCGM_FI_DEV_GPU_UTIL{" in evidence and "accelerator-load" in evidence
    assert not probe_namespaces(lab, REQ)


@pytest.mark.parametrize("lab", ["conformant"], indirect=True)
def test_without_an_exporter_is_not_implemented(lab, tmp_path):
    for kind in ("service", "daemonset"):
        proc = run_tool(lab, "kubectl", "delete", kind, "-n", "gpu-operator", "nvidia-dcgm-exporter")
        assert proc.returncode == 0, proc.stderr
    entry, out = verify_in_process(lab, tmp_path, REQ, FAST)
    assert entry["status"] == "Not Implemented", (entry["reasons"], out[-3000:])
    assert "Service gpu-operator/nvidia-dcgm-exporter not found" in entry["reasons"][0]


@pytest.mark.parametrize("lab", ["broken-dcgm-labels"], indirect=True)
def test_metrics_without_per_gpu_labels_fail(lab, tmp_path):
    entry, out = verify_in_process(lab, tmp_path, REQ, {**FAST, "aiconform_accelerator_metrics_allocation_mode": "none"})
    assert entry["status"] == "Not Implemented", (entry["reasons"], out[-3000:])
    assert checks(entry)["PerAcceleratorUtilization"] == "fail"
    assert "carry no per-accelerator label" in " ".join(entry["reasons"])


@pytest.mark.parametrize("lab", ["broken-dcgm-exposition"], indirect=True)
def test_malformed_exposition_is_an_error_with_the_reason(lab, tmp_path):
    entry, out = verify_in_process(lab, tmp_path, REQ, FAST)
    assert entry["status"] == "error", (entry["reasons"], out[-3000:])
    assert "did not return valid Prometheus exposition format" in entry["reasons"][0]
    assert not probe_namespaces(lab, REQ)


@pytest.mark.parametrize("lab", ["conformant"], indirect=True)
def test_probe_that_never_runs_is_unknown(lab, tmp_path):
    """The kubelet is stopped: the compute probe stays Pending, so the workload case is undecided."""
    lab.controllers(kubelet=False)
    entry, out = verify_in_process(lab, tmp_path, REQ, {**FAST, "aiconform_accelerator_metrics_probe_start_timeout": 3})
    assert entry["status"] == "unknown", (entry["reasons"], out[-3000:])
    assert "timed out after 3s waiting for compute probe" in entry["reasons"][-1]
    assert not probe_namespaces(lab, REQ)


@pytest.mark.parametrize("lab", ["conformant"], indirect=True)
@pytest.mark.parametrize("status", [403, 500])
def test_api_fault_is_an_error_and_leaves_nothing_behind(lab, tmp_path, status):
    lab.faults({"path": r"/api/v1/namespaces/aiconform-accelerator-metrics-[^/]+/pods$", "verb": "create",
                "status": status})
    entry, out = verify_in_process(lab, tmp_path, REQ, FAST)
    assert entry["status"] == "error", (entry["reasons"], out[-3000:])
    assert "create pod" in " ".join(entry["reasons"])
    assert not probe_namespaces(lab, REQ)


@pytest.mark.parametrize("lab", ["conformant"], indirect=True)
def test_aggregate_gpu_all_series_are_not_per_accelerator(lab, tmp_path):
    """The exporter's series summed per node (gpu="all", no UUID): not one series per device."""
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {
        "name": "dcgm-exporter-sim-faults", "namespace": "gpu-operator",
        "annotations": {"sim.aiconform.io/dcgm-exporter": "aggregate"}}, "data": {}}
    proc = run_tool(lab, "kubectl", "apply", "-f", "-", input=yaml.safe_dump(cm))
    assert proc.returncode == 0, proc.stderr
    entry, out = verify_in_process(lab, tmp_path, REQ, {**FAST, "aiconform_accelerator_metrics_allocation_mode": "none"})
    assert entry["status"] == "Not Implemented", (entry["reasons"], out[-3000:])
    assert checks(entry)["PerAcceleratorUtilization"] == "fail"
    assert 'aggregate values gpu="all" name no single device' in " ".join(entry["reasons"])


@pytest.mark.parametrize("lab", ["conformant"], indirect=True)
def test_fewer_series_than_the_node_advertises(lab, tmp_path):
    """GFD says each GPU node has two GPUs; the exporter reports one: not one series per advertised device."""
    nodes = run_tool(lab, "kubectl", "get", "nodes", "-l", "nvidia.com/gpu.present=true", "-o", "name")
    assert nodes.returncode == 0 and nodes.stdout.strip(), nodes.stderr
    for node in nodes.stdout.split():
        proc = run_tool(lab, "kubectl", "label", node, "nvidia.com/gpu.count=2", "--overwrite")
        assert proc.returncode == 0, proc.stderr
    entry, out = verify_in_process(lab, tmp_path, REQ, {**FAST, "aiconform_accelerator_metrics_allocation_mode": "none"})
    assert entry["status"] == "Not Implemented", (entry["reasons"], out[-3000:])
    assert checks(entry)["SeriesPerAdvertisedDevice"] == "fail"
    assert "advertises 2 (2 nvidia.com/gpu), series for 1" in " ".join(entry["reasons"])


@pytest.mark.parametrize("lab", ["conformant"], indirect=True)
def test_exporter_found_through_its_service_monitor(lab, tmp_path):
    """No Service by the GPU Operator's name or app label: a ServiceMonitor named for the exporter leads to it."""
    proc = run_tool(lab, "kubectl", "delete", "service", "-n", "gpu-operator", "nvidia-dcgm-exporter")
    assert proc.returncode == 0, proc.stderr
    objs = [
        {"apiVersion": "v1", "kind": "Service",
         "metadata": {"name": "gpu-telemetry", "namespace": "gpu-operator", "labels": {"team": "accel"}},
         "spec": {"selector": {"app": "nvidia-dcgm-exporter"},
                  "ports": [{"name": "gpu-metrics", "port": 9400, "targetPort": 9400, "protocol": "TCP"}]}},
        {"apiVersion": "monitoring.coreos.com/v1", "kind": "ServiceMonitor",
         "metadata": {"name": "dcgm-exporter", "namespace": "gpu-operator"},
         "spec": {"selector": {"matchLabels": {"team": "accel"}}, "endpoints": [{"port": "gpu-metrics"}]}},
    ]
    proc = run_tool(lab, "kubectl", "apply", "-f", "-", input=yaml.safe_dump_all(objs))
    assert proc.returncode == 0, proc.stderr
    entry, out = verify_in_process(lab, tmp_path, REQ, {**FAST, "aiconform_accelerator_metrics_allocation_mode": "none"})
    assert entry["status"] == "Implemented", (entry["reasons"], out[-3000:])
    assert entry["facts"]["endpoint"]["service"] == "gpu-operator/gpu-telemetry:9400"
    assert entry["facts"]["endpoint"]["found_by"] == "ServiceMonitor gpu-operator/dcgm-exporter (discovered)"


# -- AMD's device-metrics-exporter (scenario amd-gpu): found by its app label, read by its own names ------------
@pytest.mark.parametrize("lab", ["amd-gpu"], indirect=True)
def test_amd_exporter_found_by_label_is_implemented(lab, tmp_path):
    entry, out = verify_in_process(lab, tmp_path, REQ, FAST)
    assert entry["status"] == "Implemented", (entry["reasons"], out[-3000:])
    endpoint = entry["facts"]["endpoint"]
    assert endpoint["service"] == "kube-amd-gpu/amd-gpu-amd-metrics-exporter-svc:5000"
    assert endpoint["found_by"] == "label app=amd-gpu-amdgpu-metrics-exporter (discovered)"
    got = checks(entry)
    assert got["PerAcceleratorUtilization"] == got["PerAcceleratorMemory"] == got["SeriesPerAdvertisedDevice"] == "pass"
    reason = next(c["reason"] for c in entry["checks"] if c["name"] == "PerAcceleratorUtilization")
    assert reason.startswith("gpu_gfx_activity") and "violation" not in reason
    assert "(AMD device-metrics-exporter)" in entry["reasons"][0]
    assert got["WorkloadDrivenUtilization"] == "skip"  # the compute probe is NVIDIA's; never counted as a pass


@pytest.mark.parametrize("lab", ["amd-gpu"], indirect=True)
def test_amd_exporter_aggregate_is_not_implemented(lab, tmp_path):
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {
        "name": "amd-metrics-exporter-sim-faults", "namespace": "kube-amd-gpu",
        "annotations": {"sim.aiconform.io/amd-metrics-exporter": "aggregate"}}, "data": {}}
    proc = run_tool(lab, "kubectl", "apply", "-f", "-", input=yaml.safe_dump(cm))
    assert proc.returncode == 0, proc.stderr
    entry, out = verify_in_process(lab, tmp_path, REQ, FAST)
    assert entry["status"] == "Not Implemented", (entry["reasons"], out[-3000:])
    assert 'aggregate values gpu_id="all", serial_number="" name no single device' in " ".join(entry["reasons"])


# -- Intel XPU Manager's exporter (scenario intel-gpu): found by its name, read by its own names and uuid ----------
@pytest.mark.parametrize("lab", ["intel-gpu"], indirect=True)
def test_intel_xpumanager_exporter_is_implemented(lab, tmp_path):
    entry, out = verify_in_process(lab, tmp_path, REQ, FAST)
    assert entry["status"] == "Implemented", (entry["reasons"], out[-3000:])
    assert entry["facts"]["endpoint"]["service"] == "intel-xpumanager/intel-xpumanager:29999"
    got = checks(entry)
    assert got["PerAcceleratorUtilization"] == got["PerAcceleratorMemory"] == got["SeriesPerAdvertisedDevice"] == "pass"
    reason = next(c["reason"] for c in entry["checks"] if c["name"] == "PerAcceleratorUtilization")
    assert reason == "xpum_engine_ratio, xpum_engine_group_ratio for 1 accelerator(s)", reason  # 1 GPU per node
    assert "(Intel XPU Manager)" in entry["reasons"][0]
