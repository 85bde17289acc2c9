"""dra_support on the simulator: the verify job in-process; the first test through ansible-playbook.
The tests call ``helpers.conformance_e2e.verify_in_process`` (the verify job's code, the options the plan
task gives from the same inventory variables); the first runs ``ansible-playbook conformance.yml --tags
verify,dra_support``.

The simulator serves resource.k8s.io per Kubernetes minor (v1 from 1.34, betas on 1.33), allocates claims
from its ResourceSlices (aiconform/sim/controllers/dra.py; attributes follow the VKS v1.36 ResourceSlice
fixture) and its devicemanager controller derives what the probe container sees from that allocation,
printing `nvidia-smi -L` in the real format of the VKS transcript.
"""
from __future__ import annotations

import pytest
import yaml
from helpers.conformance_e2e import probe_namespaces, run_conformance, verify_in_process
from helpers.sim import run_tool

pytestmark = pytest.mark.e2e
REQ = "dra_support"
FAST = {"aiconform_dra_support_pod_running_timeout": 4, "aiconform_dra_support_log_timeout": 4,
        "aiconform_cleanup_timeout": 20}


def test_conformant_is_implemented(sim_factory, tmp_path):
    lab = sim_factory("conformant", kubernetes_version="v1.35.2")
    entry, out = run_conformance(lab, tmp_path, REQ, FAST)
    assert entry["status"] == "Implemented", (entry["reasons"], out[-3000:])
    assert all(c["outcome"] == "pass" for c in entry["checks"])
    fn = entry["facts"]["functional"]
    device = fn["claims"][0]["devices"][0]
    assert device["in_resource_slice"] and device["uuid"] in fn["probe"]["uuids"]
    assert any(r["uid"] == fn["pod_uid"] for r in fn["claims"][0]["reserved_for"])
    assert not probe_namespaces(lab, REQ)


def test_v1_33_serves_only_betas_partially_implemented(sim_factory, tmp_path):
    lab = sim_factory("conformant", kubernetes_version="v1.33.5")
    entry, out = verify_in_process(lab, tmp_path, REQ, FAST)
    assert entry["status"] == "Partially Implemented", (entry["reasons"], out[-3000:])
    assert "GA from Kubernetes v1.34" in entry["reasons"][0]
    assert "v1beta" in entry["facts"]["dra_version"]


def test_without_dra_driver_says_so(sim_factory, tmp_path):
    lab = sim_factory("gpu-lab", kubernetes_version="v1.34.1")
    entry, out = verify_in_process(lab, tmp_path, REQ, FAST)
    assert entry["status"] == "Partially Implemented", (entry["reasons"], out[-3000:])
    assert "no DRA driver publishes allocatable devices" in entry["reasons"][0]
    assert not probe_namespaces(lab, REQ)


def test_claim_never_allocated_is_the_timeout_path(sim_factory, tmp_path):
    lab = sim_factory("conformant", kubernetes_version="v1.34.1")
    lab.controllers(dra=False)  # no resourceclaim controller, no allocator: the pod stays Pending
    entry, out = verify_in_process(lab, tmp_path, REQ, FAST)
    assert entry["status"] == "Not Implemented", (entry["reasons"], out[-3000:])
    checks = {c["name"]: c for c in entry["checks"]}
    assert "timed out after 4s waiting for pod dra-probe to be Running" in checks["ClaimAllocatedAndReserved"]["reason"]
    assert not probe_namespaces(lab, REQ)


def test_api_fault_is_an_error_and_leaves_nothing(sim_factory, tmp_path):
    lab = sim_factory("conformant", kubernetes_version="v1.34.1")
    lab.faults({"path": r"/resourceclaimtemplates$", "verb": "create", "status": 500})
    entry, out = verify_in_process(lab, tmp_path, REQ, FAST)
    assert entry["status"] == "error", (entry["reasons"], out[-3000:])
    assert "API server error 500" in entry["reasons"][0]
    assert not probe_namespaces(lab, REQ)


# -- AMD: the AMD DRA driver (gpu.amd.com) instead of NVIDIA's -----------------------------------------------
AMD_BROKEN_CLASS = {"apiVersion": "resource.k8s.io/v1", "kind": "DeviceClass", "metadata": {"name": "gpu.amd.com"},
                    "spec": {"selectors": [{"cel": {"expression": "device.driver == 'gpu.amd.com' && "
                                                                  "device.attributes['gpu.amd.com'].type == "
                                                                  "'amdgpu-partition'"}}]}}


def test_amd_dra_driver_is_implemented(sim_factory, tmp_path):
    lab = sim_factory("amd-gpu", kubernetes_version="v1.35.2")
    entry, out = verify_in_process(lab, tmp_path, REQ, FAST)
    assert entry["status"] == "Implemented", (entry["reasons"], out[-3000:])
    assert entry["reasons"][0].startswith("amd accelerators (detected): ")
    assert entry["facts"]["device_class"] == "gpu.amd.com"
    assert entry["facts"]["functional"]["probe"]["devices"] == ["/dev/dri/renderD128"]


def test_intel_dra_driver_is_implemented(sim_factory, tmp_path):
    lab = sim_factory("intel-gpu", kubernetes_version="v1.35.2")
    entry, out = verify_in_process(lab, tmp_path, REQ, FAST)
    assert entry["status"] == "Implemented", (entry["reasons"], out[-3000:])
    assert entry["reasons"][0].startswith("intel accelerators (detected): ")
    assert entry["facts"]["device_class"] == "gpu.intel.com"
    assert entry["facts"]["functional"]["probe"]["devices"] == ["/dev/dri/renderD128"]


def test_amd_class_matching_no_device_is_not_implemented(sim_factory, tmp_path):
    """The DeviceClass selects partitions the cluster does not have: the claim is never allocated."""
    lab = sim_factory("amd-gpu", kubernetes_version="v1.35.2")
    proc = run_tool(lab, "kubectl", "apply", "-f", "-", input=yaml.safe_dump(AMD_BROKEN_CLASS))
    assert proc.returncode == 0, proc.stderr
    entry, out = verify_in_process(lab, tmp_path, REQ, FAST)
    assert entry["status"] == "Not Implemented", (entry["reasons"], out[-3000:])
    checks = {c["name"]: c for c in entry["checks"]}
    assert checks["ClaimAllocatedAndReserved"]["outcome"] == "fail"


def test_amd_and_nvidia_drivers_together_are_unknown(sim_factory, tmp_path):
    lab = sim_factory("amd-gpu", kubernetes_version="v1.35.2")
    nvidia_slice = {"apiVersion": "resource.k8s.io/v1", "kind": "ResourceSlice",
                    "metadata": {"name": "extra-gpu.nvidia.com"},
                    "spec": {"driver": "gpu.nvidia.com", "nodeName": "mi300-0",
                             "pool": {"name": "mi300-0", "generation": 1, "resourceSliceCount": 1},
                             "devices": [{"name": "gpu-0", "attributes": {"type": {"string": "gpu"}}}]}}
    proc = run_tool(lab, "kubectl", "apply", "-f", "-", input=yaml.safe_dump(nvidia_slice))
    assert proc.returncode == 0, proc.stderr
    entry, out = verify_in_process(lab, tmp_path, REQ, FAST)
    assert entry["status"] == "unknown", (entry["reasons"], out[-3000:])
    assert "several vendors are present (nvidia, amd)" in entry["reasons"][0]
    assert "aiconform_dra_support_accelerator_type" in entry["reasons"][0]
