"""secure_accelerator_access (KAR-0049, MUST): upstream ``TestSecureAcceleratorAccess``.

Positive access with a claim (or a device-plugin request), a pod without a request on an accelerator
node sees no device, a second container of a granted pod sees none, and two pods holding one
accelerator each see different devices (the requirement's "How we might test it", part 2).
"""
from __future__ import annotations

from typing import Any

from aiconform.versions import probe_image

from .fetch import fetch
from .judge import judge

REQUIREMENT = "secure_accelerator_access"
TEST_NAME = "TestSecureAcceleratorAccess"
# What the probe holds while it runs (verifiers/holdings.py): two pods must get two different GPUs.
HOLDS: dict[str, str] = {"accelerators": "exclusive", "node_capacity": "shared"}

# Pinned in versions.yml verifier_probes: upstream's acceleratorProbingContainer uses ubuntu:22.04 (override for air-gapped mirrors).
PROBE_IMAGE = probe_image("ubuntu")

OPTIONS: dict[str, dict[str, Any]] = {
    "accelerator_type": {"type": "str", "default": "nvidia"},
    "allocation_mode": {"type": "str", "default": "auto", "choices": ["auto", "dra", "device-plugin"]},
    "probe_image": {"type": "str", "default": PROBE_IMAGE},
    # Upstream runTestPod: poll 2 s up to 1 m for Running.
    "pod_running_timeout": {"type": "int", "default": 60},
    # Upstream log polling: every 2 s up to 90 s.
    "log_timeout": {"type": "int", "default": 90},
    # Upstream deleteAndAwaitRelease: 2 m for the pod and its generated claims to go.
    "release_timeout": {"type": "int", "default": 120},
}

__all__ = ["REQUIREMENT", "TEST_NAME", "HOLDS", "OPTIONS", "fetch", "judge"]
