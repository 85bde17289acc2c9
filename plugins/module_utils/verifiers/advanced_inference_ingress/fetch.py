"""advanced_inference_ingress fetch: InferencePool API, GIE-capable GatewayClass, then a model-server simulator
behind an InferencePool (with its endpoint picker), a Gateway and an HTTPRoute to the pool, and an in-cluster
client sending OpenAI completions through the Gateway."""
from __future__ import annotations

import json
from typing import Any

try:
    from kubernetes import client
except ImportError:  # the module reports the missing library (deps.py)
    client = None

from .. import _networking as net
from ..runtime import ProbeContext, ProbeTimeout, wait_until
from . import GATEWAY_CLASS_VAR, OPTIONS, REFERENCE_CLASS

GIE_GROUP, GIE_VERSION = "inference.networking.k8s.io", "v1"
POOL, EPP, MODEL_SERVER = "aiconform-pool", "aiconform-pool-epp", "aiconform-model-server"
GATEWAY, ROUTE, CLIENT = "aiconform-inference-gateway", "aiconform-inference-route", "completions-client"


def _opt(ctx: ProbeContext, key: str) -> Any:
    value = ctx.options.get(key)
    return OPTIONS[key]["default"] if value is None else value


def fetch(ctx: ProbeContext) -> dict[str, Any]:
    o = {k: _opt(ctx, k) for k in OPTIONS}
    facts: dict[str, Any] = {"options": {k: o[k] for k in ("gateway_class", "model", "completion_requests")}}
    gie = net.served_kinds(ctx, GIE_GROUP)
    gw_api = net.served_kinds(ctx, net.GATEWAY_GROUP)
    facts["discovery"] = {"inference": gie, "gateway": gw_api,
                          "missing": net.missing_kinds(gie, {"InferencePool": (GIE_VERSION,)})
                          + net.missing_kinds(gw_api, {k: net.REQUIRED_KINDS[k] for k in ("GatewayClass", "Gateway", "HTTPRoute")})}
    ctx.record("Inference Extension and Gateway API discovery",
               {"inference": gie["kinds"], "gateway": gw_api["kinds"], "missing": facts["discovery"]["missing"]},
               kind="api", command=f"GET /apis/{GIE_GROUP}; GET /apis/{net.GATEWAY_GROUP}")
    if facts["discovery"]["missing"]:
        return facts

    if not net.select_gateway_class(ctx, o, facts, REFERENCE_CLASS, GATEWAY_CLASS_VAR):
        return facts

    ns = ctx.probe_namespace()
    facts["probe"] = {"namespace": ns, "gateway": GATEWAY, "route": ROUTE, "pool": POOL, "client": CLIENT}
    _create(ctx, ns, o)
    facts["model_servers"] = _wait_model_servers(ctx, ns, float(o["pod_timeout"]))
    facts["gateway"] = net.wait_gateway(ctx, ns, GATEWAY, float(o["gateway_timeout"]))
    facts["route"] = net.wait_parents(ctx, ns, group=net.GATEWAY_GROUP, version=net.GATEWAY_VERSION, plural="httproutes",
                                      kind="HTTPRoute", name=ROUTE, gateway=GATEWAY, timeout=float(o["route_timeout"]))
    facts["pool"] = net.wait_parents(ctx, ns, group=GIE_GROUP, version=GIE_VERSION, plural="inferencepools",
                                     kind="InferencePool", name=POOL, gateway=GATEWAY, timeout=float(o["pool_timeout"]))
    if any(facts[k].get("timeout") for k in ("model_servers", "gateway", "route", "pool")):
        return facts

    host, source = net.gateway_host(o["gateway_address"], ns, GATEWAY, facts["gateway"])
    pod = net.manifest(__file__, "client-pod.yaml")
    pod["metadata"]["name"] = CLIENT
    pod["spec"]["containers"][0]["image"] = o["client_image"]
    body = json.dumps({"model": o["model"], "prompt": "Say hello to aiconform", "max_tokens": 8})
    net.set_env(pod, {"GATEWAY_HOST": host, "REQUEST_BODY": body, "COMPLETION_REQUESTS": o["completion_requests"],
                      "WARMUP_ATTEMPTS": o["warmup_attempts"]})
    facts["traffic"] = {"host": host, "host_source": source,
                        **net.run_client(ctx, ns, pod, float(o["pod_timeout"]) + float(o["client_timeout"]))}
    return facts


