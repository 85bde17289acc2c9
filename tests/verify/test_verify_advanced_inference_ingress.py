"""advanced_inference_ingress on the simulator: the verify job in-process; the first test through ansible-playbook.
Kubernetes v1.36 (the requirement is v1.36+).
The tests call ``helpers.conformance_e2e.verify_in_process`` (the verify job's code, the options the plan
task gives from the same inventory variables); the first runs ``ansible-playbook conformance.yml --tags
verify,advanced_inference_ingress``.

The simulator's gateway controller treats agentgateway as GIE-capable and kgateway 2.4 as not (kgateway left
GIE to agentgateway in 2.2): InferencePool status and the HTTPRoute's ResolvedRefs follow from that, and the
client's completions are answered by the simulated llm-d inference simulator pods the pool selects (responses
derived from the route and pool, not sent over a network).
"""
from __future__ import annotations

import pytest
import yaml
from helpers.conformance_e2e import probe_namespaces, run_conformance, verify_in_process
from helpers.sim import SimHandle, run_tool

pytestmark = pytest.mark.e2e
REQ = "advanced_inference_ingress"
KUBERNETES_VERSION = "v1.36.1"  # tests/verify/conftest.py's lab fixture starts the simulator at it
FAST = {f"aiconform_advanced_inference_ingress_{k}_timeout": 4 for k in ("gateway", "route", "pool", "pod", "client")}


@pytest.mark.parametrize("lab", ["conformant"], indirect=True)
def test_conformant_agentgateway_is_implemented(lab, tmp_path):
    entry, out = run_conformance(lab, tmp_path, REQ, FAST)
    assert entry["status"] == "Implemented", (entry["reasons"], out[-3000:])
    assert all(c["outcome"] == "pass" for c in entry["checks"]) and len(entry["checks"]) == 6
    assert "RESULT kind=completions n=1 code=200" in "\n".join(e["content"] for e in entry["evidence"])
    assert not probe_namespaces(lab, REQ)


@pytest.mark.parametrize("lab", ["gpu-lab"], indirect=True)
def test_without_inference_extension_is_not_implemented(lab, tmp_path):
    entry, out = verify_in_process(lab, tmp_path, REQ, FAST)
    assert entry["status"] == "Not Implemented", (entry["reasons"], out[-3000:])
    assert "InferencePool (inference.networking.k8s.io/v1)" in " ".join(entry["reasons"])


@pytest.mark.parametrize("lab", ["conformant"], indirect=True)
def test_gateway_without_gie_support_is_not_implemented(lab, tmp_path):
    entry, out = verify_in_process(lab, tmp_path, REQ, {**FAST, "aiconform_advanced_inference_ingress_gateway_class": "kgateway"})
    assert entry["status"] == "Not Implemented", (entry["reasons"], out[-3000:])
    route = next(c for c in entry["checks"] if c["name"] == "HTTPRouteAccepted")
    assert route["outcome"] == "fail" and "InvalidKind" in route["reason"]
    assert not probe_namespaces(lab, REQ)


@pytest.mark.parametrize("lab", ["conformant"], indirect=True)
def test_api_fault_is_an_error(lab, tmp_path):
    lab.faults({"path": r"/apis/inference.networking.k8s.io/v1/namespaces/aiconform-[^/]+/inferencepools$",
                "verb": "create", "status": 500})
    entry, out = verify_in_process(lab, tmp_path, REQ, FAST)
    assert entry["status"] == "error", (entry["reasons"], out[-3000:])
    assert "create InferencePool" in " ".join(entry["reasons"])
    lab.faults()
    assert not probe_namespaces(lab, REQ)


def _platform(lab: SimHandle, classes: dict[str, str]) -> None:
    """Replace the reference stack's GatewayClasses with another platform's (name -> controllerName)."""
    proc = run_tool(lab, "kubectl", "delete", "gatewayclass", "kgateway", "kgateway-waypoint", "agentgateway")
    assert proc.returncode == 0, proc.stderr
    objs = [{"apiVersion": "gateway.networking.k8s.io/v1", "kind": "GatewayClass", "metadata": {"name": name},
             "spec": {"controllerName": ctrl}} for name, ctrl in classes.items()]
    proc = run_tool(lab, "kubectl", "apply", "-f", "-", input=yaml.safe_dump_all(objs))
    assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize("lab", ["conformant"], indirect=True)
def test_istio_platform_is_implemented_without_setting_the_class(lab, tmp_path):
    """Istio with its Inference Extension support: its one Accepted ingress class is used."""
    _platform(lab, {"istio": "istio.io/gateway-controller", "istio-waypoint": "istio.io/mesh-controller"})
    entry, out = verify_in_process(lab, tmp_path, REQ, FAST)
    assert entry["status"] == "Implemented", (entry["reasons"], out[-3000:])
    gc = next(c for c in entry["checks"] if c["name"] == "GatewayClassAccepted")
    assert gc["reason"].startswith("istio (istio.io/gateway-controller) Accepted=True")
    assert not probe_namespaces(lab, REQ)


@pytest.mark.parametrize("lab", ["conformant"], indirect=True)
def test_platform_whose_only_class_cannot_route_to_pools_is_not_implemented(lab, tmp_path):
    """Cilium's class is Accepted and chosen, but its gateway does not route to InferencePools."""
    _platform(lab, {"cilium": "io.cilium/gateway-controller"})
    entry, out = verify_in_process(lab, tmp_path, REQ, FAST)
    assert entry["status"] == "Not Implemented", (entry["reasons"], out[-3000:])
    route = next(c for c in entry["checks"] if c["name"] == "HTTPRouteAccepted")
    assert route["outcome"] == "fail" and "InvalidKind" in route["reason"]
