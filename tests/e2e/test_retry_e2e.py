"""Issue 20's first finding, on the simulator, with the default retry policy: a transient 429 + Retry-After on the
probe namespace's creation no longer turns robust_controller into an error; a persistent one gives an error
naming the 429 in bounded time, and nothing is left behind."""
from __future__ import annotations

import time

import pytest
from aiconform.verifiers import orchestrate, runtime
from helpers.conformance_e2e import probe_namespaces

pytestmark = pytest.mark.e2e
REQ = "robust_controller"


@pytest.fixture(scope="module")
def sim_scenario() -> str:
    return "conformant"


def _run(sim, run_id: str) -> dict:
    plans, errors = orchestrate.validate_plans({REQ: {}}, {"cleanup_timeout": 30})
    assert not errors
    params = {"kubeconfig": str(sim.kubeconfig), "validate_certs": True, "request_timeout": 10, "run_id": run_id,
              "options": plans[REQ]}
    return runtime.run_verifier(REQ, params).to_dict()


def _namespace_creates(sim) -> int:
    return sim.requests()["by_path"].get("create /api/v1/namespaces", 0)


def test_transient_429_on_namespace_creation_is_ridden_out(sim):
    sim.requests(reset=True)
    sim.faults({"path": "^/api/v1/namespaces$", "verb": "create", "status": 429, "retry_after": 1, "times": 2})
    try:
        started = time.monotonic()
        result = _run(sim, "retry-transient")
    finally:
        sim.faults()
    assert result["status"] == "Implemented", result["reasons"]
    assert _namespace_creates(sim) == 3  # two refused, the third created it (checked absent before each retry)
    assert time.monotonic() - started >= 2  # the server's Retry-After was honoured
    assert not probe_namespaces(sim, REQ)


def test_persistent_429_is_an_error_naming_it_in_bounded_time(sim):
    sim.requests(reset=True)
    sim.faults({"path": "^/api/v1/namespaces$", "verb": "create", "status": 429, "retry_after": 1})
    try:
        started = time.monotonic()
        result = _run(sim, "retry-persistent")
        took = time.monotonic() - started
    finally:
        sim.faults()
    assert result["status"] == "error"
    reasons = " ".join(result["reasons"])
    assert "429" in reasons and "retried 10 time(s)" in reasons and "gave up" in reasons, reasons
    assert 10 <= took < 30  # ten waits of the server's 1 s, within the 60 s budget
    assert _namespace_creates(sim) == 11
    assert not probe_namespaces(sim, REQ)