def _create(ctx: ProbeContext, ns: str, o: dict[str, Any]) -> None:
    apps, rbac = ctx.apps, client.RbacAuthorizationV1Api(ctx.conn.api)
    dep = net.manifest(__file__, "model-server.yaml")
    dep["metadata"]["name"] = MODEL_SERVER
    dep["spec"]["selector"]["matchLabels"] = {"aiconform.io/pool": POOL}
    dep["spec"]["template"]["metadata"]["labels"] = {"aiconform.io/pool": POOL}
    ctr = dep["spec"]["template"]["spec"]["containers"][0]
    ctr["image"], ctr["args"][1] = o["model_server_image"], o["model"]
    ctx.call(f"create Deployment {ns}/{MODEL_SERVER}", apps.create_namespaced_deployment, ns, dep)

    for obj in net.manifest(__file__, "epp.yaml"):
        obj["metadata"]["name"] = EPP
        kind = obj["kind"]
        if kind == "ServiceAccount":
            ctx.call(f"create ServiceAccount {ns}/{EPP}", ctx.core.create_namespaced_service_account, ns, obj)
        elif kind == "Role":
            ctx.call(f"create Role {ns}/{EPP}", rbac.create_namespaced_role, ns, obj)
        elif kind == "RoleBinding":
            obj["roleRef"]["name"] = EPP
            obj["subjects"][0].update(name=EPP, namespace=ns)
            ctx.call(f"create RoleBinding {ns}/{EPP}", rbac.create_namespaced_role_binding, ns, obj)
        elif kind == "Deployment":
            spec = obj["spec"]
            spec["selector"]["matchLabels"] = spec["template"]["metadata"]["labels"] = {"aiconform.io/epp": EPP}
            pod = spec["template"]["spec"]
            pod["serviceAccountName"] = EPP
            c = pod["containers"][0]
            c["image"] = o["epp_image"]
            c["args"] = [{"POOL": POOL, "NAMESPACE": ns}.get(a, a) for a in c["args"]]
            ctx.call(f"create Deployment {ns}/{EPP}", apps.create_namespaced_deployment, ns, obj)
        elif kind == "Service":
            obj["spec"]["selector"] = {"aiconform.io/epp": EPP}
            ctx.call(f"create Service {ns}/{EPP}", ctx.core.create_namespaced_service, ns, obj)

    pool = net.manifest(__file__, "inferencepool.yaml")
    pool["metadata"]["name"] = POOL
    pool["spec"]["selector"]["matchLabels"] = {"aiconform.io/pool": POOL}
    pool["spec"]["endpointPickerRef"]["name"] = EPP
    ctx.call(f"create InferencePool {ns}/{POOL}", ctx.custom.create_namespaced_custom_object, GIE_GROUP, GIE_VERSION,
             ns, "inferencepools", pool)
    gw = net.manifest(__file__, "gateway.yaml")
    gw["metadata"]["name"] = GATEWAY
    gw["spec"]["gatewayClassName"] = o["gateway_class"]
    ctx.call(f"create Gateway {ns}/{GATEWAY}", ctx.custom.create_namespaced_custom_object, net.GATEWAY_GROUP,
             net.GATEWAY_VERSION, ns, "gateways", gw)
    route = net.manifest(__file__, "httproute.yaml")
    route["metadata"]["name"] = ROUTE
    route["spec"]["parentRefs"][0]["name"] = GATEWAY
    route["spec"]["rules"][0]["backendRefs"][0]["name"] = POOL
    ctx.call(f"create HTTPRoute {ns}/{ROUTE}", ctx.custom.create_namespaced_custom_object, net.GATEWAY_GROUP,
             net.GATEWAY_VERSION, ns, "httproutes", route)
    ctx.record("Probe InferencePool, Gateway and HTTPRoute (as created)", [pool, gw, route],
               command=f"kubectl apply -n {ns} -f -")


def _wait_model_servers(ctx: ProbeContext, ns: str, timeout: float) -> dict[str, Any]:
    pods: list[dict[str, Any]] = []

    def ready() -> bool:
        listed = ctx.call(f"list pods of {ns}", ctx.core.list_namespaced_pod, ns)
        pods[:] = [ctx.conn.api.sanitize_for_serialization(p) for p in listed.items]
        servers = [p for p in pods if (p["metadata"].get("labels") or {}).get("aiconform.io/pool") == POOL]
        epps = [p for p in pods if (p["metadata"].get("labels") or {}).get("aiconform.io/epp") == EPP]
        return any(net.pod_ready(p) for p in servers) and any(net.pod_ready(p) for p in epps)

    out: dict[str, Any] = {}
    try:
        wait_until(ready, timeout=timeout, interval=1.0, what="a Ready model server and endpoint picker",
                   missing=lambda: "; ".join(f"{p['metadata']['name']}: {net.pod_state(p)}" for p in pods
                                             if not net.pod_ready(p)) or "no pods yet")
    except ProbeTimeout as exc:
        out["timeout"] = str(exc)
    out["pods"] = {p["metadata"]["name"]: {"ready": net.pod_ready(p), "state": net.pod_state(p)} for p in pods}
    ctx.record("Model servers and endpoint picker", out, command=f"kubectl get pods -n {ns}")
    return out
