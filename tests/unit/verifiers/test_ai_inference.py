"""ai_inference judge, table-driven on facts built from real Gateway API outputs.

Sources (parsed when ../shared is present, else skipped):
- NVIDIA AICR evidence inference-gateway.md: `kubectl get gatewayclass` (kgateway / kgateway-waypoint,
  controller kgateway.dev/kgateway, ACCEPTED True), `kubectl get crds | grep gateway.networking.k8s.io` (the five
  standard CRDs) and `kubectl get gateway inference-gateway -o yaml` (Accepted/Programmed, listener conditions,
  a Hostname address).
- kOps v1.35 TestNetworking_AIInference/output.md: the weighted and the header-based HTTPRoute each reach
  `status.parents[0]` Accepted=True ("condition met"); it does not send traffic.
Neither source sends traffic, so the client logs here are written for each case in the format the probe's
client prints (one RESULT line per response); the statuses are taken from the files above.
"""
from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiconform.results import Outcome, Status
from aiconform.verifiers import _networking as net
from aiconform.verifiers.ai_inference import judge
from hypothesis import given
from hypothesis import strategies as st

SHARED = Path(__file__).resolve().parents[3].parent / "shared" / "fixtures"
AICR = SHARED / "evidence/NVIDIA-aicr/docs/conformance/cncf/evidence/inference-gateway.md"
KOPS = SHARED / "evidence/cncf-k8s-ai-conformance/v1.35/kops/tests/TestNetworking_AIInference/output.md"
_BLOCK = re.compile(r"```\n\$ (?P<cmd>[^\n]+)\n(?P<out>.*?)```", re.S)


def _need(path: Path) -> str:
    if not path.is_file():
        pytest.skip(f"{path} absent")
    return path.read_text()


def aicr_blocks() -> dict[str, str]:
    return {m["cmd"].strip(): m["out"] for m in _BLOCK.finditer(_need(AICR))}


def aicr_gatewayclasses() -> list[dict[str, Any]]:
    rows = aicr_blocks()["kubectl get gatewayclass"].splitlines()[1:]
    return [{"name": r.split()[0], "controllerName": r.split()[1], "accepted": r.split()[2] == "True"}
            for r in rows if r.strip()]


def aicr_gateway() -> dict[str, Any]:
    return yaml.safe_load(aicr_blocks()["kubectl get gateway inference-gateway -n kgateway-system -o yaml"])


def aicr_discovery() -> dict[str, Any]:
    """The CRD listing as discovery would show it: the five standard-channel kinds (bundle ≥ v1.2 serves them at v1)."""
    plural_to_kind = {"gatewayclasses": "GatewayClass", "gateways": "Gateway", "httproutes": "HTTPRoute",
                      "grpcroutes": "GRPCRoute", "referencegrants": "ReferenceGrant"}
    out = aicr_blocks()["kubectl get crds | grep gateway.networking.k8s.io"]
    kinds = {plural_to_kind[ln.split(".")[0]]: ["v1"] for ln in out.splitlines() if ln.strip()}
    disc = {"group": net.GATEWAY_GROUP, "served": True, "versions": ["v1"], "kinds": kinds}
    disc["missing"] = net.missing_kinds(disc, net.REQUIRED_KINDS)
    return disc


def kops_route_parents(route: str) -> list[dict[str, Any]]:
    """kOps waits on parents[0] Accepted=True; 'condition met' means it was. ResolvedRefs is what a controller
    sets beside it when the backend Services exist (kOps' manifests create app1/app2 with the route)."""
    text = _need(KOPS)
    assert f"httproute.gateway.networking.k8s.io/{route} condition met" in text
    return [{"parent": "aiconform-gateway", "kind": "Gateway", "controllerName": "kgateway.dev/kgateway",
             "conditions": [{"type": "Accepted", "status": "True", "reason": "Accepted"},
                            {"type": "ResolvedRefs", "status": "True", "reason": "ResolvedRefs"}]}]


def client_log(split: dict[str, int], header: dict[str, int], codes: dict[str, int] | None = None,
               done: bool = True) -> str:
    """A client log in the probe's format: RESULT lines per response (backend '' for failed requests)."""
    lines = ["CLIENT url=http://10.96.0.50:80/hostname split=200 header=20"]
    for kind, counts in (("split", split), ("header", header)):
        n = 0
        for backend, count in counts.items():
            for _ in range(count):
                n += 1
                lines.append(f"RESULT kind={kind} n={n} code=200 backend={backend}")
        for code, count in (codes or {}).items() if kind == "split" else ():
            for _ in range(count):
                n += 1
                lines.append(f"RESULT kind={kind} n={n} code={code} backend=")
    if done:
        lines.append("DONE")
    return "\n".join(lines)


