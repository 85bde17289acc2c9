"""Accelerator device visibility: what a container "sees" under /dev, from the simulator's own allocations.

Real semantics emulated (and nothing more):
- kubelet device manager + NVIDIA device plugin: a container whose limits ask for ``nvidia.com/gpu: n`` is
  given n free GPUs of its node when it starts; the assignment is kept (checkpointed) until the pod ends.
- DRA (NVIDIA DRA driver through CDI; AMD's ``gpu.amd.com`` and Intel's ``gpu.intel.com`` DRA drivers alike): a
  container gets exactly the devices allocated to the claims it lists in ``resources.claims`` (a pod-level claim
  the container does not reference stays invisible). An AMD or Intel GPU appears as its DRM render node
  ``/dev/dri/renderD<n>`` (AMD's ``renderIndex`` attribute, else 128 + its index), with no ``nvidia-smi``.
- A container with neither sees no accelerator device node, and the NVIDIA container toolkit injects no
  ``nvidia-smi`` into it - unless it sets ``NVIDIA_VISIBLE_DEVICES`` (``all`` or GPU indices) and the toolkit
  accepts that variable from unprivileged containers (``accept-nvidia-visible-devices-envvar-when-unprivileged``;
  in the simulator: a ClusterPolicy whose ``spec.toolkit.env`` sets
  ``ACCEPT_NVIDIA_VISIBLE_DEVICES_ENVVAR_WHEN_UNPRIVILEGED=true``), the bypass that makes it see those GPUs.

The pod-log producer answers for accelerator probe containers (their script prints
``RESULT: ACCELERATOR_COUNT=<n>`` or ``RESULT: ACCELERATOR_FOUND|MISSING``) with what that probe prints on
a real node: one ``DEVICE: /dev/nvidia<minor>`` line per visible GPU, the RESULT line, and when GPUs are
visible the ``nvidia-smi -L`` lines in the real format ``GPU <i>: <productName> (UUID: <uuid>)`` (as in the
VKS v1.36 transcript, ../shared/fixtures/evidence/cncf-k8s-ai-conformance/v1.36/vks/dra_support.md), with
the product name and UUID taken from the ResourceSlice device the container holds. The minor number is
the device's ``minor``/``index`` attribute (AICR's evidence shows DRA device gpu-1 as /dev/nvidia1).

GPU sharing by the device plugin (time-slicing/MPS, node labels ``nvidia.com/gpu.sharing-strategy`` and
``nvidia.com/gpu.replicas`` as GFD sets them, see controllers/gpusharing.py): each physical GPU is advertised
``replicas`` times; a container holding a replica sees the physical GPU's device node and UUID. Replicas are
handed out spread over the GPUs (all first replicas before any second one), as the plugin balances them.
A probe that runs the gpu_sharing health check (``RESULT: HEALTH_CHECK=``) gets nvidia-smi's CSV query line
per visible GPU and PASS, or FAIL when no GPU (hence no nvidia-smi) was injected.
"""
from __future__ import annotations

import re
from typing import Any

from aiconform.sim.api import Cluster
from aiconform.sim.controllers.common import quantity
from aiconform.sim.logs import register_producer

Obj = dict[str, Any]
GPU_RESOURCE = "nvidia.com/gpu"
GPU_DRIVER = "gpu.nvidia.com"
GPU_DRIVERS = (GPU_DRIVER, "gpu.amd.com", "gpu.intel.com")
GROUP = "resource.k8s.io"

# (pod uid, container) -> visible devices; rebuilt by sync(), read by the log producer.
VISIBLE: dict[tuple[str, str], list[dict[str, Any]]] = {}
# Device-plugin assignments, kept while the pod lives (kubelet's checkpoint): (pod uid, container) -> (node, [idx]).
_ASSIGNED: dict[tuple[str, str], tuple[str, list[int]]] = {}


def _live(pod: Obj) -> bool:
    return (pod.get("status") or {}).get("phase") == "Running" and not pod["metadata"].get("deletionTimestamp")


