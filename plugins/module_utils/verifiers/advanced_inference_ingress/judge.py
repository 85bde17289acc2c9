"""advanced_inference_ingress judge: pure facts → verdict.

Subtests: InferencePoolAPIServed, GatewayClassAccepted, GatewayProgrammed, HTTPRouteAccepted,
InferencePoolAccepted, CompletionsThroughGateway. Implemented only when all pass. The API or class missing, a
Gateway/route/pool never accepted, or completions not answered 200 → Not Implemented; model-server or client
pods that cannot start → unknown (that says nothing about the gateway).
"""
from __future__ import annotations

from typing import Any

from ...results import Check, Outcome, Status, Verdict, stopped_early
from .. import _networking as net

SUBTESTS = ("InferencePoolAPIServed", "GatewayClassAccepted", "GatewayProgrammed", "HTTPRouteAccepted",
            "InferencePoolAccepted", "CompletionsThroughGateway")


def _finish(status: Status, reason: str, checks: list[Check]) -> Verdict:
    return stopped_early(SUBTESTS, status, [reason], checks)


def _fail(name: str, reason: str, checks: list[Check], status: Status = Status.NOT_IMPLEMENTED) -> Verdict:
    checks.append(Check(name, Outcome.FAIL, reason))
    return _finish(status, reason, checks)


def judge(facts: dict[str, Any]) -> Verdict:
    checks: list[Check] = []
    missing = (facts.get("discovery") or {}).get("missing")
    if missing is None:
        return _finish(Status.UNKNOWN, "discovery did not run", checks)
    if missing:
        return _fail("InferencePoolAPIServed", f"not served: {', '.join(missing)}; install the Gateway API Inference "
                     "Extension CRDs (inferencepools.inference.networking.k8s.io v1) and a GIE-capable gateway", checks)
    checks.append(Check("InferencePoolAPIServed", Outcome.PASS, "InferencePool inference.networking.k8s.io/v1 served"))

    gc = facts.get("gateway_class") or {}
    choice = gc.get("choice") or {}
    if choice and not choice.get("name"):
        unknown, reason = net.undecided_gateway_class(choice, gc.get("available") or [],
                                                      "a Gateway API Inference Extension implementation")
        return _fail("GatewayClassAccepted", reason, checks, Status.UNKNOWN if unknown else Status.NOT_IMPLEMENTED)
    how = f"; {choice['how']}" if choice.get("how") else ""
    if not gc.get("found"):
        others = ", ".join(f"{c['name']} ({c.get('controllerName', '')})" for c in gc.get("available") or []) or "none"
        return _fail("GatewayClassAccepted", f"GatewayClass {gc.get('name')!r} does not exist (present: {others}); set "
                     "aiconform_advanced_inference_ingress_gateway_class to the GIE-capable class", checks)
    if not net.is_true(gc.get("conditions"), "Accepted"):
        return _fail("GatewayClassAccepted", f"GatewayClass {gc.get('name')!r} is not Accepted: "
                     f"{net.describe_conditions(gc.get('conditions'), ('Accepted',))}", checks)
    checks.append(Check("GatewayClassAccepted", Outcome.PASS,
                        f"{gc.get('name')} ({gc.get('controllerName', '')}) Accepted=True{how}"))

    probe = facts.get("probe") or {}
    gw = facts.get("gateway") or {}
    if gw.get("timeout") or not net.is_true(gw.get("conditions"), "Programmed"):
        return _fail("GatewayProgrammed", f"the probe Gateway was not Programmed: {gw.get('timeout') or 'Programmed not True'}", checks)
    checks.append(Check("GatewayProgrammed", Outcome.PASS, "Accepted=True, Programmed=True"))
    for name, key, what in (("HTTPRouteAccepted", "route", "HTTPRoute to the InferencePool"),
                            ("InferencePoolAccepted", "pool", "InferencePool")):
        part = facts.get(key) or {}
        if part.get("timeout") or not net.route_parent_ok(part.get("parents") or [], probe.get("gateway", "")):
            return _fail(name, f"the {what} was not accepted: {part.get('timeout') or 'Accepted/ResolvedRefs not True'}", checks)
        checks.append(Check(name, Outcome.PASS, f"parent {probe.get('gateway')}: Accepted=True, ResolvedRefs=True"))

    servers = facts.get("model_servers") or {}
    if servers.get("timeout"):
        return _finish(Status.UNKNOWN, f"cannot judge: the model server or endpoint picker did not become Ready "
                       f"({servers['timeout']})", checks)
    traffic = facts.get("traffic") or {}
    if traffic.get("phase") not in ("Running", "Succeeded", "Failed"):
        return _finish(Status.UNKNOWN, f"cannot judge: the client pod never ran ({traffic.get('timeout') or traffic.get('state', '')})", checks)
    k = (traffic.get("kinds") or {}).get("completions") or {"total": 0, "ok": 0, "codes": {}}
    expected = int((facts.get("options") or {}).get("completion_requests", 0))
    codes = ", ".join(f"{c}×{n}" for c, n in sorted(k["codes"].items())) or "none"
    if k["total"] < expected or k["ok"] != k["total"] or k["ok"] == 0 or k["codes"].keys() - {"200"}:
        return _fail("CompletionsThroughGateway", f"POST /v1/completions through the Gateway: {k['ok']}/{expected} "
                     f"answered 2xx (HTTP codes: {codes})", checks)
    checks.append(Check("CompletionsThroughGateway", Outcome.PASS,
                        f"{k['ok']}/{expected} POST /v1/completions answered 200 through the Gateway by the pool"))
    return Verdict(Status.IMPLEMENTED, [f"InferencePool Accepted by Gateway class {gc.get('name')}; "
                                        f"{k['ok']}/{expected} completions answered 200 through the Gateway"], checks)
