"""The lab's EMULATION of kgateway: its controller and its Envoy data plane, written for the lab (no code of theirs).

kgateway needs Envoy (C++) and agentgateway is Rust: no Go module builds the reference gateway, so the pod runner
backs kgateway's two images with these stand-ins (``pods.PROGRAMS``). What the Gateway API verifiers observe is
what they do, so they do it as kgateway does, through the real API server and the real Gateway API CRDs:

- ``controller`` (image ``kgateway.images.controller``): every second it lists GatewayClasses, Gateways,
  HTTPRoutes, ReferenceGrants, Services and EndpointSlices with the pod's ServiceAccount. A GatewayClass whose
  ``controllerName`` is ``kgateway.dev/kgateway`` is Accepted. For each Gateway of such a class it makes the proxy
  as kgateway's deployer does — a Deployment and a Service named after the Gateway (labels
  ``gateway.networking.k8s.io/gateway-name``, ``app.kubernetes.io/name``, ``kgateway: kube-gateway``; owned by the
  Gateway) with the ``envoy_wrapper`` image — and the proxy's configuration, the part of Envoy's xDS the lab
  needs: a ConfigMap ``<gateway>-xds`` mounted in the proxy with its listeners, the routes attached to each (in
  Gateway API precedence) and each backend's ready endpoints (EndpointSlices → pod IP:port, as EDS). It writes
  the Gateway's conditions (Accepted; Programmed once a proxy pod answers on every listener port), listeners
  (attachedRoutes) and ``status.addresses`` — the proxy pod's IP: the lab has no Service ClusterIPs routing — and
  each attached HTTPRoute's ``status.parents`` entry: Accepted (or NotAllowedByListeners / NoMatchingParent) and
  ResolvedRefs (or BackendNotFound / InvalidKind / RefNotPermitted), keeping other controllers' entries.
- ``proxy`` (image ``kgateway.images.envoy_wrapper``): listens on every listener port of its Gateway, reads the
  configuration (again when the file changes) and routes each request: hostname, path (Exact, PathPrefix,
  RegularExpression), header, query parameter and method matches; weighted backendRefs chosen at random by weight;
  an endpoint at random. No route: 404; a backendRef that did not resolve: 500; no ready endpoint: 503 ``no
  healthy upstream`` (Envoy's answers). Filters, timeouts, TLS and the other route kinds are not implemented.

Polling (1 s) stands in for watches. Lab faults (``AICONFORM_GATEWAY_FAULT`` on the controller's Deployment, passed
to the proxies it makes): ``ignore-headers`` — header matches always match (the header rule, first by precedence,
takes every request); ``drop-header-rules`` — routes with header matches are left out (header requests follow the
weighted rule). The tests use them to show that traffic not following the route fails the verifier's checks.
"""
from __future__ import annotations

import json
import os
import random
import re
import socket
import sys
import threading
import time
from typing import Any

CONTROLLER_NAME = "kgateway.dev/kgateway"
GROUP = "gateway.networking.k8s.io"
CONFIG_DIR = "/etc/kgateway-emulated"
CONFIG_FILE = "config.json"
FAULT_ENV = "AICONFORM_GATEWAY_FAULT"
ROUTE_KINDS = {"HTTP": ["HTTPRoute", "GRPCRoute"], "HTTPS": ["HTTPRoute", "GRPCRoute"]}


# -- pure logic: attachment, references, precedence, matching (tests/unit/lab/test_lab_gateway_routing.py) ---------
def now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def condition(ctype: str, ok: bool, reason: str, message: str, generation: int) -> dict[str, Any]:
    return {"type": ctype, "status": "True" if ok else "False", "reason": reason, "message": message,
            "observedGeneration": generation, "lastTransitionTime": now()}


