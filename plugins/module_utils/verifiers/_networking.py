"""Helpers shared by the networking verifiers (ai_inference, advanced_inference_ingress,
high_performance_networking, disaggregated_inference): manifests, discovery, Gateway API status reading,
pod waits and the in-cluster client's log format.

Kept outside the requirement packages because ``aiconform.verifiers.<id>`` must stay one per requirement.
"""
from __future__ import annotations

import math
import re
from typing import Any

from .k8s import cond, conds, is_true, manifest, pod_phase, pod_ready, pod_state
from .runtime import ProbeContext

# names of k8s.py that the verifiers call through this module
__all__ = ["cond", "conds", "is_true", "manifest", "pod_phase", "pod_ready", "pod_state"]

GATEWAY_GROUP = "gateway.networking.k8s.io"
GATEWAY_VERSION = "v1"
# GA kinds the requirement's test ("all the gateway.networking.k8s.io/v1 resources are enabled") looks for;
# the value lists the versions that count. ReferenceGrant reached v1 only in recent bundles, and v1beta1 is
# still the standard-channel version of older ones (kOps installs v1.4.0), so it counts at either.
REQUIRED_KINDS: dict[str, tuple[str, ...]] = {
    "GatewayClass": ("v1",),
    "Gateway": ("v1",),
    "HTTPRoute": ("v1",),
    "GRPCRoute": ("v1",),
    "ReferenceGrant": ("v1", "v1beta1"),
}
RESULT_LINE = re.compile(r"^RESULT kind=(?P<kind>\S+) n=(?P<n>\d+) code=(?P<code>\d{3}) backend=(?P<backend>\S*)"
                         r"(?: id=(?P<id>\S+))?\s*$")


def set_env(pod: dict[str, Any], values: dict[str, Any]) -> None:
    """Set (or add) env values on the pod's first container."""
    env = pod["spec"]["containers"][0].setdefault("env", [])
    for key, value in values.items():
        for item in env:
            if item["name"] == key:
                item["value"] = str(value)
                break
        else:
            env.append({"name": key, "value": str(value)})


# -- discovery ------------------------------------------------------------------------------------
def served_kinds(ctx: ProbeContext, group: str) -> dict[str, Any]:
    """Versions of an API group and the kinds each serves, from discovery (404 → not served)."""
    out: dict[str, Any] = {"group": group, "served": False, "versions": [], "kinds": {}}
    doc = ctx.api_group(group)
    if doc is None:
        return out
    versions = [v.get("version") for v in (doc or {}).get("versions") or [] if v.get("version")]
    out.update(served=bool(versions), versions=versions,
               preferred=((doc or {}).get("preferredVersion") or {}).get("version", ""))
    for version in versions:
        rl = ctx.api_resources(group, version)
        for res in (rl or {}).get("resources") or []:
            if "/" in res.get("name", ""):
                continue  # subresources such as gateways/status
            out["kinds"].setdefault(res.get("kind", ""), []).append(version)
    return out


def missing_kinds(discovery: dict[str, Any], required: dict[str, tuple[str, ...]]) -> list[str]:
    """Required kinds not served at an accepted version, as 'Kind (group/version)' strings."""
    kinds = discovery.get("kinds") or {}
    group = discovery.get("group", "")
    return [f"{kind} ({group}/{'|'.join(versions)})" for kind, versions in required.items()
            if not set(versions) & set(kinds.get(kind) or [])]


# -- status ---------------------------------------------------------------------------------------
# GatewayClasses for mesh waypoints or remote clusters (istio-waypoint, istio-remote, kgateway-waypoint): not for
# ingress traffic, so never chosen automatically.
_NOT_INGRESS = re.compile(r"(^|-)(waypoint|remote|mesh)$")


def gateway_class_listing(classes: dict[str, Any]) -> list[dict[str, Any]]:
    """name, controllerName, accepted and conditions of each GatewayClass of a list response."""
    return [{"name": c["metadata"]["name"], "controllerName": (c.get("spec") or {}).get("controllerName", ""),
             "accepted": is_true((c.get("status") or {}).get("conditions"), "Accepted"),
             "conditions": conds((c.get("status") or {}).get("conditions"))}
            for c in classes.get("items") or []]


