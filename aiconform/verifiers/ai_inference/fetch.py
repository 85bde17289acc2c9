"""ai_inference fetch: discovery, GatewayClass, then a Gateway + HTTPRoute + two echo backends and an
in-cluster client whose per-response log lines are the traffic facts."""
from __future__ import annotations

from typing import Any

from aiconform.verifiers import _networking as net
from aiconform.verifiers.base import ProbeContext, ProbeTimeout, wait_until

from . import OPTIONS

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

    classes = ctx.call("list GatewayClasses", ctx.custom.list_cluster_custom_object, GROUP, VERSION, "gatewayclasses")
    listing = [{"name": c["metadata"]["name"], "controllerName": (c.get("spec") or {}).get("controllerName", ""),
                "accepted": net.is_true((c.get("status") or {}).get("conditions"), "Accepted")}
               for c in classes.get("items") or []]
    ctx.record("GatewayClasses", listing, kind="api", command="kubectl get gatewayclass")
    gc = next((c for c in classes.get("items") or [] if c["metadata"]["name"] == o["gateway_class"]), None)
    facts["gateway_class"] = {"name": o["gateway_class"], "found": gc is not None, "available": listing,
                              "controllerName": ((gc or {}).get("spec") or {}).get("controllerName", ""),
                              "conditions": net.conds(((gc or {}).get("status") or {}).get("conditions"))}
    if gc is None or not net.is_true(facts["gateway_class"]["conditions"], "Accepted"):
        return facts

    ns = ctx.probe_namespace()
    facts["probe"] = {"namespace": ns, "gateway": GATEWAY, "route": ROUTE, "client": CLIENT}
    _create_backends(ctx, ns, o)
    _create_gateway_and_route(ctx, ns, o)

    # Backends are plain pods: if they cannot start the cluster (not the gateway) is at fault → unknown.
    facts["backends"] = _wait_backends(ctx, ns, float(o["pod_timeout"]))
    facts["gateway"] = _wait_gateway(ctx, ns, float(o["gateway_timeout"]))
    facts["route"] = _wait_route(ctx, ns, float(o["route_timeout"]))
    if facts["backends"].get("timeout") or facts["gateway"].get("timeout") or facts["route"].get("timeout"):
        return facts

    host, source = _gateway_host(o, ns, facts["gateway"])
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


def _get_pod(ctx: ProbeContext, ns: str, name: str) -> dict[str, Any]:
    pod = ctx.call(f"read pod {ns}/{name}", ctx.core.read_namespaced_pod, name, ns)
    return ctx.conn.api.sanitize_for_serialization(pod)


def _wait_backends(ctx: ProbeContext, ns: str, timeout: float) -> dict[str, Any]:
    pods: dict[str, dict[str, Any]] = {}

    def ready() -> bool:
        for name in (PRIMARY, SECONDARY):
            pods[name] = _get_pod(ctx, ns, name)
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


def _wait_gateway(ctx: ProbeContext, ns: str, timeout: float) -> dict[str, Any]:
    state: dict[str, Any] = {}

    def programmed() -> bool:
        state["obj"] = ctx.call(f"read Gateway {ns}/{GATEWAY}", ctx.custom.get_namespaced_custom_object, GROUP,
                                VERSION, ns, "gateways", GATEWAY)
        conditions = ((state["obj"].get("status") or {}).get("conditions"))
        return net.is_true(conditions, "Accepted") and net.is_true(conditions, "Programmed")

    out: dict[str, Any] = {}
    try:
        wait_until(programmed, timeout=timeout, interval=1.0, what=f"Gateway {GATEWAY} to be Accepted and Programmed",
                   missing=lambda: net.describe_conditions(((state.get("obj") or {}).get("status") or {}).get("conditions"),
                                                           ("Accepted", "Programmed")))
    except ProbeTimeout as exc:
        out["timeout"] = str(exc)
    out.update(net.gateway_summary(state.get("obj")))
    ctx.record("Gateway status", {"name": GATEWAY, **out}, command=f"kubectl get gateway {GATEWAY} -n {ns} -o yaml")
    return out


