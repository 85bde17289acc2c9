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
    "accelerator_type": {
        "type": "str", "default": "nvidia",
        "description": ['Accelerator vendor (upstream C(-accelerator-type)); only C(nvidia) is known.'],
        "fallback": "aiconform_accelerator_type",
    },
    "allocation_mode": {
        "type": "str", "default": "auto", "choices": ["auto", "dra", "device-plugin"],
        "description": ['How the probe pod requests its accelerator (upstream C(-allocation-mode)).'],
        "sample": 'auto | dra | device-plugin',
    },
    "probe_image": {
        "type": "str", "default": PROBE_IMAGE,
        "description": [('Vanilla image without driver tools (upstream C(-driver-runtime-image)); override for a '
                         'mirror.')],
        "sample": 'vanilla image (upstream -driver-runtime-image ubuntu:22.04)',
        "fallback": "aiconform_accelerator_probe_image",
    },
    "pod_running_timeout": {
        "type": "int", "default": 60,
        "description": ['Seconds for the probe pod to be Running (upstream 1m).'],
        "sample": 'seconds for the probe pod to run (upstream 1m)',
    },  # upstream runTestPod: 1m
    "log_timeout": {
        "type": "int", "default": 90,
        "description": ['Seconds to poll the probe log for all its C(RESULT) lines (upstream 90s).'],
        "sample": 'seconds for all RESULT lines (upstream)',
    },  # upstream driverRuntimeLogPollTimeout
    "release_timeout": {
        "type": "int", "default": 120,
        "description": ['Seconds for the probe pod and its claims to be released (upstream 2m).'],
        "sample": 'seconds for the pod and its claims to go (upstream 2m)',
    },  # upstream deleteAndAwaitRelease: 2m
}

__all__ = ["REQUIREMENT", "TEST_NAME", "HOLDS", "OPTIONS", "fetch", "judge"]
