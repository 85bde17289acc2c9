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

from ..runtime import declared_options
from .fetch import fetch
from .judge import judge

REQUIREMENT = "virtualized_accelerator"
TEST_NAME = "TestVirtualizedAccelerator"  # no upstream test; named in the upstream style for junit.xml
# What the probe holds while it runs (verifiers/holdings.py): a pod gets a vGPU.
HOLDS: dict[str, str] = {"accelerators": "exclusive", "node_capacity": "shared"}

# Declared with its documentation in verifier.yml (python -m aiconform.collection options generates from it).
OPTIONS: dict[str, dict[str, Any]] = declared_options(__file__)

__all__ = ["REQUIREMENT", "TEST_NAME", "HOLDS", "OPTIONS", "fetch", "judge"]
