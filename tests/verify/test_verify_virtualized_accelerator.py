"""virtualized_accelerator on the simulator: the verify job in-process; the first test through ansible-playbook.
The v1.37 requirement set.
The tests call ``helpers.conformance_e2e.verify_in_process`` (the verify job's code, the options the plan
task gives from the same inventory variables); the first runs ``ansible-playbook conformance.yml --tags
verify,virtualized_accelerator``.

conformant's GPU nodes are vGPU nodes as on VKS (GRID A100-10C, DRA devices of brand NvidiaVCS): a DRA claim gets
one and the device manager shows it with its GRID product name. gpu-baremetal has physical H100s (brand Nvidia,
as AICR's slices): N/A.
"""
from __future__ import annotations

import pytest
from helpers.conformance_e2e import probe_namespaces, run_conformance, verify_in_process

pytestmark = pytest.mark.e2e
REQ = "virtualized_accelerator"
FAST = {"aiconform_kubernetes_version": "v1.37", "aiconform_virtualized_accelerator_pod_running_timeout": 5,
        "aiconform_virtualized_accelerator_log_timeout": 4, "aiconform_virtualized_accelerator_release_timeout": 10,
        "aiconform_cleanup_timeout": 20}


def test_vgpu_is_implemented_then_broken_then_fault(sim_factory, tmp_path):
    lab = sim_factory("conformant", kubernetes_version="v1.35.2")
    for d in ("ok", "broken", "fault"):
        (tmp_path / d).mkdir()
    entry, out = run_conformance(lab, tmp_path / "ok", REQ, FAST)
    assert entry["status"] == "Implemented", (entry["reasons"], out[-3000:])
    assert "brand NvidiaVCS" in entry["reasons"][0] and "DRA ResourceClaim" in entry["reasons"][0]
    assert not probe_namespaces(lab, REQ)
    lab.controllers(kubelet=False)
    entry, out = verify_in_process(lab, tmp_path / "broken", REQ, FAST)
    assert entry["status"] == "Not Implemented", (entry["reasons"], out[-3000:])
    assert "timed out after 5s waiting for pod vgpu-probe-pod to be Running" in " ".join(entry["reasons"])
    assert not probe_namespaces(lab, REQ)
    lab.controllers(kubelet=True)
    lab.faults({"path": r"/api/v1/namespaces/aiconform-virtualized-accelerator-[^/]+/pods$", "verb": "create",
                "status": 403})
    entry, out = verify_in_process(lab, tmp_path / "fault", REQ, FAST)
    assert entry["status"] == "error", (entry["reasons"], out[-3000:])
    assert "forbidden" in entry["reasons"][0]
    assert not probe_namespaces(lab, REQ)


def test_bare_metal_is_not_applicable(sim_factory, tmp_path):
    lab = sim_factory("gpu-baremetal", kubernetes_version="v1.35.2")
    entry, out = verify_in_process(lab, tmp_path, REQ, FAST)
    assert entry["status"] == "N/A", (entry["reasons"], out[-3000:])
    assert entry["reasons"][0].startswith("no virtualized accelerators on this platform (bare-metal GPUs)")
    assert not probe_namespaces(lab, REQ)
