"""pod_autoscaling fetch: metrics APIs, then an HPA on a GPU Deployment driven up and down by real load."""
from __future__ import annotations

import time
from typing import Any

from kubernetes import client

from aiconform.kube import ClusterError
from aiconform.verifiers import _scheduling as s
from aiconform.verifiers.base import ProbeContext, ProbeTimeout, wait_until

APISERVICES = {"metrics": "v1beta1.metrics.k8s.io", "custom_metrics": "v1beta1.custom.metrics.k8s.io"}
CUSTOM = "/apis/custom.metrics.k8s.io/v1beta1"
APP = "aiconform-gpu-workload"
POLL = 2.0


def fetch(ctx: ProbeContext) -> dict[str, Any]:
    o = ctx.options
    facts: dict[str, Any] = {"options": {k: o.get(k) for k in (
        "metric_name", "target_average_value", "min_replicas", "max_replicas", "stabilization_window",
        "accelerator_resource", "scale_up_timeout", "scale_down_timeout")}}
    facts["apiservices"] = {key: _apiservice(ctx, name) for key, name in APISERVICES.items()}
    facts["metric_listed"] = _metric_listed(ctx, o["metric_name"]) if facts["apiservices"]["custom_metrics"][
        "available"] else None
    facts["accelerator_nodes"] = _accelerator_nodes(ctx, o["accelerator_resource"])
    if not all(a["available"] for a in facts["apiservices"].values()) or not facts["metric_listed"] \
            or not facts["accelerator_nodes"]:
        return facts
    ns = ctx.probe_namespace()
    facts["namespace"] = ns
    _create_workload(ctx, ns)
    facts["baseline"] = _baseline(ctx, ns)
    if facts["baseline"].get("timeout"):
        return facts
    hpa = s.manifest(__file__, "hpa.yaml")
    hpa["metadata"]["namespace"] = ns
    hpa["spec"].update(minReplicas=int(o["min_replicas"]), maxReplicas=int(o["max_replicas"]))
    hpa["spec"]["behavior"]["scaleDown"]["stabilizationWindowSeconds"] = int(o["stabilization_window"])
    target = hpa["spec"]["metrics"][0]["pods"]
    target["metric"]["name"] = o["metric_name"]
    target["target"]["averageValue"] = str(o["target_average_value"])
    ctx.call(f"create HorizontalPodAutoscaler {ns}/{APP}",
             client.AutoscalingV2Api(ctx.conn.api).create_namespaced_horizontal_pod_autoscaler, ns, hpa)
    ctx.record("HorizontalPodAutoscaler created", hpa, kind="object")
    facts["scale_up"] = _scale_up(ctx, ns)
    facts["scale_down"] = _scale_down(ctx, ns) if facts["scale_up"].get("scaled") else None
    facts["events"] = s.events(ctx, ns, {APP})
    ctx.record("HPA events", s.events_table(facts["events"]), command=f"kubectl describe hpa -n {ns} {APP}")
    return facts


def _apiservice(ctx: ProbeContext, name: str) -> dict[str, Any]:
    api = client.ApiregistrationV1Api(ctx.conn.api)
    got = ctx.optional(f"get APIService {name}", api.read_api_service, name)
    if got is None:
        return {"name": name, "exists": False, "available": False}
    obj = s.plain(ctx, got)
    ctx.record(f"APIService {name}", {"spec": obj.get("spec"), "status": obj.get("status")}, kind="object",
               command=f"kubectl get apiservice {name} -o yaml")
    avail = next((c for c in s.conditions(obj) if c.get("type") == "Available"), {})
    return {"name": name, "exists": True, "available": avail.get("status") == "True",
            "reason": avail.get("reason", ""), "message": avail.get("message", "")}


def _metric_listed(ctx: ProbeContext, metric: str) -> bool:
    """prometheus-adapter lists pods/<metric>; some adapters list a pods/* wildcard."""
    doc = ctx.raw_get(CUSTOM, f"discover {CUSTOM}")
    names = [r.get("name") for r in (doc or {}).get("resources") or []]
    ctx.record("Custom metrics API resources", "\n".join(str(n) for n in names[:200]), kind="api",
               command=f"kubectl get --raw {CUSTOM}")
    return f"pods/{metric}" in names or "pods/*" in names


