"""gpu_sharing on the simulator: the verify job in-process; the first test through ansible-playbook.
The v1.37 requirement set.
The tests call ``helpers.conformance_e2e.verify_in_process`` (the verify job's code, the options the plan
task gives from the same inventory variables); the first runs ``ansible-playbook conformance.yml --tags
verify,gpu_sharing``.

The gpu-sharing scenario is conformant plus a GPU Operator time-slicing config (4 replicas); the simulator's
gpusharing controller relabels and re-capacitates the GPU nodes as GFD and the device plugin do, and the device
manager shows every replica holder the physical GPU (same /dev/nvidiaN, same UUID). Plain conformant has
replicas 1 / sharing-strategy none on its vGPU nodes (as the VKS nodes of the evidence): Not Implemented.
"""
from __future__ import annotations

import pytest
from helpers.conformance_e2e import probe_namespaces, run_conformance, verify_in_process

pytestmark = pytest.mark.e2e
REQ = "gpu_sharing"
FAST = {"aiconform_kubernetes_version": "v1.37", "aiconform_gpu_sharing_pod_running_timeout": 5,
        "aiconform_gpu_sharing_log_timeout": 4, "aiconform_gpu_sharing_release_timeout": 10,
        "aiconform_cleanup_timeout": 20}


def test_time_slicing_is_implemented(sim_factory, tmp_path):
    lab = sim_factory("gpu-sharing", kubernetes_version="v1.35.2")
    entry, out = run_conformance(lab, tmp_path, REQ, FAST)
    assert entry["status"] == "Implemented", (entry["reasons"], out[-3000:])
    assert [c["name"] for c in entry["checks"]] == ["SharedResourcesAllocatable", "SharedPodsRunning",
                                                     "SamePhysicalGPU", "HealthCheck"]
    plan = entry["facts"]["plan"]
    assert plan["mechanism"] == "time-slicing" and plan["pods"] == 2 and plan["physical"] == 1
    uuids = [p["physical_uuids"] for p in entry["facts"]["probe"]["pods"].values()]
    assert len(uuids) == 2 and uuids[0] == uuids[1] and uuids[0][0].startswith("GPU-")
    assert "allocates 4 nvidia.com/gpu for 1 physical GPU(s) (time-slicing, 4 replicas)" in entry["reasons"][0]
    assert not probe_namespaces(lab, REQ)


def test_without_sharing_is_not_implemented(sim_factory, tmp_path):
    lab = sim_factory("conformant", kubernetes_version="v1.35.2")
    entry, out = verify_in_process(lab, tmp_path, REQ, FAST)
    assert entry["status"] == "Not Implemented", (entry["reasons"], out[-3000:])
    assert "no GPU sharing strategy is configured" in entry["reasons"][0]
    assert "gpu-worker-1: none (replicas 1" in entry["reasons"][0]
    assert not probe_namespaces(lab, REQ)


def test_probe_never_starts_then_api_fault(sim_factory, tmp_path):
    lab = sim_factory("gpu-sharing", kubernetes_version="v1.35.2")
    lab.controllers(kubelet=False)
    for d in ("broken", "fault"):
        (tmp_path / d).mkdir()
    entry, out = verify_in_process(lab, tmp_path / "broken", REQ, FAST)
    assert entry["status"] == "Not Implemented", (entry["reasons"], out[-3000:])
    assert "timed out after" in entry["reasons"][0] and "share-pod-0 to be Running" in entry["reasons"][0]
    assert not probe_namespaces(lab, REQ)
    lab.controllers(kubelet=True)
    lab.faults({"path": r"/api/v1/namespaces/aiconform-gpu-sharing-[^/]+/pods$", "verb": "create", "status": 500})
    entry, out = verify_in_process(lab, tmp_path / "fault", REQ, FAST)
    assert entry["status"] == "error", (entry["reasons"], out[-3000:])
    assert "create pod" in entry["reasons"][0]
    assert not probe_namespaces(lab, REQ)
