"""ai_inference (MUST from v1.33): Gateway API with weighted traffic splitting and header-based routing.

The requirement's only written test is "all the gateway.networking.k8s.io/v1 resources are enabled"; kOps
(TestNetworking_AIInference) waits for a weighted and a header-matching HTTPRoute to be Accepted, AICR checks
GatewayClass Accepted and Gateway Programmed. aiconform does all of that and then proves the traffic: an
in-cluster client sends requests through a Gateway and the answers must follow the route's weights and
header rule.
"""
from __future__ import annotations

from typing import Any

from ..runtime import declared_options

REQUIREMENT = "ai_inference"
TEST_NAME = "TestAIInference"
# What the probe holds while it runs (verifiers/holdings.py): backend and client pods.
HOLDS: dict[str, str] = {"node_capacity": "shared"}

# The reference stack's class (stacks.md), preferred only when it is one of several Accepted classes.
REFERENCE_CLASS = "kgateway"
GATEWAY_CLASS_VAR = "aiconform_ai_inference_gateway_class"

# Declared with its documentation in verifier.yml (python -m aiconform.collection options generates from it).
OPTIONS: dict[str, dict[str, Any]] = declared_options(__file__)


from .fetch import fetch  # noqa: E402
from .judge import judge  # noqa: E402

__all__ = ["OPTIONS", "REQUIREMENT", "TEST_NAME", "HOLDS", "fetch", "judge"]