def base_facts(log: str | None = None) -> dict[str, Any]:
    gw = aicr_gateway()
    classes = aicr_gatewayclasses()
    kgw = next(c for c in classes if c["name"] == "kgateway")
    traffic = {"host": "10.96.0.50", "host_source": "Gateway status.addresses (IPAddress)", "phase": "Succeeded",
               "state": "phase=Succeeded"}
    traffic.update(net.parse_client_log(log if log is not None else client_log({"echo-a": 161, "echo-b": 39},
                                                                               {"echo-b": 20})))
    return {
        "options": {"gateway_class": "kgateway", "header_name": "x-model", "header_value": "model-b",
                    "split_weight": 80, "split_requests": 200, "header_requests": 20, "split_tolerance_sigma": 4.0,
                    "max_failed_requests": 2},
        "backends_expected": {"primary": "echo-a", "secondary": "echo-b", "header": "echo-b"},
        "discovery": aicr_discovery(),
        # the AICR table says ACCEPTED True; the condition shape is the one its Gateway YAML shows
        "gateway_class": {"name": "kgateway", "found": True, "available": classes,
                          "controllerName": kgw["controllerName"],
                          "conditions": [{"type": "Accepted", "status": "True" if kgw["accepted"] else "False",
                                          "reason": "Accepted"}]},
        "probe": {"namespace": "aiconform-ai-inference-x", "gateway": "aiconform-gateway", "route": "aiconform-route",
                  "client": "gateway-client"},
        "backends": {"pods": {"echo-a": {"ready": True}, "echo-b": {"ready": True}}},
        "gateway": net.gateway_summary(gw),
        "route": {"parents": kops_route_parents("weighted-traffic-splitting")},
        "traffic": traffic,
    }