def _attr(dev: dict[str, Any], name: str) -> Any:
    body = dev.get("basic") or dev
    a = (body.get("attributes") or {}).get(name)
    return next(iter(a.values())) if isinstance(a, dict) and a else a


def _minor(dev: dict[str, Any], fallback: int) -> int:
    for key in ("minor", "index"):
        v = _attr(dev, key)
        if isinstance(v, int) or (isinstance(v, str) and v.isdigit()):
            return int(v)
    m = re.search(r"(\d+)$", dev.get("name", ""))
    return int(m.group(1)) if m else fallback


def _node_gpus(c: Cluster, node: str) -> list[dict[str, Any]]:
    """The node's GPUs: from its gpu.nvidia.com ResourceSlice when one exists, else its nvidia.com/gpu capacity."""
    out: list[dict[str, Any]] = []
    for s in c.objects(GROUP, "resourceslices"):
        spec = s.get("spec") or {}
        if spec.get("nodeName") == node and spec.get("driver") == GPU_DRIVER:
            for i, d in enumerate(spec.get("devices") or []):
                if (_attr(d, "type") or "gpu") in ("gpu", "vgpu"):
                    out.append(_visible(d, i))
    if out:
        return sorted(out, key=lambda g: g["minor"])
    n = c.find("", "nodes", "", node) or {}
    # capacity counts replicas under time-slicing; the physical GPUs are capacity / replicas
    count = int(quantity(((n.get("status") or {}).get("capacity") or {}).get(GPU_RESOURCE))) // _replicas(c, node)
    return [{"minor": i, "uuid": None, "product": None, "driver": None, "cuda": None} for i in range(count)]


def _replicas(c: Cluster, node: str) -> int:
    """How many times the device plugin advertises each physical GPU (GFD labels of the node)."""
    labels = ((c.find("", "nodes", "", node) or {}).get("metadata") or {}).get("labels") or {}
    if labels.get("nvidia.com/gpu.sharing-strategy") not in ("time-slicing", "mps"):
        return 1
    try:
        return max(1, int(labels.get("nvidia.com/gpu.replicas", "1")))
    except ValueError:
        return 1


def _visible(dev: dict[str, Any], fallback: int, vendor: str = GPU_DRIVER) -> dict[str, Any]:
    out = {"minor": _minor(dev, fallback), "uuid": _attr(dev, "uuid"), "product": _attr(dev, "productName"),
           "driver": _attr(dev, "driverVersion"), "cuda": _attr(dev, "cudaDriverVersion")}
    if vendor != GPU_DRIVER:
        render = _attr(dev, "renderIndex")
        out.update(vendor=vendor, uuid=None, render=int(render) if str(render).isdigit() else 128 + out["minor"])
    return out


def _device_node(g: dict[str, Any]) -> str:
    return f"/dev/dri/renderD{g['render']}" if g.get("vendor") else f"/dev/nvidia{g['minor']}"


# The driver a node really runs (what nvidia-smi reports inside a container): a scenario can set it apart
# from what the platform advertises with these node annotations; otherwise GFD's labels, which GFD reads
# from the installed driver, and last the DRA attributes.
DRIVER_ANN = "sim.aiconform.io/nvidia-driver-version"
CUDA_ANN = "sim.aiconform.io/cuda-version"


def _node_driver(c: Cluster, node: str, gpus: list[dict[str, Any]]) -> tuple[str, str]:
    n = c.find("", "nodes", "", node) or {}
    meta = n.get("metadata") or {}
    ann, labels = meta.get("annotations") or {}, meta.get("labels") or {}
    first = gpus[0] if gpus else {}
    driver = ann.get(DRIVER_ANN) or labels.get("nvidia.com/cuda.driver-version.full") or first.get("driver") or ""
    cuda = ann.get(CUDA_ANN) or labels.get("nvidia.com/cuda.runtime-version.full") or first.get("cuda") or ""
    return str(driver), str(cuda)


