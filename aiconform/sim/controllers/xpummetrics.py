"""Intel XPU Manager's exporter: ``GET /metrics`` of an xpumanager pod, behind the services/pods proxy.

Names, help texts, scaling and labels as xpumanager's exporter writes them (``rest/prometheus_exporter.py``;
``doc/Prometheus_Exported_Metrics.csv``): ``xpum_engine_ratio`` (GPU_UTILIZATION) and
``xpum_engine_group_ratio{type=...}`` scaled from percent to a 0-1 ratio, ``xpum_memory_used_bytes``,
``xpum_memory_ratio``, ``xpum_power_watts``, ``xpum_temperature_celsius{location="gpu"}``; device labels ``uuid``,
``dev_name``, ``pci_dev``, ``vendor``, ``pci_bdf``, ``dev_file``, plus ``node`` (its ``NODE_NAME``); one series per
device and one per tile (``sub_dev``), and power also per card (labels ``node`` and ``card`` only). The GPUs are the
devices of the node's ``gpu.intel.com`` ResourceSlice; values are our own. Compute is busy while a container holds
the GPU (the simulated device manager's assignment), else idle.
"""
from __future__ import annotations

import zlib
from typing import Any

from aiconform.sim.api import Cluster
from aiconform.sim.controllers import devicemanager, proxy

Obj = dict[str, Any]
DRIVER = "gpu.intel.com"
# (name, HELP, extra labels, idle, busy, per tile)
METRICS = [
    ("xpum_engine_ratio", "GPU active time of the elapsed time (in %), per GPU tile", "", 0.0, 0.97, True),
    ("xpum_engine_group_ratio", "Avg utilization of engine group (in %), per GPU tile", 'type="compute"', 0.0, 0.95,
     True),
    ("xpum_engine_group_ratio", "Avg utilization of engine group (in %), per GPU tile", 'type="media"', 0.0, 0.0, True),
    ("xpum_memory_used_bytes", "Used GPU memory (in bytes), per GPU tile", "", 291504128, 42949672960, True),
    ("xpum_memory_ratio", "Used GPU memory / Total used GPU memory (in %), per GPU tile", "", 0.0021, 0.3125, True),
    ("xpum_power_watts", "Avg GPU power (in watts), per GPU and per card", "", 98.5, 540.0, False),
    ("xpum_temperature_celsius", "Avg GPU temperature (in Celsius degree), per tile", 'location="gpu"', 31, 58, True),
]


def _gpus(c: Cluster, node: str) -> list[Obj]:
    out = []
    for s in c.objects("resource.k8s.io", "resourceslices"):
        spec = s.get("spec") or {}
        if spec.get("nodeName") == node and spec.get("driver") == DRIVER:
            out += list(spec.get("devices") or [])
    return out


def exposition(c: Cluster, node: str) -> str:
    held = {g.get("render") for ds in devicemanager.VISIBLE.values() for g in ds if g.get("vendor") == DRIVER}
    gpus = _gpus(c, node)
    seed = zlib.crc32(node.encode()) % 256
    families: dict[str, list[str]] = {}
    helps: dict[str, str] = {}
    for name, help_, extra, idle, busy, per_tile in METRICS:
        helps[name] = help_
        rows = families.setdefault(name, [])
        for i, dev in enumerate(gpus):
            render = devicemanager._visible(dev, i, DRIVER)["render"]
            value = busy if render in held else idle
            base = (f'uuid="01000000-0000-{seed:04x}-0000-0000{i:08x}",dev_name="Intel(R) Data Center GPU Max 1550",'
                    f'pci_dev="{devicemanager._attr(dev, "pciId") or ""}",vendor="Intel(R) Corporation",'
                    f'pci_bdf="0000:{0x29 + 0x20 * i:02x}:00.0",dev_file="card{i}",node="{node}"')
            tail = f",{extra}" if extra else ""
            rows.append(f"{name}{{{base}{tail}}} {value}")
            if per_tile:
                rows.append(f'{name}{{{base},sub_dev="0"{tail}}} {value}')
        if name == "xpum_power_watts" and gpus:
            total = sum(busy if devicemanager._visible(d, i, DRIVER)["render"] in held else idle
                        for i, d in enumerate(gpus))
            rows.append(f'{name}{{node="{node}",card="2147483649"}} {total}')
    lines: list[str] = []
    for name in families:  # the exporter's tidy_response: every comment first, then the samples
        lines += [f"# HELP {name} {helps[name]}", f"# TYPE {name} gauge"]
    for rows in families.values():
        lines += rows
    return "\n".join(lines) + "\n"


backend = proxy.register_exporter("xpumanager", lambda c, req: exposition(
    c, (req.pod.get("spec") or {}).get("nodeName") or ""))
