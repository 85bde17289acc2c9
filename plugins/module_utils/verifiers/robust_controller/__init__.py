"""robust_controller: a complex AI operator with CRDs, webhooks and reconciliation (KAR-0063).

Upstream test: ``TestRobustCRDControllerOperation`` (requirements.md §4.2), which expects Kubeflow Trainer.
aiconform detects the operator (``operator: auto``): KubeRay (the reference stack's operator, with the validating
webhook its install role adds; stacks.md §13) or Kubeflow Trainer, whichever is installed, and runs the same
subtests for either; ``generic`` tests any other operator from the inventory (its CRD, operator pod selector, a
valid and an invalid resource). Only a webhook served by the operator's own Service counts. Timeouts default to
the upstream values.
"""
from __future__ import annotations

from typing import Any

from ...versions import probe_image

REQUIREMENT = "robust_controller"
TEST_NAME = "TestRobustCRDControllerOperation"
# What the probe holds while it runs (verifiers/holdings.py): the operator's pods for a valid resource.
HOLDS: dict[str, str] = {"node_capacity": "shared"}

# The Ray image of the probe RayCluster (pinned in versions.yml verifier_probes).
DEFAULT_RAY_IMAGE = probe_image("ray")

OPTIONS: dict[str, dict[str, Any]] = {
    "operator": {"type": "str", "default": "auto", "choices": ["auto", "kuberay", "kubeflow-trainer", "generic"]},
    "operator_namespace": {"type": "str", "default": ""},      # "" = kuberay-system / kubeflow-system
    "operator_selector": {"type": "str", "default": ""},       # "" = app.kubernetes.io/name=<operator>
    # generic profile: the CRD (name), and one valid and one invalid resource of its kind (mappings)
    "operator_crd": {"type": "str", "default": ""},
    "operator_valid_resource": {"type": "dict", "default": {}},
    "operator_invalid_resource": {"type": "dict", "default": {}},
    "operator_runtime_name": {"type": "str", "default": "torch-distributed"},  # Trainer ClusterTrainingRuntime
    "operator_ready_timeout": {"type": "int", "default": 300},      # upstream -operator-ready-timeout 5m
    "operator_reconcile_timeout": {"type": "int", "default": 180},  # upstream -operator-reconcile-timeout 3m
    "ray_image": {"type": "str", "default": DEFAULT_RAY_IMAGE},
}


from .fetch import fetch  # noqa: E402
from .judge import judge  # noqa: E402

__all__ = ["OPTIONS", "REQUIREMENT", "TEST_NAME", "HOLDS", "fetch", "judge"]
