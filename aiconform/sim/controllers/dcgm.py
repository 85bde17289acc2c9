"""NVIDIA DCGM exporter (GPU Operator ``nvidia-dcgm-exporter``): ``GET /metrics`` of an exporter pod.

The answer is built from what real dumps show (kOps v1.35, NVIDIA L4, GPU Operator dcgm-exporter; Linode,
a pod holding the GPU): the default counter set with its HELP/TYPE lines, one series per GPU of the
pod's node labelled ``gpu``, ``UUID``, ``pci_bus_id``, ``device``, ``modelName``, ``Hostname``,
``DCGM_FI_DRIVER_VERSION``, plus ``container``/``namespace``/``pod``/``pod_uid`` while a pod holds the
GPU. Model and driver come from the node's GFD labels, UUIDs are derived from the node name.

Emulation, not measurement: a GPU's utilization (and memory use, power) is derived from whether a
running pod holds it (the simulated device manager's assignment: ``nvidia.com/gpu`` limits or a DRA
allocation), since nothing computes in the simulator.

Simulator-only faults: annotation ``sim.aiconform.io/dcgm-exporter`` on a ConfigMap
``dcgm-exporter-sim-faults`` in the exporter's namespace: ``no-gpu-labels`` (series without any
per-GPU label, as an exporter behind a relabelling that drops them), ``aggregate`` (one series per node
labelled ``gpu="all"``, the values of the first GPU, as a summing relabel/recording setup gives) or
``malformed`` (a truncated line).
"""
from __future__ import annotations

import uuid
from typing import Any

from aiconform.sim.api import ANNOTATION_PREFIX, Cluster
from aiconform.sim.controllers import devicemanager, proxy

Obj = dict[str, Any]
FAULT = ANNOTATION_PREFIX + "dcgm-exporter"
FAULT_CONFIGMAP = "dcgm-exporter-sim-faults"

# (name, type, HELP, idle value, value while a pod holds the GPU) — names, types and HELP texts as the
# exporter prints them; idle values as the idle L4 showed (FB_FREE/RESERVED scaled by the node's memory).
METRICS: list[tuple[str, str, str, float, float]] = [
    ("DCGM_FI_DEV_SM_CLOCK", "gauge", "SM clock frequency (in MHz).", 210, 2040),
    ("DCGM_FI_DEV_MEM_CLOCK", "gauge", "Memory clock frequency (in MHz).", 405, 6250),
    ("DCGM_FI_DEV_MEMORY_TEMP", "gauge", "Memory temperature (in C).", 0, 0),
    ("DCGM_FI_DEV_GPU_TEMP", "gauge", "GPU temperature (in C).", 31, 58),
    ("DCGM_FI_DEV_POWER_USAGE", "gauge", "Power draw (in W).", 16.365, 70.5),
    ("DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION", "counter", "Total energy consumption since boot (in mJ).", 4742776, 4842776),
    ("DCGM_FI_DEV_PCIE_REPLAY_COUNTER", "counter", "Total number of PCIe retries.", 0, 0),
    ("DCGM_FI_DEV_GPU_UTIL", "gauge", "GPU utilization (in %).", 0, 100),
    ("DCGM_FI_DEV_MEM_COPY_UTIL", "gauge", "Memory utilization (in %).", 0, 35),
    ("DCGM_FI_DEV_ENC_UTIL", "gauge", "Encoder utilization (in %).", 0, 0),
    ("DCGM_FI_DEV_DEC_UTIL", "gauge", "Decoder utilization (in %).", 0, 0),
    ("DCGM_FI_DEV_FB_FREE", "gauge", "Framebuffer memory free (in MiB).", -1, -1),
    ("DCGM_FI_DEV_FB_USED", "gauge", "Framebuffer memory used (in MiB).", 0, 1024),
    ("DCGM_FI_DEV_FB_RESERVED", "gauge", "Framebuffer memory reserved (in MiB).", 470, 470),
    ("DCGM_FI_PROF_GR_ENGINE_ACTIVE", "gauge", "Ratio of time the graphics engine is active.", 0, 0.98),
    ("DCGM_FI_PROF_PIPE_TENSOR_ACTIVE", "gauge", "Ratio of cycles the tensor (HMMA) pipe is active.", 0, 0.9),
    ("DCGM_FI_PROF_DRAM_ACTIVE", "gauge", "Ratio of cycles the device memory interface is active sending or receiving data.", 0, 0.3),
    ("DCGM_FI_PROF_PCIE_TX_BYTES", "gauge", "The rate of data transmitted over the PCIe bus - including both protocol headers and data payloads - in bytes per second.", 0, 1048576),
    ("DCGM_FI_PROF_PCIE_RX_BYTES", "gauge", "The rate of data received over the PCIe bus - including both protocol headers and data payloads - in bytes per second.", 0, 1048576),
]


