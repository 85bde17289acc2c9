"""advanced_inference_ingress (SHOULD from v1.36, KAR-0011): a Gateway API Inference Extension implementation.

The HMT/AT is GIE's own conformance suite (`go test ./conformance -args -gateway-class <class>`), which needs a
Go toolchain and the repository. aiconform checks the same contract functionally: the InferencePool API
(inference.networking.k8s.io/v1) is served, a pool behind an HTTPRoute of the GIE-capable GatewayClass is
Accepted with ResolvedRefs, and OpenAI completions sent through the Gateway to a model-server simulator
are answered 200.
"""
from __future__ import annotations

from typing import Any

from ...versions import probe_image

REQUIREMENT = "advanced_inference_ingress"
TEST_NAME = "TestAdvancedInferenceIngress"
# What the probe holds while it runs (verifiers/holdings.py): model-server, EPP and client pods.
HOLDS: dict[str, str] = {"node_capacity": "shared"}

# Probe images (pinned in versions.yml verifier_probes): the GIE v1.5.0 sample's model-server simulator and EPP.
MODEL_SERVER_IMAGE = probe_image("inference_sim")
EPP_IMAGE = probe_image("gie_epp")
CLIENT_IMAGE = probe_image("curl")

# The reference stack's class (stacks.md), preferred only when it is one of several Accepted classes.
REFERENCE_CLASS = "agentgateway"
GATEWAY_CLASS_VAR = "aiconform_advanced_inference_ingress_gateway_class"

OPTIONS: dict[str, dict[str, Any]] = {
    # "" = the one Accepted GatewayClass; of several, REFERENCE_CLASS if it is one, else Unknown naming them
    "gateway_class": {"type": "str", "default": ""},
    "model": {"type": "str", "default": "aiconform/probe-model"},
    "completion_requests": {"type": "int", "default": 5},
    "gateway_address": {"type": "str", "default": ""},
    "gateway_timeout": {"type": "int", "default": 300},
    "route_timeout": {"type": "int", "default": 300},
    "pool_timeout": {"type": "int", "default": 300},
    "pod_timeout": {"type": "int", "default": 300},
    "client_timeout": {"type": "int", "default": 300},
    "warmup_attempts": {"type": "int", "default": 60},
    "model_server_image": {"type": "str", "default": MODEL_SERVER_IMAGE},
    "epp_image": {"type": "str", "default": EPP_IMAGE},
    "client_image": {"type": "str", "default": CLIENT_IMAGE},
}


from .fetch import fetch  # noqa: E402
from .judge import judge  # noqa: E402

__all__ = ["OPTIONS", "REQUIREMENT", "TEST_NAME", "HOLDS", "fetch", "judge"]
