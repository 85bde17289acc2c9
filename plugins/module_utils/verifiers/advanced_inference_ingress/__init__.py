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
    "gateway_class": {
        "type": "str", "default": "",
        "description": ['GatewayClass of the GIE implementation; empty chooses an Accepted one (see above).'],
        "sample": ('GIE-capable GatewayClass; "" = the one Accepted class, of several agentgateway if Accepted, '
                   'else Unknown'),
    },
    "model": {
        "type": "str", "default": "aiconform/probe-model",
        "description": ['Model name the simulator serves and the requests ask for.'],
        "sample": 'model the simulator serves',
    },
    "completion_requests": {
        "type": "int", "default": 5,
        "description": ['Completions sent through the Gateway; all must be answered 200.'],
        "sample": 'POST /v1/completions; all must be 200',
    },
    "gateway_address": {
        "type": "str", "default": "",
        "description": [('Host the client sends requests to, with C({gateway}) and C({namespace}) placeholders. '
                         "Empty uses the Gateway's C(status.addresses), else "
                         'C({gateway}.{namespace}.svc.cluster.local).')],
        "sample": 'as for ai_inference ({gateway}, {namespace})',
    },
    "gateway_timeout": {
        "type": "int", "default": 300,
        "description": ['Seconds for the Gateway to become Programmed.'],
        "sample": 'seconds for the Gateway to be Programmed',
    },
    "route_timeout": {
        "type": "int", "default": 300,
        "description": ['Seconds for the HTTPRoute to be Accepted with ResolvedRefs.'],
        "sample": 'seconds for the HTTPRoute Accepted/ResolvedRefs',
    },
    "pool_timeout": {
        "type": "int", "default": 300,
        "description": ['Seconds for the InferencePool to be Accepted with ResolvedRefs.'],
        "sample": 'seconds for the InferencePool Accepted/ResolvedRefs',
    },
    "pod_timeout": {
        "type": "int", "default": 300,
        "description": [('Seconds for a model server and the endpoint picker to become Ready, and for the client '
                         'to start.')],
        "sample": 'seconds for model server + endpoint picker Ready',
    },
    "client_timeout": {
        "type": "int", "default": 300,
        "description": ['Seconds the client may take for its requests once started.'],
        "sample": "seconds for the client's requests",
    },
    "warmup_attempts": {
        "type": "int", "default": 60,
        "description": ['Attempts, one second apart, the client makes for a first 200 before counting responses.'],
        "sample": '1 s apart: first 200 before counting',
    },
    "model_server_image": {
        "type": "str", "default": MODEL_SERVER_IMAGE,
        "description": ['OpenAI-compatible model-server simulator (C(--model), C(--port 8000)).'],
    },
    "epp_image": {
        "type": "str", "default": EPP_IMAGE,
        "description": ['Endpoint picker image for the pool.'],
    },
    "client_image": {
        "type": "str", "default": CLIENT_IMAGE,
        "description": ['Client image providing C(/bin/sh), C(curl) and C(sed).'],
    },
}


from .fetch import fetch  # noqa: E402
from .judge import judge  # noqa: E402

__all__ = ["OPTIONS", "REQUIREMENT", "TEST_NAME", "HOLDS", "fetch", "judge"]
