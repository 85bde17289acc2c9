"""The lab's emulated kgateway (labcluster/programs/gateway.py): attachment, references, precedence, matching and
weights; and the Gateway API standard-channel filter of the generated CRDs (labcluster/gatewayapi.py)."""
from __future__ import annotations

import random
from typing import Any

import pytest

from aiconform.labcluster import gatewayapi, pods
from aiconform.labcluster.programs import gateway as g


def gw(listeners: list[dict[str, Any]], ns: str = "probe") -> dict[str, Any]:
    return {"metadata": {"name": "gw", "namespace": ns, "uid": "u1"},
            "spec": {"gatewayClassName": "kgateway", "listeners": listeners}}


def route(rules: list[dict[str, Any]], ns: str = "probe", name: str = "r", created: str = "2026-01-01T00:00:00Z",
          hostnames: list[str] | None = None) -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": ns, "creationTimestamp": created},
            "spec": {"parentRefs": [{"name": "gw"}], "rules": rules, **({"hostnames": hostnames} if hostnames else {})}}


HTTP = {"name": "http", "port": 80, "protocol": "HTTP"}


# -- attachment --------------------------------------------------------------------------------------------------
def test_a_route_of_the_same_namespace_attaches() -> None:
    names, reason, _ = g.attach(route([]), {"name": "gw"}, gw([HTTP]), "HTTPRoute", {})
    assert (names, reason) == (["http"], "Accepted")


def test_from_same_refuses_another_namespace_from_all_admits_it() -> None:
    names, reason, _ = g.attach(route([], ns="other"), {"name": "gw", "namespace": "probe"}, gw([HTTP]), "HTTPRoute", {})
    assert (names, reason) == ([], "NotAllowedByListeners")
    everyone = {**HTTP, "allowedRoutes": {"namespaces": {"from": "All"}}}
    names, reason, _ = g.attach(route([], ns="other"), {"name": "gw", "namespace": "probe"}, gw([everyone]),
                                "HTTPRoute", {})
    assert (names, reason) == (["http"], "Accepted")


def test_selector_follows_namespace_labels() -> None:
    sel = {**HTTP, "allowedRoutes": {"namespaces": {"from": "Selector", "selector": {"matchLabels": {"team": "a"}}}}}
    ref = {"name": "gw", "namespace": "probe"}
    assert g.attach(route([], ns="x"), ref, gw([sel]), "HTTPRoute", {"x": {"team": "a"}})[1] == "Accepted"
    assert g.attach(route([], ns="x"), ref, gw([sel]), "HTTPRoute", {"x": {"team": "b"}})[1] == "NotAllowedByListeners"


def test_an_unknown_section_is_no_matching_parent() -> None:
    assert g.attach(route([]), {"name": "gw", "sectionName": "https"}, gw([HTTP]), "HTTPRoute", {})[1] == "NoMatchingParent"


def test_listener_hostnames_must_intersect() -> None:
    lst = {**HTTP, "hostname": "*.example.com"}
    assert g.attach(route([], hostnames=["a.example.com"]), {"name": "gw"}, gw([lst]), "HTTPRoute", {})[1] == "Accepted"
    assert g.attach(route([], hostnames=["a.example.org"]), {"name": "gw"}, gw([lst]), "HTTPRoute",
                    {})[1] == "NoMatchingListenerHostname"


# -- backend references ------------------------------------------------------------------------------------------
SVC = {"probe/echo": {"spec": {"ports": [{"name": "http", "port": 80, "targetPort": 8080}]}}}
SLICES = {"probe/echo": [{"ports": [{"name": "http", "port": 8080}], "endpoints": [
    {"addresses": ["10.244.0.5"], "conditions": {"ready": True}},
    {"addresses": ["10.244.0.6"], "conditions": {"ready": False}},
    {"addresses": ["10.244.0.7"], "conditions": {}}]}]}


def test_a_backend_resolves_to_its_ready_endpoints_at_the_target_port() -> None:
    b = g.resolve_backend({"name": "echo", "port": 80, "weight": 3}, route([]), "HTTPRoute", SVC, SLICES, [])
    assert b["error"] is None and b["weight"] == 3
    assert b["endpoints"] == ["10.244.0.5:8080", "10.244.0.7:8080"]  # the NotReady endpoint is left out


