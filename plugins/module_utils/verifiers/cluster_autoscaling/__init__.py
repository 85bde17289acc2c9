"""cluster_autoscaling (KAR-0055, conditional MUST), after upstream ``TestAcceleratorClusterAutoscaling``.

For the accelerator node pool selected by ``node_pool_label``: a stable baseline of N nodes with one
accelerator each, one pod per node, a trigger pod that becomes Unschedulable, a new node on which the trigger
runs, and after deleting it the pool back at N for the stability window. Without a node pool configured the
verdict is N/A only when no autoscaler is found (cluster-autoscaler Deployment, cluster-autoscaler-status
ConfigMap, Karpenter NodePools), else unknown.

Autoscalers recognised: Cluster Autoscaler (self-run, or managed such as GKE's, node groups with or without a
minimum of zero, node auto-provisioning), Karpenter (``karpenter.sh`` NodePool/NodeClaim; self-run, or managed: EKS
Auto Mode, AKS node auto-provisioning). The one present is used; the inventory chooses when several are.
A pool scaling from zero passes the trigger step when the autoscaler records its scale-up for the pod.
Where the GPUs are DRA-only (no extended resource on the pool's nodes), the probe pods claim one device of the
DeviceClass through a ResourceClaimTemplate and the trigger is Unschedulable for its claim.
"""
from __future__ import annotations

from typing import Any

from ..runtime import declared_options

REQUIREMENT = "cluster_autoscaling"
TEST_NAME = "TestAcceleratorClusterAutoscaling"
# What the probe holds while it runs (verifiers/holdings.py): baseline pods fill the pool's GPUs; others' pending
# pods would grow it, and their pods on its new node keep it from scaling down.
HOLDS: dict[str, str] = {"accelerators": "exclusive", "node_capacity": "exclusive",
                         "autoscaler_pool": "exclusive"}


# Declared with its documentation in verifier.yml (python -m aiconform.collection options generates from it).
OPTIONS: dict[str, dict[str, Any]] = declared_options(__file__)


from .fetch import fetch  # noqa: E402
from .judge import judge  # noqa: E402

__all__ = ["OPTIONS", "REQUIREMENT", "TEST_NAME", "HOLDS", "fetch", "judge"]
