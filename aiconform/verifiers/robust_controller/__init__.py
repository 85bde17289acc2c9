"""robust_controller: a complex AI operator with CRDs, webhooks and reconciliation (KAR-0063).

Upstream test: ``TestRobustCRDControllerOperation`` (requirements.md §4.2), which expects Kubeflow Trainer;
aiconform defaults to KubeRay (the reference stack's operator, with the validating webhook its install role
adds; stacks.md §13) and runs the same subtests for either. Timeouts default to the upstream values.
"""
from __future__ import annotations

from typing import Any

from aiconform.versions import probe_image

REQUIREMENT = "robust_controller"
TEST_NAME = "TestRobustCRDControllerOperation"
# What the probe holds while it runs (verifiers/holdings.py): the operator's pods for a valid resource.
HOLDS: dict[str, str] = {"node_capacity": "shared"}

# The Ray image of the probe RayCluster (pinned in versions.yml verifier_probes).
DEFAULT_RAY_IMAGE = probe_image("ray")

OPTIONS: dict[str, dict[str, Any]] = {
    "operator": {"type": "str", "default": "kuberay", "choices": ["kuberay", "kubeflow-trainer"]},
    "operator_namespace": {"type": "str", "default": ""},      # "" = kuberay-system / kubeflow-system
    "operator_selector": {"type": "str", "default": ""},       # "" = app.kubernetes.io/name=<operator>
    "operator_runtime_name": {"type": "str", "default": "torch-distributed"},  # Trainer ClusterTrainingRuntime
    "operator_ready_timeout": {"type": "int", "default": 300},      # upstream -operator-ready-timeout 5m
    "operator_reconcile_timeout": {"type": "int", "default": 180},  # upstream -operator-reconcile-timeout 3m
    "ray_image": {"type": "str", "default": DEFAULT_RAY_IMAGE},
}


from .fetch import fetch  # noqa: E402
from .judge import judge  # noqa: E402

__all__ = ["OPTIONS", "REQUIREMENT", "TEST_NAME", "HOLDS", "fetch", "judge"]