@pytest.mark.parametrize(("ref", "reason"), [
    ({"name": "missing", "port": 80}, "BackendNotFound"),
    ({"name": "echo", "port": 81}, "BackendNotFound"),
    ({"name": "echo", "port": 80, "kind": "ConfigMap"}, "InvalidKind"),
    ({"name": "echo", "port": 80, "namespace": "other"}, "RefNotPermitted"),
])
def test_unresolved_references_have_the_gateway_api_reasons(ref: dict[str, Any], reason: str) -> None:
    assert g.resolve_backend(ref, route([]), "HTTPRoute", SVC, SLICES, [])["error"][0] == reason


def test_a_reference_grant_permits_another_namespace() -> None:
    grant = {"metadata": {"namespace": "other"}, "spec": {
        "from": [{"group": g.GROUP, "kind": "HTTPRoute", "namespace": "probe"}], "to": [{"group": "", "kind": "Service"}]}}
    svc = {"other/echo": SVC["probe/echo"]}
    b = g.resolve_backend({"name": "echo", "port": 80, "namespace": "other"}, route([]), "HTTPRoute", svc, {}, [grant])
    assert b["error"] is None


# -- precedence and matching -------------------------------------------------------------------------------------
def entries(*routes: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for r in routes:
        backends = [[{"name": f"{b}", "weight": 1, "endpoints": [f"{b}:1"], "error": None}
                     for b in rule.get("_backends", ["x"])] for rule in r["spec"]["rules"]]
        out += g.route_entries(r, backends)
    return sorted(out, key=g.precedence_key)


def first(table: list[dict[str, Any]], path: str = "/", headers: dict[str, str] | None = None,
          method: str = "GET", query: dict[str, str] | None = None, **kw: Any) -> str:
    e = next((e for e in table if g.request_matches(e, method, path, query or {}, headers or {}, "h", **kw)), None)
    return e["backends"][0]["name"] if e else ""


PREFIX = {"path": {"type": "PathPrefix", "value": "/"}}
HEADER_RULE = {"matches": [{**PREFIX, "headers": [{"type": "Exact", "name": "x-model", "value": "model-b"}]}],
               "_backends": ["b"]}
SPLIT_RULE = {"matches": [PREFIX], "_backends": ["a"]}


def test_the_header_rule_wins_over_the_plain_rule_whatever_their_order() -> None:
    for rules in ([HEADER_RULE, SPLIT_RULE], [SPLIT_RULE, HEADER_RULE]):
        table = entries(route(rules))
        assert first(table, headers={"x-model": "model-b"}) == "b"
        assert first(table, headers={"x-model": "model-a"}) == "a"
        assert first(table) == "a"


def test_header_names_are_case_insensitive_values_exact_or_regex() -> None:
    table = entries(route([HEADER_RULE, SPLIT_RULE]))
    assert first(table, headers={"x-model": "MODEL-B"}) == "a"  # values are case-sensitive
    regex = {"matches": [{**PREFIX, "headers": [{"type": "RegularExpression", "name": "X-Model", "value": "model-[bc]"}]}],
             "_backends": ["rx"]}
    table = entries(route([regex, SPLIT_RULE]))
    assert first(table, headers={"x-model": "model-c"}) == "rx"  # the proxy lowercases request header names


def test_path_precedence_exact_then_longest_prefix() -> None:
    rules = [{"matches": [{"path": {"type": "PathPrefix", "value": "/v1"}}], "_backends": ["v1"]},
             {"matches": [{"path": {"type": "PathPrefix", "value": "/v1/chat"}}], "_backends": ["chat"]},
             {"matches": [{"path": {"type": "Exact", "value": "/v1/chat/completions"}}], "_backends": ["exact"]},
             SPLIT_RULE]
    table = entries(route(rules))
    assert first(table, "/v1/chat/completions") == "exact"
    assert first(table, "/v1/chat/x") == "chat"
    assert first(table, "/v1/models") == "v1"
    assert first(table, "/v10") == "a"  # a prefix matches whole path elements only
    assert first(table, "/other") == "a"


def test_method_and_query_matches() -> None:
    rules = [{"matches": [{**PREFIX, "method": "POST"}], "_backends": ["post"]},
             {"matches": [{**PREFIX, "queryParams": [{"type": "Exact", "name": "v", "value": "2"}]}], "_backends": ["q"]},
             SPLIT_RULE]
    table = entries(route(rules))
    assert first(table, method="POST") == "post"
    assert first(table, query={"v": "2"}) == "q"
    assert first(table) == "a"


def test_ties_go_to_the_oldest_route() -> None:
    old = route([{"matches": [PREFIX], "_backends": ["old"]}], name="z", created="2026-01-01T00:00:00Z")
    new = route([{"matches": [PREFIX], "_backends": ["new"]}], name="a", created="2026-02-01T00:00:00Z")
    assert first(entries(new, old)) == "old"


def test_route_hostnames_filter_requests() -> None:
    table = entries(route([SPLIT_RULE], hostnames=["api.example.com"]))
    e = table[0]
    assert g.request_matches(e, "GET", "/", {}, {}, "api.example.com")
    assert not g.request_matches(e, "GET", "/", {}, {}, "other.example.com")


def test_the_lab_faults() -> None:
    table = entries(route([HEADER_RULE, SPLIT_RULE]))
    assert first(table, ignore_headers=True) == "b"  # ignore-headers: the header rule takes every request


# -- weights -----------------------------------------------------------------------------------------------------
def test_weights_split_requests_in_proportion() -> None:
    rng = random.Random(7)
    backends = [{"name": "a", "weight": 80}, {"name": "b", "weight": 20}]
    n = 20000
    got = sum(g.pick(backends, rng)["name"] == "a" for _ in range(n))
    assert abs(got / n - 0.8) < 0.015, got


def test_weight_zero_never_and_all_zero_none() -> None:
    rng = random.Random(1)
    backends = [{"name": "a", "weight": 0}, {"name": "b", "weight": 5}]
    assert {g.pick(backends, rng)["name"] for _ in range(200)} == {"b"}
    assert g.pick([{"name": "a", "weight": 0}], rng) is None


def test_conditions_keep_their_transition_time_while_unchanged() -> None:
    old = [{"type": "Accepted", "status": "True", "lastTransitionTime": "2020-01-01T00:00:00Z"}]
    kept = g.keep_transitions([g.condition("Accepted", True, "Accepted", "", 1)], old)
    assert kept[0]["lastTransitionTime"] == "2020-01-01T00:00:00Z"
    moved = g.keep_transitions([g.condition("Accepted", False, "Invalid", "", 1)], old)
    assert moved[0]["lastTransitionTime"] != "2020-01-01T00:00:00Z"


def test_proxy_objects_are_named_after_the_gateway_and_owned_by_it() -> None:
    objs = g.proxy_objects(gw([HTTP]), "cr.kgateway.dev/kgateway-dev/envoy-wrapper:v2.4.3", {"listeners": []},
                           "drop-header-rules")
    dep = objs["deployments"]
    assert dep["metadata"]["name"] == "gw" and objs["services"]["metadata"]["name"] == "gw"
    assert dep["metadata"]["labels"]["gateway.networking.k8s.io/gateway-name"] == "gw"
    assert dep["metadata"]["ownerReferences"][0]["uid"] == "u1"
    container = dep["spec"]["template"]["spec"]["containers"][0]
    assert container["env"] == [{"name": g.FAULT_ENV, "value": "drop-header-rules"}]
    assert [p["containerPort"] for p in container["ports"]] == [80]


def test_the_pod_runner_runs_kgateways_images_with_the_emulation() -> None:
    assert pods.IMAGES["cr.kgateway.dev/kgateway-dev/kgateway:v2.4.3"] == "kgateway-controller"
    assert pods.IMAGES["cr.kgateway.dev/kgateway-dev/envoy-wrapper:v2.4.3"] == "kgateway-proxy"
    assert g.proxy_image().endswith("/envoy-wrapper:v2.4.3")


# -- the standard channel of the generated CRDs --------------------------------------------------------------------
def test_standard_channel_drops_experimental_fields_and_adds_standard_rules() -> None:
    crd = {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
           "metadata": {"name": "httproutes.gateway.networking.k8s.io"},
           "spec": {"versions": [{"name": "v1", "schema": {"openAPIV3Schema": {"type": "object", "properties": {
               "spec": {"type": "object", "required": ["parentRefs", "exp"], "properties": {
                   "exp": {"type": "string", "description": "New.\n\n<gateway:experimental>"},
                   "parentRefs": {"type": "array", "items": {"type": "object"}, "description": (
                       "Refs.\n\n<gateway:experimental:description>\nexperimental text\n</gateway:experimental:description>\n"
                       '<gateway:standard:validation:XValidation:message="unique",rule="self.all(p, p.name != \'\')">\n'
                       '<gateway:experimental:validation:XValidation:message="other",rule="false">')},
                   "addresses": {"type": "array", "items": {"type": "object"},
                                 "description": "Addresses.\n<gateway:validateIPAddress>"}}}}}}}]}}
    out = gatewayapi.standard_channel(crd, "v1.6.1", "standard", {"api-approved.kubernetes.io": "url"})
    spec = out["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]
    assert "exp" not in spec["properties"] and spec["required"] == ["parentRefs"]
    refs = spec["properties"]["parentRefs"]
    assert refs["x-kubernetes-validations"] == [{"message": "unique", "rule": "self.all(p, p.name != '')"}]
    assert refs["description"] == "Refs."
    assert spec["properties"]["addresses"]["items"]["oneOf"][0]["properties"]["type"]["enum"] == ["IPAddress"]
    assert out["metadata"]["annotations"] == {"api-approved.kubernetes.io": "url",
                                              "gateway.networking.k8s.io/bundle-version": "v1.6.1",
                                              "gateway.networking.k8s.io/channel": "standard"}
    assert "exp" in crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]


def test_the_bundle_follows_versions_yml() -> None:
    from aiconform import versions
    pin = gatewayapi.pin("gateway-api")
    assert pin["version"] == versions.get("gateway_api.crds.version")
    assert pin["channel"] == versions.get("gateway_api.crds.channel")
    assert gatewayapi.stack_bundles("reference") == ["gateway-api"] and gatewayapi.stack_bundles("base") == []


class FakeKube:
    """Lists from a dict; writes recorded; writes into namespace ``bad`` fail as a terminating namespace's do."""

    def __init__(self, objects: dict[str, list[dict[str, Any]]]) -> None:
        self.objects, self.writes = objects, []

    def items(self, path: str) -> list[dict[str, Any]]:
        return self.objects.get(path.split("?")[0], [])

    def apply(self, path: str, name: str, obj: dict[str, Any]) -> None:
        if "/namespaces/bad/" in path:
            raise RuntimeError("namespace bad is being terminated")
        self.writes.append(("apply", path, name))

    def call(self, method: str, path: str, body: Any = None, content_type: str = "") -> Any:
        self.writes.append((method, path, ""))
        return {}


def test_one_gateways_failure_does_not_stop_the_others() -> None:
    def gateway(ns: str) -> dict[str, Any]:
        return {"metadata": {"name": "gw", "namespace": ns, "uid": ns, "generation": 1},
                "spec": {"gatewayClassName": "kgateway", "listeners": [HTTP]}}
    kube = FakeKube({
        f"/apis/{g.GROUP}/v1/gatewayclasses": [{"metadata": {"name": "kgateway", "generation": 1},
                                                "spec": {"controllerName": g.CONTROLLER_NAME}}],
        f"/apis/{g.GROUP}/v1/gateways": [gateway("bad"), gateway("good"), gateway("gone")],
        "/api/v1/namespaces": [{"metadata": {"name": "bad"}}, {"metadata": {"name": "good"}},
                               {"metadata": {"name": "gone"}, "status": {"phase": "Terminating"}}]})
    g.Controller(kube, "img").reconcile()  # type: ignore[arg-type]
    applied = {(p, n) for op, p, n in kube.writes if op == "apply"}
    assert ("/api/v1/namespaces/good/configmaps", "gw-xds") in applied
    assert ("/apis/apps/v1/namespaces/good/deployments", "gw") in applied
    assert not any("/namespaces/gone/" in p for _, p, _ in kube.writes)  # a terminating namespace is left alone
