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
    "gateway_class": {
        "type": "str", "default": "",
        "description": [('GatewayClass of the Gateway API implementation to test; empty chooses an Accepted one '
                         '(see above).')],
        "sample": ('GatewayClass of the implementation under test (e.g. istio, cilium, eg); "" = the one Accepted '
                   'class, of several kgateway if Accepted, else Unknown listing them'),
    },
    "header_name": {
        "type": "str", "default": "x-model",
        "description": ['Request header of the header-based rule (an OpenAI-style model header).'],
        "sample": 'OpenAI-style model header of the header rule',
    },
    "header_value": {
        "type": "str", "default": "model-b",
        "description": ['Value the header rule matches exactly.'],
        "sample": 'value it must match exactly',
    },
    "split_weight": {
        "type": "int", "default": 80,
        "description": ['Weight in percent of the first backend in the weighted rule; the second gets the rest.'],
        "sample": "% of the weighted rule's first backend (second: 100 - this)",
    },
    "split_requests": {
        "type": "int", "default": 200,
        "description": ['Requests sent without the header to measure the split.'],
        "sample": 'requests without the header, to measure the split',
    },
    "header_requests": {
        "type": "int", "default": 20,
        "description": ["Requests sent with the header; every one must reach the header rule's backend."],
        "sample": 'requests with the header; all must reach its backend',
    },
    "split_tolerance_sigma": {
        "type": "float", "default": 4.0,
        "description": [("Accepted deviation of the first backend's count from I(split_requests) x "
                         'I(split_weight), in binomial standard deviations (200 requests at 80 % and 4 sigma '
                         'accept 80 % +/- 11.3 points).')],
        "sample": 'accepted deviation in binomial σ (200 at 80 %: ±11.3 points)',
    },
    "max_failed_requests": {
        "type": "int", "default": 2,
        "description": ['Failed requests (no 2xx answer) tolerated in each batch before the check fails.'],
        "sample": 'non-2xx answers tolerated per batch',
    },
    "gateway_address": {
        "type": "str", "default": "",
        "description": [('Host the client sends requests to, with C({gateway}) and C({namespace}) placeholders, '
                         "e.g. C({gateway}-istio.{namespace}.svc.cluster.local). Empty uses the Gateway's "
                         'C(status.addresses), else C({gateway}.{namespace}.svc.cluster.local).')],
        "sample": ('host for the client, with {gateway} and {namespace} placeholders, e.g. '
                   '"{gateway}-istio.{namespace}.svc.cluster.local"; empty: the Gateway\'s status.addresses, else '
                   '{gateway}.{namespace}.svc.cluster.local'),
    },
    "gateway_timeout": {
        "type": "int", "default": 180,
        "description": ['Seconds for the Gateway to become Accepted and Programmed.'],
        "sample": 'seconds for the Gateway to be Accepted and Programmed',
    },
    "route_timeout": {
        "type": "int", "default": 300,
        "description": ['Seconds for the HTTPRoute to be Accepted with ResolvedRefs (kOps waits 300).'],
        "sample": 'seconds for the HTTPRoute to be Accepted with ResolvedRefs',
    },
    "pod_timeout": {
        "type": "int", "default": 180,
        "description": ['Seconds for the echo backends to become Ready and for the client pod to start.'],
        "sample": 'seconds for the echo backends to be Ready / the client to start',
    },
    "client_timeout": {
        "type": "int", "default": 300,
        "description": ['Seconds the client may take for all its requests once started.'],
        "sample": "seconds for the client's requests once it runs",
    },
    "warmup_attempts": {
        "type": "int", "default": 30,
        "description": ['Attempts, one second apart, the client makes for a first 200 before counting responses.'],
        "sample": '1 s apart: first 200 before responses are counted',
    },
    "backend_image": {
        "type": "str", "default": BACKEND_IMAGE,
        "description": [('Echo backend image; it must answer C(GET /hostname) with the pod name on port 8080 '
                         '(agnhost netexec).')],
        "sample": 'netexec, GET /hostname',
    },
    "client_image": {
        "type": "str", "default": CLIENT_IMAGE,
        "description": ['Client image providing C(/bin/sh) and C(curl).'],
        "sample": 'sh + curl',
    },
}


from .fetch import fetch  # noqa: E402
from .judge import judge  # noqa: E402

__all__ = ["OPTIONS", "REQUIREMENT", "TEST_NAME", "HOLDS", "fetch", "judge"]
