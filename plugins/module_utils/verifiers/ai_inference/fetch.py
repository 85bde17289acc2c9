"""ai_inference fetch: discovery, GatewayClass, then a Gateway + HTTPRoute + two echo backends and an
in-cluster client whose per-response log lines are the traffic facts."""
from __future__ import annotations

from typing import Any

from .. import _networking as net
from ..runtime import ProbeContext, ProbeTimeout, wait_until
from . import GATEWAY_CLASS_VAR, OPTIONS, REFERENCE_CLASS

GROUP, VERSION = net.GATEWAY_GROUP, net.GATEWAY_VERSION
PRIMARY, SECONDARY = "echo-a", "echo-b"  # split 80/20 (weights from options); SECONDARY also gets the header
GATEWAY, ROUTE, CLIENT = "aiconform-gateway", "aiconform-route", "gateway-client"


def _opt(ctx: ProbeContext, key: str) -> Any:
    value = ctx.options.get(key)
    return OPTIONS[key]["default"] if value is None else value


def fetch(ctx: ProbeContext) -> dict[str, Any]:
    o = {k: _opt(ctx, k) for k in OPTIONS}
    facts: dict[str, Any] = {"options": {k: o[k] for k in (
        "gateway_class", "header_name", "header_value", "split_weight", "split_requests", "header_requests",
        "split_tolerance_sigma", "max_failed_requests")},
        "backends_expected": {"primary": PRIMARY, "secondary": SECONDARY, "header": SECONDARY}}

    disc = net.served_kinds(ctx, GROUP)
    disc["missing"] = net.missing_kinds(disc, net.REQUIRED_KINDS)
    facts["discovery"] = disc
    ctx.record("Gateway API discovery", {"group": GROUP, "versions": disc["versions"], "kinds": disc["kinds"],
                                         "missing": disc["missing"]}, kind="api", command=f"GET /apis/{GROUP}")
    if not disc["served"] or any(k in m for m in disc["missing"] for k in ("GatewayClass ", "Gateway ", "HTTPRoute ")):
        return facts  # nothing to probe with

    if not net.select_gateway_class(ctx, o, facts, REFERENCE_CLASS, GATEWAY_CLASS_VAR):
        return facts

    ns = ctx.probe_namespace()
    facts["probe"] = {"namespace": ns, "gateway": GATEWAY, "route": ROUTE, "client": CLIENT}
    _create_backends(ctx, ns, o)
    _create_gateway_and_route(ctx, ns, o)

    # Backends are plain pods: if they cannot start the cluster (not the gateway) is at fault → unknown.
    facts["backends"] = _wait_backends(ctx, ns, float(o["pod_timeout"]))
    facts["gateway"] = net.wait_gateway(ctx, ns, GATEWAY, float(o["gateway_timeout"]))
    facts["route"] = net.wait_parents(ctx, ns, group=GROUP, version=VERSION, plural="httproutes", kind="HTTPRoute",
                                      name=ROUTE, gateway=GATEWAY, timeout=float(o["route_timeout"]))
    if facts["backends"].get("timeout") or facts["gateway"].get("timeout") or facts["route"].get("timeout"):
        return facts

    host, source = net.gateway_host(o["gateway_address"], ns, GATEWAY, facts["gateway"])
    facts["traffic"] = _run_client(ctx, ns, o, host, source)
    return facts


def _create_backends(ctx: ProbeContext, ns: str, o: dict[str, Any]) -> None:
    for name in (PRIMARY, SECONDARY):
        pod = net.manifest(__file__, "backend-pod.yaml")
        pod["metadata"]["name"] = name
        pod["metadata"]["labels"]["aiconform.io/backend"] = name
        pod["spec"]["containers"][0]["image"] = o["backend_image"]
        ctx.call(f"create backend pod {ns}/{name}", ctx.core.create_namespaced_pod, ns, pod)
        svc = net.manifest(__file__, "backend-service.yaml")
        svc["metadata"]["name"] = name
        svc["spec"]["selector"]["aiconform.io/backend"] = name
        ctx.call(f"create backend service {ns}/{name}", ctx.core.create_namespaced_service, ns, svc)


def _create_gateway_and_route(ctx: ProbeContext, ns: str, o: dict[str, Any]) -> None:
    gw = net.manifest(__file__, "gateway.yaml")
    gw["metadata"]["name"] = GATEWAY
    gw["spec"]["gatewayClassName"] = o["gateway_class"]
    ctx.call(f"create Gateway {ns}/{GATEWAY}", ctx.custom.create_namespaced_custom_object, GROUP, VERSION, ns,
             "gateways", gw)
    route = net.manifest(__file__, "httproute.yaml")
    route["metadata"]["name"] = ROUTE
    route["spec"]["parentRefs"][0]["name"] = GATEWAY
    header_rule, split_rule = route["spec"]["rules"]
    header_rule["matches"][0]["headers"][0].update(name=o["header_name"], value=o["header_value"])
    header_rule["backendRefs"][0]["name"] = SECONDARY
    weight = int(o["split_weight"])
    split_rule["backendRefs"][0].update(name=PRIMARY, weight=weight)
    split_rule["backendRefs"][1].update(name=SECONDARY, weight=100 - weight)
    ctx.call(f"create HTTPRoute {ns}/{ROUTE}", ctx.custom.create_namespaced_custom_object, GROUP, VERSION, ns,
             "httproutes", route)
    ctx.record("Probe Gateway and HTTPRoute (as created)", [gw, route], command=f"kubectl apply -n {ns} -f -")


def _wait_backends(ctx: ProbeContext, ns: str, timeout: float) -> dict[str, Any]:
    pods: dict[str, dict[str, Any]] = {}

    def ready() -> bool:
        for name in (PRIMARY, SECONDARY):
            pods[name] = net.get_pod(ctx, ns, name)
        return all(net.pod_ready(p) for p in pods.values())

    out: dict[str, Any] = {}
    try:
        wait_until(ready, timeout=timeout, interval=1.0, what="the echo backends to be Ready",
                   missing=lambda: "; ".join(f"{n}: {net.pod_state(p)}" for n, p in pods.items() if not net.pod_ready(p)))
    except ProbeTimeout as exc:
        out["timeout"] = str(exc)
    out["pods"] = {n: {"ready": net.pod_ready(p), "state": net.pod_state(p), "node": (p.get("spec") or {}).get("nodeName", "")}
                   for n, p in pods.items()}
    ctx.record("Echo backends", out, command=f"kubectl get pods -n {ns} -o wide")
    return out


def _run_client(ctx: ProbeContext, ns: str, o: dict[str, Any], host: str, source: str) -> dict[str, Any]:
    pod = net.manifest(__file__, "client-pod.yaml")
    pod["metadata"]["name"] = CLIENT
    pod["spec"]["containers"][0]["image"] = o["client_image"]
    net.set_env(pod, {"GATEWAY_HOST": host, "SPLIT_REQUESTS": o["split_requests"],
                      "HEADER_REQUESTS": o["header_requests"], "HEADER_NAME": o["header_name"],
                      "HEADER_VALUE": o["header_value"], "WARMUP_ATTEMPTS": o["warmup_attempts"],
                      "WARMUP_BACKENDS": f"{PRIMARY} {SECONDARY}"})
    out: dict[str, Any] = {"host": host, "host_source": source}
    out.update(net.run_client(ctx, ns, pod, float(o["pod_timeout"]) + float(o["client_timeout"])))
    ctx.record("Traffic observed through the Gateway", {k: out[k] for k in ("host", "host_source", "kinds")})
    return out
