"""virtualized_accelerator: classification on real facts and the judge.

- Virtual: the VKS v1.35 GFD labels (nvidia.com/vgpu.present=true, GRID-A100-40C) and the VKS v1.36 ResourceSlice
  devices (brand NvidiaVCS, GRID A100-10C).
- Physical: AICR's H100 ResourceSlice devices (brand Nvidia) -> N/A only there.
"""
from __future__ import annotations

import copy
from typing import Any

import pytest
from _accel_fixtures import (
    AICR_SAA,
    VKS135_DRA_MD,
    VKS_SLICES,
    aicr_slices,
    gfd_label_sets,
    gpu_node,
    needs,
    vks_slices,
)
from aiconform.results import Outcome, Status
from aiconform.verifiers.gpu_sharing.rules import parse
from aiconform.verifiers.virtualized_accelerator import judge
from aiconform.verifiers.virtualized_accelerator.rules import classify_node


def vgpu_facts() -> dict[str, Any]:
    s = vks_slices()[0]
    node = gpu_node(s["node_name"], gfd_label_sets(VKS135_DRA_MD)[0])
    dev = s["devices"][0]
    log = (f"DEVICE: /dev/nvidia0\nRESULT: ACCELERATOR_COUNT=1\nGPU 0: {dev['attributes']['productName']} "
           f"(UUID: {dev['attributes']['uuid']})\n{dev['attributes']['uuid']}, {dev['attributes']['productName']}, "
           "0 MiB, 10240 MiB\nRESULT: HEALTH_CHECK=PASS\n")
    claim = {"name": "vgpu-probe-pod-claim-x", "allocated": True, "reserved_for": [],
             "devices": [{"driver": "gpu.nvidia.com", "pool": s["node_name"], "device": dev["name"], "request": "r",
                          "attributes": dev["attributes"]}]}
    return {"accelerator_type": "nvidia", "nodes": [classify_node(node, s["devices"])],
            "environment": {"mode": "dra", "node": s["node_name"], "error": ""},
            "probe": {"mode": "dra", "node": s["node_name"], "timeout": "", "cleanup": [], "claims": [claim],
                      **parse(log), "log": log}}


@needs(VKS135_DRA_MD, VKS_SLICES)
def test_vks_vgpu_allocated_through_dra_is_implemented():
    f = vgpu_facts()
    ev = f["nodes"][0]["evidence"]
    assert f["nodes"][0]["kind"] == "virtual" and "label nvidia.com/vgpu.present=true" in ev
    assert any("brand NvidiaVCS" in e for e in ev)
    v = judge(f)
    assert v.status is Status.IMPLEMENTED, v.reasons
    assert all(c.outcome is Outcome.PASS for c in v.checks)
    assert "through a DRA ResourceClaim" in v.reasons[0]


@needs(AICR_SAA)
def test_aicr_h100_is_bare_metal_na():
    nodes = [classify_node(gpu_node(s["node_name"], {"nvidia.com/gpu.present": "true"}), s["devices"])
             for s in aicr_slices() if s["driver"] == "gpu.nvidia.com"]
    assert nodes and all(n["kind"] == "physical" for n in nodes)
    v = judge({"accelerator_type": "nvidia", "nodes": nodes})
    assert v.status is Status.NOT_APPLICABLE
    assert v.reasons[0].startswith("no virtualized accelerators on this platform (bare-metal GPUs)")
    assert "physical brand Nvidia (NVIDIA H100 80GB HBM3)" in v.reasons[0]


CASES = [
    ("device plugin path, nvidia-smi names the GRID product",
     lambda f: f.update(environment={"mode": "device-plugin", "node": f["probe"]["node"], "error": ""}) or
     f["probe"].update(claims=[], mode="device-plugin"), Status.IMPLEMENTED, "nvidia.com/gpu device-plugin resource"),
    ("vGPU present but not allocatable",
     lambda f: f.update(environment={"error": "no usable accelerator allocation mechanism found", "mode": None}),
     Status.NOT_IMPLEMENTED, "vGPUs are present but not allocatable"),
    ("health check fails", lambda f: f["probe"].update(health=False, health_detail="FAIL nvidia-smi query failed"),
     Status.NOT_IMPLEMENTED, "health check failed"),
    ("pod never runs", lambda f: f["probe"].update(timeout="timed out after 60s waiting for pod vgpu-probe-pod"),
     Status.NOT_IMPLEMENTED, "VGPUAllocated: timed out after 60s"),
    ("GPUs that cannot be classified", lambda f: f.update(nodes=[classify_node(gpu_node("n", {}), [])]),
     Status.UNKNOWN, "cannot be told"),
    ("no GPU node", lambda f: f.update(nodes=[]), Status.NOT_IMPLEMENTED, "no Ready, schedulable node"),
    ("unknown accelerator", lambda f: f.update(unknown_accelerator=True, accelerator_type="amd"), Status.UNKNOWN,
     "'amd' is not one aiconform knows"),
]


@needs(VKS135_DRA_MD, VKS_SLICES)
@pytest.mark.parametrize(("name", "mutate", "status", "reason"), CASES, ids=[c[0] for c in CASES])
def test_judge_table(name, mutate, status, reason):
    f = copy.deepcopy(vgpu_facts())
    mutate(f)
    v = judge(f)
    assert v.status is status, v.reasons
    assert reason in " ".join(v.reasons)


def test_vgpu_present_false_label_is_physical():
    n = classify_node(gpu_node("bm", {"nvidia.com/gpu.product": "NVIDIA-H100-80GB-HBM3", "nvidia.com/vgpu.present": "false"}), [])
    assert n["kind"] == "physical"
    vfio = classify_node(gpu_node("kv", {}), [{"name": "gpu-0", "attributes": {"type": "vfio"}}])
    assert vfio["kind"] == "virtual"