def _accelerator_nodes(ctx: ProbeContext, resource: str) -> list[str]:
    nodes = s.plain(ctx, ctx.call("list nodes", ctx.core.list_node)).get("items") or []
    return sorted(n["metadata"]["name"] for n in nodes
                  if s.quantity(((n.get("status") or {}).get("allocatable") or {}).get(resource, 0)) > 0)


def _create_workload(ctx: ProbeContext, ns: str) -> None:
    cm = s.manifest(__file__, "load-configmap.yaml")
    cm["metadata"]["namespace"] = ns
    ctx.call(f"create ConfigMap {ns}/aiconform-gpu-load", ctx.core.create_namespaced_config_map, ns, cm)
    dep = s.manifest(__file__, "deployment.yaml")
    dep["metadata"]["namespace"] = ns
    dep["spec"]["replicas"] = int(ctx.options["min_replicas"])
    pod = dep["spec"]["template"]["spec"]
    container = pod["containers"][0]
    container["image"] = ctx.options["image"]
    res = ctx.options["accelerator_resource"]
    container["resources"]["limits"] = {res: "1"}
    pod["tolerations"] = [s.gpu_toleration()] + ([{"key": res, "operator": "Exists", "effect": "NoSchedule"}]
                                                 if res != "nvidia.com/gpu" else [])
    ctx.call(f"create Deployment {ns}/{APP}", ctx.apps.create_namespaced_deployment, ns, dep)
    ctx.record("GPU workload Deployment created", dep, kind="object")


def _pods(ctx: ProbeContext, ns: str) -> list[dict[str, Any]]:
    pods = s.plain(ctx, ctx.call(f"list pods in {ns}", ctx.core.list_namespaced_pod, ns,
                                 label_selector=f"app={APP}")).get("items") or []
    return [s.pod_summary(p) for p in pods if not p["metadata"].get("deletionTimestamp")]