def _wait_route(ctx: ProbeContext, ns: str, timeout: float) -> dict[str, Any]:
    state: dict[str, Any] = {}

    def accepted() -> bool:
        state["obj"] = ctx.call(f"read HTTPRoute {ns}/{ROUTE}", ctx.custom.get_namespaced_custom_object, GROUP,
                                VERSION, ns, "httproutes", ROUTE)
        return net.route_parent_ok(net.route_parents(state["obj"]), GATEWAY)

    def missing() -> str:
        parents = [p for p in net.route_parents(state.get("obj")) if p["parent"] == GATEWAY]
        if not parents:
            return f"no status.parents entry for Gateway {GATEWAY}"
        return net.describe_conditions(parents[0]["conditions"], ("Accepted", "ResolvedRefs"))

    out: dict[str, Any] = {}
    try:
        wait_until(accepted, timeout=timeout, interval=1.0,
                   what=f"HTTPRoute {ROUTE} to be Accepted with ResolvedRefs by Gateway {GATEWAY}", missing=missing)
    except ProbeTimeout as exc:
        out["timeout"] = str(exc)
    out["parents"] = net.route_parents(state.get("obj"))
    ctx.record("HTTPRoute status.parents", {"name": ROUTE, **out},
               command=f"kubectl get httproute {ROUTE} -n {ns} -o jsonpath='{{.status.parents}}'")
    return out


def _gateway_host(o: dict[str, Any], ns: str, gateway: dict[str, Any]) -> tuple[str, str]:
    """Where the client sends requests: the inventory's template, else status.addresses, else the Service
    most implementations (kgateway, Envoy Gateway in namespace mode) name after the Gateway."""
    if o.get("gateway_address"):
        return str(o["gateway_address"]).format(gateway=GATEWAY, namespace=ns), "option gateway_address"
    for addr in gateway.get("addresses") or []:
        if addr.get("value"):
            return str(addr["value"]), f"Gateway status.addresses ({addr.get('type')})"
    return f"{GATEWAY}.{ns}.svc.cluster.local", "no status.addresses: assumed Service named after the Gateway"


def _run_client(ctx: ProbeContext, ns: str, o: dict[str, Any], host: str, source: str) -> dict[str, Any]:
    pod = net.manifest(__file__, "client-pod.yaml")
    pod["metadata"]["name"] = CLIENT
    pod["spec"]["containers"][0]["image"] = o["client_image"]
    net.set_env(pod, {"GATEWAY_HOST": host, "SPLIT_REQUESTS": o["split_requests"],
                      "HEADER_REQUESTS": o["header_requests"], "HEADER_NAME": o["header_name"],
                      "HEADER_VALUE": o["header_value"], "WARMUP_ATTEMPTS": o["warmup_attempts"]})
    ctx.call(f"create client pod {ns}/{CLIENT}", ctx.core.create_namespaced_pod, ns, pod)
    out: dict[str, Any] = {"host": host, "host_source": source}
    state: dict[str, Any] = {}

    def finished() -> bool:
        state["pod"] = _get_pod(ctx, ns, CLIENT)
        return net.pod_phase(state["pod"]) in ("Succeeded", "Failed")

    try:
        wait_until(finished, timeout=float(o["pod_timeout"]) + float(o["client_timeout"]), interval=1.0,
                   what=f"client pod {CLIENT} to finish its requests",
                   missing=lambda: net.pod_state(state.get("pod")))
    except ProbeTimeout as exc:
        out["timeout"] = str(exc)
    out["phase"] = net.pod_phase(state.get("pod"))
    out["state"] = net.pod_state(state.get("pod"))
    started = out["phase"] in ("Running", "Succeeded", "Failed")
    text = ""
    if started:
        text = ctx.call(f"read client pod log {ns}/{CLIENT}", ctx.core.read_namespaced_pod_log, CLIENT, ns,
                        container="client")
    out.update(net.parse_client_log(text))
    ctx.record("Client log (one RESULT line per response)", net.trim_log(text), kind="log",
               command=f"kubectl logs -n {ns} {CLIENT}")
    ctx.record("Traffic observed through the Gateway", {k: out[k] for k in ("host", "host_source", "kinds")})
    return out
