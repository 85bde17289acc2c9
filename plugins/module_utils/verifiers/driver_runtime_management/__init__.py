"""driver_runtime_management (KAR-0001, SHOULD from v1.35): upstream ``TestAcceleratorDriverRuntimeManagement``.

``VerifiableMechanismExposed``: what the platform advertises for the accelerator node (DRA ResourceSlice
attributes ``driverVersion``/``cudaDriverVersion`` first, GPU Feature Discovery labels otherwise, plus
``containerRuntimeVersion``). ``DriverAndRuntimeCompatibility``: a vanilla-image pod granted one
accelerator must get the device, injected tools (RUNTIME_CONFIG_OK), a working driver (DRIVER_FUNCTIONAL)
and versions equal to the advertised ones at their shared precision. An unknown accelerator is unknown.
"""
from __future__ import annotations

from typing import Any

from ...versions import probe_image
from .fetch import fetch
from .judge import judge

REQUIREMENT = "driver_runtime_management"
TEST_NAME = "TestAcceleratorDriverRuntimeManagement"
# What the probe holds while it runs (verifiers/holdings.py): a pod with a GPU reads the driver.
HOLDS: dict[str, str] = {"accelerators": "exclusive", "node_capacity": "shared"}

# Upstream -driver-runtime-image default (a vanilla image: the runtime must inject the driver tools).
PROBE_IMAGE = probe_image("ubuntu")

OPTIONS: dict[str, dict[str, Any]] = {
    "accelerator_type": {"type": "str", "default": "nvidia"},
    "allocation_mode": {"type": "str", "default": "auto", "choices": ["auto", "dra", "device-plugin"]},
    "probe_image": {"type": "str", "default": PROBE_IMAGE},
    "pod_running_timeout": {"type": "int", "default": 60},  # upstream runTestPod: 1m
    "log_timeout": {"type": "int", "default": 90},  # upstream driverRuntimeLogPollTimeout
    "release_timeout": {"type": "int", "default": 120},  # upstream deleteAndAwaitRelease: 2m
}

__all__ = ["REQUIREMENT", "TEST_NAME", "HOLDS", "OPTIONS", "fetch", "judge"]