def _running(pods: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [p for p in pods if p["phase"] == "Running"]


def _baseline(ctx: ProbeContext, ns: str) -> dict[str, Any]:
    n = int(ctx.options["min_replicas"])
    try:
        pods = wait_until(lambda: (r := _running(_pods(ctx, ns))) and len(r) >= n and r,
                          timeout=float(ctx.options["pod_ready_timeout"]), interval=POLL,
                          what=f"{n} GPU workload pod(s) Running",
                          missing=lambda: ", ".join(f"{p['name']} {p['phase']}"
                                                    + (f" ({p['unschedulable']['message']})" if p.get("unschedulable")
                                                       else "") for p in _pods(ctx, ns)) or "no pods")
        return {"pods": pods}
    except ProbeTimeout as exc:
        return {"timeout": str(exc), "pods": _pods(ctx, ns)}


def _set_load(ctx: ProbeContext, ns: str, on: bool) -> None:
    ctx.call(f"patch ConfigMap {ns}/aiconform-gpu-load", ctx.core.patch_namespaced_config_map, "aiconform-gpu-load",
             ns, {"data": {"load": "1" if on else "0"}})


def _hpa(ctx: ProbeContext, ns: str) -> dict[str, Any]:
    got = ctx.call(f"get HorizontalPodAutoscaler {ns}/{APP}",
                   client.AutoscalingV2Api(ctx.conn.api).read_namespaced_horizontal_pod_autoscaler, APP, ns)
    return s.plain(ctx, got)


def _hpa_summary(hpa: dict[str, Any]) -> dict[str, Any]:
    st = hpa.get("status") or {}
    current = []
    for m in st.get("currentMetrics") or []:
        pods = m.get("pods") or {}
        current.append({"metric": (pods.get("metric") or {}).get("name"),
                        "averageValue": (pods.get("current") or {}).get("averageValue")})
    return {"currentReplicas": st.get("currentReplicas"), "desiredReplicas": st.get("desiredReplicas"),
            "currentMetrics": current, "conditions": s.conditions(hpa)}


def _metric_values(ctx: ProbeContext, ns: str) -> list[dict[str, Any]] | str:
    path = f"{CUSTOM}/namespaces/{ns}/pods/*/{ctx.options['metric_name']}"
    try:
        doc = ctx.raw_get(path, f"GET {path}")
    except ClusterError as exc:
        if exc.kind in ("not_found", "server"):
            return str(exc)
        raise
    return [{"pod": (i.get("describedObject") or {}).get("name"), "value": i.get("value")}
            for i in (doc or {}).get("items") or []]


def _gpu_pods(ctx: ProbeContext, pods: list[dict[str, Any]]) -> bool:
    accel = set(_accelerator_nodes(ctx, ctx.options["accelerator_resource"]))
    return all(p["node"] in accel for p in pods)


def _scale_up(ctx: ProbeContext, ns: str) -> dict[str, Any]:
    o = ctx.options
    target = int(o["min_replicas"]) + 1
    started = time.monotonic()
    _set_load(ctx, ns, True)
    ctx.record("Load applied", f"kubectl patch configmap -n {ns} aiconform-gpu-load -p '{{\"data\":{{\"load\":\"1\"}}}}'",
               kind="command")
    out: dict[str, Any] = {"target_replicas": target}

    def grown() -> list[dict[str, Any]] | None:
        hpa = _hpa(ctx, ns)
        desired = (hpa.get("status") or {}).get("desiredReplicas") or 0
        running = _running(_pods(ctx, ns))
        return running if desired >= target and len(running) >= target else None

    try:
        pods = wait_until(grown, timeout=float(o["scale_up_timeout"]), interval=POLL,
                          what=f"the HPA to scale {APP} to >= {target} Running replicas",
                          missing=lambda: _hpa_missing(ctx, ns))
        out.update(scaled=True, pods=pods, on_accelerator_nodes=_gpu_pods(ctx, pods))
    except ProbeTimeout as exc:
        out.update(scaled=False, timeout=str(exc), pods=_pods(ctx, ns))
    out["duration_s"] = round(time.monotonic() - started, 3)
    hpa = _hpa(ctx, ns)
    out["hpa"] = _hpa_summary(hpa)
    out["metric_values"] = _metric_values(ctx, ns)
    ctx.record("HPA after load (scale up)", {"status": hpa.get("status")}, kind="object",
               command=f"kubectl get hpa -n {ns} {APP} -o yaml")
    ctx.record("Custom metric values under load", out["metric_values"], kind="metrics",
               command=f"kubectl get --raw '{CUSTOM}/namespaces/{ns}/pods/*/{o['metric_name']}'")
    return out


def _hpa_missing(ctx: ProbeContext, ns: str) -> str:
    summary = _hpa_summary(_hpa(ctx, ns))
    bad = [f"{c['type']}={c['status']} ({c.get('reason')}: {c.get('message')})" for c in summary["conditions"]
           if (c["type"] == "ScalingActive" and c["status"] != "True") or (c["type"] == "AbleToScale"
                                                                          and c["status"] != "True")]
    pods = _pods(ctx, ns)
    return (f"desiredReplicas={summary['desiredReplicas']}, currentMetrics={summary['currentMetrics']}, pods: "
            + ", ".join(f"{p['name']} {p['phase']}" for p in pods) + (f"; {'; '.join(bad)}" if bad else ""))


def _scale_down(ctx: ProbeContext, ns: str) -> dict[str, Any]:
    o = ctx.options
    n = int(o["min_replicas"])
    started = time.monotonic()
    _set_load(ctx, ns, False)
    ctx.record("Load removed", f"kubectl patch configmap -n {ns} aiconform-gpu-load -p '{{\"data\":{{\"load\":\"0\"}}}}'",
               kind="command")
    out: dict[str, Any] = {"target_replicas": n, "stabilization_window": int(o["stabilization_window"])}

    def shrunk() -> bool:
        dep = s.plain(ctx, ctx.call(f"get Deployment {ns}/{APP}", ctx.apps.read_namespaced_deployment, APP, ns))
        return int((dep.get("spec") or {}).get("replicas") or 0) <= n and len(_pods(ctx, ns)) <= n

    try:
        wait_until(shrunk, timeout=float(o["scale_down_timeout"]), interval=POLL,
                   what=f"the HPA to scale {APP} back to {n} replica(s)", missing=lambda: _hpa_missing(ctx, ns))
        out["scaled"] = True
    except ProbeTimeout as exc:
        out.update(scaled=False, timeout=str(exc))
    out["after_s"] = round(time.monotonic() - started, 3)
    hpa = _hpa(ctx, ns)
    out["hpa"] = _hpa_summary(hpa)
    ctx.record("HPA after load removed (scale down)", {"status": hpa.get("status")}, kind="object",
               command=f"kubectl get hpa -n {ns} {APP} -o yaml")
    return out
