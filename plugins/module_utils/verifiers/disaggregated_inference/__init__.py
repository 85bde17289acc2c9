"""disaggregated_inference (SHOULD from v1.36, KAR-0041): prefill and decode in separate pods.

No automated test exists. The HMT: a request through the gateway succeeds, prefill and decode run in separate
pods, and the same request id appears in both logs. aiconform does not deploy llm-d/Dynamo itself: it finds an
installed disaggregated deployment by role labels (llm-d's `llm-d.ai/role=prefill|decode` by default), sends
completions with their own X-Request-Id through the deployment's Gateway, and looks for each id in the
prefill and decode pods' logs.
"""
from __future__ import annotations

from typing import Any

from ...versions import probe_image

REQUIREMENT = "disaggregated_inference"
TEST_NAME = "TestDisaggregatedInference"
# What the probe holds while it runs (verifiers/holdings.py): a client pod.
HOLDS: dict[str, str] = {"node_capacity": "shared"}
CLIENT_IMAGE = probe_image("curl")

# Said above its variables in the sample inventory (aiconform/verifier_options.py).
SAMPLE_NOTE = """\
aiconform does not deploy llm-d/Dynamo; it tests the one installed (none found: unknown).
"""

OPTIONS: dict[str, dict[str, Any]] = {
    "prefill_selector": {
        "type": "str", "default": "llm-d.ai/role=prefill",
        "description": ['Label selector of the prefill pods (all namespaces).'],
        "sample": 'prefill pods, all namespaces',
    },
    "decode_selector": {
        "type": "str", "default": "llm-d.ai/role=decode",
        "description": ['Label selector of the decode pods (all namespaces).'],
        "sample": 'decode pods, all namespaces',
    },
    "gateway_url": {
        "type": "str", "default": "",
        "description": [("Completions URL through the deployment's gateway, e.g. "
                         'C(http://gw.llm-d.svc/v1/completions).')],
        "sample": "completions URL; empty: a Programmed Gateway with an address in the decode pods' namespace",
    },
    "model": {
        "type": "str", "default": "",
        "description": ['Model to request; empty takes C(--model) or C(vllm serve <model>) from the decode pods.'],
        "sample": 'empty: --model / `vllm serve X` of the decode pods',
    },
    "completion_requests": {
        "type": "int", "default": 3,
        "description": ['Completions to send; all must be answered 2xx.'],
        "sample": 'all must be answered 2xx',
    },
    "request_id_header": {
        "type": "str", "default": "x-request-id",
        "description": ['Header carrying the request id (vLLM uses C(X-Request-Id) as its request id).'],
    },
    "log_tail_lines": {
        "type": "int", "default": 5000,
        "description": ['Lines of each prefill/decode container log searched for the ids.'],
        "sample": 'log lines searched per container',
    },
    "pod_timeout": {
        "type": "int", "default": 300,
        "description": ['Seconds for the client pod to start.'],
        "sample": 'seconds for the client pod to start',
    },
    "client_timeout": {
        "type": "int", "default": 600,
        "description": ['Seconds the client may take for its requests.'],
        "sample": 'seconds for its requests',
    },
    "client_image": {
        "type": "str", "default": CLIENT_IMAGE,
        "description": ['Client image providing C(/bin/sh), C(curl) and C(sed).'],
    },
}


from .fetch import fetch  # noqa: E402
from .judge import judge  # noqa: E402

__all__ = ["OPTIONS", "REQUIREMENT", "TEST_NAME", "HOLDS", "fetch", "judge"]
