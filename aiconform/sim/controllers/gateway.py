"""Gateway API controller (kgateway / agentgateway as the reference stack runs them), plus the traffic an
in-cluster client sees through a Gateway.

Status, following the Gateway API spec and the shapes kgateway writes (AICR inference-gateway.md):
- GatewayClass whose ``spec.controllerName`` this controller serves: ``Accepted=True`` and
  ``SupportedVersion=True`` (reasons equal to the types, as kgateway writes them).
- Gateway of such a class: a LoadBalancer Service named after the Gateway (kgateway provisions one); the
  Gateway is ``Accepted=True`` at once and ``Programmed=True`` with ``status.addresses`` once the Service has a
  load-balancer address, else ``Programmed=False/AddressNotAssigned`` (switch the ``loadbalancer`` controller
  off to see that). Listener status: Accepted, Conflicted=False/NoConflicts, ResolvedRefs, Programmed,
  supportedKinds and attachedRoutes.
- HTTPRoute parents that are such Gateways: ``status.parents[]`` with ``controllerName`` and
  ``Accepted`` (False/NotAllowedByListeners or NoMatchingParent when the listener refuses it) and
  ``ResolvedRefs`` (False/BackendNotFound for a missing Service or InferencePool, InvalidKind for a kind the
  class does not route to, RefNotPermitted for a cross-namespace ref without a ReferenceGrant).
- InferencePool (``inference.networking.k8s.io/v1``) referenced by an accepted HTTPRoute of an
  inference-capable class (agentgateway): ``status.parents[]`` with Accepted and ResolvedRefs
  (False/InvalidExtensionRef when the endpointPickerRef Service is missing).

Traffic: a pod labelled ``aiconform.io/probe: gateway-client`` stands for a curl loop (the verifiers'
client manifests). When it starts, each of its requests is routed from the *current* objects: host →
Gateway (status address, Service DNS name or ClusterIP), port → listener, attached routes' rules matched
with the spec's precedence (path, method, header count, query count, route age, rule order), a weighted
backend pick with an RNG seeded per request, and a Ready endpoint of the Service/InferencePool. The
endpoint's answer follows its image (and for llm-d decode pods, a prefill pod of the namespace also logs the
request id, as the P/D sidecar forwards the prompt there first): agnhost ``netexec`` returns its hostname on ``/hostname``; the
llm-d inference simulator answers ``POST /v1/completions`` with a completion JSON. The resulting RESULT lines
are the pod's log (served through the log producer registered below).

Broken behaviours for negative tests, as annotation ``sim.aiconform.io/gateway-behaviour`` on the
GatewayClass, or on a ConfigMap ``gateway-sim-faults`` in any namespace (every served class; the
``broken-gateway-*`` scenarios): ``ignore-weights`` (every backendRef equally likely) or ``ignore-headers``
(rules with header matches never match: header routing unsupported).
"""
from __future__ import annotations

import copy
import hashlib
import json
import random
import re
import uuid
from typing import Any

from aiconform.sim.api import Cluster, owner_ref
from aiconform.sim.controllers.common import auto_ready, pod_ready, set_condition
from aiconform.sim.logs import register_producer
from aiconform.sim.selectors import match_label_selector_obj

Obj = dict[str, Any]
GW = "gateway.networking.k8s.io"
GIE = "inference.networking.k8s.io"
BEHAVIOUR = "sim.aiconform.io/gateway-behaviour"
FAULTS_CONFIGMAP = "gateway-sim-faults"
CLIENT_LABEL = ("aiconform.io/probe", "gateway-client")
ROLE_LABEL = "llm-d.ai/role"  # llm-d's prefill/decode role label
# controllerName → whether the implementation routes to InferencePools (kgateway ≥ 2.2 left GIE to agentgateway)
# Istio's and Cilium's controllers (their controllerName values) are served with the same status and traffic
# emulation, so a platform using them instead of the reference stack can be simulated; Istio routes to
# InferencePools (with its Inference Extension support enabled), Cilium does not.
SERVED: dict[str, dict[str, bool]] = {
    "kgateway.dev/kgateway": {"inference": False},
    "agentgateway.dev/agentgateway": {"inference": True},
    "istio.io/gateway-controller": {"inference": True},
    "io.cilium/gateway-controller": {"inference": False},
}
_CLIENT_LOGS: dict[str, str] = {}  # pod uid → log text, computed when the client pod starts


