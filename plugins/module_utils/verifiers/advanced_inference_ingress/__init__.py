"""advanced_inference_ingress (SHOULD from v1.36, KAR-0011): a Gateway API Inference Extension implementation.

The HMT/AT is GIE's own conformance suite (`go test ./conformance -args -gateway-class <class>`), which needs a
Go toolchain and the repository. aiconform checks the same contract functionally: the InferencePool API
(inference.networking.k8s.io/v1) is served, a pool behind an HTTPRoute of the GIE-capable GatewayClass is
Accepted with ResolvedRefs, and OpenAI completions sent through the Gateway to a model-server simulator
are answered 200.
"""
from __future__ import annotations

from typing import Any

from ..runtime import declared_options

REQUIREMENT = "advanced_inference_ingress"
TEST_NAME = "TestAdvancedInferenceIngress"
# What the probe holds while it runs (verifiers/holdings.py): model-server, EPP and client pods.
HOLDS: dict[str, str] = {"node_capacity": "shared"}

# The reference stack's class (stacks.md), preferred only when it is one of several Accepted classes.
REFERENCE_CLASS = "agentgateway"
GATEWAY_CLASS_VAR = "aiconform_advanced_inference_ingress_gateway_class"

# Declared with its documentation in verifier.yml (python -m aiconform.collection options generates from it).
OPTIONS: dict[str, dict[str, Any]] = declared_options(__file__)


from .fetch import fetch  # noqa: E402
from .judge import judge  # noqa: E402

__all__ = ["OPTIONS", "REQUIREMENT", "TEST_NAME", "HOLDS", "fetch", "judge"]
