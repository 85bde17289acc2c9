"""gpu_sharing judge and detection rules, on facts from real outputs.

- GFD labels of the VKS v1.35 GPU nodes (GRID A100 vGPU, ``nvidia.com/gpu.replicas: "1"``,
  ``nvidia.com/gpu.sharing-strategy: none``, ``nvidia.com/mig.capable: "false"``): no sharing.
- The same nodes as time-slicing would relabel them, and the UUIDs/products of the VKS v1.36 ResourceSlice
  devices as the probe pods' ``nvidia-smi`` would report them.
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
from aiconform.verifiers.gpu_sharing import judge
from aiconform.verifiers.gpu_sharing.rules import dra_mig, node_sharing, parse, pick, pod_count


def _vks_nodes() -> list[dict[str, Any]]:
    return [gpu_node(f"vks-gpu-{i}", labels) for i, labels in enumerate(gfd_label_sets(VKS135_DRA_MD))]


def _time_sliced(node: dict[str, Any], replicas: int = 4, allocate: bool = True) -> dict[str, Any]:
    labels = {**node["all_labels"], "nvidia.com/gpu.replicas": str(replicas),
              "nvidia.com/gpu.sharing-strategy": "time-slicing",
              "nvidia.com/gpu.product": node["all_labels"]["nvidia.com/gpu.product"] + "-SHARED"}
    physical = int(labels["nvidia.com/gpu.count"])
    return gpu_node(node["name"], labels, {"nvidia.com/gpu": str(physical * replicas if allocate else physical)})


def _probe_log(uuid: str, product: str, *, health: bool = True, count: int = 1) -> str:
    lines = [f"DEVICE: /dev/nvidia{i}" for i in range(count)] + [f"RESULT: ACCELERATOR_COUNT={count}"]
    if count:
        lines += [f"GPU 0: {product} (UUID: {uuid})", f"{uuid}, {product}, 0 MiB, 10240 MiB"]
    lines.append("RESULT: HEALTH_CHECK=PASS" if health else "RESULT: HEALTH_CHECK=FAIL nvidia-smi query failed")
    return "\n".join(lines) + "\n"


def _pods(node: str, *logs: str) -> dict[str, Any]:
    return {"pods": {f"share-pod-{i}": {"node": node, **parse(text), "log_timeout": ""} for i, text in enumerate(logs)},
            "timeout": "", "cleanup": []}


def shared_facts() -> dict[str, Any]:
    """A time-sliced VKS node; both pods report the UUID of the first VKS v1.36 ResourceSlice device."""
    nodes = [_time_sliced(n) for n in _vks_nodes()]
    candidates = [node_sharing(n) for n in nodes]
    target = pick(candidates)
    assert target is not None
    dev = vks_slices()[0]["devices"][0]["attributes"]
    log = _probe_log(dev["uuid"], dev["productName"])
    return {"accelerator_type": "nvidia", "nodes": candidates,
            "plan": {"node": target["node"], "mechanism": target["mechanism"], "resource": target["resource"],
                     "pods": pod_count(target, 9), "physical": target["physical"]},
            "probe": _pods(target["node"], log, log)}


@needs(VKS135_DRA_MD)
def test_vks_nodes_share_nothing():
    nodes = _vks_nodes()
    assert len(nodes) >= 2
    cands = [node_sharing(n) for n in nodes]
    assert all(c["mechanism"] == "" and c["strategy"] == "none" and c["replicas"] == 1 for c in cands)
    v = judge({"accelerator_type": "nvidia", "nodes": cands})
    assert v.status is Status.NOT_IMPLEMENTED
    assert "no GPU sharing strategy is configured" in v.reasons[0]
    assert "replicas 1, mig.capable=false" in v.reasons[0]


@needs(VKS135_DRA_MD, VKS_SLICES)
def test_time_slicing_two_pods_on_one_gpu_is_implemented():
    facts = shared_facts()
    assert facts["plan"]["pods"] == 2 and facts["plan"]["mechanism"] == "time-slicing"
    v = judge(facts)
    assert v.status is Status.IMPLEMENTED, v.reasons
    assert all(c.outcome is Outcome.PASS for c in v.checks)
    assert "allocates 4 nvidia.com/gpu for 1 physical GPU(s) (time-slicing, 4 replicas)" in v.reasons[0]


def _distinct(f: dict[str, Any]) -> None:
    devs = vks_slices()[0]["devices"] + vks_slices()[1]["devices"]
    a, b = devs[0]["attributes"], devs[1]["attributes"]
    f["probe"] = _pods(f["plan"]["node"], _probe_log(a["uuid"], a["productName"]), _probe_log(b["uuid"], b["productName"]))


def _unhealthy(f: dict[str, Any]) -> None:
    dev = vks_slices()[0]["devices"][0]["attributes"]
    f["probe"] = _pods(f["plan"]["node"], _probe_log(dev["uuid"], dev["productName"]),
                       _probe_log(dev["uuid"], dev["productName"], health=False))


CASES = [
    ("pods on distinct GPUs", _distinct, Status.NOT_IMPLEMENTED, "none was shared"),
    ("health check fails", _unhealthy, Status.NOT_IMPLEMENTED, "HealthCheck: share-pod-1: FAIL nvidia-smi query failed"),
    ("a pod sees no device", lambda f: f["probe"]["pods"]["share-pod-1"].update(count=0), Status.NOT_IMPLEMENTED,
     "share-pod-1 sees 0 device(s)"),
    ("pods never run", lambda f: f.update(probe={"timeout": "timed out after 120s waiting for pod share-pod-0 to be "
                                                           "Running: phase=Pending", "pods": {}}),
     Status.NOT_IMPLEMENTED, "SharedPodsRunning: timed out after 120s"),
    ("labelled time-slicing but not allocated",
     lambda f: f.update(plan=None, nodes=[node_sharing(_time_sliced(_vks_nodes()[0], allocate=False))]),
     Status.NOT_IMPLEMENTED, "with 4 replicas but allocates only 1 nvidia.com/gpu for 1 physical GPU(s)"),
    ("no GPU node", lambda f: f.update(plan=None, nodes=[]), Status.NOT_IMPLEMENTED, "no Ready, schedulable node"),
    ("unknown accelerator", lambda f: f.update(unknown_accelerator=True, accelerator_type="habana"), Status.UNKNOWN,
     "'habana' is not one aiconform knows"),
]


@needs(VKS135_DRA_MD, VKS_SLICES)
@pytest.mark.parametrize(("name", "mutate", "status", "reason"), CASES, ids=[c[0] for c in CASES])
def test_judge_table(name, mutate, status, reason):
    facts = copy.deepcopy(shared_facts())
    mutate(facts)
    v = judge(facts)
    assert v.status is status, v.reasons
    assert reason in " ".join(v.reasons)


def test_mig_mixed_and_single_strategies():
    mixed = node_sharing(gpu_node("a100", {"nvidia.com/gpu.count": "1", "nvidia.com/mig.strategy": "mixed",
                                           "nvidia.com/gpu.product": "NVIDIA-A100-SXM4-40GB"},
                                  {"nvidia.com/mig-1g.5gb": "7", "nvidia.com/mig-2g.10gb": "0"}))
    assert (mixed["mechanism"], mixed["resource"], mixed["allocatable"]) == ("mig", "nvidia.com/mig-1g.5gb", 7)
    assert pod_count(mixed, 9) == 2
    single = node_sharing(gpu_node("a100s", {"nvidia.com/gpu.count": "7", "nvidia.com/mig.strategy": "single",
                                             "nvidia.com/gpu.product": "NVIDIA-A100-SXM4-40GB-MIG-1g.5gb"},
                                   {"nvidia.com/gpu": "7"}))
    assert (single["mechanism"], single["physical"]) == ("mig", 0)
    assert pod_count(single, 5) == 5  # physical GPUs unknown: as many as allowed, the parent UUIDs decide


def test_pigeonhole_pod_count():
    two = node_sharing(gpu_node("n", {"nvidia.com/gpu.count": "2", "nvidia.com/gpu.replicas": "4",
                                      "nvidia.com/gpu.sharing-strategy": "time-slicing"}, {"nvidia.com/gpu": "8"}))
    assert pod_count(two, 9) == 3 and pod_count(two, 2) == 2
    renamed = node_sharing(gpu_node("r", {"nvidia.com/gpu.count": "1", "nvidia.com/gpu.replicas": "2",
                                          "nvidia.com/gpu.sharing-strategy": "mps"}, {"nvidia.com/gpu.shared": "2"}))
    assert (renamed["mechanism"], renamed["resource"]) == ("mps", "nvidia.com/gpu.shared")


def test_mig_listing_names_the_parent_gpu():
    text = ("RESULT: ACCELERATOR_COUNT=1\nGPU 0: NVIDIA A100-SXM4-40GB (UUID: GPU-5e1f0a42-0000-1111-2222-333344445555)\n"
            "  MIG 1g.5gb     Device  0: (UUID: MIG-0f8a51d1-aaaa-bbbb-cccc-ddddeeeeffff)\n"
            "GPU-5e1f0a42-0000-1111-2222-333344445555, NVIDIA A100-SXM4-40GB, 0 MiB, 40960 MiB\n"
            "RESULT: HEALTH_CHECK=PASS\n")
    p = parse(text)
    assert p["physical_uuids"] == ["GPU-5e1f0a42-0000-1111-2222-333344445555"] and p["health"] is True


@needs(AICR_SAA, VKS_SLICES)
def test_dra_mig_devices():
    # AICR's H100 slices publish whole GPUs only: no MIG sharing there.
    assert dra_mig(aicr_slices(), ["gpu-node-1", "gpu-node-2"]) == []
    # MIG devices carved from one VKS GPU (its UUID as parentUUID) make that node a DRA MIG sharer.
    s = copy.deepcopy(vks_slices()[0])
    parent = s["devices"][0]["attributes"]["uuid"]
    s["devices"] = [{"name": f"gpu-0-mig-{i}", "attributes": {"type": "mig", "parentUUID": parent,
                                                              "productName": "A100 1g.5gb"}, "taints": []}
                    for i in range(3)]
    got = dra_mig([s], [s["node_name"]])
    assert got and got[0]["mechanism"] == "dra-mig" and got[0]["physical"] == 1 and got[0]["allocatable"] == 3
    assert pod_count(got[0], 9) == 2
