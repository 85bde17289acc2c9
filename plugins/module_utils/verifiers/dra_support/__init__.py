"""dra_support (KAR-0051; SHOULD v1.33, MUST v1.34-v1.35): the resource.k8s.io DRA API and a working claim.

"Verify that all the resource.k8s.io/v1 DRA API resources are enabled" (HMT), plus what kOps'
TestDRAWorks and AICR's DRA check show: DeviceClasses, ResourceSlices with allocatable devices on
Ready nodes, and a ResourceClaimTemplate + pod that gets a device allocated, reserved and visible.
"""
from __future__ import annotations

from typing import Any

from ..runtime import declared_options
from .fetch import fetch
from .judge import judge

REQUIREMENT = "dra_support"
# No upstream ai-conformance test exists (kubernetes-sigs/ai-conformance#74: covered by the Kubernetes
# conformance DRA CRUD tests from v1.35); named after kOps' transcript.
TEST_NAME = "TestAcceleratorsDRASupport"
# What the probe holds while it runs (verifiers/holdings.py): a claim gets a device allocated.
HOLDS: dict[str, str] = {"accelerators": "exclusive", "node_capacity": "shared"}

# Declared with its documentation in verifier.yml (python -m aiconform.collection options generates from it).
OPTIONS: dict[str, dict[str, Any]] = declared_options(__file__)

__all__ = ["REQUIREMENT", "TEST_NAME", "HOLDS", "OPTIONS", "fetch", "judge"]