def keep_transitions(new: list[dict[str, Any]], old: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    """Conditions whose status did not change keep their lastTransitionTime (as controllers must)."""
    before = {c.get("type"): c for c in old or []}
    out = []
    for c in new:
        prev = before.get(c["type"])
        if prev and prev.get("status") == c["status"] and prev.get("lastTransitionTime"):
            c = {**c, "lastTransitionTime": prev["lastTransitionTime"]}
        out.append(c)
    return out


def _hostname_ok(listener_host: str | None, route_hosts: list[str]) -> bool:
    if not listener_host or not route_hosts:
        return True
    return any(_host_intersect(listener_host, h) for h in route_hosts)


def _host_intersect(a: str, b: str) -> bool:
    def fits(wild: str, host: str) -> bool:
        return host.endswith(wild[1:]) and host != wild[2:]
    if a == b:
        return True
    if a.startswith("*.") and (fits(a, b) or (b.startswith("*.") and fits(a, b[1:]))):
        return True
    return b.startswith("*.") and fits(b, a)


def listener_admits(listener: dict[str, Any], gw_ns: str, route_ns: str, kind: str,
                    ns_labels: dict[str, dict[str, str]]) -> bool:
    """Whether a listener's allowedRoutes admit a route of ``kind`` from ``route_ns``."""
    allowed = listener.get("allowedRoutes") or {}
    kinds = [k.get("kind") for k in allowed.get("kinds") or []] or ROUTE_KINDS.get(listener.get("protocol", ""), [])
    if kind not in kinds:
        return False
    frm = ((allowed.get("namespaces") or {}).get("from")) or "Same"
    if frm == "All":
        return True
    if frm == "Same":
        return route_ns == gw_ns
    if frm == "Selector":
        sel = (allowed.get("namespaces") or {}).get("selector") or {}
        labels = ns_labels.get(route_ns, {})
        if any(labels.get(k) != v for k, v in (sel.get("matchLabels") or {}).items()):
            return False
        for expr in sel.get("matchExpressions") or []:
            has, vals = expr.get("key") in labels, expr.get("values") or []
            op = expr.get("operator")
            if (op == "In" and labels.get(expr["key"]) not in vals) or (op == "NotIn" and labels.get(expr["key"]) in vals) \
                    or (op == "Exists" and not has) or (op == "DoesNotExist" and has):
                return False
        return True
    return False


def attach(route: dict[str, Any], ref: dict[str, Any], gateway: dict[str, Any], kind: str,
           ns_labels: dict[str, dict[str, str]]) -> tuple[list[str], str, str]:
    """(listener names the route attaches to, reason, message) for one parentRef to ``gateway``."""
    gw_ns = gateway["metadata"]["namespace"]
    route_ns = route["metadata"]["namespace"]
    listeners = (gateway.get("spec") or {}).get("listeners") or []
    section, port = ref.get("sectionName"), ref.get("port")
    candidates = [lst for lst in listeners if (not section or lst["name"] == section) and (not port or lst["port"] == port)]
    if not candidates:
        return [], "NoMatchingParent", f"no listener of Gateway {gw_ns}/{gateway['metadata']['name']} matches " + (
            f"sectionName {section!r}" if section else f"port {port}")
    admitted = [lst for lst in candidates if listener_admits(lst, gw_ns, route_ns, kind, ns_labels)]
    if not admitted:
        return [], "NotAllowedByListeners", "no listener allows routes of this kind from namespace " + route_ns
    hosts = (route.get("spec") or {}).get("hostnames") or []
    fitting = [lst for lst in admitted if _hostname_ok(lst.get("hostname"), hosts)]
    if not fitting:
        return [], "NoMatchingListenerHostname", "no listener hostname intersects the route's hostnames"
    return [lst["name"] for lst in fitting], "Accepted", "accepted by the emulated kgateway controller"


def granted(grants: list[dict[str, Any]], from_ns: str, from_kind: str, to_ns: str, to_kind: str, to_name: str) -> bool:
    """A ReferenceGrant in ``to_ns`` lets ``from_kind`` objects of ``from_ns`` refer to the target."""
    for g in grants:
        if g["metadata"]["namespace"] != to_ns:
            continue
        spec = g.get("spec") or {}
        if not any(f.get("group") == GROUP and f.get("kind") == from_kind and f.get("namespace") == from_ns
                   for f in spec.get("from") or []):
            continue
        if any((t.get("group") or "") == "" and t.get("kind") == to_kind and (not t.get("name") or t["name"] == to_name)
               for t in spec.get("to") or []):
            return True
    return False


def resolve_backend(ref: dict[str, Any], route: dict[str, Any], kind: str, services: dict[str, dict[str, Any]],
                    slices: dict[str, list[dict[str, Any]]], grants: list[dict[str, Any]]) -> dict[str, Any]:
    """A backendRef → {name, weight, endpoints: ["ip:port"], error: (reason, message) or None}."""
    route_ns = route["metadata"]["namespace"]
    ns = ref.get("namespace") or route_ns
    name = ref.get("name", "")
    out: dict[str, Any] = {"name": f"{ns}/{name}", "weight": int(ref.get("weight", 1)), "endpoints": [], "error": None}
    if (ref.get("group") or "") != "" or (ref.get("kind") or "Service") != "Service":
        out["error"] = ("InvalidKind", f"backendRef {name}: {ref.get('group') or 'core'}/{ref.get('kind')} is not supported")
        return out
    if ns != route_ns and not granted(grants, route_ns, kind, ns, "Service", name):
        out["error"] = ("RefNotPermitted", f"backendRef {ns}/{name}: no ReferenceGrant in {ns} allows it")
        return out
    svc = services.get(f"{ns}/{name}")
    if svc is None:
        out["error"] = ("BackendNotFound", f"Service {ns}/{name} not found")
        return out
    sport = next((p for p in (svc.get("spec") or {}).get("ports") or [] if p.get("port") == ref.get("port")), None)
    if sport is None:
        out["error"] = ("BackendNotFound", f"Service {ns}/{name} has no port {ref.get('port')}")
        return out
    out["endpoints"] = ready_endpoints(slices.get(f"{ns}/{name}", []), sport.get("name") or "")
    return out


def ready_endpoints(slices: list[dict[str, Any]], port_name: str) -> list[str]:
    """The ready ``ip:port`` of a Service port from its EndpointSlices (as Envoy's EDS gets them)."""
    out = []
    for s in slices:
        port = next((p.get("port") for p in s.get("ports") or [] if (p.get("name") or "") == port_name), None)
        if port is None:
            continue
        for ep in s.get("endpoints") or []:
            if (ep.get("conditions") or {}).get("ready") is False:
                continue
            out += [f"{a}:{port}" for a in ep.get("addresses") or []]
    return sorted(set(out))


def precedence_key(entry: dict[str, Any]) -> tuple[Any, ...]:
    """Gateway API's order among matches (HTTPRoute spec): Exact path, then the longest prefix/regex; a method
    match; more header matches; more query matches; the oldest route; ``namespace/name``; rule and match order."""
    m = entry["match"]
    path = m.get("path") or {"type": "PathPrefix", "value": "/"}
    kind = {"Exact": 0, "PathPrefix": 1, "RegularExpression": 2}.get(path.get("type", "PathPrefix"), 3)
    return (kind, -len(path.get("value") or ""), 0 if m.get("method") else 1, -len(m.get("headers") or []),
            -len(m.get("queryParams") or []), entry["created"], entry["route"], entry["rule"], entry["index"])


def route_entries(route: dict[str, Any], backends: list[list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """One entry per match of each rule (a rule without matches: ``PathPrefix /``), with the rule's backends."""
    out = []
    meta = route["metadata"]
    for r, rule in enumerate((route.get("spec") or {}).get("rules") or []):
        for i, match in enumerate(rule.get("matches") or [{}]):
            out.append({"route": f"{meta['namespace']}/{meta['name']}", "created": meta.get("creationTimestamp", ""),
                        "rule": r, "index": i, "match": match, "hostnames": (route.get("spec") or {}).get("hostnames") or [],
                        "backends": [{k: b[k] for k in ("name", "weight", "endpoints")} | {"invalid": bool(b["error"])}
                                     for b in backends[r]]})
    return out


def _value_matches(spec: dict[str, Any], value: str | None) -> bool:
    if value is None:
        return False
    if spec.get("type") == "RegularExpression":
        return re.fullmatch(spec.get("value", ""), value) is not None
    return value == spec.get("value")


def path_matches(spec: dict[str, Any] | None, path: str) -> bool:
    spec = spec or {"type": "PathPrefix", "value": "/"}
    value = spec.get("value") or "/"
    kind = spec.get("type", "PathPrefix")
    if kind == "Exact":
        return path == value
    if kind == "RegularExpression":
        return re.fullmatch(value, path) is not None
    prefix = value.rstrip("/")
    return prefix == "" or path == prefix or path.startswith(prefix + "/")


def request_matches(entry: dict[str, Any], method: str, path: str, query: dict[str, str], headers: dict[str, str],
                    host: str, ignore_headers: bool = False) -> bool:
    if entry.get("hostnames") and not any(_host_intersect(h, host) for h in entry["hostnames"]):
        return False
    m = entry["match"]
    if not path_matches(m.get("path"), path):
        return False
    if m.get("method") and m["method"] != method:
        return False
    if not ignore_headers and not all(_value_matches(h, headers.get(h["name"].lower())) for h in m.get("headers") or []):
        return False
    return all(_value_matches(q, query.get(q["name"])) for q in m.get("queryParams") or [])


def pick(backends: list[dict[str, Any]], rng: random.Random) -> dict[str, Any] | None:
    """A backend at random by weight (weight 0: never); None when every weight is 0."""
    live = [b for b in backends if int(b.get("weight", 1)) > 0]
    if not live:
        return None
    return rng.choices(live, weights=[int(b.get("weight", 1)) for b in live])[0]


# -- controller ------------------------------------------------------------------------------------------------
class Kube:
    """Raw JSON requests with the pod's in-cluster credentials (the kubernetes client's configuration)."""

    def __init__(self) -> None:
        from kubernetes import client, config
        from kubernetes.config.incluster_config import InClusterConfigLoader

        from aiconform.labcluster.programs import pod_path

        sa = "/var/run/secrets/kubernetes.io/serviceaccount"
        try:
            InClusterConfigLoader(token_filename=pod_path(f"{sa}/token"), cert_filename=pod_path(f"{sa}/ca.crt")).load_and_set()
        except config.ConfigException:
            config.load_kube_config()
        self.api = client.ApiClient()
        self.exc = client.exceptions.ApiException

    def call(self, method: str, path: str, body: Any = None, content_type: str = "application/json") -> Any:
        from urllib.parse import parse_qsl

        resource, _, query = path.partition("?")
        headers = {"Accept": "application/json", **({"Content-Type": content_type} if body is not None else {})}
        m, url, h, b, post = self.api.param_serialize(method, resource, query_params=parse_qsl(query) or None,
                                                      header_params=headers, body=body, auth_settings=["BearerToken"])
        response = self.api.call_api(m, url, h, b, post, _request_timeout=30)
        response.read()
        return self.api.response_deserialize(response, {"2XX": "object"}).data

    def items(self, path: str) -> list[dict[str, Any]]:
        try:
            return list(self.call("GET", path).get("items") or [])
        except self.exc as exc:
            if exc.status == 404:  # a CRD not installed (ReferenceGrant): none
                return []
            raise

    def apply(self, path: str, name: str, obj: dict[str, Any]) -> bool:
        """Create, or update the spec/data when it differs (our own objects); whether anything was written."""
        try:
            cur = self.call("GET", f"{path}/{name}")
        except self.exc as exc:
            if exc.status != 404:
                raise
            self.call("POST", path, obj)
            return True
        fields = [k for k in ("spec", "data", "metadata") if k in obj]
        patch = {k: obj[k] for k in fields if k != "metadata"}
        patch["metadata"] = {"labels": obj["metadata"].get("labels", {})}
        if any(_differs(obj.get(k), cur.get(k)) for k in fields):
            self.call("PATCH", f"{path}/{name}", patch, "application/merge-patch+json")
            return True
        return False


def _differs(want: Any, have: Any) -> bool:
    """Whether ``want``'s fields are not all in ``have`` (the server adds defaults)."""
    if isinstance(want, dict):
        return not isinstance(have, dict) or any(_differs(v, have.get(k)) for k, v in want.items())
    if isinstance(want, list):
        return not isinstance(have, list) or len(want) != len(have) or any(_differs(a, b) for a, b in zip(want, have, strict=True))
    return want != have


def proxy_objects(gw: dict[str, Any], image: str, config: dict[str, Any], fault: str = "") -> dict[str, dict[str, Any]]:
    """The proxy's ConfigMap, Deployment and Service for a Gateway, as kgateway's deployer names them."""
    meta = gw["metadata"]
    name, ns = meta["name"], meta["namespace"]
    labels = {"app.kubernetes.io/name": name, "app.kubernetes.io/instance": name, "kgateway": "kube-gateway",
              "gateway.networking.k8s.io/gateway-name": name,
              "gateway.networking.k8s.io/gateway-class-name": gw["spec"]["gatewayClassName"]}
    owner = [{"apiVersion": f"{GROUP}/v1", "kind": "Gateway", "name": name, "uid": meta["uid"], "controller": True,
              "blockOwnerDeletion": True}]
    ports = sorted({int(lst["port"]) for lst in gw["spec"].get("listeners") or []})
    cm = {"apiVersion": "v1", "kind": "ConfigMap",
          "metadata": {"name": f"{name}-xds", "namespace": ns, "labels": labels, "ownerReferences": owner},
          "data": {CONFIG_FILE: json.dumps(config, sort_keys=True, indent=1)}}
    dep = {"apiVersion": "apps/v1", "kind": "Deployment",
           "metadata": {"name": name, "namespace": ns, "labels": labels, "ownerReferences": owner},
           "spec": {"replicas": 1, "selector": {"matchLabels": {"app.kubernetes.io/name": name,
                                                                "app.kubernetes.io/instance": name,
                                                                "gateway.networking.k8s.io/gateway-name": name}},
                    "template": {"metadata": {"labels": labels}, "spec": {
                        "terminationGracePeriodSeconds": 1,
                        "tolerations": [{"operator": "Exists"}],
                        "containers": [{"name": "kgateway-proxy", "image": image,
                                        **({"env": [{"name": FAULT_ENV, "value": fault}]} if fault else {}),
                                        "ports": [{"name": f"listener-{p}", "containerPort": p} for p in ports],
                                        "volumeMounts": [{"name": "xds", "mountPath": CONFIG_DIR}]}],
                        "volumes": [{"name": "xds", "configMap": {"name": f"{name}-xds"}}]}}}}
    svc = {"apiVersion": "v1", "kind": "Service",
           "metadata": {"name": name, "namespace": ns, "labels": labels, "ownerReferences": owner},
           "spec": {"type": "LoadBalancer", "selector": dep["spec"]["selector"]["matchLabels"],
                    "ports": [{"name": f"listener-{p}", "port": p, "targetPort": p, "protocol": "TCP"} for p in ports]}}
    return {"configmaps": cm, "deployments": dep, "services": svc}


def _answers(ip: str, port: int) -> bool:
    try:
        with socket.create_connection((ip, port), timeout=0.5):
            return True
    except OSError:
        return False


class Controller:
    def __init__(self, kube: Kube, image: str) -> None:
        self.kube, self.image = kube, image

    def say(self, msg: str) -> None:
        print(f"{now()} {msg}", flush=True)

    def reconcile(self) -> None:
        k = self.kube
        classes = {c["metadata"]["name"]: c for c in k.items(f"/apis/{GROUP}/v1/gatewayclasses")
                   if (c.get("spec") or {}).get("controllerName") == CONTROLLER_NAME}
        for c in classes.values():
            conds = keep_transitions([condition("Accepted", True, "Accepted", "accepted by the emulated kgateway controller",
                                                c["metadata"].get("generation", 1))], (c.get("status") or {}).get("conditions"))
            if _differs(conds, (c.get("status") or {}).get("conditions")):
                k.call("PATCH", f"/apis/{GROUP}/v1/gatewayclasses/{c['metadata']['name']}/status",
                       {"status": {"conditions": conds}}, "application/merge-patch+json")
                self.say(f"GatewayClass {c['metadata']['name']}: Accepted")
        gateways = [g for g in k.items(f"/apis/{GROUP}/v1/gateways") if g["spec"].get("gatewayClassName") in classes
                    and not g["metadata"].get("deletionTimestamp")]
        if not gateways:
            return
        routes = k.items(f"/apis/{GROUP}/v1/httproutes")
        grants = k.items(f"/apis/{GROUP}/v1beta1/referencegrants")
        services = {f"{s['metadata']['namespace']}/{s['metadata']['name']}": s for s in k.items("/api/v1/services")}
        slices: dict[str, list[dict[str, Any]]] = {}
        for s in k.items("/apis/discovery.k8s.io/v1/endpointslices"):
            svc = (s["metadata"].get("labels") or {}).get("kubernetes.io/service-name")
            if svc:
                slices.setdefault(f"{s['metadata']['namespace']}/{svc}", []).append(s)
        namespaces = k.items("/api/v1/namespaces")
        ns_labels = {n["metadata"]["name"]: n["metadata"].get("labels") or {} for n in namespaces}
        # a namespace being deleted refuses new objects: its Gateways are left alone (they go with it)
        terminating = {n["metadata"]["name"] for n in namespaces if (n.get("status") or {}).get("phase") == "Terminating"}
        by_key = {f"{g['metadata']['namespace']}/{g['metadata']['name']}": g for g in gateways
                  if g["metadata"]["namespace"] not in terminating}
        attached: dict[str, dict[str, list[dict[str, Any]]]] = {key: {} for key in by_key}
        # one object's failure must not stop the others' reconciliation (as a controller's work queue)
        for route in routes:
            if route["metadata"]["namespace"] in terminating:
                continue
            try:
                self.route_status(route, by_key, attached, services, slices, grants, ns_labels)
            except Exception as exc:  # noqa: BLE001 - logged, retried next round
                self.say(f"HTTPRoute {route['metadata']['namespace']}/{route['metadata']['name']}: "
                         f"{type(exc).__name__}: {str(exc)[:300]}")
        for key, gw in by_key.items():
            try:
                self.gateway(gw, attached[key])
            except Exception as exc:  # noqa: BLE001 - logged, retried next round
                self.say(f"Gateway {key}: {type(exc).__name__}: {str(exc)[:300]}")

    def route_status(self, route: dict[str, Any], by_key: dict[str, dict[str, Any]],
                     attached: dict[str, dict[str, list[dict[str, Any]]]], services: dict[str, dict[str, Any]],
                     slices: dict[str, list[dict[str, Any]]], grants: list[dict[str, Any]],
                     ns_labels: dict[str, dict[str, str]]) -> None:
        meta = route["metadata"]
        ours = []
        backends = [[resolve_backend(ref, route, "HTTPRoute", services, slices, grants) for ref in rule.get("backendRefs") or []]
                    for rule in (route.get("spec") or {}).get("rules") or []]
        errors = [b["error"] for rule in backends for b in rule if b["error"]]
        for ref in (route.get("spec") or {}).get("parentRefs") or []:
            if (ref.get("group") or GROUP) != GROUP or (ref.get("kind") or "Gateway") != "Gateway":
                continue
            key = f"{ref.get('namespace') or meta['namespace']}/{ref['name']}"
            gw = by_key.get(key)
            if gw is None:
                continue
            names, reason, message = attach(route, ref, gw, "HTTPRoute", ns_labels)
            for lst in names:
                attached[key].setdefault(lst, []).extend(route_entries(route, backends))
            gen = meta.get("generation", 1)
            conds = [condition("Accepted", bool(names), reason, message, gen),
                     condition("ResolvedRefs", not errors, errors[0][0] if errors else "ResolvedRefs",
                               "; ".join(e[1] for e in errors) if errors else "all backendRefs resolved", gen)]
            ours.append({"parentRef": ref, "controllerName": CONTROLLER_NAME, "conditions": conds})
        if not ours:
            return
        old = (route.get("status") or {}).get("parents") or []
        others = [p for p in old if p.get("controllerName") != CONTROLLER_NAME]
        mine_before = {json.dumps(p.get("parentRef"), sort_keys=True): p for p in old if p.get("controllerName") == CONTROLLER_NAME}
        for p in ours:
            prev = mine_before.get(json.dumps(p["parentRef"], sort_keys=True))
            p["conditions"] = keep_transitions(p["conditions"], (prev or {}).get("conditions"))
        parents = others + ours
        if _differs(parents, old) or len(parents) != len(old):
            self.kube.call("PATCH", f"/apis/{GROUP}/v1/namespaces/{meta['namespace']}/httproutes/{meta['name']}/status",
                           {"status": {"parents": parents}}, "application/merge-patch+json")
            self.say(f"HTTPRoute {meta['namespace']}/{meta['name']}: " + "; ".join(
                ", ".join(f"{c['type']}={c['status']} ({c['reason']})" for c in p["conditions"]) for p in ours))

    def gateway(self, gw: dict[str, Any], attached: dict[str, list[dict[str, Any]]]) -> None:
        k, meta = self.kube, gw["metadata"]
        ns, name, gen = meta["namespace"], meta["name"], meta.get("generation", 1)
        listeners = gw["spec"].get("listeners") or []
        config = {"gateway": f"{ns}/{name}", "listeners": [
            {"name": lst["name"], "port": int(lst["port"]), "protocol": lst.get("protocol"), "hostname": lst.get("hostname"),
             "routes": sorted(attached.get(lst["name"], []), key=precedence_key)}
            for lst in listeners if lst.get("protocol") == "HTTP"]}
        objs = proxy_objects(gw, self.image, config, os.environ.get(FAULT_ENV, ""))
        if k.apply(f"/api/v1/namespaces/{ns}/configmaps", f"{name}-xds", objs["configmaps"]):
            self.say(f"Gateway {ns}/{name}: configuration written: " + "; ".join(
                f"{lst['name']}: " + ", ".join(f"{b['name']}={len(b['endpoints'])}" for e in lst["routes"]
                                               for b in e["backends"]) for lst in config["listeners"]))
        k.apply(f"/apis/apps/v1/namespaces/{ns}/deployments", name, objs["deployments"])
        k.apply(f"/api/v1/namespaces/{ns}/services", name, objs["services"])
        sel = ",".join(f"{a}={b}" for a, b in objs["deployments"]["spec"]["selector"]["matchLabels"].items())
        pods = [p for p in k.items(f"/api/v1/namespaces/{ns}/pods?labelSelector={sel}")
                if (p.get("status") or {}).get("phase") == "Running" and (p.get("status") or {}).get("podIP")
                and not p["metadata"].get("deletionTimestamp")]
        ports = [c["port"] for c in config["listeners"]]
        serving = [p for p in pods if ports and all(_answers(p["status"]["podIP"], port) for port in ports)]
        unsupported = [lst["name"] for lst in listeners if lst.get("protocol") != "HTTP"]
        if serving:
            programmed = condition("Programmed", True, "Programmed", "the proxy answers on every listener port", gen)
        else:
            programmed = condition("Programmed", False, "AddressNotAssigned" if not pods else "Pending",
                                   "waiting for a proxy pod" if not pods else "the proxy does not answer yet", gen)
        old = gw.get("status") or {}
        old_listeners = {lst.get("name"): lst for lst in old.get("listeners") or []}
        status = {
            "conditions": keep_transitions([condition("Accepted", True, "Accepted", "accepted by the emulated kgateway "
                                                      "controller", gen), programmed], old.get("conditions")),
            "addresses": [{"type": "IPAddress", "value": p["status"]["podIP"]} for p in serving[:1]],
            "listeners": [{
                "name": lst["name"],
                "supportedKinds": [{"group": GROUP, "kind": kd} for kd in ROUTE_KINDS.get(lst.get("protocol", ""), [])],
                "attachedRoutes": len({e["route"] for e in attached.get(lst["name"], [])}),
                "conditions": keep_transitions([
                    condition("Accepted", lst["name"] not in unsupported,
                              "UnsupportedProtocol" if lst["name"] in unsupported else "Accepted",
                              "the emulated proxy serves HTTP only" if lst["name"] in unsupported else "", gen),
                    condition("Programmed", bool(serving) and lst["name"] not in unsupported,
                              "Programmed" if serving else "Pending", "", gen),
                    condition("ResolvedRefs", True, "ResolvedRefs", "", gen),
                    condition("Conflicted", False, "NoConflicts", "", gen)],
                    (old_listeners.get(lst["name"]) or {}).get("conditions"))} for lst in listeners]}
        if _differs(status, old) or len(status["addresses"]) != len(old.get("addresses") or []):
            k.call("PATCH", f"/apis/{GROUP}/v1/namespaces/{ns}/gateways/{name}/status",
                   {"status": status}, "application/merge-patch+json")
            self.say(f"Gateway {ns}/{name}: Programmed={programmed['status']} ({programmed['reason']}) addresses "
                     f"{[a['value'] for a in status['addresses']]}")


def proxy_image() -> str:
    """The envoy_wrapper image beside the controller's (kgateway's chart: ``image.registry`` and ``image.tag``)."""
    registry = os.environ.get("KGW_DEFAULT_IMAGE_REGISTRY", "cr.kgateway.dev/kgateway-dev")
    tag = os.environ.get("KGW_DEFAULT_IMAGE_TAG", "")
    if not tag:
        from aiconform import versions
        tag = str(versions.get("kgateway.images.envoy_wrapper.tag"))
    return f"{registry}/envoy-wrapper:{tag}"


def controller_main() -> int:
    kube = Kube()
    ctl = Controller(kube, proxy_image())
    ctl.say(f"emulated kgateway controller ({CONTROLLER_NAME}); proxy image {ctl.image}")
    stop = threading.Event()
    import signal
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    while not stop.is_set():
        try:
            ctl.reconcile()
        except Exception as exc:  # noqa: BLE001 - a controller logs and retries
            ctl.say(f"reconcile failed: {type(exc).__name__}: {str(exc)[:500]}")
        stop.wait(1.0)
    return 0


# -- proxy -------------------------------------------------------------------------------------------------------
class Config:
    """The proxy's configuration file, read again when it changes (a ConfigMap volume is replaced, not edited)."""

    def __init__(self, path: str) -> None:
        self.path, self.stamp, self.data = path, None, {"listeners": []}
        self.lock = threading.Lock()

    def get(self) -> dict[str, Any]:
        with self.lock:
            try:
                st = os.stat(self.path)
                stamp = (st.st_mtime_ns, st.st_size, st.st_ino)
                if stamp != self.stamp:
                    with open(self.path, encoding="utf-8") as fh:
                        self.data = json.load(fh)
                    self.stamp = stamp
                    print("configuration loaded: " + ", ".join(
                        f"{b['name']}={len(b['endpoints'])}" for lst in self.data.get("listeners") or []
                        for e in lst.get("routes") or [] for b in e.get("backends") or []), flush=True)
            except (OSError, ValueError):
                pass
            return self.data


def proxy_main() -> int:
    import http.client
    from http.server import BaseHTTPRequestHandler
    from urllib.parse import parse_qsl, urlsplit

    from aiconform.labcluster.programs import pod_path
    from aiconform.labcluster.programs.agnhost import _Server

    cfg = Config(pod_path(f"{CONFIG_DIR}/{CONFIG_FILE}"))
    fault = os.environ.get(FAULT_ENV, "")
    ignore_headers = fault == "ignore-headers"
    drop_header_rules = fault == "drop-header-rules"
    rng = random.Random()
    hop = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "te", "trailer"}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def answer(self, code: int, text: str) -> None:
            body = text.encode()
            self.send_response(code)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def handle_any(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else None
            u = urlsplit(self.path)
            headers = {k.lower(): v for k, v in self.headers.items()}
            host = (headers.get("host") or "").split(":")[0]
            port = self.server.server_address[1]
            listener = next((lst for lst in cfg.get().get("listeners") or [] if lst["port"] == port), None)
            entry = next((e for e in (listener or {}).get("routes") or []
                          if not (drop_header_rules and e["match"].get("headers")) and request_matches(
                e, self.command, u.path or "/", dict(parse_qsl(u.query)), headers, host, ignore_headers)), None)
            if entry is None:
                self.answer(404, "route not found")
                return
            backend = pick(entry["backends"], rng)
            if backend is None or backend.get("invalid"):
                self.answer(500, "backend not resolved")
                return
            if not backend["endpoints"]:
                self.answer(503, "no healthy upstream")
                return
            ip, _, bport = rng.choice(backend["endpoints"]).rpartition(":")
            conn = http.client.HTTPConnection(ip, int(bport), timeout=10)
            try:
                fwd = {k: v for k, v in self.headers.items() if k.lower() not in hop}
                conn.request(self.command, self.path, body=body, headers=fwd)
                resp = conn.getresponse()
                data = resp.read()
            except (OSError, http.client.HTTPException) as exc:
                self.answer(503, f"upstream connect error or disconnect/reset before headers: {exc}")
                return
            finally:
                conn.close()
            self.send_response(resp.status)
            for k, v in resp.getheaders():
                if k.lower() not in hop and k.lower() != "content-length":
                    self.send_header(k, v)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = handle_any  # noqa: N815

        def log_message(self, fmt: str, *args: Any) -> None:
            print(f"{self.command} {self.path} {args[1] if len(args) > 1 else ''}", flush=True)

    servers: dict[int, Any] = {}
    print(f"emulated Envoy data plane: configuration {cfg.path}"
          + (f" (lab fault: {fault})" if fault else ""), flush=True)
    import signal
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    while not stop.is_set():  # listeners follow the configuration (as Envoy's LDS)
        for lst in cfg.get().get("listeners") or []:
            if lst["port"] not in servers:
                server = _Server(("0.0.0.0", lst["port"]), Handler)  # noqa: S104 - the pod's own namespace
                threading.Thread(target=server.serve_forever, daemon=True).start()
                servers[lst["port"]] = server
                print(f"listening on :{lst['port']} ({lst['name']})", flush=True)
        stop.wait(0.5)
    return 0


def main(argv: list[str]) -> int:
    if argv[:1] == ["proxy"]:
        return proxy_main()
    if argv[:1] == ["controller"]:
        return controller_main()
    print("usage: gateway controller|proxy", file=sys.stderr)
    return 2