def select_gateway_class(ctx: ProbeContext, o: dict[str, Any], facts: dict[str, Any], reference: str, var: str) -> bool:
    """Lists the GatewayClasses, chooses one (``choose_gateway_class``), records the choice in
    ``facts["gateway_class"]`` and ``o``/``facts["options"]["gateway_class"]``; True when the chosen class exists
    and its controller Accepted it (the probe can go on)."""
    classes = ctx.call("list GatewayClasses", ctx.custom.list_cluster_custom_object, GATEWAY_GROUP, GATEWAY_VERSION,
                       "gatewayclasses")
    listing = gateway_class_listing(classes)
    ctx.record("GatewayClasses", listing, kind="api", command="kubectl get gatewayclass")
    choice = choose_gateway_class(o["gateway_class"], listing, reference, var)
    if not choice["name"]:
        facts["gateway_class"] = {"name": "", "choice": choice, "available": listing}
        return False
    o["gateway_class"] = facts["options"]["gateway_class"] = choice["name"]
    gc = next((c for c in classes.get("items") or [] if c["metadata"]["name"] == choice["name"]), None)
    facts["gateway_class"] = {"name": choice["name"], "choice": choice, "found": gc is not None, "available": listing,
                              "controllerName": ((gc or {}).get("spec") or {}).get("controllerName", ""),
                              "conditions": conds(((gc or {}).get("status") or {}).get("conditions"))}
    return gc is not None and is_true(facts["gateway_class"]["conditions"], "Accepted")


def choose_gateway_class(requested: str, listing: list[dict[str, Any]], reference: str, var: str) -> dict[str, Any]:
    """Which GatewayClass to probe: the inventory's (``requested``); else the one Accepted ingress class; else, of
    several Accepted, the reference stack's class (``reference``) when it is one of them. ``name`` is None when
    there is none to choose (``candidates`` empty: nothing Accepted) or several and the inventory must choose
    (``unknown`` says so)."""
    if requested:
        return {"name": requested, "how": f"set by {var}"}
    candidates = sorted(c["name"] for c in listing if c.get("accepted") and not _NOT_INGRESS.search(c["name"]))
    if len(candidates) == 1:
        return {"name": candidates[0], "how": "the only Accepted GatewayClass", "candidates": candidates}
    if not candidates:
        return {"name": None, "how": "", "candidates": []}
    if reference in candidates:
        return {"name": reference, "how": f"the reference stack's class, of the Accepted {', '.join(candidates)} "
                                          f"(set {var} to test another)", "candidates": candidates}
    return {"name": None, "how": "", "candidates": candidates,
            "unknown": (f"several GatewayClasses are Accepted ({', '.join(candidates)}): set {var} to the one to "
                        "test")}


def undecided_gateway_class(choice: dict[str, Any], listing: list[dict[str, Any]], what: str) -> tuple[bool, str]:
    """(unknown?, reason) when ``choose_gateway_class`` chose nothing."""
    if choice.get("unknown"):
        return True, choice["unknown"]
    if not listing:
        return False, f"no GatewayClass exists: install {what}"
    return False, ("no GatewayClass is Accepted by its controller: " + "; ".join(
        f"{c['name']} ({c.get('controllerName', '')}) "
        + (describe_conditions(c.get("conditions"), ("Accepted",)) if not c.get("accepted") else "Accepted=True, "
           "but a mesh waypoint/remote class") for c in listing) + f" (is its controller running? install {what})")


def describe_conditions(conditions: list[dict[str, Any]] | None, types: tuple[str, ...]) -> str:
    """'Accepted=True, Programmed=False (AddressNotAssigned: ...)' for the given types."""
    parts = []
    for ctype in types:
        c = cond(conditions, ctype)
        if c is None:
            parts.append(f"{ctype} not reported")
            continue
        detail = ": ".join(x for x in (c.get("reason"), c.get("message")) if x)
        parts.append(f"{ctype}={c.get('status')}" + (f" ({detail})" if c.get("status") != "True" and detail else ""))
    return ", ".join(parts)


