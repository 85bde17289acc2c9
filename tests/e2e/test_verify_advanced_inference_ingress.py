"""advanced_inference_ingress end to end on the simulator at Kubernetes v1.36 (the requirement is v1.36+).

The simulator's gateway controller treats agentgateway as GIE-capable and kgateway 2.4 as not (kgateway left
GIE to agentgateway in 2.2): InferencePool status and the HTTPRoute's ResolvedRefs follow from that, and the
client's completions are answered by the simulated llm-d inference simulator pods the pool selects (responses
derived from the route and pool, not sent over a network).
"""
from __future__ import annotations

import pytest
from helpers.conformance_e2e import probe_namespaces, run_conformance
from helpers.sim import SimHandle

pytestmark = pytest.mark.e2e
REQ = "advanced_inference_ingress"
FAST = {f"aiconform_advanced_inference_ingress_{k}_timeout": 4 for k in ("gateway", "route", "pool", "pod", "client")}


@pytest.fixture
def lab(request, sim_factory) -> SimHandle:
    return sim_factory(request.param, kubernetes_version="v1.36.1")


@pytest.mark.parametrize("lab", ["conformant"], indirect=True)
def test_conformant_agentgateway_is_implemented(lab, tmp_path):
    entry, out = run_conformance(lab, tmp_path, REQ, FAST)
    assert entry["status"] == "Implemented", (entry["reasons"], out[-3000:])
    assert all(c["outcome"] == "pass" for c in entry["checks"]) and len(entry["checks"]) == 6
    assert "RESULT kind=completions n=1 code=200" in "\n".join(e["content"] for e in entry["evidence"])
    assert not probe_namespaces(lab, REQ)


@pytest.mark.parametrize("lab", ["gpu-lab"], indirect=True)
def test_without_inference_extension_is_not_implemented(lab, tmp_path):
    entry, out = run_conformance(lab, tmp_path, REQ, FAST)
    assert entry["status"] == "Not Implemented", (entry["reasons"], out[-3000:])
    assert "InferencePool (inference.networking.k8s.io/v1)" in " ".join(entry["reasons"])


@pytest.mark.parametrize("lab", ["conformant"], indirect=True)
def test_gateway_without_gie_support_is_not_implemented(lab, tmp_path):
    entry, out = run_conformance(lab, tmp_path, REQ, {**FAST, "aiconform_advanced_inference_ingress_gateway_class": "kgateway"})
    assert entry["status"] == "Not Implemented", (entry["reasons"], out[-3000:])
    route = next(c for c in entry["checks"] if c["name"] == "HTTPRouteAccepted")
    assert route["outcome"] == "fail" and "InvalidKind" in route["reason"]
    assert not probe_namespaces(lab, REQ)


@pytest.mark.parametrize("lab", ["conformant"], indirect=True)
def test_api_fault_is_an_error(lab, tmp_path):
    lab.faults({"path": r"/apis/inference.networking.k8s.io/v1/namespaces/aiconform-[^/]+/inferencepools$",
                "verb": "create", "status": 500})
    entry, out = run_conformance(lab, tmp_path, REQ, FAST)
    assert entry["status"] == "error", (entry["reasons"], out[-3000:])
    assert "create InferencePool" in " ".join(entry["reasons"])
    lab.faults()
    assert not probe_namespaces(lab, REQ)
