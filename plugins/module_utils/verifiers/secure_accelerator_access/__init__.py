"""secure_accelerator_access (KAR-0049, MUST): upstream ``TestSecureAcceleratorAccess``.

Positive access with a claim (or a device-plugin request), a pod without a request on an accelerator
node sees no device, a second container of a granted pod sees none, and two pods holding one
accelerator each see different devices (the requirement's "How we might test it", part 2). For NVIDIA,
aiconform adds the best-known bypass: an unprivileged pod that requests nothing but sets
``NVIDIA_VISIBLE_DEVICES=all`` (in the plain probe image and in a CUDA base image, whose ENV sets it too) must
see no device; the NVIDIA container toolkit honours the variable when
``accept-nvidia-visible-devices-envvar-when-unprivileged`` is true. A single-accelerator cluster passes on
upstream's three subtests, the cross-pod check then skipped with why (a skip is never a pass).
"""
from __future__ import annotations

from typing import Any

from ...versions import probe_image
from .fetch import fetch
from .judge import judge

REQUIREMENT = "secure_accelerator_access"
TEST_NAME = "TestSecureAcceleratorAccess"
# What the probe holds while it runs (verifiers/holdings.py): two pods must get two different GPUs.
HOLDS: dict[str, str] = {"accelerators": "exclusive", "node_capacity": "shared"}

# Pinned in versions.yml verifier_probes: upstream's acceleratorProbingContainer uses ubuntu:22.04 (override for air-gapped mirrors).
PROBE_IMAGE = probe_image("ubuntu")
CUDA_PROBE_IMAGE = probe_image("cuda_base")

OPTIONS: dict[str, dict[str, Any]] = {
    # auto: the one vendor whose DRA driver or device plugin is present (nvidia, amd, intel)
    "accelerator_type": {
        "type": "str", "default": "auto",
        "description": [
            ('Accelerator vendor (upstream C(-accelerator-type)) - C(nvidia), C(amd) (DRA C(gpu.amd.com) or '
             'C(amd.com/gpu), device nodes C(/dev/dri/renderD*)) or C(intel) (DRA C(gpu.intel.com) or '
             'C(gpu.intel.com/i915)); others give C(unknown).'),
            ('C(auto) uses the one vendor whose DRA driver or device plugin is present; several give C(unknown) '
             'naming them.'),
        ],
        "fallback": "aiconform_accelerator_type",
    },
    "allocation_mode": {
        "type": "str", "default": "auto", "choices": ["auto", "dra", "device-plugin"],
        "description": ['How probe pods request accelerators (upstream C(-allocation-mode)).'],
        "sample": 'auto | dra | device-plugin (upstream -allocation-mode)',
    },
    "probe_image": {
        "type": "str", "default": PROBE_IMAGE,
        "description": ['Image of the probe containers (upstream C(ubuntu:22.04)); override for a mirror.'],
        "fallback": "aiconform_accelerator_probe_image",
    },
    # The env-var bypass case's second image (NVIDIA only); "" skips that pod.
    "cuda_probe_image": {
        "type": "str", "default": CUDA_PROBE_IMAGE,
        "description": [('CUDA base image of the second C(EnvVarBypassTest) pod; empty runs only the '
                         'I(probe_image) pod.')],
        "sample": 'the env-var bypass case\'s CUDA base image ("" = the plain pod only)',
    },
    # Upstream runTestPod: poll 2 s up to 1 m for Running.
    "pod_running_timeout": {
        "type": "int", "default": 60,
        "description": ['Seconds for each probe pod to be Running (upstream 1m).'],
        "sample": 'seconds for each probe pod to be Running (upstream 1m)',
    },
    # Upstream log polling: every 2 s up to 90 s.
    "log_timeout": {
        "type": "int", "default": 90,
        "description": ["Seconds to poll a probe container's log for its C(RESULT) line (upstream 90s, every 2s)."],
        "sample": 'seconds polling a probe log every 2 s (upstream)',
    },
    # Upstream deleteAndAwaitRelease: 2 m for the pod and its generated claims to go.
    "release_timeout": {
        "type": "int", "default": 120,
        "description": [('Seconds for a deleted probe pod and its generated ResourceClaims to be released '
                         '(upstream 2m).')],
        "sample": 'seconds for a deleted pod and its claims to go (upstream 2m)',
    },
}

__all__ = ["REQUIREMENT", "TEST_NAME", "HOLDS", "OPTIONS", "fetch", "judge"]
