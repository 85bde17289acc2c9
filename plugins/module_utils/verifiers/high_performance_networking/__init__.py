"""high_performance_networking (SHOULD from v1.36, KAR-0010): secondary network interfaces, discoverable and
attachable, preferably through DRA (e.g. DRANET).

HMT/AT: (1) a pod has secondary interfaces; (2) the published characteristics can be queried; (3) workloads
land only on nodes that have the interface; (4) two pods transfer data over it. aiconform finds the mechanism
(network DRA ResourceSlices, Multus NetworkAttachmentDefinitions, the SR-IOV operator API), attaches a
listener pod to it and checks its interfaces and placement, then a sender pod (on another capable node
unless there is only one) sends ``transfer_bytes`` bytes with the run's marker to the listener's secondary
address, and the listener reports what arrived on which interface/address.
"""
from __future__ import annotations

from typing import Any

from ..runtime import declared_options

REQUIREMENT = "high_performance_networking"
TEST_NAME = "TestHighPerformanceNetworking"
# What the probe holds while it runs (verifiers/holdings.py): listener and sender pods (NICs, not accelerators).
HOLDS: dict[str, str] = {"node_capacity": "shared"}

# Declared with its documentation in verifier.yml (python -m aiconform.collection options generates from it).
OPTIONS: dict[str, dict[str, Any]] = declared_options(__file__)


from .fetch import fetch  # noqa: E402
from .judge import judge  # noqa: E402

__all__ = ["OPTIONS", "REQUIREMENT", "TEST_NAME", "HOLDS", "fetch", "judge"]
