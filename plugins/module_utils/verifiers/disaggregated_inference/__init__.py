"""disaggregated_inference (SHOULD from v1.36, KAR-0041): prefill and decode in separate pods.

No automated test exists. The HMT: a request through the gateway succeeds, prefill and decode run in separate
pods, and the same request id appears in both logs. aiconform does not deploy llm-d/Dynamo itself: it finds an
installed disaggregated deployment by role labels (llm-d's `llm-d.ai/role=prefill|decode` by default), sends
completions with their own X-Request-Id through the deployment's Gateway, and looks for each id in the
prefill and decode pods' logs.
"""
from __future__ import annotations

from typing import Any

from ..runtime import declared_options

REQUIREMENT = "disaggregated_inference"
TEST_NAME = "TestDisaggregatedInference"
# What the probe holds while it runs (verifiers/holdings.py): a client pod.
HOLDS: dict[str, str] = {"node_capacity": "shared"}

# Declared with its documentation in verifier.yml (python -m aiconform.collection options generates from it).
OPTIONS: dict[str, dict[str, Any]] = declared_options(__file__)


from .fetch import fetch  # noqa: E402
from .judge import judge  # noqa: E402

__all__ = ["OPTIONS", "REQUIREMENT", "TEST_NAME", "HOLDS", "fetch", "judge"]