def _with(facts: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    out = copy.deepcopy(facts)
    node = out
    keys = path.split(".")
    for k in keys[:-1]:
        node = node[k]
    node[keys[-1]] = value
    return out


def _traffic(log: str, **extra: Any) -> dict[str, Any]:
    t = {"host": "10.96.0.50", "phase": "Succeeded", "state": "phase=Succeeded", **extra}
    t.update(net.parse_client_log(log))
    return t


# (case id, facts modifier, expected status, failing check, words the reasons must contain)
CASES: list[tuple[str, Any, Status, str | None, tuple[str, ...]]] = [
    ("aicr-statuses-good-traffic", lambda f: f, Status.IMPLEMENTED, None, ("80%", "161/200")),
    ("gateway-api-not-served",
     lambda f: _with(f, "discovery", {"group": net.GATEWAY_GROUP, "served": False, "versions": [], "kinds": {}}),
     Status.NOT_IMPLEMENTED, "GatewayAPIResourcesServed", ("not served", "install the Gateway API CRDs")),
    ("grpcroute-missing",
     lambda f: _with(f, "discovery.missing", net.missing_kinds(
         {**f["discovery"], "kinds": {k: v for k, v in f["discovery"]["kinds"].items() if k != "GRPCRoute"}},
         net.REQUIRED_KINDS)),
     Status.NOT_IMPLEMENTED, "GatewayAPIResourcesServed", ("GRPCRoute",)),
    ("class-named-in-inventory-absent",
     lambda f: _with(_with(f, "gateway_class.found", False), "gateway_class.name", "istio"),
     Status.NOT_IMPLEMENTED, "GatewayClassAccepted", ("'istio' does not exist", "kgateway (kgateway.dev/kgateway)")),
    ("class-not-accepted",
     lambda f: _with(f, "gateway_class.conditions", [{"type": "Accepted", "status": "Unknown", "reason": "Pending",
                                                      "message": "Waiting for controller"}]),
     Status.NOT_IMPLEMENTED, "GatewayClassAccepted", ("not Accepted", "Waiting for controller")),
    ("gateway-never-programmed",
     lambda f: _with(f, "gateway", {"timeout": "timed out after 5s waiting for Gateway aiconform-gateway to be Accepted "
                                               "and Programmed: Accepted=True, Programmed=False (AddressNotAssigned)",
                                    "conditions": [], "addresses": [], "listeners": []}),
     Status.NOT_IMPLEMENTED, "GatewayProgrammed", ("not Programmed", "AddressNotAssigned")),
    ("route-backend-not-found",
     lambda f: _with(f, "route", {"timeout": "timed out after 5s waiting for HTTPRoute aiconform-route: Accepted=True, "
                                             "ResolvedRefs=False (BackendNotFound: Service \"echo-b\" not found)",
                                  "parents": []}),
     Status.NOT_IMPLEMENTED, "HTTPRouteAccepted", ("BackendNotFound",)),
    ("route-status-without-resolvedrefs",
     lambda f: _with(f, "route.parents", [{**f["route"]["parents"][0],
                                           "conditions": f["route"]["parents"][0]["conditions"][:1]}]),
     Status.NOT_IMPLEMENTED, "HTTPRouteAccepted", ("ResolvedRefs",)),
    ("backends-never-ready",
     lambda f: _with(f, "backends", {"timeout": "timed out after 5s waiting for the echo backends to be Ready: "
                                                "echo-a: phase=Pending, echo waiting (ImagePullBackOff)"}),
     Status.UNKNOWN, None, ("cannot judge", "ImagePullBackOff")),
    ("client-never-ran",
     lambda f: _with(f, "traffic", {"phase": "Pending", "state": "phase=Pending, client waiting (ErrImagePull)",
                                    "timeout": "timed out after 5s waiting for client pod",
                                    "kinds": {}, "done": False, "lines": 0}),
     Status.UNKNOWN, None, ("client pod never ran", "client_image")),
    ("weights-ignored-50-50",
     lambda f: _with(f, "traffic", _traffic(client_log({"echo-a": 100, "echo-b": 100}, {"echo-b": 20}))),
     Status.NOT_IMPLEMENTED, "WeightedTrafficSplitting", ("outside the tolerance", "100/200 = 50.0%")),
    ("everything-to-one-backend",
     lambda f: _with(f, "traffic", _traffic(client_log({"echo-a": 200}, {"echo-b": 20}))),
     Status.NOT_IMPLEMENTED, "WeightedTrafficSplitting", ("outside the tolerance",)),
    ("weights-swapped",
     lambda f: _with(f, "traffic", _traffic(client_log({"echo-a": 40, "echo-b": 160}, {"echo-b": 20}))),
     Status.NOT_IMPLEMENTED, "WeightedTrafficSplitting", ("40/200",)),
    ("header-ignored",
     lambda f: _with(f, "traffic", _traffic(client_log({"echo-a": 160, "echo-b": 40}, {"echo-a": 16, "echo-b": 4}))),
     Status.NOT_IMPLEMENTED, "HeaderBasedRouting", ("must all reach echo-b", "4/20")),
    ("header-to-wrong-backend",
     lambda f: _with(f, "traffic", _traffic(client_log({"echo-a": 160, "echo-b": 40}, {"echo-a": 20}))),
     Status.NOT_IMPLEMENTED, "HeaderBasedRouting", ("0/20",)),
    ("client-stopped-early",
     lambda f: _with(f, "traffic", _traffic(client_log({"echo-a": 80, "echo-b": 20}, {}, done=False),
                                            timeout="timed out after 5s waiting for client pod")),
     Status.NOT_IMPLEMENTED, "WeightedTrafficSplitting", ("only 100 of 200",)),
    ("gateway-answers-503",
     lambda f: _with(f, "traffic", _traffic(client_log({"echo-a": 150, "echo-b": 40}, {"echo-b": 20},
                                                       codes={"503": 10}))),
     Status.NOT_IMPLEMENTED, "WeightedTrafficSplitting", ("10 of 200 split requests failed", "503×10")),
    ("two-failures-tolerated",
     lambda f: _with(f, "traffic", _traffic(client_log({"echo-a": 158, "echo-b": 40}, {"echo-b": 20},
                                                       codes={"000": 2}))),
     Status.IMPLEMENTED, None, ("158/198",)),
    ("stray-backend",
     lambda f: _with(f, "traffic", _traffic(client_log({"echo-a": 160, "echo-b": 30, "default-backend": 10},
                                                       {"echo-b": 20}))),
     Status.NOT_IMPLEMENTED, "WeightedTrafficSplitting", ("unexpected backends",)),
]


@pytest.mark.parametrize(("case", "modify", "status", "failing", "words"), CASES, ids=[c[0] for c in CASES])
def test_judge(case: str, modify: Any, status: Status, failing: str | None, words: tuple[str, ...]) -> None:
    verdict = judge(modify(base_facts()))
    text = " ".join(verdict.reasons)
    assert verdict.status is status, text
    for w in words:
        assert w in text, f"{w!r} not in {text!r}"
    by_name = {c.name: c for c in verdict.checks}
    assert set(by_name) == {"GatewayAPIResourcesServed", "GatewayClassAccepted", "GatewayProgrammed",
                            "HTTPRouteAccepted", "WeightedTrafficSplitting", "HeaderBasedRouting"}
    if failing:
        assert by_name[failing].outcome is Outcome.FAIL
    if status is Status.IMPLEMENTED:
        assert all(c.outcome is Outcome.PASS for c in verdict.checks)
    else:  # never Implemented with a skipped or failed check, and skips say why
        assert all(c.reason for c in verdict.checks if c.outcome is Outcome.SKIP)


def test_aicr_fixture_facts() -> None:
    """What the AICR file itself shows: both classes Accepted, the Gateway Accepted+Programmed with an address."""
    classes = aicr_gatewayclasses()
    assert [c["name"] for c in classes] == ["kgateway", "kgateway-waypoint"]
    assert all(c["accepted"] and c["controllerName"] == "kgateway.dev/kgateway" for c in classes)
    gw = net.gateway_summary(aicr_gateway())
    assert net.is_true(gw["conditions"], "Programmed") and net.is_true(gw["conditions"], "Accepted")
    assert gw["addresses"] == [{"type": "Hostname", "value": "<load-balancer-address>"}]
    assert gw["listeners"][0]["attachedRoutes"] == 0
    assert aicr_discovery()["missing"] == []


def test_kops_both_routes_accepted() -> None:
    for route in ("weighted-traffic-splitting", "header-based-routing"):
        assert net.route_parent_ok(kops_route_parents(route), "aiconform-gateway")


# -- the tolerance window: exactly the binomial bound, nothing looser --------------------------------
@given(st.integers(min_value=0, max_value=200))
def test_split_window_is_the_binomial_bound(primary: int) -> None:
    f = base_facts(client_log({"echo-a": primary, "echo-b": 200 - primary}, {"echo-b": 20}))
    mean, _sd, half = net.binomial_window(200, 0.8, 4.0)
    verdict = judge(f)
    split = next(c for c in verdict.checks if c.name == "WeightedTrafficSplitting")
    assert (split.outcome is Outcome.PASS) == (abs(primary - mean) <= half)


def test_window_at_defaults() -> None:
    mean, sd, half = net.binomial_window(200, 0.8, 4.0)
    assert (mean, round(sd, 2), round(half, 1)) == (160.0, 5.66, 22.6)  # 80 % ± 11.3 points


# -- client log parsing ------------------------------------------------------------------------------
def test_parse_client_log() -> None:
    text = ("CLIENT url=http://gw/hostname split=3 header=1\nWARMUP failed attempts=30\n"
            "RESULT kind=split n=1 code=200 backend=echo-a\nRESULT kind=split n=2 code=000 backend=\n"
            "RESULT kind=split n=3 code=404 backend=routenotfound\nnoise\nRESULT kind=header n=1 code=200 backend=echo-b\nDONE\n")
    out = net.parse_client_log(text)
    assert out["done"] and out["warmup_failed"] and out["lines"] == 4
    assert out["kinds"]["split"] == {"total": 3, "ok": 1, "backends": {"echo-a": 1},
                                     "codes": {"200": 1, "000": 1, "404": 1}}
    assert out["kinds"]["header"]["backends"] == {"echo-b": 1}


def test_trim_log_keeps_head_and_tail() -> None:
    text = "\n".join(f"l{i}" for i in range(100))
    trimmed = net.trim_log(text, head=3, tail=2)
    assert trimmed.splitlines() == ["l0", "l1", "l2", "... [95 lines omitted by aiconform]", "l98", "l99"]


# -- which GatewayClass: the Accepted one, the inventory's, or Unknown ---------------------------------------
VAR = "aiconform_ai_inference_gateway_class"


def _gc(name: str, controller: str, accepted: bool = True) -> dict[str, Any]:
    return {"name": name, "controllerName": controller, "accepted": accepted,
            "conditions": [{"type": "Accepted", "status": "True" if accepted else "False",
                            **({} if accepted else {"reason": "Pending", "message": "Waiting for controller"})}]}


# GatewayClasses as each implementation's install creates them (names and controllerName from their docs).
ISTIO = [_gc("istio", "istio.io/gateway-controller"), _gc("istio-remote", "istio.io/unmanaged-gateway"),
         _gc("istio-waypoint", "istio.io/mesh-controller")]
CILIUM = [_gc("cilium", "io.cilium/gateway-controller")]
ENVOY_GATEWAY = [_gc("eg", "gateway.envoyproxy.io/gatewayclass-controller")]
TRAEFIK = [_gc("traefik", "traefik.io/gateway-controller")]
GKE = [_gc("gke-l7-global-external-managed", "networking.gke.io/gateway"),
       _gc("gke-l7-regional-external-managed", "networking.gke.io/gateway"),
       _gc("gke-l7-rilb", "networking.gke.io/gateway")]


@pytest.mark.parametrize("listing, requested, name, unknown", [
    (ISTIO, "", "istio", False),                   # waypoint and remote classes are not for ingress
    (CILIUM, "", "cilium", False),
    (ENVOY_GATEWAY, "", "eg", False),
    (TRAEFIK, "", "traefik", False),
    (GKE, "", None, True),                         # several ingress classes: the inventory chooses
    (GKE, "gke-l7-rilb", "gke-l7-rilb", False),
    ([*ISTIO, *CILIUM], "", None, True),
    ([*CILIUM, _gc("kgateway", "kgateway.dev/kgateway")], "", "kgateway", False),  # the reference stack's, of several
    ([_gc("cilium", "io.cilium/gateway-controller", accepted=False)], "", None, False),
    ([], "", None, False),
])
def test_choose_gateway_class(listing: list[dict[str, Any]], requested: str, name: str | None, unknown: bool) -> None:
    choice = net.choose_gateway_class(requested, listing, "kgateway", VAR)
    assert choice["name"] == name
    assert bool(choice.get("unknown")) is unknown
    if unknown:
        assert VAR in choice["unknown"] and all(c["name"] in choice["unknown"] for c in listing
                                                if not c["name"].endswith(("-waypoint", "-remote")))


def test_aicr_classes_choose_kgateway_not_its_waypoint_class() -> None:
    classes = [{**c, "conditions": [{"type": "Accepted", "status": "True"}]} for c in aicr_gatewayclasses()]
    choice = net.choose_gateway_class("", classes, "kgateway", VAR)
    assert choice == {"name": "kgateway", "how": "the only Accepted GatewayClass", "candidates": ["kgateway"]}


@pytest.mark.parametrize("listing, status, needle", [
    (GKE, Status.UNKNOWN, "several GatewayClasses are Accepted (gke-l7-global-external-managed, "
                          "gke-l7-regional-external-managed, gke-l7-rilb): set aiconform_ai_inference_gateway_class"),
    ([_gc("cilium", "io.cilium/gateway-controller", accepted=False)], Status.NOT_IMPLEMENTED,
     "no GatewayClass is Accepted by its controller: cilium (io.cilium/gateway-controller) Accepted=False"),
    ([], Status.NOT_IMPLEMENTED, "no GatewayClass exists"),
])
def test_judge_without_a_chosen_class(listing: list[dict[str, Any]], status: Status, needle: str) -> None:
    facts = base_facts()
    facts["gateway_class"] = {"name": "", "choice": net.choose_gateway_class("", listing, "kgateway", VAR),
                              "available": listing}
    verdict = judge(facts)
    assert verdict.status is status
    assert needle in verdict.reasons[0], verdict.reasons
    assert {c.name: c.outcome for c in verdict.checks}["GatewayClassAccepted"] is Outcome.FAIL


def test_judge_names_the_chosen_class_and_why() -> None:
    facts = base_facts()
    facts["gateway_class"]["choice"] = net.choose_gateway_class("", ISTIO, "kgateway", VAR)
    verdict = judge(facts)
    assert "the only Accepted GatewayClass" in {c.name: c for c in verdict.checks}["GatewayClassAccepted"].reason
