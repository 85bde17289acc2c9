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

from ...versions import probe_image

REQUIREMENT = "gang_scheduling"
TEST_NAME = "TestGangScheduling"
# What the probe holds while it runs (verifiers/holdings.py): a gang larger than the cluster stays pending, which an autoscaler may act on.
HOLDS: dict[str, str] = {"node_capacity": "shared", "autoscaler_pool": "shared"}

# Pinned in versions.yml verifier_probes. Upstream uses
# plain `busybox`; this is the Kubernetes e2e build of it on registry.k8s.io (easy to mirror).
DEFAULT_IMAGE = probe_image("busybox")

OPTIONS: dict[str, dict[str, Any]] = {
    "scheduler": {"type": "str", "default": "auto",
                  "choices": ["auto", "kueue", "volcano", "kai", "coscheduling", "other"]},
    "queue_name": {"type": "str"},
    "queue_namespace": {"type": "str"},
    "cluster_queue": {"type": "str"},
    "kai_queue": {"type": "str", "default": "default-queue"},
    "job_labels": {"type": "dict", "default": {}},
    "scheduler_name": {"type": "str"},
    "kueue_api_version": {"type": "str", "choices": ["v1beta2", "v1beta1"]},
    "parallelism": {"type": "int", "default": 2},
    "negative_parallelism": {"type": "int", "default": 1000},
    "negative_window": {"type": "int", "default": 30},
    "positive_timeout": {"type": "int", "default": 120},
    "queue_ready_timeout": {"type": "int", "default": 60},
    "release_timeout": {"type": "int", "default": 60},
    "cpu_request": {"type": "str", "default": "100m"},
    "memory_request": {"type": "str", "default": "128Mi"},
    "image": {"type": "str", "default": DEFAULT_IMAGE},
}


from .fetch import fetch  # noqa: E402
from .judge import judge  # noqa: E402

__all__ = ["OPTIONS", "REQUIREMENT", "TEST_NAME", "HOLDS", "fetch", "judge"]
