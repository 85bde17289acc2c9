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
    "accelerator_type": {"type": "str", "default": "auto"},
    # DeviceClass the functional claim requests; empty = the accelerator type's (gpu.nvidia.com, ...).
    "device_class": {"type": "str", "default": ""},
    "probe_image": {"type": "str", "default": PROBE_IMAGE},
    # AICR DRATestPodTimeout and kOps' `kubectl wait --timeout=5m`.
    "pod_running_timeout": {"type": "int", "default": 300},
    # Upstream log polling: every 2 s up to 90 s.
    "log_timeout": {"type": "int", "default": 90},
}

__all__ = ["REQUIREMENT", "TEST_NAME", "HOLDS", "OPTIONS", "fetch", "judge"]