def gateway_summary(gw: dict[str, Any] | None) -> dict[str, Any]:
    status = (gw or {}).get("status") or {}
    return {
        "conditions": conds(status.get("conditions")),
        "addresses": [{"type": a.get("type", "IPAddress"), "value": a.get("value")} for a in status.get("addresses") or []],
        "listeners": [{"name": lst.get("name"), "attachedRoutes": lst.get("attachedRoutes"),
                       "conditions": conds(lst.get("conditions"))} for lst in status.get("listeners") or []],
    }


def route_parents(route: dict[str, Any] | None) -> list[dict[str, Any]]:
    """HTTPRoute status.parents[] reduced to parentRef name, controllerName and conditions."""
    out = []
    for p in ((route or {}).get("status") or {}).get("parents") or []:
        ref = p.get("parentRef") or {}
        out.append({"parent": ref.get("name", ""), "kind": ref.get("kind", "Gateway"),
                    "controllerName": p.get("controllerName", ""), "conditions": conds(p.get("conditions"))})
    return out


def route_parent_ok(parents: list[dict[str, Any]], parent: str, types: tuple[str, ...] = ("Accepted", "ResolvedRefs")) -> bool:
    return any(p.get("parent") == parent and all(is_true(p.get("conditions"), t) for t in types) for p in parents)


# -- pods -----------------------------------------------------------------------------------------
# -- client log -----------------------------------------------------------------------------------
def parse_client_log(text: str) -> dict[str, Any]:
    """Counts per request kind from the client's RESULT lines: responses per backend and failures."""
    out: dict[str, Any] = {"kinds": {}, "done": False, "warmup_failed": False, "lines": 0}
    for line in (text or "").splitlines():
        line = line.strip()
        if line == "DONE":
            out["done"] = True
        elif line.startswith("WARMUP failed"):
            out["warmup_failed"] = True
        m = RESULT_LINE.match(line)
        if not m:
            continue
        out["lines"] += 1
        kind = out["kinds"].setdefault(m["kind"], {"total": 0, "ok": 0, "backends": {}, "codes": {}})
        if m["id"] and m["code"].startswith("2"):
            kind.setdefault("ids", []).append(m["id"])
        kind["total"] += 1
        kind["codes"][m["code"]] = kind["codes"].get(m["code"], 0) + 1
        if m["code"].startswith("2"):
            kind["ok"] += 1
            kind["backends"][m["backend"] or "(empty)"] = kind["backends"].get(m["backend"] or "(empty)", 0) + 1
    return out


def trim_log(text: str, head: int = 15, tail: int = 5) -> str:
    lines = (text or "").splitlines()
    if len(lines) <= head + tail:
        return "\n".join(lines)
    return "\n".join([*lines[:head], f"... [{len(lines) - head - tail} lines omitted by aiconform]", *lines[-tail:]])


def binomial_window(n: int, p: float, sigmas: float) -> tuple[float, float, float]:
    """Expected count, standard deviation and the accepted ± half-width for n trials at probability p."""
    sd = math.sqrt(n * p * (1.0 - p))
    return n * p, sd, sigmas * sd


# -- probe steps shared by ai_inference and advanced_inference_ingress ---------------------------------
def get_pod(ctx: ProbeContext, ns: str, name: str) -> dict[str, Any]:
    pod = ctx.call(f"read pod {ns}/{name}", ctx.core.read_namespaced_pod, name, ns)
    return ctx.conn.api.sanitize_for_serialization(pod)


def wait_gateway(ctx: ProbeContext, ns: str, name: str, timeout: float) -> dict[str, Any]:
    """Wait for Accepted and Programmed; the summary (conditions, addresses, listeners) plus 'timeout' if it ran out."""
    from .runtime import ProbeTimeout, wait_until
    state: dict[str, Any] = {}

    def programmed() -> bool:
        state["obj"] = ctx.call(f"read Gateway {ns}/{name}", ctx.custom.get_namespaced_custom_object, GATEWAY_GROUP,
                                GATEWAY_VERSION, ns, "gateways", name)
        conditions = (state["obj"].get("status") or {}).get("conditions")
        return is_true(conditions, "Accepted") and is_true(conditions, "Programmed")

    out: dict[str, Any] = {}
    try:
        wait_until(programmed, timeout=timeout, interval=1.0, what=f"Gateway {name} to be Accepted and Programmed",
                   missing=lambda: describe_conditions(((state.get("obj") or {}).get("status") or {}).get("conditions"),
                                                       ("Accepted", "Programmed")))
    except ProbeTimeout as exc:
        out["timeout"] = str(exc)
    out.update(gateway_summary(state.get("obj")))
    ctx.record("Gateway status", {"name": name, **out}, command=f"kubectl get gateway {name} -n {ns} -o yaml")
    return out


