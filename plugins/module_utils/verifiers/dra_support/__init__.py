"""dra_support (KAR-0051; SHOULD v1.33, MUST v1.34-v1.35): the resource.k8s.io DRA API and a working claim.

"Verify that all the resource.k8s.io/v1 DRA API resources are enabled" (HMT), plus what kOps'
TestDRAWorks and AICR's DRA check show: DeviceClasses, ResourceSlices with allocatable devices on
Ready nodes, and a ResourceClaimTemplate + pod that gets a device allocated, reserved and visible.
"""
from __future__ import annotations

from typing import Any

from ...versions import probe_image
from .fetch import fetch
from .judge import judge

REQUIREMENT = "dra_support"
# No upstream ai-conformance test exists (kubernetes-sigs/ai-conformance#74: covered by the Kubernetes
# conformance DRA CRUD tests from v1.35); named after kOps' transcript.
TEST_NAME = "TestAcceleratorsDRASupport"
# What the probe holds while it runs (verifiers/holdings.py): a claim gets a device allocated.
HOLDS: dict[str, str] = {"accelerators": "exclusive", "node_capacity": "shared"}

# The upstream probe image (pinned in versions.yml verifier_probes).
PROBE_IMAGE = probe_image("ubuntu")

OPTIONS: dict[str, dict[str, Any]] = {
    # auto: the one vendor whose DRA driver publishes ResourceSlices (nvidia gpu.nvidia.com, amd gpu.amd.com,
    # intel gpu.intel.com)
    "accelerator_type": {
        "type": "str", "default": "auto",
        "description": [
            ('Accelerator vendor whose DRA driver and device nodes are probed - C(nvidia) (C(gpu.nvidia.com), '
             'C(/dev/nvidia*)), C(amd) (C(gpu.amd.com), C(/dev/dri/renderD*)) or C(intel) (C(gpu.intel.com), '
             'C(/dev/dri/renderD*)).'),
            ('C(auto) uses the one vendor whose DRA driver publishes ResourceSlices; several give C(unknown) '
             'naming them.'),
        ],
        "fallback": "aiconform_accelerator_type",
    },
    # DeviceClass the functional claim requests; empty = the accelerator type's (gpu.nvidia.com, ...).
    "device_class": {
        "type": "str", "default": "",
        "description": ["DeviceClass the probe claim requests; empty uses the accelerator's (C(gpu.nvidia.com))."],
        "sample": 'DeviceClass of the probe claim ("" = the vendor\'s: gpu.nvidia.com, gpu.amd.com, gpu.intel.com)',
    },
    "probe_image": {
        "type": "str", "default": PROBE_IMAGE,
        "description": ['Image of the probe container (upstream C(ubuntu:22.04)); override for a mirror.'],
        "fallback": "aiconform_accelerator_probe_image",
    },
    # AICR DRATestPodTimeout and kOps' `kubectl wait --timeout=5m`.
    "pod_running_timeout": {
        "type": "int", "default": 300,
        "description": ['Seconds for the probe pod to be Running (AICR C(DRATestPodTimeout), kOps 5m).'],
        "sample": 'seconds for the claim pod to run (AICR DRATestPodTimeout, kOps 5m)',
    },
    # Upstream log polling: every 2 s up to 90 s.
    "log_timeout": {
        "type": "int", "default": 90,
        "description": ['Seconds to poll the probe log for its C(RESULT) line (every 2s).'],
        "sample": 'seconds polling the probe log every 2 s',
    },
}

__all__ = ["REQUIREMENT", "TEST_NAME", "HOLDS", "OPTIONS", "fetch", "judge"]
