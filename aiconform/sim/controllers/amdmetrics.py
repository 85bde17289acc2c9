"""AMD device-metrics-exporter (ROCm): ``GET /metrics`` of an exporter pod, behind the services/pods proxy.

Names and labels as the exporter documents them (docs/configuration/metricslist.md, configmap.md): lower-cased
field names (``gpu_gfx_activity``, ``gpu_used_vram``, ``gpu_total_vram``, ``gpu_junction_temperature``,
``gpu_package_power``, ``gpu_violation_low_utilization_percentage``) and the labels it always sets
(``serial_number``, ``gpu_id``, ``gpu_partition_id``, ``card_model``, ``hostname``, plus empty ``pod``,
``namespace``, ``container``, ``job_id``). One series per GPU of the pod's node, the GPUs being the devices of
the node's ``gpu.amd.com`` ResourceSlice (full GPUs, not partitions); values are our own. Activity is 100 while
a container holds the GPU (the simulated device manager's assignment), else 0.

Simulator-only fault, as for DCGM: annotation ``sim.aiconform.io/amd-metrics-exporter: aggregate`` on a ConfigMap
``amd-metrics-exporter-sim-faults`` in the exporter's namespace: one series per node labelled ``gpu_id="all"``.
"""
from __future__ import annotations

import zlib
from typing import Any

from aiconform.sim.api import ANNOTATION_PREFIX, Cluster
from aiconform.sim.controllers import devicemanager, proxy

Obj = dict[str, Any]
DRIVER = "gpu.amd.com"
FAULT = ANNOTATION_PREFIX + "amd-metrics-exporter"
FAULT_CONFIGMAP = "amd-metrics-exporter-sim-faults"
# (name, HELP, idle, busy): metricslist.md descriptions, our values
METRICS = [
    ("gpu_gfx_activity", "Graphics engine usage percentage (0 - 100)", 0, 100),
    ("gpu_umc_activity", "Memory engine usage percentage (0 - 100)", 0, 35),
    ("gpu_used_vram", "Total VRAM memory used in MB", 284, 40960),
    ("gpu_total_vram", "Total VRAM available in MB", 196592, 196592),
    ("gpu_junction_temperature", "Hotspot (aka junction) temperature value in Celsius", 41, 67),
    ("gpu_package_power", "Current socket power in Watts", 140, 610),
    ("gpu_violation_low_utilization_percentage", "GPU Low Utilization Percentage Violation Counter", 100, 0),
]


def _gpus(c: Cluster, node: str) -> list[Obj]:
    out = []
    for s in c.objects("resource.k8s.io", "resourceslices"):
        spec = s.get("spec") or {}
        if spec.get("nodeName") == node and spec.get("driver") == DRIVER:
            out += [d for d in spec.get("devices") or []
                    if not str(devicemanager._attr(d, "type") or "").endswith("partition")]
    return out


def exposition(c: Cluster, node: str, fault: str = "") -> str:
    held = {g.get("render") for ds in devicemanager.VISIBLE.values() for g in ds if g.get("vendor") == DRIVER}
    gpus = _gpus(c, node)
    lines: list[str] = []
    for metric, help_, idle, busy in METRICS:
        lines += [f"# HELP {metric} {help_}", f"# TYPE {metric} gauge"]
        for i, dev in enumerate(gpus[:1] if fault == "aggregate" else gpus):
            render = devicemanager._visible(dev, i, DRIVER)["render"]
            lab = {"serial_number": f"69220{i:02d}{zlib.crc32(node.encode()) % 1000:03d}", "gpu_id": str(i),
                   "gpu_partition_id": "0", "card_model": str(devicemanager._attr(dev, "productName") or ""),
                   "hostname": node, "job_id": "", "pod": "", "namespace": "", "container": ""}
            if fault == "aggregate":
                lab.update(gpu_id="all", serial_number="")
            body = ",".join(f'{k}="{v}"' for k, v in lab.items())
            lines.append(f"{metric}{{{body}}} {busy if render in held and fault != 'aggregate' else idle}")
    return "\n".join(lines) + "\n"


def _fault(c: Cluster, ns: str) -> str:
    cm = c.find("", "configmaps", ns, FAULT_CONFIGMAP)
    return ((cm or {}).get("metadata", {}).get("annotations") or {}).get(FAULT, "") if cm else ""


backend = proxy.register_exporter("device-metrics-exporter", lambda c, req: exposition(
    c, (req.pod.get("spec") or {}).get("nodeName") or "", _fault(c, req.namespace)))
