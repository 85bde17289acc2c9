"""virtualized_accelerator (KAR-0004, SHOULD from v1.35): vGPUs exposed and allocated like physical GPUs.

Detection (pure, ``probe.classify_node``): a node's GPUs are virtual when GPU Feature Discovery says so
(``nvidia.com/vgpu.present=true``, ``nvidia.com/vgpu.host-driver-version``, a ``GRID``/``-vGPU`` product) or
its DRA devices carry a virtual NVML brand (``NvidiaVCS``/``VWS``/``VPC``/``VApps``, as the VKS GRID A100
slices do) or are ``vfio`` passthrough devices; physical when the DRA brand is a physical one (``Nvidia``,
as AICR's H100 slices) or GFD says ``vgpu.present=false``. Functional: one pod requests one accelerator on a
vGPU node through the platform's own mechanism (DRA claim or ``nvidia.com/gpu``, upstream allocation-mode
rules), must see one device that is the vGPU and pass a health check. N/A only where the GPUs are
demonstrably physical; otherwise ``unknown``.
"""
from __future__ import annotations

from typing import Any

from ...versions import probe_image
from .fetch import fetch
from .judge import judge

REQUIREMENT = "virtualized_accelerator"
TEST_NAME = "TestVirtualizedAccelerator"  # no upstream test; named in the upstream style for junit.xml
# What the probe holds while it runs (verifiers/holdings.py): a pod gets a vGPU.
HOLDS: dict[str, str] = {"accelerators": "exclusive", "node_capacity": "shared"}

PROBE_IMAGE = probe_image("ubuntu")  # vanilla: the runtime injects nvidia-smi, as for the other accelerator probes

OPTIONS: dict[str, dict[str, Any]] = {
    "accelerator_type": {
        "type": "str", "default": "nvidia",
        "description": ['Accelerator vendor; only C(nvidia) is known.'],
        "fallback": "aiconform_accelerator_type",
    },
    "allocation_mode": {
        "type": "str", "default": "auto", "choices": ["auto", "dra", "device-plugin"],
        "description": ['How the probe pod requests its vGPU (upstream C(-allocation-mode)).'],
        "sample": 'auto | dra | device-plugin',
    },
    "probe_image": {
        "type": "str", "default": PROBE_IMAGE,
        "description": ['Vanilla probe image (the runtime injects C(nvidia-smi)); override for a mirror.'],
        "fallback": "aiconform_accelerator_probe_image",
    },
    "pod_running_timeout": {
        "type": "int", "default": 60,
        "description": ['Seconds for the probe pod to be Running (upstream 1m).'],
        "sample": 'seconds for the vGPU pod to run (upstream 1m)',
    },  # upstream runTestPod 1m
    "log_timeout": {
        "type": "int", "default": 90,
        "description": ['Seconds to poll the probe log for its health-check line.'],
        "sample": 'seconds polling the probe log for the health line',
    },  # upstream log polling
    "release_timeout": {
        "type": "int", "default": 120,
        "description": ['Seconds for the probe pod and its claims to go (upstream 2m).'],
        "sample": 'seconds for the pod and its claims to go',
    },  # upstream deleteAndAwaitRelease 2m
}

__all__ = ["REQUIREMENT", "TEST_NAME", "HOLDS", "OPTIONS", "fetch", "judge"]
