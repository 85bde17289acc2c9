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

OPTIONS: dict[str, dict[str, Any]] = {
    "prefill_selector": {"type": "str", "default": "llm-d.ai/role=prefill"},
    "decode_selector": {"type": "str", "default": "llm-d.ai/role=decode"},
    "gateway_url": {"type": "str", "default": ""},
    "model": {"type": "str", "default": ""},
    "completion_requests": {"type": "int", "default": 3},
    "request_id_header": {"type": "str", "default": "x-request-id"},
    "log_tail_lines": {"type": "int", "default": 5000},
    "pod_timeout": {"type": "int", "default": 300},
    "client_timeout": {"type": "int", "default": 600},
    "client_image": {"type": "str", "default": CLIENT_IMAGE},
}


from .fetch import fetch  # noqa: E402
from .judge import judge  # noqa: E402

__all__ = ["OPTIONS", "REQUIREMENT", "TEST_NAME", "HOLDS", "fetch", "judge"]
