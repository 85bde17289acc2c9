"""gpu_sharing (KAR-0003, SHOULD from v1.35): one physical GPU exposed as several allocatable GPUs.

Detection (pure, ``probe.node_sharing``): GPU Feature Discovery labels ``nvidia.com/gpu.sharing-strategy`` and
``nvidia.com/gpu.replicas`` (time-slicing/MPS from the device plugin's ``sharing`` config), MIG extended
resources ``nvidia.com/mig-<profile>`` or MIG devices in a DRA ResourceSlice, always checked against the
physical GPU count (``nvidia.com/gpu.count``): sharing counts only when the node *allocates* more than it has.
Functional (the requirement's "how we might test it"): physical + 1 pods each request one shared unit on that
node, so at least two must land on the same physical GPU (pigeonhole: the device plugin spreads replicas);
the UUIDs they report are compared and each runs a health check. No upstream test exists.
"""
from __future__ import annotations

from typing import Any

from ...versions import probe_image
from .fetch import fetch
from .judge import judge

REQUIREMENT = "gpu_sharing"
TEST_NAME = "TestGPUSharing"  # no upstream test; named in the upstream style for junit.xml
# What the probe holds while it runs (verifiers/holdings.py): pods share one GPU.
HOLDS: dict[str, str] = {"accelerators": "exclusive", "node_capacity": "shared"}

# Same vanilla image as the other accelerator probes (the runtime injects nvidia-smi).
PROBE_IMAGE = probe_image("ubuntu")

OPTIONS: dict[str, dict[str, Any]] = {
    "accelerator_type": {
        "type": "str", "default": "nvidia",
        "description": ['Accelerator vendor; only C(nvidia) is known.'],
        "fallback": "aiconform_accelerator_type",
    },
    "probe_image": {
        "type": "str", "default": PROBE_IMAGE,
        "description": ['Vanilla probe image (the runtime injects C(nvidia-smi)); override for a mirror.'],
        "fallback": "aiconform_accelerator_probe_image",
    },
    # Upper bound of probe pods (physical GPUs of the node + 1 are needed to force two onto one GPU).
    "max_probe_pods": {
        "type": "int", "default": 9,
        "description": [('Upper bound of probe pods (physical GPUs of the node + 1 are needed to force two onto '
                         'one GPU).')],
        "sample": 'physical GPUs of the probed node + 1 are needed (pigeonhole)',
    },
    "pod_running_timeout": {
        "type": "int", "default": 120,
        "description": ['Seconds for all probe pods to be Running.'],
        "sample": 'seconds for all probe pods to run',
    },  # upstream runTestPod 1m, doubled for n pods
    "log_timeout": {
        "type": "int", "default": 90,
        "description": ['Seconds to poll each probe log for its health-check line.'],
        "sample": 'seconds polling each probe log for the health-check line',
    },  # upstream log polling
    "release_timeout": {
        "type": "int", "default": 120,
        "description": ['Seconds for each deleted probe pod (and its claims) to go.'],
        "sample": 'seconds for each deleted probe pod to go',
    },  # upstream deleteAndAwaitRelease
}

__all__ = ["REQUIREMENT", "TEST_NAME", "HOLDS", "OPTIONS", "fetch", "judge"]
