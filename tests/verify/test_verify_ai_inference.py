"""ai_inference on the simulator: the verify job in-process; the first test through ansible-playbook.
The tests call ``helpers.conformance_e2e.verify_in_process`` (the verify job's code, the options the plan
task gives from the same inventory variables); the first runs ``ansible-playbook conformance.yml --tags
verify,ai_inference``.

The simulator's gateway controller (aiconform/sim/controllers/gateway.py) writes GatewayClass, Gateway and
HTTPRoute status as kgateway does (condition shapes of AICR inference-gateway.md and kOps
TestNetworking_AIInference), and the client pod's log is *derived from the route rules*: each request is
matched against the attached HTTPRoutes with the Gateway API precedence, the backend is a weighted pick with
an RNG seeded per request, and the echo pod that answers prints its name. No packet is sent; the traffic
outcome follows the objects the verifier created. The broken-gateway-* scenarios make that controller
ignore weights or header matches. Timeouts are shortened through inventory variables.
"""
from __future__ import annotations

import pytest
import yaml
from helpers.conformance_e2e import probe_namespaces, run_conformance, verify_in_process
from helpers.sim import SimHandle, run_tool

pytestmark = pytest.mark.e2e
REQ = "ai_inference"
FAST = {"aiconform_ai_inference_gateway_timeout": 4, "aiconform_ai_inference_route_timeout": 4,
        "aiconform_ai_inference_pod_timeout": 8, "aiconform_ai_inference_client_timeout": 8}
SUBTESTS = ["GatewayAPIResourcesServed", "GatewayClassAccepted", "GatewayProgrammed", "HTTPRouteAccepted",
            "WeightedTrafficSplitting", "HeaderBasedRouting"]


def _checks(entry: dict) -> dict[str, dict]:
    return {c["name"]: c for c in entry["checks"]}


@pytest.mark.parametrize("lab", ["conformant"], indirect=True)
def test_conformant_gateway_is_implemented(lab, tmp_path):
    entry, out = run_conformance(lab, tmp_path, REQ, FAST)
    assert entry["status"] == "Implemented", (entry["reasons"], out[-3000:])
    assert entry["test_name"] == "TestAIInference"
    assert [c["name"] for c in entry["checks"]] == SUBTESTS
    assert all(c["outcome"] == "pass" for c in entry["checks"])
    traffic = entry["facts"]["traffic"]["kinds"]
    assert traffic["split"]["total"] == 200 and traffic["header"]["backends"] == {"echo-b": 20}
    evidence = "\n".join(e["content"] for e in entry["evidence"])
    assert "RESULT kind=split n=1 code=200 backend=echo-" in evidence           # trimmed client log
    assert "reason: Programmed" in evidence and "ResolvedRefs" in evidence     # statuses recorded
    assert "kgateway.dev/kgateway" in evidence
    assert "the reference stack's class, of the Accepted agentgateway, kgateway" in \
        _checks(entry)["GatewayClassAccepted"]["reason"]
    assert not probe_namespaces(lab, REQ)


def _platform(lab: SimHandle, classes: dict[str, str]) -> None:
    """Replace the reference stack's GatewayClasses with another platform's (name -> controllerName)."""
    proc = run_tool(lab, "kubectl", "delete", "gatewayclass", "kgateway", "kgateway-waypoint", "agentgateway")
    assert proc.returncode == 0, proc.stderr
    objs = [{"apiVersion": "gateway.networking.k8s.io/v1", "kind": "GatewayClass", "metadata": {"name": name},
             "spec": {"controllerName": ctrl}} for name, ctrl in classes.items()]
    proc = run_tool(lab, "kubectl", "apply", "-f", "-", input=yaml.safe_dump_all(objs))
    assert proc.returncode == 0, proc.stderr


ISTIO = {"istio": "istio.io/gateway-controller", "istio-remote": "istio.io/unmanaged-gateway",
         "istio-waypoint": "istio.io/mesh-controller"}


@pytest.mark.parametrize("lab", ["conformant"], indirect=True)
def test_istio_platform_is_implemented_without_setting_the_class(lab, tmp_path):
    """Istio's classes (istio, istio-remote, istio-waypoint): the one Accepted ingress class is used."""
    _platform(lab, ISTIO)
    entry, out = verify_in_process(lab, tmp_path, REQ, FAST)
    assert entry["status"] == "Implemented", (entry["reasons"], out[-3000:])
    gc = _checks(entry)["GatewayClassAccepted"]["reason"]
    assert gc.startswith("istio (istio.io/gateway-controller) Accepted=True") and "the only Accepted" in gc
    assert not probe_namespaces(lab, REQ)


@pytest.mark.parametrize("lab", ["broken-gateway-headers"], indirect=True)
def test_istio_platform_broken_is_not_implemented(lab, tmp_path):
    """The same Istio platform whose gateway ignores header matches."""
    _platform(lab, ISTIO)
    entry, out = verify_in_process(lab, tmp_path, REQ, FAST)
    assert entry["status"] == "Not Implemented", (entry["reasons"], out[-3000:])
    assert _checks(entry)["HeaderBasedRouting"]["outcome"] == "fail"