def holders(c: Cluster, node_name: str) -> dict[int, tuple[Obj, str]]:
    """GPU minor → (running pod, container) holding it on this node, from the simulated device manager."""
    out: dict[int, tuple[Obj, str]] = {}
    for p in c.objects("", "pods"):
        if (p.get("spec") or {}).get("nodeName") != node_name:
            continue
        for ctr in (p.get("spec") or {}).get("containers") or []:
            for dev in devicemanager.VISIBLE.get((p["metadata"]["uid"], ctr["name"]), []):
                out.setdefault(int(dev["minor"]), (p, ctr["name"]))
    return out


def exposition(c: Cluster, node: Obj, fault: str = "") -> str:
    labels_ = node["metadata"].get("labels") or {}
    name = node["metadata"]["name"]
    model = "NVIDIA " + labels_.get("nvidia.com/gpu.product", "GPU").replace("-", " ")
    driver = labels_.get("nvidia.com/cuda.driver-version.full", "580.105.08")
    mem_mib = int(labels_.get("nvidia.com/gpu.memory", "23034") or 23034)
    gpus = devicemanager._node_gpus(c, name)  # the same GPUs (minor, UUID) the device manager hands out
    held = holders(c, name)
    lines: list[str] = []
    for metric, mtype, help_, idle, busy in METRICS:
        lines += [f"# HELP {metric} {help_}", f"# TYPE {metric} {mtype}"]
        for gpu in gpus[:1] if fault == "aggregate" else gpus:
            i = int(gpu["minor"])
            pod, ctr = held.get(i, (None, ""))
            value = busy if pod else idle
            if metric == "DCGM_FI_DEV_FB_FREE":
                value = mem_mib - 470 - (1024 if pod else 0)
            if fault == "no-gpu-labels":
                lab = {"modelName": model, "Hostname": name, "DCGM_FI_DRIVER_VERSION": driver}
            elif fault == "aggregate":
                lab = {"gpu": "all", "modelName": model, "Hostname": name, "DCGM_FI_DRIVER_VERSION": driver}
            else:
                lab = {"gpu": str(i), "UUID": gpu.get("uuid") or f"GPU-{uuid.uuid5(uuid.NAMESPACE_DNS, f'{name}/{i}')}",
                       "pci_bus_id": f"00000000:{0x31 + i:02X}:00.0", "device": f"nvidia{i}", "modelName": model,
                       "Hostname": name, "DCGM_FI_DRIVER_VERSION": driver}
            if pod:
                lab.update(container=ctr, namespace=pod["metadata"].get("namespace", ""),
                           pod=pod["metadata"]["name"], pod_uid="")
            body = ",".join(f'{k}="{v}"' for k, v in lab.items())
            lines.append(f"{metric}{{{body}}} {value:g}" if isinstance(value, float) else f"{metric}{{{body}}} {value}")
    if fault == "malformed" and lines:
        lines.insert(len(lines) // 2, 'DCGM_FI_DEV_GPU_UTIL{gpu="0",UUID="GPU-')
    return "\n".join(lines) + "\n"


def _fault(c: Cluster, ns: str) -> str:
    cm = c.find("", "configmaps", ns, FAULT_CONFIGMAP)
    return ((cm or {}).get("metadata", {}).get("annotations") or {}).get(FAULT, "") if cm else ""


@proxy.register
def backend(c: Cluster, req: proxy.ProxyRequest) -> proxy.ProxyResponse | None:
    if not any("dcgm-exporter" in img for img in proxy.container_images(req.pod)):
        return None
    if req.path.rstrip("/") != "/metrics":
        return proxy.ProxyResponse(404, b"404 page not found\n")
    node = c.find("", "nodes", "", (req.pod.get("spec") or {}).get("nodeName") or "")
    if node is None:
        return proxy.ProxyResponse(200, b"")
    text = exposition(c, node, _fault(c, req.namespace))
    return proxy.ProxyResponse(200, text.encode(), "text/plain; version=0.0.4; charset=utf-8")
