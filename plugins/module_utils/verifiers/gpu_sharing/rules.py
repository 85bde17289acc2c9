"""Pure rules of gpu_sharing: which node shares GPUs and how, the probe script, and what a probe reported.

Label keys are those GPU Feature Discovery sets (as on the VKS nodes of the v1.35/v1.36 evidence:
``nvidia.com/gpu.replicas``, ``nvidia.com/gpu.sharing-strategy``, ``nvidia.com/mig.strategy``,
``nvidia.com/gpu.count`` = physical GPUs). With time-slicing the device plugin advertises count x replicas
``nvidia.com/gpu`` (or ``nvidia.com/gpu.shared`` when renamed); MIG "mixed" advertises
``nvidia.com/mig-<profile>``, MIG "single" advertises MIG devices as ``nvidia.com/gpu`` and GFD appends
``-MIG-<profile>`` to the product label.
"""
from __future__ import annotations

import re
from typing import Any

from .. import _accelerator as acc

COUNT_LABEL = "nvidia.com/gpu.count"
REPLICAS_LABEL = "nvidia.com/gpu.replicas"
STRATEGY_LABEL = "nvidia.com/gpu.sharing-strategy"
PRODUCT_LABEL = "nvidia.com/gpu.product"
MIG_STRATEGY_LABEL = "nvidia.com/mig.strategy"
MIG_CAPABLE_LABEL = "nvidia.com/mig.capable"
PRESENT_LABEL = "nvidia.com/gpu.present"
SHOWN = (PRESENT_LABEL, PRODUCT_LABEL, COUNT_LABEL, REPLICAS_LABEL, STRATEGY_LABEL, MIG_CAPABLE_LABEL,
         MIG_STRATEGY_LABEL, "nvidia.com/mig.config", "nvidia.com/device-plugin.config")
SOFTWARE_STRATEGIES = ("time-slicing", "mps")
SHARED_RESOURCES = ("nvidia.com/gpu.shared", "nvidia.com/gpu")
MIG_DEVICE_CLASS = "mig.nvidia.com"

HEALTH = "RESULT: HEALTH_CHECK="
# A health check the runtime can answer in a vanilla image: nvidia-smi (injected with the GPU) must query the
# device it was given; its CSV line also names the UUID of the physical GPU behind a replica.
HEALTH_SCRIPT = """if command -v nvidia-smi >/dev/null 2>&1; then
  if nvidia-smi --query-gpu=uuid,name,memory.used,memory.total --format=csv,noheader; then
    echo "RESULT: HEALTH_CHECK=PASS"
  else
    echo "RESULT: HEALTH_CHECK=FAIL nvidia-smi query failed"
  fi
else
  echo "RESULT: HEALTH_CHECK=FAIL nvidia-smi was not injected"
fi
"""


def _int(v: Any) -> int:
    try:
        return int(str(v or "0").strip())
    except ValueError:
        return 0


def is_gpu_node(node: dict[str, Any]) -> bool:
    labels = node.get("all_labels") or node.get("labels") or {}
    alloc = node.get("allocatable") or {}
    return labels.get(PRESENT_LABEL) == "true" or any(
        k in SHARED_RESOURCES or k.startswith("nvidia.com/mig-") for k in alloc)