# ---- status -----------------------------------------------------------------------------------------
def _conds(old: list[dict[str, Any]] | None, entries: list[tuple[str, str, str, str]], generation: int) -> list[dict[str, Any]]:
    out = [dict(c) for c in old or []]
    for ctype, status, reason, message in entries:
        out = set_condition(out, ctype, status, reason, message)
    for c in out:
        c["observedGeneration"] = generation
    return out


def _classes(c: Cluster) -> dict[str, Obj]:
    return {gc["metadata"]["name"]: gc for gc in c.objects(GW, "gatewayclasses")}


def _served_class(classes: dict[str, Obj], name: str) -> Obj | None:
    gc = classes.get(name)
    if gc is None or (gc.get("spec") or {}).get("controllerName") not in SERVED:
        return None
    return gc


def _accepted(obj: Obj | None) -> bool:
    return any(x.get("type") == "Accepted" and x.get("status") == "True"
               for x in ((obj or {}).get("status") or {}).get("conditions") or [])


def sync(c: Cluster, mgr: Any) -> None:
    if c.registry.get(GW, "gatewayclasses") is None:
        return
    _sync_classes(c)
    classes = _classes(c)
    if c.registry.get(GW, "gateways") is not None:
        for gw in c.objects(GW, "gateways"):
            _sync_gateway(c, gw, classes)
    if c.registry.get(GW, "httproutes") is not None:
        for route in c.objects(GW, "httproutes"):
            _sync_route(c, route, classes)
        if c.registry.get(GW, "gateways") is not None:
            for gw in c.objects(GW, "gateways"):
                _sync_attached(c, gw, classes)
    if c.registry.get(GIE, "inferencepools") is not None:
        for pool in c.objects(GIE, "inferencepools"):
            _sync_pool(c, pool, classes)
    _serve_clients(c, classes)


def _sync_classes(c: Cluster) -> None:
    rd = c.rd(GW, "gatewayclasses")
    for gc in c.objects(GW, "gatewayclasses"):
        if (gc.get("spec") or {}).get("controllerName") not in SERVED or not auto_ready(gc):
            continue
        gen = gc["metadata"].get("generation", 1)
        old = (gc.get("status") or {}).get("conditions")
        conds = _conds(old, [("Accepted", "True", "Accepted", ""), ("SupportedVersion", "True", "SupportedVersion", "")], gen)
        c.update_status(rd, gc, {**(gc.get("status") or {}), "conditions": conds})


def _gateway_service(c: Cluster, gw: Obj) -> Obj:
    ns, name = gw["metadata"]["namespace"], gw["metadata"]["name"]
    svc = c.find("", "services", ns, name)
    if svc is None:
        ports = [{"name": lst.get("name", f"port-{lst.get('port')}"), "port": int(lst.get("port", 80)),
                  "targetPort": 8080 + i, "protocol": "TCP"} for i, lst in enumerate((gw.get("spec") or {}).get("listeners") or [])]
        svc = c.create(c.rd("", "services"), ns, {
            "apiVersion": "v1", "kind": "Service",
            "metadata": {"name": name, "labels": {"gateway.networking.k8s.io/gateway-name": name},
                         "ownerReferences": [owner_ref(gw)]},
            "spec": {"type": "LoadBalancer", "selector": {"gateway.networking.k8s.io/gateway-name": name},
                     "ports": ports or [{"name": "http", "port": 80, "targetPort": 8080, "protocol": "TCP"}]}})
    return svc