def _dra_devices(c: Cluster, pod: Obj, container: dict[str, Any]) -> list[dict[str, Any]]:
    ns = pod["metadata"]["namespace"]
    statuses = {s["name"]: s.get("resourceClaimName") for s in (pod.get("status") or {}).get("resourceClaimStatuses") or []}
    pod_claims = {rc["name"]: rc.get("resourceClaimName") or statuses.get(rc["name"])
                  for rc in (pod.get("spec") or {}).get("resourceClaims") or []}
    slices = c.objects(GROUP, "resourceslices")
    out = []
    for ref in (container.get("resources") or {}).get("claims") or []:
        claim_name = pod_claims.get(ref.get("name"))
        claim = c.find(GROUP, "resourceclaims", ns, claim_name or "")
        alloc = ((claim or {}).get("status") or {}).get("allocation") or {}
        for r in (alloc.get("devices") or {}).get("results") or []:
            if ref.get("request") and r.get("request") != ref["request"]:
                continue
            for s in slices:
                spec = s.get("spec") or {}
                if spec.get("driver") != r.get("driver") or (spec.get("pool") or {}).get("name") != r.get("pool"):
                    continue
                for i, d in enumerate(spec.get("devices") or []):
                    if d.get("name") == r.get("device") and r.get("driver") in GPU_DRIVERS:
                        # "via": how the kubelet hands it out (pod-resources DynamicResources for DRA), which
                        # decides what a DCGM exporter can map back to the pod (dcgm.py)
                        out.append({**_visible(d, i, r["driver"]), "via": "dra", "claim": claim_name or "",
                                    "claim_namespace": ns, "dra_driver": r.get("driver") or "",
                                    "pool": r.get("pool") or "", "device": r.get("device") or ""})
    return out


def sync(c: Cluster, mgr: Any) -> None:
    pods = [p for p in c.objects("", "pods") if _live(p) and (p.get("spec") or {}).get("nodeName")]
    live_keys = {(p["metadata"]["uid"], ctr["name"]) for p in pods for ctr in (p.get("spec") or {}).get("containers") or []}
    for key in [k for k in _ASSIGNED if k not in live_keys]:
        del _ASSIGNED[key]
    for key in [k for k in VISIBLE if k not in live_keys]:
        del VISIBLE[key]
    envvar_honoured = _toolkit_accepts_envvar(c)
    gpus_by_node: dict[str, list[dict[str, Any]]] = {}
    slots_by_node: dict[str, list[dict[str, Any]]] = {}
    for pod in sorted(pods, key=lambda p: (p["metadata"].get("creationTimestamp", ""), p["metadata"]["name"])):
        node = pod["spec"]["nodeName"]
        gpus = gpus_by_node.setdefault(node, _node_gpus(c, node))
        # device-plugin units: one per GPU, or `replicas` per GPU under time-slicing (round-robin over GPUs)
        slots = slots_by_node.setdefault(node, [g for _ in range(_replicas(c, node)) for g in gpus])
        for ctr in pod["spec"].get("containers") or []:
            key = (pod["metadata"]["uid"], ctr["name"])
            res = ctr.get("resources") or {}
            want = int(quantity({**(res.get("requests") or {}), **(res.get("limits") or {})}.get(GPU_RESOURCE)))
            seen = _dra_devices(c, pod, ctr)
            if want:
                if key not in _ASSIGNED:
                    taken = {i for (n, idx) in _ASSIGNED.values() if n == node for i in idx}
                    free = [i for i in range(len(slots)) if i not in taken]
                    _ASSIGNED[key] = (node, free[:want])  # fewer when over-subscribed: the scheduler should not allow it
                seen += [{**slots[i], "via": "device-plugin"} for i in _ASSIGNED[key][1] if i < len(slots)]
            if not want and not seen and envvar_honoured:
                # the toolkit's env-var path, not the kubelet's: no pod-resources entry (what dcgm.py maps)
                seen = [{**g, "via": "envvar"} for g in _envvar_devices(ctr, gpus)]
            driver, cuda = _node_driver(c, node, gpus)
            VISIBLE[key] = [{**g, "node_driver": driver, "node_cuda": cuda} for g in seen]