def node_sharing(node: dict[str, Any]) -> dict[str, Any]:
    """How a node (a node summary) shares its GPUs: mechanism ('' for none), the shared resource, how many
    of it the node allocates and how many physical GPUs stand behind them (0 = not knowable)."""
    labels = node.get("all_labels") or node.get("labels") or {}
    alloc = node.get("allocatable") or {}
    count = _int(labels.get(COUNT_LABEL))
    strategy = labels.get(STRATEGY_LABEL) or "none"
    replicas = _int(labels.get(REPLICAS_LABEL)) or 1
    product = labels.get(PRODUCT_LABEL, "")
    out: dict[str, Any] = {"node": node.get("name"), "physical": count, "strategy": strategy, "replicas": replicas,
                           "product": product, "mechanism": "", "resource": "", "allocatable": 0, "grant": "device-plugin",
                           "labels": {k: labels[k] for k in SHOWN if k in labels}, "problem": ""}
    mig = {k: _int(v) for k, v in alloc.items() if k.startswith("nvidia.com/mig-") and _int(v) > 0}
    if mig:  # MIG mixed strategy: one resource per profile; take the profile with the most instances
        res = max(mig, key=lambda k: (mig[k], k))
        out.update(mechanism="mig", resource=res, allocatable=mig[res])
        return out
    if labels.get(MIG_STRATEGY_LABEL) == "single" and "-MIG-" in product:
        # Single strategy: nvidia.com/gpu are MIG devices and gpu.count counts them, so the physical GPUs
        # behind them are unknown here: the probe compares the parent GPU UUIDs instead.
        out.update(mechanism="mig", resource="nvidia.com/gpu", allocatable=_int(alloc.get("nvidia.com/gpu")),
                   physical=0)
        return out
    for res in SHARED_RESOURCES:
        n = _int(alloc.get(res))
        if not n:
            continue
        physical = count or (n // replicas if strategy in SOFTWARE_STRATEGIES else n)
        out.update(resource=res, allocatable=n, physical=physical)
        if n > physical:
            out["mechanism"] = strategy if strategy in SOFTWARE_STRATEGIES else "oversubscribed"
        elif strategy in SOFTWARE_STRATEGIES and replicas > 1:
            out["problem"] = (f"node {out['node']} is labelled {STRATEGY_LABEL}={strategy} with {replicas} replicas but "
                              f"allocates only {n} {res} for {physical} physical GPU(s)")
        break
    return out


def dra_mig(slices: list[dict[str, Any]], nodes: list[str]) -> list[dict[str, Any]]:
    """Nodes whose DRA driver publishes MIG devices (type 'mig'): partitions of physical GPUs that a claim of
    DeviceClass mig.nvidia.com allocates."""
    out = []
    for name in sorted(nodes):
        devs = [d for s in slices if s.get("driver") == "gpu.nvidia.com" and s.get("node_name") == name
                for d in acc.allocatable_devices(s)]
        migs = [d for d in devs if (d.get("attributes") or {}).get("type") == "mig"]
        if not migs:
            continue
        parents = {str((d.get("attributes") or {}).get("parentUUID") or "") for d in migs} - {""}
        gpus = [d for d in devs if (d.get("attributes") or {}).get("type") == "gpu"]
        out.append({"node": name, "physical": len(parents) or len(gpus), "strategy": "mig", "replicas": 1,
                    "product": str((migs[0].get("attributes") or {}).get("productName") or ""), "mechanism": "dra-mig",
                    "resource": f"DeviceClass {MIG_DEVICE_CLASS}", "allocatable": len(migs), "grant": "dra",
                    "labels": {}, "problem": ""})
    return out


def pick(candidates: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The node to probe: a sharing node, preferring the smallest pigeonhole (fewest physical GPUs)."""
    sharing = [c for c in candidates if c.get("mechanism")]
    if not sharing:
        return None
    return sorted(sharing, key=lambda c: (c["physical"] or c["allocatable"], c["node"]))[0]


def pod_count(target: dict[str, Any], max_pods: int) -> int:
    """physical + 1 pods force two onto one GPU; with the physical count unknown, as many as allowed."""
    want = target["physical"] + 1 if target["physical"] else target["allocatable"]
    return max(0, min(want, target["allocatable"], max_pods))


_CSV_UUID = re.compile(r"^((?:GPU|MIG)-[0-9A-Za-z-]+)\s*,")


def parse(text: str) -> dict[str, Any]:
    """The accelerator probe's result plus the health check and the physical GPU UUIDs it printed."""
    out = acc.parse_probe_log(text)
    health: bool | None = None
    detail = ""
    gpu_uuids: list[str] = []
    for raw in (text or "").splitlines():
        line = raw.strip()
        if line.startswith(HEALTH):
            value = line[len(HEALTH):].strip()
            health, detail = value.split(" ", 1)[0] == "PASS", value
        m = _CSV_UUID.match(line)
        if m:
            gpu_uuids.append(m.group(1))
    # nvidia-smi -L lists the parent GPU ("GPU-...") before its MIG devices: the physical GPU is the GPU- one.
    physical = sorted({u for u in out["uuids"] + gpu_uuids if u.startswith("GPU-")})
    return {**out, "health": health, "health_detail": detail, "physical_uuids": physical}
