"""driver_runtime_management on the simulator: the verify job in-process; the first test through ansible-playbook.
The tests call ``helpers.conformance_e2e.verify_in_process`` (the verify job's code, the options the plan
task gives from the same inventory variables); the first runs ``ansible-playbook conformance.yml --tags
verify,driver_runtime_management``.

The simulator's devicemanager controller answers upstream's driver probe from its own state: RUNTIME_CONFIG_OK
and DRIVER_FUNCTIONAL only for a container that was given a GPU, and the versions the node's driver really
runs (GFD labels nvidia.com/cuda.driver-version.full / cuda.runtime-version.full as on the VKS node, or the
node annotation sim.aiconform.io/nvidia-driver-version when a test makes the node run another driver).
"""
from __future__ import annotations

import pytest
from helpers.conformance_e2e import probe_namespaces, run_conformance, verify_in_process
from helpers.sim import run_tool

pytestmark = pytest.mark.e2e
REQ = "driver_runtime_management"
FAST = {"aiconform_driver_runtime_management_pod_running_timeout": 4,
        "aiconform_driver_runtime_management_log_timeout": 4,
        "aiconform_driver_runtime_management_release_timeout": 10, "aiconform_cleanup_timeout": 20}


def test_conformant_is_implemented_through_dra_attributes(sim_factory, tmp_path):
    lab = sim_factory("conformant", kubernetes_version="v1.35.2")
    entry, out = run_conformance(lab, tmp_path, REQ, FAST)
    assert entry["status"] == "Implemented", (entry["reasons"], out[-3000:])
    assert entry["facts"]["platform"]["mechanism"] == "dra"
    assert entry["facts"]["probe"]["actual_driver"] == "580.126.09"
    assert not probe_namespaces(lab, REQ)


def test_without_accelerators_is_not_implemented(sim_factory, tmp_path):
    lab = sim_factory("empty", kubernetes_version="v1.35.2")
    entry, out = verify_in_process(lab, tmp_path, REQ, FAST)
    assert entry["status"] == "Not Implemented", (entry["reasons"], out[-3000:])
    assert "no usable accelerator allocation mechanism" in entry["reasons"][0]


def test_node_running_another_driver_than_advertised(sim_factory, tmp_path):
    lab = sim_factory("conformant", kubernetes_version="v1.35.2")
    for node in ("gpu-worker-1", "gpu-worker-2"):
        proc = run_tool(lab, "kubectl", "annotate", "node", node, "sim.aiconform.io/nvidia-driver-version=570.133.20")
        assert proc.returncode == 0, proc.stderr
    entry, out = verify_in_process(lab, tmp_path, REQ, FAST)
    assert entry["status"] == "Not Implemented", (entry["reasons"], out[-3000:])
    assert "does not match the driver version '570.133.20'" in " ".join(entry["reasons"])


def test_probe_never_starts_then_api_fault(sim_factory, tmp_path):
    lab = sim_factory("conformant", kubernetes_version="v1.35.2")
    lab.controllers(kubelet=False)
    for d in ("broken", "fault"):
        (tmp_path / d).mkdir()
    entry, out = verify_in_process(lab, tmp_path / "broken", REQ, FAST)
    assert entry["status"] == "Not Implemented", (entry["reasons"], out[-3000:])
    assert "timed out after 4s waiting for pod driver-runtime-probe-pod to be Running" in " ".join(entry["reasons"])
    assert not probe_namespaces(lab, REQ)
    lab.controllers(kubelet=True)
    lab.faults({"path": r"/api/v1/namespaces/aiconform-driver-runtime-management-[^/]+/pods$", "verb": "create",
                "status": 403})
    entry, out = verify_in_process(lab, tmp_path / "fault", REQ, FAST)
    assert entry["status"] == "error", (entry["reasons"], out[-3000:])
    assert "forbidden" in entry["reasons"][0]
    assert not probe_namespaces(lab, REQ)