@pytest.mark.parametrize("lab", ["conformant"], indirect=True)
def test_several_other_classes_are_unknown_until_the_inventory_chooses(lab, tmp_path):
    _platform(lab, {"istio": "istio.io/gateway-controller", "cilium": "io.cilium/gateway-controller"})
    (tmp_path / "auto").mkdir()
    (tmp_path / "chosen").mkdir()
    entry, out = verify_in_process(lab, tmp_path / "auto", REQ, FAST)
    assert entry["status"] == "unknown", (entry["reasons"], out[-3000:])
    assert "several GatewayClasses are Accepted (cilium, istio)" in entry["reasons"][0]
    assert "aiconform_ai_inference_gateway_class" in entry["reasons"][0]
    entry, out = verify_in_process(lab, tmp_path / "chosen", REQ, {**FAST, "aiconform_ai_inference_gateway_class": "cilium"})
    assert entry["status"] == "Implemented", (entry["reasons"], out[-3000:])


@pytest.mark.parametrize("lab", ["conformant"], indirect=True)
def test_no_accepted_class_is_not_implemented(lab, tmp_path):
    """A class whose controller is not running is never Accepted."""
    _platform(lab, {"traefik": "traefik.io/gateway-controller"})
    entry, out = verify_in_process(lab, tmp_path, REQ, FAST)
    assert entry["status"] == "Not Implemented", (entry["reasons"], out[-3000:])
    assert "no GatewayClass is Accepted by its controller: traefik (traefik.io/gateway-controller)" in entry["reasons"][0]


@pytest.mark.parametrize("lab", ["gpu-lab"], indirect=True)
def test_without_gateway_api_is_not_implemented(lab, tmp_path):
    entry, out = verify_in_process(lab, tmp_path, REQ, FAST)
    assert entry["status"] == "Not Implemented", (entry["reasons"], out[-3000:])
    assert "gateway.networking.k8s.io) is not served" in " ".join(entry["reasons"])
    checks = _checks(entry)
    assert checks["GatewayAPIResourcesServed"]["outcome"] == "fail"
    assert all(checks[n]["outcome"] == "skip" for n in SUBTESTS[1:])
    assert not probe_namespaces(lab, REQ)


@pytest.mark.parametrize("lab", ["broken-gateway-split"], indirect=True)
def test_gateway_ignoring_weights_fails_the_split(lab, tmp_path):
    entry, out = verify_in_process(lab, tmp_path, REQ, FAST)
    assert entry["status"] == "Not Implemented", (entry["reasons"], out[-3000:])
    checks = _checks(entry)
    assert checks["HTTPRouteAccepted"]["outcome"] == "pass"  # status looks healthy; only traffic shows the fault
    assert checks["WeightedTrafficSplitting"]["outcome"] == "fail"
    assert "outside the tolerance" in checks["WeightedTrafficSplitting"]["reason"]
    assert checks["HeaderBasedRouting"]["outcome"] == "pass"
    assert not probe_namespaces(lab, REQ)


@pytest.mark.parametrize("lab", ["broken-gateway-headers"], indirect=True)
def test_gateway_ignoring_headers_fails_header_routing(lab, tmp_path):
    entry, out = verify_in_process(lab, tmp_path, REQ, FAST)
    assert entry["status"] == "Not Implemented", (entry["reasons"], out[-3000:])
    checks = _checks(entry)
    assert checks["WeightedTrafficSplitting"]["outcome"] == "pass"
    assert checks["HeaderBasedRouting"]["outcome"] == "fail"
    assert "must all reach echo-b" in checks["HeaderBasedRouting"]["reason"]


@pytest.mark.parametrize("lab", ["conformant"], indirect=True)
def test_gateway_never_programmed_times_out(lab, tmp_path):
    """No load-balancer controller: the Gateway's Service gets no address, so kgateway keeps
    Programmed=False/AddressNotAssigned and the wait runs out."""
    lab.controllers(loadbalancer=False)
    entry, out = verify_in_process(lab, tmp_path, REQ, {**FAST, "aiconform_ai_inference_gateway_timeout": 3})
    assert entry["status"] == "Not Implemented", (entry["reasons"], out[-3000:])
    prog = _checks(entry)["GatewayProgrammed"]
    assert prog["outcome"] == "fail"
    assert "timed out after 3s" in prog["reason"] and "AddressNotAssigned" in prog["reason"]
    assert _checks(entry)["WeightedTrafficSplitting"]["outcome"] == "skip"
    assert not probe_namespaces(lab, REQ)


@pytest.mark.parametrize("lab", ["conformant"], indirect=True)
@pytest.mark.parametrize("status", [403, 500])
def test_api_fault_is_an_error_and_leaves_nothing_behind(lab, tmp_path, status):
    lab.faults({"path": r"/apis/gateway.networking.k8s.io/v1/namespaces/aiconform-ai-inference-[^/]+/httproutes$",
                "verb": "create", "status": status})
    entry, out = verify_in_process(lab, tmp_path, REQ, FAST)
    assert entry["status"] == "error", (entry["reasons"], out[-3000:])
    reason = " ".join(entry["reasons"])
    assert "create HTTPRoute" in reason and (("forbidden" in reason) if status == 403 else ("500" in reason))
    lab.faults()
    assert not probe_namespaces(lab, REQ)
