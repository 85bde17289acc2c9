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

from ..runtime import declared_options

REQUIREMENT = "robust_controller"
TEST_NAME = "TestRobustCRDControllerOperation"
# What the probe holds while it runs (verifiers/holdings.py): the operator's pods for a valid resource.
HOLDS: dict[str, str] = {"node_capacity": "shared"}

# Declared with its documentation in verifier.yml (python -m aiconform.collection options generates from it).
OPTIONS: dict[str, dict[str, Any]] = declared_options(__file__)


from .fetch import fetch  # noqa: E402
from .judge import judge  # noqa: E402

__all__ = ["OPTIONS", "REQUIREMENT", "TEST_NAME", "HOLDS", "fetch", "judge"]
