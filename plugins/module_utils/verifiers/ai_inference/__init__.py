"""ai_inference (MUST from v1.33): Gateway API with weighted traffic splitting and header-based routing.

The requirement's only written test is "all the gateway.networking.k8s.io/v1 resources are enabled"; kOps
(TestNetworking_AIInference) waits for a weighted and a header-matching HTTPRoute to be Accepted, AICR checks
GatewayClass Accepted and Gateway Programmed. aiconform does all of that and then proves the traffic: an
in-cluster client sends requests through a Gateway and the answers must follow the route's weights and
header rule.
"""
from __future__ import annotations

from typing import Any

from ...versions import probe_image

REQUIREMENT = "ai_inference"
TEST_NAME = "TestAIInference"
# What the probe holds while it runs (verifiers/holdings.py): backend and client pods.
HOLDS: dict[str, str] = {"node_capacity": "shared"}

# Probe images (pinned in versions.yml verifier_probes, overridable for mirrors).
# agnhost netexec answers GET /hostname with the pod name; curlimages/curl is a ~10 MB curl + busybox sh.
BACKEND_IMAGE = probe_image("agnhost")
CLIENT_IMAGE = probe_image("curl")

# The reference stack's class (stacks.md), preferred only when it is one of several Accepted classes.
REFERENCE_CLASS = "kgateway"
GATEWAY_CLASS_VAR = "aiconform_ai_inference_gateway_class"

OPTIONS: dict[str, dict[str, Any]] = {
    # "" = the one Accepted GatewayClass; of several, REFERENCE_CLASS if it is one, else Unknown naming them
    "gateway_class": {"type": "str", "default": ""},
    "header_name": {"type": "str", "default": "x-model"},
    "header_value": {"type": "str", "default": "model-b"},
    "split_weight": {"type": "int", "default": 80},
    "split_requests": {"type": "int", "default": 200},
    "header_requests": {"type": "int", "default": 20},
    "split_tolerance_sigma": {"type": "float", "default": 4.0},
    "max_failed_requests": {"type": "int", "default": 2},
    "gateway_address": {"type": "str", "default": ""},
    "gateway_timeout": {"type": "int", "default": 180},
    "route_timeout": {"type": "int", "default": 300},
    "pod_timeout": {"type": "int", "default": 180},
    "client_timeout": {"type": "int", "default": 300},
    "warmup_attempts": {"type": "int", "default": 30},
    "backend_image": {"type": "str", "default": BACKEND_IMAGE},
    "client_image": {"type": "str", "default": CLIENT_IMAGE},
}


from .fetch import fetch  # noqa: E402
from .judge import judge  # noqa: E402

__all__ = ["OPTIONS", "REQUIREMENT", "TEST_NAME", "HOLDS", "fetch", "judge"]