def _toolkit_accepts_envvar(c: Cluster) -> bool:
    if c.registry.get("nvidia.com", "clusterpolicies") is None:
        return False
    for cp in c.objects("nvidia.com", "clusterpolicies"):
        for env in ((cp.get("spec") or {}).get("toolkit") or {}).get("env") or []:
            if env.get("name") == "ACCEPT_NVIDIA_VISIBLE_DEVICES_ENVVAR_WHEN_UNPRIVILEGED" and \
                    str(env.get("value")).lower() == "true":
                return True
    return False


def _envvar_devices(ctr: dict[str, Any], gpus: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The GPUs an unprivileged container's NVIDIA_VISIBLE_DEVICES names (all, or indices/UUIDs)."""
    value = next((str(e.get("value", "")) for e in ctr.get("env") or [] if e.get("name") == "NVIDIA_VISIBLE_DEVICES"), "")
    if value in ("", "void", "none"):
        return []
    if value == "all":
        return list(gpus)
    wanted = {v.strip() for v in value.split(",")}
    return [g for g in gpus if str(g["minor"]) in wanted or (g.get("uuid") or "") in wanted]


@register_producer
def probe_log(pod: Obj, container: str) -> str | None:
    """What an accelerator probe container prints, from the devices the simulator gave it."""
    spec = next((c for c in (pod.get("spec") or {}).get("containers") or [] if c.get("name") == container), {})
    script = " ".join(str(x) for x in (spec.get("command") or []) + (spec.get("args") or []))
    if "ACCELERATOR_COUNT=" not in script and "ACCELERATOR_FOUND" not in script:
        return None
    devices = sorted(VISIBLE.get((pod["metadata"].get("uid", ""), container), []), key=lambda g: g["minor"])
    lines = [f"DEVICE: {_device_node(g)}" for g in devices] if "DEVICE: " in script else []
    if "ACCELERATOR_COUNT=" in script:
        lines.append(f"RESULT: ACCELERATOR_COUNT={len(devices)}")
    else:
        lines.append("RESULT: ACCELERATOR_FOUND" if devices else "RESULT: ACCELERATOR_MISSING")
    if "nvidia-smi" in script and devices:  # the toolkit injects nvidia-smi only with an NVIDIA GPU
        lines += [f"GPU {i}: {g['product'] or 'NVIDIA GPU'} (UUID: {g['uuid']})" for i, g in enumerate(devices)
                  if g.get("uuid") and not g.get("vendor")]
    if "RESULT: HEALTH_CHECK=" in script:  # gpu_sharing: nvidia-smi's CSV query, only where a GPU was injected
        lines += [f"{g['uuid']}, {g['product'] or 'NVIDIA GPU'}, 0 MiB, 10240 MiB" for g in devices if g.get("uuid")]
        lines.append("RESULT: HEALTH_CHECK=PASS" if devices else "RESULT: HEALTH_CHECK=FAIL nvidia-smi was not injected")
    if "RESULT: DRIVER_FUNCTIONAL=" in script:  # upstream nvidiaDriverProbeScript: needs injected nvidia-smi
        ok = bool(devices)
        driver = devices[0].get("node_driver", "") if ok else ""
        lines += [f"RESULT: RUNTIME_CONFIG_OK={'true' if ok else 'false'}",
                  f"RESULT: DRIVER_FUNCTIONAL={'true' if ok and driver else 'false'}",
                  f"RESULT: ACTUAL_DRIVER_VERSION={driver}",
                  f"RESULT: ACTUAL_RUNTIME_VERSION={devices[0].get('node_cuda', '') if ok else ''}"]
    return "\n".join(lines) + "\n"
