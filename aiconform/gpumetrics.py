"""The NVIDIA DCGM exporter's answer (``GET /metrics``), as pure code: one definition for both engines.

The simulator's exporter (``sim/controllers/dcgm.py``) and the lab's stand-in program for the exporter's image
(``labcluster/programs/gpu.py``) both render with ``render``: the default counter set with its HELP/TYPE lines as
the real exporter prints them (kOps v1.35, NVIDIA L4, GPU Operator dcgm-exporter; Linode, a pod holding the GPU),
one series per GPU of the exporter's node labelled ``gpu``, ``UUID``, ``pci_bus_id``, ``device``, ``modelName``,
``Hostname``, ``DCGM_FI_DRIVER_VERSION``, plus the holder's ``container``/``namespace``/``pod``/``pod_uid`` (device
plugin) or ``container``/``namespace``/``pod`` and ``dra_*`` (DRA) when the exporter can map it (``mapping``, see
dcgm.py). What differs between the engines is only where "busy" comes from: the simulator calls a GPU busy while a
running pod holds it; the lab while a load program runs on it (its device state).
"""
from __future__ import annotations

import uuid
from typing import Any

Obj = dict[str, Any]

# (name, type, HELP, idle value, value while the GPU is busy) — names, types and HELP texts as the exporter prints
# them; idle values as the idle L4 showed (FB_FREE/RESERVED scaled by the node's memory).
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
FB_RESERVED_MIB = 470
FB_USED_BUSY_MIB = 1024


def gpu_uuid(node: str, minor: int) -> str:
    """A GPU's UUID when nothing published one (no DRA slice): derived from the node name, stable."""
    return f"GPU-{uuid.uuid5(uuid.NAMESPACE_DNS, f'{node}/{minor}')}"


def render(node: str, node_labels: dict[str, str], gpus: list[Obj], holders: dict[int, Obj], busy: set[int],
           fault: str = "", mapping: set[str] | None = None) -> str:
    """The exposition of an exporter on ``node``: ``gpus`` ({minor, uuid}), ``holders`` (minor -> {pod, namespace,
    container, via: device-plugin|dra, and for DRA claim, claim_namespace, dra_driver, pool, device}), ``busy``
    (minors under load), ``mapping`` (what the exporter maps to pods; default both), ``fault`` (simulator only:
    no-gpu-labels, aggregate, malformed)."""
    mapping = {"device-plugin", "dra"} if mapping is None else mapping
    model = "NVIDIA " + node_labels.get("nvidia.com/gpu.product", "GPU").replace("-", " ")
    driver = node_labels.get("nvidia.com/cuda.driver-version.full", "580.105.08")
    mem_mib = int(node_labels.get("nvidia.com/gpu.memory", "23034") or 23034)
    lines: list[str] = []
    for metric, mtype, help_, idle, hot in METRICS:
        lines += [f"# HELP {metric} {help_}", f"# TYPE {metric} {mtype}"]
        for gpu in gpus[:1] if fault == "aggregate" else gpus:
            i = int(gpu["minor"])
            holder = holders.get(i)
            on = i in busy
            value = hot if on else idle
            if metric == "DCGM_FI_DEV_FB_FREE":
                value = mem_mib - FB_RESERVED_MIB - (FB_USED_BUSY_MIB if on else 0)
            if fault == "no-gpu-labels":
                lab = {"modelName": model, "Hostname": node, "DCGM_FI_DRIVER_VERSION": driver}
            elif fault == "aggregate":
                lab = {"gpu": "all", "modelName": model, "Hostname": node, "DCGM_FI_DRIVER_VERSION": driver}
            else:
                lab = {"gpu": str(i), "UUID": gpu.get("uuid") or gpu_uuid(node, i),
                       "pci_bus_id": f"00000000:{0x31 + i:02X}:00.0", "device": f"nvidia{i}", "modelName": model,
                       "Hostname": node, "DCGM_FI_DRIVER_VERSION": driver}
            via = (holder or {}).get("via", "device-plugin")
            if holder and via in mapping and via == "dra":
                lab.update(pod=holder["pod"], namespace=holder.get("namespace", ""), container=holder["container"],
                           dra_claim_name=holder.get("claim", ""),
                           dra_claim_namespace=holder.get("claim_namespace", ""),
                           dra_driver_name=holder.get("dra_driver", ""), dra_pool_name=holder.get("pool", ""),
                           dra_device_name=holder.get("device", ""))
            elif holder and via in mapping:
                lab.update(container=holder["container"], namespace=holder.get("namespace", ""), pod=holder["pod"],
                           pod_uid="")
            body = ",".join(f'{k}="{v}"' for k, v in lab.items())
            lines.append(f"{metric}{{{body}}} {value:g}" if isinstance(value, float) else f"{metric}{{{body}}} {value}")
    if fault == "malformed" and lines:
        lines.insert(len(lines) // 2, 'DCGM_FI_DEV_GPU_UTIL{gpu="0",UUID="GPU-')
    return "\n".join(lines) + "\n"
