"""gang_scheduling (KAR-0053): all-or-nothing scheduling, after upstream ``TestGangScheduling``.

PositiveGangScheduling: a Job with parallelism = completions = N runs through the gang scheduler and completes;
every pod was bound. NegativeGangScheduling: a Job far larger than the free capacity gets no pod Running and no
pod bound during the window. Cleanup: everything the probe used is released.

Mechanisms (``MECHANISMS``), detected by their API groups unless ``scheduler`` names one: Kueue (a queue of
aiconform's own, an existing LocalQueue, or a LocalQueue on an existing ClusterQueue), Volcano, KAI Scheduler
and scheduler-plugins coscheduling (a PodGroup with ``minMember`` = the Job's pods, the pods handed to that
scheduler and tied to the PodGroup its way). ``other``: a plain Job with the inventory's labels/schedulerName.
"""
from __future__ import annotations

from typing import Any

from ..runtime import declared_options

REQUIREMENT = "gang_scheduling"
TEST_NAME = "TestGangScheduling"
# What the probe holds while it runs (verifiers/holdings.py): a gang larger than the cluster stays pending, which an autoscaler may act on.
HOLDS: dict[str, str] = {"node_capacity": "shared", "autoscaler_pool": "shared"}

# Declared with its documentation in verifier.yml (python -m aiconform.collection options generates from it).
OPTIONS: dict[str, dict[str, Any]] = declared_options(__file__)


from .fetch import fetch  # noqa: E402
from .judge import judge  # noqa: E402

__all__ = ["OPTIONS", "REQUIREMENT", "TEST_NAME", "HOLDS", "fetch", "judge"]
