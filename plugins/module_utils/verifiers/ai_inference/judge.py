"""ai_inference judge: pure facts → verdict.

Subtests (in order, each needs the previous): GatewayAPIResourcesServed, GatewayClassAccepted,
GatewayProgrammed, HTTPRouteAccepted, then on the client's traffic WeightedTrafficSplitting and
HeaderBasedRouting. Implemented only when every one passes.

GatewayClass: the inventory's, else the one Accepted ingress class, else of several Accepted the reference
stack's (kgateway) when it is one of them; several others → Unknown naming them and the variable.

Status rules: the Gateway API or the class missing (or none Accepted), a Gateway never Programmed, a route never Accepted,
or traffic that does not follow the route → Not Implemented. Probe pods that cannot start (the echo
backends or the client: image pulls, quota) → unknown, since that says nothing about the gateway.
"""
from __future__ import annotations

from typing import Any

from ...results import Check, Outcome, Status, Verdict, stopped_early
from .. import _networking as net

SUBTESTS = ("GatewayAPIResourcesServed", "GatewayClassAccepted", "GatewayProgrammed", "HTTPRouteAccepted",
            "WeightedTrafficSplitting", "HeaderBasedRouting")


def _finish(status: Status, reason: str, checks: list[Check]) -> Verdict:
    return stopped_early(SUBTESTS, status, [reason], checks)


def judge(facts: dict[str, Any]) -> Verdict:
    checks: list[Check] = []
    disc = facts.get("discovery") or {}
    if not disc.get("served"):
        reason = (f"the Gateway API ({net.GATEWAY_GROUP}) is not served: install the Gateway API CRDs "
                  "(standard channel) and a Gateway API implementation")
        checks.append(Check("GatewayAPIResourcesServed", Outcome.FAIL, reason))
        return _finish(Status.NOT_IMPLEMENTED, reason, checks)
    missing = disc.get("missing") or []
    if missing:
        reason = f"Gateway API resources not served: {', '.join(missing)}"
        checks.append(Check("GatewayAPIResourcesServed", Outcome.FAIL, reason))
        return _finish(Status.NOT_IMPLEMENTED, reason, checks)
    checks.append(Check("GatewayAPIResourcesServed", Outcome.PASS,
                        "served: " + ", ".join(f"{k} {'/'.join(v)}" for k, v in sorted((disc.get("kinds") or {}).items())
                                               if k in net.REQUIRED_KINDS)))

    gc = facts.get("gateway_class") or {}
    name = gc.get("name", "")
    choice = gc.get("choice") or {}
    if choice and not choice.get("name"):
        unknown, reason = net.undecided_gateway_class(choice, gc.get("available") or [],
                                                      "a Gateway API implementation")
        checks.append(Check("GatewayClassAccepted", Outcome.FAIL, reason))
        return _finish(Status.UNKNOWN if unknown else Status.NOT_IMPLEMENTED, reason, checks)
    how = f"; {choice['how']}" if choice.get("how") else ""
    if not gc.get("found"):
        others = ", ".join(f"{c['name']} ({c.get('controllerName', '')})" for c in gc.get("available") or []) or "none"
        reason = (f"GatewayClass {name!r} does not exist (GatewayClasses present: {others}); set "
                  "aiconform_ai_inference_gateway_class to the class of the cluster's Gateway API implementation")
        checks.append(Check("GatewayClassAccepted", Outcome.FAIL, reason))
        return _finish(Status.NOT_IMPLEMENTED, reason, checks)
    if not net.is_true(gc.get("conditions"), "Accepted"):
        reason = (f"GatewayClass {name!r} ({gc.get('controllerName', '')}) is not Accepted: "
                  f"{net.describe_conditions(gc.get('conditions'), ('Accepted',))}; is its controller running?")
        checks.append(Check("GatewayClassAccepted", Outcome.FAIL, reason))
        return _finish(Status.NOT_IMPLEMENTED, reason, checks)
    checks.append(Check("GatewayClassAccepted", Outcome.PASS,
                        f"{name} ({gc.get('controllerName', '')}) Accepted=True{how}"))

    gw = facts.get("gateway") or {}
    if gw.get("timeout") or not (net.is_true(gw.get("conditions"), "Accepted") and net.is_true(gw.get("conditions"), "Programmed")):
        reason = f"the probe Gateway was not Programmed: {gw.get('timeout') or net.describe_conditions(gw.get('conditions'), ('Accepted', 'Programmed'))}"
        checks.append(Check("GatewayProgrammed", Outcome.FAIL, reason))
        return _finish(Status.NOT_IMPLEMENTED, reason, checks)
    addresses = ", ".join(a.get("value") or "" for a in gw.get("addresses") or []) or "no addresses"
    checks.append(Check("GatewayProgrammed", Outcome.PASS, f"Accepted=True, Programmed=True ({addresses})"))

    route = facts.get("route") or {}
    gateway_name = (facts.get("probe") or {}).get("gateway", "")
    if route.get("timeout") or not net.route_parent_ok(route.get("parents") or [], gateway_name):
        reason = f"the probe HTTPRoute was not accepted: {route.get('timeout') or 'status.parents lacks Accepted/ResolvedRefs=True'}"
        checks.append(Check("HTTPRouteAccepted", Outcome.FAIL, reason))
        return _finish(Status.NOT_IMPLEMENTED, reason, checks)
    checks.append(Check("HTTPRouteAccepted", Outcome.PASS, f"parent {gateway_name}: Accepted=True, ResolvedRefs=True"))

    backends = facts.get("backends") or {}
    if backends.get("timeout"):
        reason = f"cannot judge the traffic: the echo backend pods did not become Ready ({backends['timeout']})"
        return _finish(Status.UNKNOWN, reason, checks)
    traffic = facts.get("traffic") or {}
    if traffic.get("phase") not in ("Running", "Succeeded", "Failed"):
        reason = (f"cannot judge the traffic: the client pod never ran ({traffic.get('timeout') or traffic.get('state', '')}); "
                  "check aiconform_ai_inference_client_image is pullable")
        return _finish(Status.UNKNOWN, reason, checks)

    split_check = _split(facts, traffic)
    header_check = _header(facts, traffic)
    checks += [split_check, header_check]
    failed = [c for c in checks if c.outcome is not Outcome.PASS]
    if failed:
        return Verdict(Status.NOT_IMPLEMENTED, [f"{c.name}: {c.reason}" for c in failed], checks)
    return Verdict(Status.IMPLEMENTED, [
        f"GatewayClass {name} Accepted; a Gateway was Programmed and an HTTPRoute Accepted; traffic through the "
        f"Gateway followed the weights ({split_check.reason}) and the header rule ({header_check.reason})"], checks)


