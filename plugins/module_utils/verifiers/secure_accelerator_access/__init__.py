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

from ..runtime import declared_options
from .fetch import fetch
from .judge import judge

REQUIREMENT = "secure_accelerator_access"
TEST_NAME = "TestSecureAcceleratorAccess"
# What the probe holds while it runs (verifiers/holdings.py): two pods must get two different GPUs.
HOLDS: dict[str, str] = {"accelerators": "exclusive", "node_capacity": "shared"}

# Declared with its documentation in verifier.yml (python -m aiconform.collection options generates from it).
OPTIONS: dict[str, dict[str, Any]] = declared_options(__file__)

__all__ = ["REQUIREMENT", "TEST_NAME", "HOLDS", "OPTIONS", "fetch", "judge"]