def _sync_gateway(c: Cluster, gw: Obj, classes: dict[str, Obj]) -> None:
    gc = _served_class(classes, (gw.get("spec") or {}).get("gatewayClassName", ""))
    if gc is None or not _accepted(gc) or gw["metadata"].get("deletionTimestamp"):
        return
    svc = _gateway_service(c, gw)
    ingress = ((svc.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
    addresses = [{"type": "Hostname", "value": i["hostname"]} if i.get("hostname") else
                 {"type": "IPAddress", "value": i["ip"]} for i in ingress if i.get("ip") or i.get("hostname")]
    programmed = bool(addresses)
    gen = gw["metadata"].get("generation", 1)
    status = copy.deepcopy(gw.get("status") or {})
    prog = ("Programmed", "True", "Programmed", "") if programmed else \
        ("Programmed", "False", "AddressNotAssigned", "No addresses have been assigned to the Gateway")
    status["conditions"] = _conds(status.get("conditions"), [("Accepted", "True", "Accepted", ""), prog], gen)
    if addresses:
        status["addresses"] = addresses
    old_listeners = {x.get("name"): x for x in status.get("listeners") or []}
    listeners = []
    for lst in (gw.get("spec") or {}).get("listeners") or []:
        prev = old_listeners.get(lst.get("name"), {})
        listeners.append({
            "name": lst.get("name"), "attachedRoutes": prev.get("attachedRoutes", 0),
            "supportedKinds": [{"group": GW, "kind": "HTTPRoute"}],
            "conditions": _conds(prev.get("conditions"), [
                ("Accepted", "True", "Accepted", ""), ("Conflicted", "False", "NoConflicts", ""),
                ("ResolvedRefs", "True", "ResolvedRefs", ""), prog], gen)})
    status["listeners"] = listeners
    c.update_status(c.rd(GW, "gateways"), gw, status)


def _listener_allows(gw: Obj, lst: dict[str, Any], route: Obj, c: Cluster) -> bool:
    frm = (((lst.get("allowedRoutes") or {}).get("namespaces") or {}).get("from") or "Same")
    rns = route["metadata"]["namespace"]
    if frm == "All":
        return True
    if frm == "Same":
        return rns == gw["metadata"]["namespace"]
    if frm == "Selector":
        ns = c.find("", "namespaces", "", rns) or {}
        sel = ((lst.get("allowedRoutes") or {}).get("namespaces") or {}).get("selector")
        return match_label_selector_obj(sel, (ns.get("metadata") or {}).get("labels") or {})
    return False


def _parent_gateway(c: Cluster, route: Obj, ref: dict[str, Any]) -> Obj | None:
    if ref.get("group", GW) != GW or ref.get("kind", "Gateway") != "Gateway":
        return None
    return c.find(GW, "gateways", ref.get("namespace") or route["metadata"]["namespace"], ref.get("name", ""))


def _ref_permitted(c: Cluster, route: Obj, ref: dict[str, Any], kind: str, group: str) -> bool:
    """Cross-namespace backendRefs need a ReferenceGrant in the target namespace."""
    rns = route["metadata"]["namespace"]
    tns = ref.get("namespace") or rns
    if tns == rns:
        return True
    if c.registry.get(GW, "referencegrants") is None:
        return False
    for grant in c.objects(GW, "referencegrants", tns):
        spec = grant.get("spec") or {}
        frm = any(f.get("group") == GW and f.get("kind") == "HTTPRoute" and f.get("namespace") == rns
                  for f in spec.get("from") or [])
        to = any(t.get("group", "") == group and t.get("kind") == kind and t.get("name", ref.get("name")) == ref.get("name")
                 for t in spec.get("to") or [])
        if frm and to:
            return True
    return False


def _resolve_refs(c: Cluster, route: Obj, inference: bool) -> tuple[str, str, str]:
    """ResolvedRefs for the route's backendRefs: (status, reason, message)."""
    for rule in (route.get("spec") or {}).get("rules") or []:
        for ref in rule.get("backendRefs") or []:
            group, kind = ref.get("group", ""), ref.get("kind", "Service")
            ns = ref.get("namespace") or route["metadata"]["namespace"]
            if (group, kind) == ("", "Service"):
                if not _ref_permitted(c, route, ref, kind, group):
                    return "False", "RefNotPermitted", f"backendRef to Service {ns}/{ref.get('name')} not permitted by any ReferenceGrant"
                if c.find("", "services", ns, ref.get("name", "")) is None:
                    return "False", "BackendNotFound", f'Service "{ref.get("name")}" not found'
            elif (group, kind) == (GIE, "InferencePool") and inference:
                if not _ref_permitted(c, route, ref, kind, group):
                    return "False", "RefNotPermitted", f"backendRef to InferencePool {ns}/{ref.get('name')} not permitted"
                if c.registry.get(GIE, "inferencepools") is None or c.find(GIE, "inferencepools", ns, ref.get("name", "")) is None:
                    return "False", "BackendNotFound", f'InferencePool "{ref.get("name")}" not found'
            else:
                return "False", "InvalidKind", f"unsupported backendRef kind {group or 'core'}/{kind}"
    return "True", "ResolvedRefs", ""


def _sync_route(c: Cluster, route: Obj, classes: dict[str, Obj]) -> None:
    gen = route["metadata"].get("generation", 1)
    old_parents = ((route.get("status") or {}).get("parents")) or []
    ours: dict[str, dict[str, Any]] = {}
    for ref in (route.get("spec") or {}).get("parentRefs") or []:
        gw = _parent_gateway(c, route, ref)
        gc = _served_class(classes, ((gw or {}).get("spec") or {}).get("gatewayClassName", "")) if gw else None
        if gw is None or gc is None or not _accepted(gc):
            continue
        controller = gc["spec"]["controllerName"]
        listeners = [lst for lst in (gw.get("spec") or {}).get("listeners") or []
                     if not ref.get("sectionName") or lst.get("name") == ref.get("sectionName")]
        if ref.get("port"):
            listeners = [lst for lst in listeners if int(lst.get("port", 0)) == int(ref["port"])]
        if not listeners:
            accepted = ("Accepted", "False", "NoMatchingParent", "no listener matches the parentRef")
        elif not any(_listener_allows(gw, lst, route, c) for lst in listeners):
            accepted = ("Accepted", "False", "NotAllowedByListeners", "the listener does not allow routes from this namespace")
        else:
            accepted = ("Accepted", "True", "Accepted", "")
        resolved = ("ResolvedRefs", *_resolve_refs(c, route, SERVED[controller]["inference"]))
        prev = next((p for p in old_parents if p.get("parentRef") == ref and p.get("controllerName") == controller), {})
        ours[json.dumps(ref, sort_keys=True)] = {"parentRef": copy.deepcopy(ref), "controllerName": controller,
                                                 "conditions": _conds(prev.get("conditions"), [accepted, resolved], gen)}
    if not ours:
        return
    keep = [p for p in old_parents if p.get("controllerName") not in SERVED]
    status = {**(route.get("status") or {}), "parents": keep + list(ours.values())}
    c.update_status(c.rd(GW, "httproutes"), route, status)


def _route_accepted_by(route: Obj, gw: Obj) -> list[dict[str, Any]]:
    """The route's parentRefs to this Gateway whose status entry says Accepted=True."""
    out = []
    for p in ((route.get("status") or {}).get("parents")) or []:
        ref = p.get("parentRef") or {}
        if ref.get("name") != gw["metadata"]["name"] or (ref.get("namespace") or route["metadata"]["namespace"]) != gw["metadata"]["namespace"]:
            continue
        if any(x.get("type") == "Accepted" and x.get("status") == "True" for x in p.get("conditions") or []):
            out.append(ref)
    return out


def _sync_attached(c: Cluster, gw: Obj, classes: dict[str, Obj]) -> None:
    if _served_class(classes, (gw.get("spec") or {}).get("gatewayClassName", "")) is None:
        return
    status = copy.deepcopy(gw.get("status") or {})
    if not status.get("listeners"):
        return
    routes = c.objects(GW, "httproutes")
    for lst in status["listeners"]:
        n = 0
        for route in routes:
            if any(not ref.get("sectionName") or ref["sectionName"] == lst.get("name") for ref in _route_accepted_by(route, gw)):
                n += 1
        lst["attachedRoutes"] = n
    c.update_status(c.rd(GW, "gateways"), gw, status)


def _sync_pool(c: Cluster, pool: Obj, classes: dict[str, Obj]) -> None:
    ns, name = pool["metadata"]["namespace"], pool["metadata"]["name"]
    gen = pool["metadata"].get("generation", 1)
    old = {json.dumps(p.get("parentRef"), sort_keys=True): p for p in ((pool.get("status") or {}).get("parents")) or []}
    parents = []
    epp = (pool.get("spec") or {}).get("endpointPickerRef") or {}
    if epp and epp.get("kind", "Service") == "Service" and c.find("", "services", ns, epp.get("name", "")) is None:
        resolved = ("ResolvedRefs", "False", "InvalidExtensionRef", f'Service "{epp.get("name")}" not found')
    else:
        resolved = ("ResolvedRefs", "True", "ResolvedRefs", "")
    seen: set[str] = set()
    for route in c.objects(GW, "httproutes"):
        refs = [r for rule in (route.get("spec") or {}).get("rules") or [] for r in rule.get("backendRefs") or []
                if r.get("group") == GIE and r.get("kind") == "InferencePool" and r.get("name") == name
                and (r.get("namespace") or route["metadata"]["namespace"]) == ns]
        if not refs:
            continue
        for p in ((route.get("status") or {}).get("parents")) or []:
            ref = p.get("parentRef") or {}
            gw = _parent_gateway(c, route, ref)
            gc = _served_class(classes, ((gw or {}).get("spec") or {}).get("gatewayClassName", "")) if gw else None
            if gw is None or gc is None or not SERVED[gc["spec"]["controllerName"]]["inference"]:
                continue
            pref = {"group": GW, "kind": "Gateway", "name": gw["metadata"]["name"], "namespace": gw["metadata"]["namespace"]}
            key = json.dumps(pref, sort_keys=True)
            if key in seen:
                continue
            seen.add(key)
            route_ok = any(x.get("type") == "Accepted" and x.get("status") == "True" for x in p.get("conditions") or [])
            accepted = ("Accepted", "True", "Accepted", "") if route_ok else \
                ("Accepted", "False", "HTTPRouteNotAccepted", "the HTTPRoute referencing this pool is not accepted")
            parents.append({"parentRef": pref, "conditions": _conds((old.get(key) or {}).get("conditions"),
                                                                     [accepted, resolved], gen)})
    if not parents and not old:
        return
    c.update_status(c.rd(GIE, "inferencepools"), pool, {**(pool.get("status") or {}), "parents": parents})


# ---- traffic ----------------------------------------------------------------------------------------
def _env(pod: Obj) -> dict[str, str]:
    ctr = ((pod.get("spec") or {}).get("containers") or [{}])[0]
    return {e["name"]: str(e.get("value", "")) for e in ctr.get("env") or [] if "name" in e}


def _find_gateway(c: Cluster, host: str) -> Obj | None:
    for gw in c.objects(GW, "gateways"):
        ns, name = gw["metadata"]["namespace"], gw["metadata"]["name"]
        names = {a.get("value") for a in (gw.get("status") or {}).get("addresses") or []}
        names |= {f"{name}.{ns}.svc.cluster.local", f"{name}.{ns}.svc", f"{name}.{ns}"}
        svc = c.find("", "services", ns, name)
        if svc:
            names.add((svc.get("spec") or {}).get("clusterIP"))
        if host in names:
            return gw
    return None


def _path_matches(m: dict[str, Any] | None, path: str) -> bool:
    m = m or {"type": "PathPrefix", "value": "/"}
    value, kind = m.get("value", "/"), m.get("type", "PathPrefix")
    if kind == "Exact":
        return path == value
    if kind == "RegularExpression":
        return re.fullmatch(value, path) is not None
    prefix = [s for s in value.split("/") if s]
    return [s for s in path.split("?")[0].split("/") if s][:len(prefix)] == prefix


def _headers_match(matches: list[dict[str, Any]], headers: dict[str, str]) -> bool:
    lower = {k.lower(): v for k, v in headers.items()}
    for h in matches:
        got = lower.get(str(h.get("name", "")).lower())
        if got is None:
            return False
        if h.get("type", "Exact") == "RegularExpression":
            if re.fullmatch(h.get("value", ""), got) is None:
                return False
        elif got != h.get("value"):
            return False
    return True


def _precedence(route: Obj, rule_index: int, match: dict[str, Any]) -> tuple[Any, ...]:
    """Sort key, smallest wins: Gateway API HTTPRouteRule precedence."""
    path = match.get("path") or {"type": "PathPrefix", "value": "/"}
    return (0 if path.get("type") == "Exact" else 1, -len(path.get("value", "/")),
            0 if match.get("method") else 1, -len(match.get("headers") or []), -len(match.get("queryParams") or []),
            route["metadata"].get("creationTimestamp", ""), route["metadata"]["namespace"], route["metadata"]["name"],
            rule_index)


def _pick_rule(c: Cluster, gw: Obj, lst: dict[str, Any], method: str, path: str, headers: dict[str, str],
               behaviour: str) -> tuple[Obj, dict[str, Any]] | None:
    candidates = []
    for route in c.objects(GW, "httproutes"):
        refs = _route_accepted_by(route, gw)
        if not any(not r.get("sectionName") or r["sectionName"] == lst.get("name") for r in refs):
            continue
        for i, rule in enumerate((route.get("spec") or {}).get("rules") or []):
            for m in rule.get("matches") or [{}]:
                if m.get("headers") and behaviour == "ignore-headers":
                    continue
                if not _path_matches(m.get("path"), path) or (m.get("method") and m["method"] != method):
                    continue
                if not _headers_match(m.get("headers") or [], headers):
                    continue
                candidates.append((_precedence(route, i, m), route, rule))
    if not candidates:
        return None
    _, route, rule = min(candidates, key=lambda x: x[0])
    return route, rule


def _endpoints(c: Cluster, route: Obj, ref: dict[str, Any]) -> list[Obj] | None:
    """Ready pods behind a backendRef (None: the backend itself does not exist)."""
    ns = ref.get("namespace") or route["metadata"]["namespace"]
    if ref.get("kind", "Service") == "InferencePool":
        pool = c.find(GIE, "inferencepools", ns, ref.get("name", "")) if c.registry.get(GIE, "inferencepools") else None
        if pool is None:
            return None
        sel = ((pool.get("spec") or {}).get("selector") or {})
        sel = sel if "matchLabels" in sel or "matchExpressions" in sel else {"matchLabels": sel}
    else:
        svc = c.find("", "services", ns, ref.get("name", ""))
        if svc is None:
            return None
        sel = {"matchLabels": (svc.get("spec") or {}).get("selector") or {}}
        if not sel["matchLabels"]:
            return []
    return [p for p in c.objects("", "pods", ns)
            if pod_ready(p) and match_label_selector_obj(sel, (p["metadata"].get("labels") or {}))]


def _answer(pod: Obj, method: str, path: str, request_id: str) -> tuple[str, str]:
    """(HTTP code, body) of a backend pod, by what its image does."""
    ctr = ((pod.get("spec") or {}).get("containers") or [{}])[0]
    image, args = ctr.get("image", ""), " ".join(ctr.get("args") or [])
    name = pod["metadata"]["name"]
    if "agnhost" in image and "netexec" in args:
        if path.startswith("/hostname"):
            return "200", name
        return "200", "NOW: 2026-01-01 00:00:00"
    if "inference-sim" in image or "vllm" in image:
        if method == "POST" and path.startswith(("/v1/completions", "/v1/chat/completions")):
            return "200", json.dumps({"id": f"cmpl-{request_id or uuid.uuid4().hex[:16]}", "object": "text_completion",
                                      "model": _arg(args, "--model") or "model", "served_by": name,
                                      "choices": [{"index": 0, "text": "Hello", "finish_reason": "stop"}]})
        return "404", ""
    return "200", name


def _arg(args: str, flag: str) -> str:
    m = re.search(rf"{re.escape(flag)}[= ](\S+)", args)
    return m.group(1) if m else ""


def _behaviour(c: Cluster, gc: Obj) -> str:
    own = (gc["metadata"].get("annotations") or {}).get(BEHAVIOUR)
    if own:
        return own
    for cm in c.objects("", "configmaps"):
        if cm["metadata"]["name"] == FAULTS_CONFIGMAP:
            return (cm["metadata"].get("annotations") or {}).get(BEHAVIOUR, "")
    return ""


def request(c: Cluster, host: str, port: int, method: str, path: str, headers: dict[str, str],
            rng: random.Random, request_id: str = "") -> tuple[str, str, Obj | None]:
    """One HTTP request through a Gateway: (code, body, backend pod or None). Code 000: no connection."""
    gw = _find_gateway(c, host)
    if gw is None:
        return "000", "", None
    gc = _served_class(_classes(c), (gw.get("spec") or {}).get("gatewayClassName", ""))
    programmed = any(x.get("type") == "Programmed" and x.get("status") == "True"
                     for x in (gw.get("status") or {}).get("conditions") or [])
    if gc is None or not programmed:
        return "000", "", None
    behaviour = _behaviour(c, gc)
    lst = next((x for x in (gw.get("spec") or {}).get("listeners") or [] if int(x.get("port", 0)) == port), None)
    if lst is None:
        return "000", "", None
    picked = _pick_rule(c, gw, lst, method, path, headers, behaviour)
    if picked is None:
        return "404", "", None
    route, rule = picked
    refs = rule.get("backendRefs") or []
    weights = [1 if behaviour == "ignore-weights" and int(r.get("weight", 1)) > 0 else int(r.get("weight", 1))
               for r in refs]
    if not refs or sum(weights) <= 0:
        return "500", "", None
    ref = rng.choices(refs, weights=weights)[0]
    eps = _endpoints(c, route, ref)
    if eps is None:
        return "500", "", None
    if not eps:
        return "503", "no healthy upstream", None
    pod = sorted(eps, key=lambda p: p["metadata"]["name"])[rng.randrange(len(eps))]
    code, body = _answer(pod, method, path, request_id)
    if code.startswith("2") and request_id:
        _BACKEND_REQUESTS.setdefault(pod["metadata"]["uid"], []).append(request_id)
        if (pod["metadata"].get("labels") or {}).get(ROLE_LABEL) == "decode":
            # llm-d's P/D sidecar on the decode pod sends the prompt to a prefill pod first (same request id)
            prefill = sorted((p for p in c.objects("", "pods", pod["metadata"]["namespace"])
                              if pod_ready(p) and (p["metadata"].get("labels") or {}).get(ROLE_LABEL) == "prefill"),
                             key=lambda p: p["metadata"]["name"])
            if prefill:
                _BACKEND_REQUESTS.setdefault(prefill[rng.randrange(len(prefill))]["metadata"]["uid"], []).append(request_id)
    return code, body, pod


_BACKEND_REQUESTS: dict[str, list[str]] = {}  # backend pod uid → request ids it served (for its own log)


def _batches(env: dict[str, str]) -> list[tuple[str, int, str, dict[str, str], str]]:
    """The client's request batches: (kind, count, method, headers, body) from its environment."""
    out = []
    if env.get("SPLIT_REQUESTS"):
        out.append(("split", int(env["SPLIT_REQUESTS"]), "GET", {}, ""))
    if env.get("HEADER_REQUESTS"):
        out.append(("header", int(env["HEADER_REQUESTS"]), "GET", {env.get("HEADER_NAME", ""): env.get("HEADER_VALUE", "")}, ""))
    if env.get("COMPLETION_REQUESTS"):
        hdrs = {"Content-Type": "application/json"}
        if env.get("REQUEST_ID_HEADER"):
            hdrs[env["REQUEST_ID_HEADER"]] = ""
        out.append(("completions", int(env["COMPLETION_REQUESTS"]), "POST", hdrs, env.get("REQUEST_BODY", "")))
    return out


def _body_field(body: str) -> str:
    """What the client prints as backend: the body (echo: a pod name) or, for JSON, the completion id."""
    try:
        doc = json.loads(body)
    except ValueError:
        return re.sub(r"[^a-zA-Z0-9._-]", "", body[:64])
    return re.sub(r"[^a-zA-Z0-9._-]", "", str(doc.get("id") or "")[:64])


def client_log(c: Cluster, pod: Obj) -> str:
    env = _env(pod)
    host, port, path = env.get("GATEWAY_HOST", ""), int(env.get("GATEWAY_PORT", "80") or 80), env.get("REQUEST_PATH", "/")
    seed = f"{pod['metadata']['name']}"
    counts = " ".join(f"{k}={env[v]}" for k, v in (("split", "SPLIT_REQUESTS"), ("header", "HEADER_REQUESTS"),
                                                  ("completions", "COMPLETION_REQUESTS")) if env.get(v))
    lines = [f"CLIENT url=http://{host}:{port}{path} {counts}"]
    batches = _batches(env)
    method = batches[0][2] if batches else "GET"
    code, _, _ = request(c, host, port, method, path, batches[0][3] if batches else {}, random.Random(seed + ":warmup"))
    if code != "200":
        lines.append(f"WARMUP failed attempts={env.get('WARMUP_ATTEMPTS', '30')}")
    for kind, count, method, headers, _body in batches:
        for i in range(1, count + 1):
            rid = ""
            hdrs = dict(headers)
            if env.get("REQUEST_ID_HEADER") and env["REQUEST_ID_HEADER"] in hdrs:
                rid = f"{env.get('REQUEST_ID_PREFIX', 'aiconform')}-{i}"
                hdrs[env["REQUEST_ID_HEADER"]] = rid
            rng = random.Random(int.from_bytes(hashlib.sha256(f"{seed}:{kind}:{i}".encode()).digest()[:8], "big"))
            code, body, _ = request(c, host, port, method, path, hdrs, rng, rid)
            backend = _body_field(body) if code.startswith("2") else ""
            extra = f" id={rid}" if rid else ""
            lines.append(f"RESULT kind={kind} n={i} code={code} backend={backend}{extra}")
    lines.append("DONE")
    return "\n".join(lines) + "\n"


def _serve_clients(c: Cluster, classes: dict[str, Obj]) -> None:
    key, value = CLIENT_LABEL
    for pod in c.objects("", "pods"):
        if (pod["metadata"].get("labels") or {}).get(key) != value or pod["metadata"]["uid"] in _CLIENT_LOGS:
            continue
        if not (pod.get("status") or {}).get("startTime"):
            continue  # the requests are made once the container runs
        _CLIENT_LOGS[pod["metadata"]["uid"]] = client_log(c, pod)


@register_producer
def _produce(pod: Obj, container: str) -> str | None:
    uid = pod["metadata"].get("uid", "")
    if uid in _CLIENT_LOGS:
        return _CLIENT_LOGS[uid]
    if uid in _BACKEND_REQUESTS:
        # vLLM's request logger line (the engine uses the X-Request-Id header as the request id)
        return "".join(f"INFO 01-01 00:00:00 [logger.py:43] Received request {rid}: prompt: 'aiconform "
                       f"disaggregation probe', params: SamplingParams(n=1, max_tokens=8)\n" for rid in _BACKEND_REQUESTS[uid])
    return None
