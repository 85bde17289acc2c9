"""disaggregated_inference judge, table-driven. No public submission has evidence for this SHOULD yet, so
the facts are written from the HMT (request through the gateway, separate prefill/decode pods, the same id in
both logs) with llm-d's role labels and vLLM's request-logger line."""
from __future__ import annotations

import copy
from typing import Any

import pytest
from aiconform.results import Outcome, Status
from aiconform.verifiers import _networking as net
from aiconform.verifiers.disaggregated_inference import judge

P = {"namespace": "llm-d", "name": "llm-d-prefill-abc", "ready": True}
D = {"namespace": "llm-d", "name": "llm-d-decode-xyz", "ready": True}
LOG = "\n".join(f"RESULT kind=completions n={i} code=200 backend=cmpl-r{i} id=r{i}" for i in (1, 2, 3)) + "\nDONE"


def base() -> dict[str, Any]:
    return {"options": {"prefill_selector": "llm-d.ai/role=prefill", "decode_selector": "llm-d.ai/role=decode",
                        "completion_requests": 3},
            "prefill": [P], "decode": [D], "endpoint": {"url": "http://gw/v1/completions", "source": "Gateway llm-d/gw"},
            "traffic": {"phase": "Succeeded", **net.parse_client_log(LOG)},
            "logs": {"prefill": {"r1": ["llm-d/llm-d-prefill-abc"], "r2": [], "r3": []},
                     "decode": {"r1": ["llm-d/llm-d-decode-xyz"], "r2": ["llm-d/llm-d-decode-xyz"], "r3": []}}}


def _set(key: str, value: Any):
    def f(facts: dict[str, Any]) -> dict[str, Any]:
        out = copy.deepcopy(facts)
        out[key] = value
        return out
    return f


CASES = [
    ("implemented", lambda f: f, Status.IMPLEMENTED, None, "1/3"),
    ("nothing-deployed", lambda f: _set("decode", [])(_set("prefill", [])(f)), Status.UNKNOWN, None, "no disaggregated"),
    ("decode-only", _set("prefill", []), Status.NOT_IMPLEMENTED, "DisaggregatedDeploymentFound", "no prefill pods"),
    ("no-gateway", _set("endpoint", {"url": "", "source": "no Programmed Gateway with an address in namespace llm-d"}),
     Status.UNKNOWN, None, "gateway_url"),
    ("requests-fail", _set("traffic", {"phase": "Succeeded", **net.parse_client_log(LOG.replace("code=200", "code=503"))}),
     Status.NOT_IMPLEMENTED, "RequestThroughGateway", "503×3"),
    ("same-pods", _set("decode", [P]), Status.NOT_IMPLEMENTED, "SeparatePrefillDecodePods", "both roles"),
    ("ids-not-in-prefill", _set("logs", {"prefill": {"r1": []}, "decode": {"r1": ["x"]}}),
     Status.NOT_IMPLEMENTED, "RequestIdInBothLogs", "log level"),
]


@pytest.mark.parametrize(("case", "modify", "status", "failing", "words"), CASES, ids=[c[0] for c in CASES])
def test_judge(case, modify, status, failing, words) -> None:
    v = judge(modify(base()))
    assert v.status is status, v.reasons
    assert words in " ".join(v.reasons)
    by = {c.name: c for c in v.checks}
    assert len(by) == 4
    if failing:
        assert by[failing].outcome is Outcome.FAIL
    assert (v.status is Status.IMPLEMENTED) == all(c.outcome is Outcome.PASS for c in v.checks)


def test_client_ids_parsed() -> None:
    assert net.parse_client_log(LOG)["kinds"]["completions"]["ids"] == ["r1", "r2", "r3"]