def _kind(traffic: dict[str, Any], kind: str) -> dict[str, Any]:
    return (traffic.get("kinds") or {}).get(kind) or {"total": 0, "ok": 0, "backends": {}, "codes": {}}


def _incomplete(traffic: dict[str, Any], k: dict[str, Any], expected: int, label: str, max_failed: int) -> str:
    """Why a batch of requests cannot be judged, or ''."""
    if k["total"] < expected:
        why = traffic.get("timeout") or f"client pod {traffic.get('state', '')}"
        return f"only {k['total']} of {expected} {label} requests were sent ({why})"
    failed = k["total"] - k["ok"]
    if failed > max_failed:
        codes = ", ".join(f"{c}×{n}" for c, n in sorted(k["codes"].items()))
        return f"{failed} of {k['total']} {label} requests failed through the Gateway (HTTP codes: {codes})"
    return ""


def _split(facts: dict[str, Any], traffic: dict[str, Any]) -> Check:
    o, be = facts.get("options") or {}, facts.get("backends_expected") or {}
    n_expected, weight = int(o.get("split_requests", 0)), int(o.get("split_weight", 80))
    k = _kind(traffic, "split")
    problem = _incomplete(traffic, k, n_expected, "split", int(o.get("max_failed_requests", 0)))
    if problem:
        return Check("WeightedTrafficSplitting", Outcome.FAIL, problem)
    primary, secondary = be.get("primary", ""), be.get("secondary", "")
    counts = k["backends"]
    strangers = {b: c for b, c in counts.items() if b not in (primary, secondary)}
    if strangers:
        return Check("WeightedTrafficSplitting", Outcome.FAIL,
                     f"responses from unexpected backends {strangers} (expected only {primary} and {secondary})")
    n, got = k["ok"], counts.get(primary, 0)
    p = weight / 100.0
    mean, sd, half = net.binomial_window(n, p, float(o.get("split_tolerance_sigma", 4.0)))
    share = 100.0 * got / n if n else 0.0
    detail = (f"{primary} answered {got}/{n} = {share:.1f}% (weight {weight}%, accepted "
              f"{mean - half:.0f}–{mean + half:.0f} = {weight}% ± {o.get('split_tolerance_sigma', 4.0):g}σ, σ={sd:.1f}); "
              f"{secondary} {counts.get(secondary, 0)}")
    if n == 0 or abs(got - mean) > half:
        return Check("WeightedTrafficSplitting", Outcome.FAIL, f"split outside the tolerance: {detail}")
    return Check("WeightedTrafficSplitting", Outcome.PASS, detail)


def _header(facts: dict[str, Any], traffic: dict[str, Any]) -> Check:
    o, be = facts.get("options") or {}, facts.get("backends_expected") or {}
    n_expected = int(o.get("header_requests", 0))
    k = _kind(traffic, "header")
    problem = _incomplete(traffic, k, n_expected, "header", int(o.get("max_failed_requests", 0)))
    if problem:
        return Check("HeaderBasedRouting", Outcome.FAIL, problem)
    target = be.get("header", "")
    got = k["backends"].get(target, 0)
    header = f"{o.get('header_name', '')}: {o.get('header_value', '')}"
    if k["ok"] == 0 or got != k["ok"]:
        others = {b: c for b, c in k["backends"].items() if b != target}
        return Check("HeaderBasedRouting", Outcome.FAIL,
                     f"requests with '{header}' must all reach {target}; {got}/{k['ok']} did, others went to {others}")
    return Check("HeaderBasedRouting", Outcome.PASS, f"{got}/{k['ok']} requests with '{header}' reached {target}")
