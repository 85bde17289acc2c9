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

from ..runtime import declared_options
from .fetch import fetch
from .judge import judge

REQUIREMENT = "gpu_sharing"
TEST_NAME = "TestGPUSharing"  # no upstream test; named in the upstream style for junit.xml
# What the probe holds while it runs (verifiers/holdings.py): pods share one GPU.
HOLDS: dict[str, str] = {"accelerators": "exclusive", "node_capacity": "shared"}

# Declared with its documentation in verifier.yml (python -m aiconform.collection options generates from it).
OPTIONS: dict[str, dict[str, Any]] = declared_options(__file__)

__all__ = ["REQUIREMENT", "TEST_NAME", "HOLDS", "OPTIONS", "fetch", "judge"]