def wait_parents(ctx: ProbeContext, ns: str, *, group: str, version: str, plural: str, kind: str, name: str,
                 gateway: str, timeout: float) -> dict[str, Any]:
    """Wait for status.parents[] of an HTTPRoute or InferencePool to hold Accepted and ResolvedRefs True for the Gateway."""
    from .runtime import ProbeTimeout, wait_until
    state: dict[str, Any] = {}

    def accepted() -> bool:
        state["obj"] = ctx.call(f"read {kind} {ns}/{name}", ctx.custom.get_namespaced_custom_object, group, version,
                                ns, plural, name)
        return route_parent_ok(route_parents(state["obj"]), gateway)

    def missing() -> str:
        parents = [p for p in route_parents(state.get("obj")) if p["parent"] == gateway]
        if not parents:
            return f"no status.parents entry for Gateway {gateway}"
        return describe_conditions(parents[0]["conditions"], ("Accepted", "ResolvedRefs"))

    out: dict[str, Any] = {}
    try:
        wait_until(accepted, timeout=timeout, interval=1.0,
                   what=f"{kind} {name} to be Accepted with ResolvedRefs for Gateway {gateway}", missing=missing)
    except ProbeTimeout as exc:
        out["timeout"] = str(exc)
    out["parents"] = route_parents(state.get("obj"))
    ctx.record(f"{kind} status.parents", {"name": name, **out},
               command=f"kubectl get {plural}.{group} {name} -n {ns} -o jsonpath='{{.status.parents}}'")
    return out


def gateway_host(template: str, ns: str, name: str, gateway: dict[str, Any]) -> tuple[str, str]:
    """Where an in-cluster client sends requests: the inventory's template, else status.addresses, else the
    Service most implementations (kgateway, agentgateway) name after the Gateway."""
    if template:
        return template.format(gateway=name, namespace=ns), "option gateway_address"
    for addr in gateway.get("addresses") or []:
        if addr.get("value"):
            return str(addr["value"]), f"Gateway status.addresses ({addr.get('type')})"
    return f"{name}.{ns}.svc.cluster.local", "no status.addresses: assumed Service named after the Gateway"


def run_client(ctx: ProbeContext, ns: str, pod: dict[str, Any], timeout: float) -> dict[str, Any]:
    """Create a finite client pod, wait for it to finish, and parse its RESULT lines."""
    from .runtime import ProbeTimeout, wait_until
    name = pod["metadata"]["name"]
    container = pod["spec"]["containers"][0]["name"]
    ctx.call(f"create client pod {ns}/{name}", ctx.core.create_namespaced_pod, ns, pod)
    out: dict[str, Any] = {}
    state: dict[str, Any] = {}

    def finished() -> bool:
        state["pod"] = get_pod(ctx, ns, name)
        return pod_phase(state["pod"]) in ("Succeeded", "Failed")

    try:
        wait_until(finished, timeout=timeout, interval=1.0, what=f"client pod {name} to finish its requests",
                   missing=lambda: pod_state(state.get("pod")))
    except ProbeTimeout as exc:
        out["timeout"] = str(exc)
    out["phase"] = pod_phase(state.get("pod"))
    out["state"] = pod_state(state.get("pod"))
    text = ""
    if out["phase"] in ("Running", "Succeeded", "Failed"):
        text = ctx.call(f"read client pod log {ns}/{name}", ctx.core.read_namespaced_pod_log, name, ns,
                        container=container)
    out.update(parse_client_log(text))
    out["log_excerpt"] = trim_log(text, head=8, tail=3)
    ctx.record("Client log (one RESULT line per response)", trim_log(text), kind="log", command=f"kubectl logs -n {ns} {name}")
    return out
