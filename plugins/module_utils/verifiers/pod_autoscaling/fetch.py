"""pod_autoscaling fetch: the metrics path (custom or KEDA external), then an HPA on an accelerator Deployment
driven by a CPU-only control, real accelerator load, and no load."""
from __future__ import annotations

import time
from typing import Any

try:
    from kubernetes import client
except ImportError:  # the module reports the missing library (deps.py)
    client = None

from ...kube import ClusterError
from .. import _scheduling as s
from ..runtime import ProbeContext, ProbeTimeout, pause, wait_until

APISERVICES = {"metrics": "v1beta1.metrics.k8s.io", "custom_metrics": "v1beta1.custom.metrics.k8s.io",
               "external_metrics": "v1beta1.external.metrics.k8s.io"}
CUSTOM = "/apis/custom.metrics.k8s.io/v1beta1"
EXTERNAL = "/apis/external.metrics.k8s.io/v1beta1"
KEDA = "keda.sh"
APP = "aiconform-gpu-workload"
LOAD_CM = "aiconform-gpu-load"
POLL = 2.0
DISCOVERY_WAIT, POLL_503 = 60.0, 5.0  # a custom metrics API answering 503 (_metric_listed)
# Accelerator vendors: the extended resource their device plugin advertises, the load image option, and the
# utilization series of their exporter as Prometheus stores it for a workload pod (labels exported_namespace /
# exported_pod when scraped from the exporter's own pod).
VENDORS: dict[str, dict[str, str]] = {
    "nvidia": {"resource": "nvidia.com/gpu", "image_option": "image", "series": "DCGM_FI_DEV_GPU_UTIL"},
    "amd": {"resource": "amd.com/gpu", "image_option": "amd_image", "series": "gpu_gfx_activity"},
}
PROMETHEUS_SERVICE = "prometheus-operated"  # the Prometheus Operator's governing Service (kube-prometheus-stack)


def fetch(ctx: ProbeContext) -> dict[str, Any]:
    o = ctx.options
    facts: dict[str, Any] = {"options": {k: o.get(k) for k in (
        "metrics_source", "metric_name", "target_average_value", "min_replicas", "max_replicas",
        "stabilization_window", "accelerator_resource", "control_window", "scale_up_timeout", "scale_down_timeout")}}
    facts["apiservices"] = {key: _apiservice(ctx, name) for key, name in APISERVICES.items()}
    facts["metric_listed"] = _metric_listed(ctx, o["metric_name"], facts["apiservices"]["custom_metrics"]) if facts[
        "apiservices"]["custom_metrics"]["available"] else None
    facts["keda_versions"] = s.api_group_versions(ctx, KEDA)
    facts["accelerator"] = _accelerator(ctx, str(o.get("accelerator_resource") or "auto"))
    facts["accelerator_nodes"] = facts["accelerator"].get("nodes") or []
    facts["source"] = _source(facts, str(o.get("metrics_source") or "auto"))
    ctx.record("Metrics path chosen", {"source": facts["source"], "accelerator": facts["accelerator"]}, kind="api")
    src = facts["source"].get("name")
    if src is None or not facts["accelerator"].get("vendor") or not facts["accelerator_nodes"]:
        return facts
    if src == "external":
        facts["prometheus"] = _prometheus_address(ctx)
        if not facts["prometheus"].get("address"):
            return facts
    vendor = facts["accelerator"]["vendor"]
    ns = ctx.probe_namespace()
    facts["namespace"] = ns
    facts["load_image"] = o[VENDORS[vendor]["image_option"]]
    _create_workload(ctx, ns, vendor, facts["accelerator"]["resource"])
    facts["baseline"] = _baseline(ctx, ns)
    if facts["baseline"].get("timeout"):
        return facts
    if src == "custom":
        if not facts.get("metric_listed"):
            facts["metric_served"] = _wait_metric_served(ctx, ns, o["metric_name"], float(o["scale_up_timeout"]))
            if facts["metric_served"].get("timeout"):
                return facts
        facts["hpa_name"] = _create_hpa(ctx, ns)
    else:
        facts["query"] = str(o.get("external_query") or "") or _default_query(vendor, ns)
        facts["hpa_name"] = _create_scaledobject(ctx, ns, facts["keda_versions"][0], facts["prometheus"]["address"],
                                                 facts["query"])
        if not facts["hpa_name"].get("name"):
            return facts
    hpa_name = facts["hpa_name"]["name"]
    probe = _Probe(ctx, ns, src, hpa_name, facts["accelerator"]["resource"])
    facts["control"] = probe.control()
    facts["scale_up"] = probe.scale_up()
    facts["scale_down"] = probe.scale_down() if facts["scale_up"].get("scaled") else None
    facts["events"] = s.events(ctx, ns, {hpa_name, APP})
    ctx.record("HPA events", s.events_table(facts["events"]), command=f"kubectl describe hpa -n {ns} {hpa_name}")
    return facts


# -- what the platform offers ----------------------------------------------------------------------------------
def _apiservice(ctx: ProbeContext, name: str) -> dict[str, Any]:
    api = client.ApiregistrationV1Api(ctx.conn.api)
    got = ctx.optional(f"get APIService {name}", api.read_api_service, name)
    if got is None:
        return {"name": name, "exists": False, "available": False}
    obj = s.plain(got)
    ctx.record(f"APIService {name}", {"spec": obj.get("spec"), "status": obj.get("status")}, kind="object",
               command=f"kubectl get apiservice {name} -o yaml")
    avail = next((c for c in s.conditions(obj) if c.get("type") == "Available"), {})
    svc = (obj.get("spec") or {}).get("service") or {}
    return {"name": name, "exists": True, "available": avail.get("status") == "True",
            "reason": avail.get("reason", ""), "message": avail.get("message", ""),
            "service": f"{svc.get('namespace')}/{svc.get('name')}" if svc else ""}


def _metric_listed(ctx: ProbeContext, metric: str, apiservice: dict[str, Any]) -> bool:
    """prometheus-adapter lists pods/<metric>; some adapters list a pods/* wildcard. The aggregator's Available lags:
    a 503 from the API while its APIService says Available is waited out for ``DISCOVERY_WAIT`` seconds (as the HPA
    retries each sync); a 503 that persists makes the API unavailable (``apiservice`` updated), not an error."""
    deadline = time.monotonic() + DISCOVERY_WAIT
    while True:
        try:
            doc = ctx.raw_get(CUSTOM, f"discover {CUSTOM}")
            break
        except ClusterError as exc:
            if exc.status != 503:
                raise
            if time.monotonic() + POLL_503 > deadline:
                apiservice.update(available=False, reason="ServiceUnavailable",
                                  message=f"{CUSTOM} answered 503 for {DISCOVERY_WAIT:g} s while its APIService "
                                          f"said Available: {exc}")
                return False
            pause(POLL_503)
    names = [r.get("name") for r in (doc or {}).get("resources") or []]
    ctx.record("Custom metrics API resources", "\n".join(str(n) for n in names[:200]), kind="api",
               command=f"kubectl get --raw {CUSTOM}")
    return f"pods/{metric}" in names or "pods/*" in names


def _wait_metric_served(ctx: ProbeContext, ns: str, metric: str, timeout: float) -> dict[str, Any]:
    """Wait until custom.metrics.k8s.io serves ``pods/<metric>`` for the workload's pods (they hold accelerators now,
    so their series exist); {seconds, values} or {timeout}."""
    path = f"{CUSTOM}/namespaces/{ns}/pods/*/{metric}"
    started, last = time.monotonic(), {"error": "not read yet"}

    def served() -> list[dict[str, Any]] | None:
        try:
            doc = ctx.raw_get(path, f"GET {path}")
        except ClusterError as exc:
            if exc.kind not in ("not_found", "server") and exc.status != 503:
                raise
            last["error"] = str(exc)
            return None
        items = [{"pod": (i.get("describedObject") or {}).get("name"), "value": i.get("value")}
                 for i in (doc or {}).get("items") or []]
        last["error"] = "" if items else "no items"
        return items or None

    try:
        values = wait_until(served, timeout=timeout, interval=5.0, what=f"custom.metrics.k8s.io to serve pods/{metric} "
                            "for the workload's pods", missing=lambda: last["error"])
    except ProbeTimeout as exc:
        return {"timeout": str(exc)}
    out = {"seconds": round(time.monotonic() - started, 1), "values": values}
    ctx.record(f"pods/{metric} served for the workload", out, kind="api", command=f"kubectl get --raw {path}")
    return out


def _accelerator(ctx: ProbeContext, wanted: str) -> dict[str, Any]:
    """The vendor whose extended resource the nodes advertise (the inventory's resource when set)."""
    nodes = s.plain(ctx.call("list nodes", ctx.core.list_node)).get("items") or []

    def having(res: str) -> list[str]:
        return sorted(n["metadata"]["name"] for n in nodes
                      if s.quantity(((n.get("status") or {}).get("allocatable") or {}).get(res, 0)) > 0)

    if wanted != "auto":
        vendor = next((v for v, d in VENDORS.items() if d["resource"] == wanted), None)
        return {"resource": wanted, "vendor": vendor, "nodes": having(wanted), "source": "inventory"}
    found = {v: having(d["resource"]) for v, d in VENDORS.items()}
    present = [v for v, ns in found.items() if ns]
    if len(present) == 1:
        v = present[0]
        return {"resource": VENDORS[v]["resource"], "vendor": v, "nodes": found[v], "source": "detected"}
    return {"resource": None, "vendor": None, "nodes": [], "source": "detected",
            "candidates": {VENDORS[v]["resource"]: found[v] for v in present}}


def _source(facts: dict[str, Any], wanted: str) -> dict[str, Any]:
    """custom (an adapter serving the metric per pod) or external (KEDA ScaledObject over external metrics)."""
    apis = facts["apiservices"]
    # An adapter lists a metric once Prometheus holds a series for it; DCGM's per-pod series exist only while a pod
    # holds the GPU, so on an idle cluster the metric is listed only after the workload runs (_wait_metric_served).
    custom_available = bool(apis["custom_metrics"]["available"])
    custom_ok = custom_available and bool(facts.get("metric_listed"))
    ext = apis["external_metrics"]
    keda = bool(facts.get("keda_versions"))
    external_ok = bool(ext["available"] and keda)
    found = {"custom": custom_ok, "external": external_ok, "keda_served": keda,
             "external_service": ext.get("service", "")}
    if wanted != "auto":
        usable = custom_available if wanted == "custom" else external_ok
        return {"name": wanted if usable else None, "wanted": wanted, "source": "inventory", **found}
    if custom_ok:
        return {"name": "custom", "source": "detected", **found}
    if external_ok:
        return {"name": "external", "source": "detected", **found}
    if custom_available:  # not listed yet: tried once the workload holds its accelerators
        return {"name": "custom", "source": "detected", "listed_later": True, **found}
    return {"name": None, "source": "detected", **found}


def _prometheus_address(ctx: ProbeContext) -> dict[str, Any]:
    """KEDA's Prometheus scaler needs a query URL: the inventory's, else the Prometheus Operator's Service."""
    given = str(ctx.options.get("prometheus_address") or "")
    if given:
        return {"address": given, "source": "inventory"}
    svcs = s.plain(ctx.call(f"list Services named {PROMETHEUS_SERVICE}", ctx.core.list_service_for_all_namespaces,
                            field_selector=f"metadata.name={PROMETHEUS_SERVICE}")).get("items") or []
    for svc in svcs:
        port = next((p.get("port") for p in (svc.get("spec") or {}).get("ports") or [] if p.get("name") == "web"),
                    9090)
        return {"address": f"http://{PROMETHEUS_SERVICE}.{svc['metadata']['namespace']}.svc:{port}",
                "source": f"Service {svc['metadata']['namespace']}/{PROMETHEUS_SERVICE}"}
    return {"address": "", "looked_for": f"a Service {PROMETHEUS_SERVICE} in any namespace"}


def _default_query(vendor: str, ns: str) -> str:
    series = VENDORS[vendor]["series"]
    return f'avg({series}{{exported_namespace="{ns}",exported_pod=~"{APP}-.+"}})'


# -- the probe -----------------------------------------------------------------------------------------------
def _create_workload(ctx: ProbeContext, ns: str, vendor: str, res: str) -> None:
    cm = s.manifest(__file__, "load-configmap.yaml")
    cm["metadata"]["namespace"] = ns
    ctx.call(f"create ConfigMap {ns}/{LOAD_CM}", ctx.core.create_namespaced_config_map, ns, cm)
    dep = s.manifest(__file__, "deployment.yaml")
    dep["metadata"]["namespace"] = ns
    dep["spec"]["replicas"] = int(ctx.options["min_replicas"])
    pod = dep["spec"]["template"]["spec"]
    container = pod["containers"][0]
    container["image"] = ctx.options[VENDORS[vendor]["image_option"]]
    program = s.manifest(__file__, "load-programs.yaml")[vendor]
    container["command"], container["args"] = program["command"], program["args"]
    container["resources"]["limits"] = {res: "1"}
    pod["tolerations"] = [s.gpu_toleration()] + ([{"key": res, "operator": "Exists", "effect": "NoSchedule"}]
                                                 if res != "nvidia.com/gpu" else [])
    ctx.call(f"create Deployment {ns}/{APP}", ctx.apps.create_namespaced_deployment, ns, dep)
    ctx.record("Accelerator workload Deployment created", dep, kind="object")


def _create_hpa(ctx: ProbeContext, ns: str) -> dict[str, Any]:
    o = ctx.options
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
    return {"name": APP, "owner": "aiconform"}


def _create_scaledobject(ctx: ProbeContext, ns: str, version: str, address: str, query: str) -> dict[str, Any]:
    o = ctx.options
    so = s.manifest(__file__, "scaledobject.yaml")
    so["metadata"]["namespace"] = ns
    so["spec"].update(minReplicaCount=int(o["min_replicas"]), maxReplicaCount=int(o["max_replicas"]))
    so["spec"]["advanced"]["horizontalPodAutoscalerConfig"]["behavior"]["scaleDown"][
        "stabilizationWindowSeconds"] = int(o["stabilization_window"])
    meta = so["spec"]["triggers"][0]["metadata"]
    meta.update(serverAddress=address, query=query, threshold=str(o["target_average_value"]))
    ctx.call(f"create ScaledObject {ns}/{APP}", ctx.custom.create_namespaced_custom_object, KEDA, version, ns,
             "scaledobjects", so)
    ctx.record("KEDA ScaledObject created", so, kind="object")

    def hpa_name() -> str | None:
        got = ctx.call(f"get ScaledObject {ns}/{APP}", ctx.custom.get_namespaced_custom_object, KEDA, version, ns,
                       "scaledobjects", APP)
        return ((got or {}).get("status") or {}).get("hpaName") or None

    try:
        name = wait_until(hpa_name, timeout=float(o["pod_ready_timeout"]), interval=1.0,
                          what=f"KEDA to create the HPA of ScaledObject {APP} (status.hpaName)")
    except ProbeTimeout as exc:
        return {"name": None, "owner": "keda", "timeout": str(exc)}
    so_now = ctx.call(f"get ScaledObject {ns}/{APP}", ctx.custom.get_namespaced_custom_object, KEDA, version, ns,
                      "scaledobjects", APP)
    ctx.record("ScaledObject status", (so_now or {}).get("status"), kind="object",
               command=f"kubectl get scaledobject -n {ns} {APP} -o yaml")
    return {"name": name, "owner": "keda", "external_metrics": ((so_now or {}).get("status") or {}).get(
        "externalMetricNames") or []}


def _pods(ctx: ProbeContext, ns: str) -> list[dict[str, Any]]:
    pods = s.plain(ctx.call(f"list pods in {ns}", ctx.core.list_namespaced_pod, ns,
                            label_selector=f"app={APP}")).get("items") or []
    return [s.pod_summary(p) for p in pods if not p["metadata"].get("deletionTimestamp")]


def _running(pods: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [p for p in pods if p["phase"] == "Running"]


def _baseline(ctx: ProbeContext, ns: str) -> dict[str, Any]:
    n = int(ctx.options["min_replicas"])
    try:
        pods = wait_until(lambda: (r := _running(_pods(ctx, ns))) and len(r) >= n and r,
                          timeout=float(ctx.options["pod_ready_timeout"]), interval=POLL,
                          what=f"{n} accelerator workload pod(s) Running",
                          missing=lambda: ", ".join(f"{p['name']} {p['phase']}"
                                                    + (f" ({p['unschedulable']['message']})" if p.get("unschedulable")
                                                       else "") for p in _pods(ctx, ns)) or "no pods")
        return {"pods": pods}
    except ProbeTimeout as exc:
        return {"timeout": str(exc), "pods": _pods(ctx, ns)}


def _hpa_summary(hpa: dict[str, Any]) -> dict[str, Any]:
    st = hpa.get("status") or {}
    current = []
    for m in st.get("currentMetrics") or []:
        body = m.get("pods") or m.get("external") or {}
        current.append({"type": m.get("type"), "metric": (body.get("metric") or {}).get("name"),
                        "averageValue": (body.get("current") or {}).get("averageValue")})
    return {"currentReplicas": st.get("currentReplicas"), "desiredReplicas": st.get("desiredReplicas"),
            "currentMetrics": current, "conditions": s.conditions(hpa)}


class _Probe:
    """One HPA (aiconform's own, or KEDA's) driven through the three load states."""

    def __init__(self, ctx: ProbeContext, ns: str, source: str, hpa_name: str, resource: str) -> None:
        self.ctx, self.ns, self.source, self.hpa_name, self.resource = ctx, ns, source, hpa_name, resource
        self.target = float(s.quantity(ctx.options["target_average_value"]))

    # reading
    def hpa(self) -> dict[str, Any]:
        got = self.ctx.call(f"get HorizontalPodAutoscaler {self.ns}/{self.hpa_name}",
                            client.AutoscalingV2Api(self.ctx.conn.api).read_namespaced_horizontal_pod_autoscaler,
                            self.hpa_name, self.ns)
        return s.plain(got)

    def _metric_path(self) -> str:
        if self.source == "custom":
            return f"{CUSTOM}/namespaces/{self.ns}/pods/*/{self.ctx.options['metric_name']}"
        spec = (self.hpa().get("spec") or {}).get("metrics") or [{}]
        metric = ((spec[0].get("external") or {}).get("metric") or {})
        labels = ((metric.get("selector") or {}).get("matchLabels") or {})
        sel = ",".join(f"{k}={v}" for k, v in labels.items())
        return f"{EXTERNAL}/namespaces/{self.ns}/{metric.get('name')}" + (f"?labelSelector={sel}" if sel else "")

    def values(self) -> list[dict[str, Any]] | str:
        path = self._metric_path()
        try:
            doc = self.ctx.raw_get(path, f"GET {path}")
        except ClusterError as exc:
            if exc.kind in ("not_found", "server"):
                return str(exc)
            raise
        if self.source == "custom":
            return [{"pod": (i.get("describedObject") or {}).get("name"), "value": i.get("value")}
                    for i in (doc or {}).get("items") or []]
        return [{"metric": i.get("metricName"), "value": i.get("value")} for i in (doc or {}).get("items") or []]

    @staticmethod
    def peak(vals: list[dict[str, Any]] | str) -> float | None:
        if not isinstance(vals, list) or not vals:
            return None
        return max(float(s.quantity(v.get("value"))) for v in vals)

    def set_load(self, value: str) -> None:
        self.ctx.call(f"patch ConfigMap {self.ns}/{LOAD_CM}", self.ctx.core.patch_namespaced_config_map, LOAD_CM,
                      self.ns, {"data": {"load": value}})
        self.ctx.record(f"Load switch set to {value!r}", f"kubectl patch configmap -n {self.ns} {LOAD_CM} -p "
                        f"'{{\"data\":{{\"load\":\"{value}\"}}}}'", kind="command")

    def missing(self) -> str:
        summary = _hpa_summary(self.hpa())
        bad = [f"{c['type']}={c['status']} ({c.get('reason')}: {c.get('message')})" for c in summary["conditions"]
               if c["type"] in ("ScalingActive", "AbleToScale") and c["status"] != "True"]
        pods = _pods(self.ctx, self.ns)
        return (f"desiredReplicas={summary['desiredReplicas']}, currentMetrics={summary['currentMetrics']}, pods: "
                + ", ".join(f"{p['name']} {p['phase']}" for p in pods) + (f"; {'; '.join(bad)}" if bad else ""))

    # phases
    def control(self) -> dict[str, Any]:
        """CPU-only control: the pods burn a CPU core with the accelerator idle. A metric that comes from the
        accelerator stays below the target and the HPA keeps the minimum."""
        o = self.ctx.options
        window = float(o["control_window"])
        self.set_load("cpu")
        samples: list[float] = []
        desired_max = 0
        errors: list[str] = []
        started = time.monotonic()
        while True:
            vals = self.values()
            if isinstance(vals, str):
                errors.append(vals)
            elif (p := self.peak(vals)) is not None:
                samples.append(p)
            desired_max = max(desired_max, int((self.hpa().get("status") or {}).get("desiredReplicas") or 0))
            if time.monotonic() - started >= window:
                break
            pause(min(POLL, max(0.05, window - (time.monotonic() - started))))
        out = {"window_s": window, "samples": len(samples), "max_value": max(samples) if samples else None,
               "desired_max": desired_max, "min_replicas": int(o["min_replicas"]), "target": self.target,
               "errors": errors[-1:]}
        self.ctx.record("CPU-only control (accelerator idle)", out, kind="metrics")
        return out

    def scale_up(self) -> dict[str, Any]:
        o = self.ctx.options
        target = int(o["min_replicas"]) + 1
        started = time.monotonic()
        self.set_load("1")
        out: dict[str, Any] = {"target_replicas": target}
        peak: list[float] = []

        def grown() -> list[dict[str, Any]] | None:
            if (p := self.peak(self.values())) is not None:
                peak.append(p)
            desired = (self.hpa().get("status") or {}).get("desiredReplicas") or 0
            running = _running(_pods(self.ctx, self.ns))
            return running if desired >= target and len(running) >= target else None

        try:
            pods = wait_until(grown, timeout=float(o["scale_up_timeout"]), interval=POLL,
                              what=f"the HPA to scale {APP} to >= {target} Running replicas", missing=self.missing)
            accel = set(_accelerator(self.ctx, self.resource)["nodes"])  # now: the pool may have grown meanwhile
            out.update(scaled=True, pods=pods, on_accelerator_nodes=all(p["node"] in accel for p in pods))
        except ProbeTimeout as exc:
            out.update(scaled=False, timeout=str(exc), pods=_pods(self.ctx, self.ns))
        out["duration_s"] = round(time.monotonic() - started, 3)
        hpa = self.hpa()
        out["hpa"] = _hpa_summary(hpa)
        out["metric_values"] = self.values()
        out["max_value"] = max(peak) if peak else self.peak(out["metric_values"])
        self.ctx.record("HPA after accelerator load (scale up)", {"status": hpa.get("status")}, kind="object",
                        command=f"kubectl get hpa -n {self.ns} {self.hpa_name} -o yaml")
        self.ctx.record("Scaled metric under accelerator load", out["metric_values"], kind="metrics",
                        command=f"kubectl get --raw '{self._metric_path()}'")
        return out

    def scale_down(self) -> dict[str, Any]:
        o = self.ctx.options
        n = int(o["min_replicas"])
        started = time.monotonic()
        self.set_load("0")
        out: dict[str, Any] = {"target_replicas": n, "stabilization_window": int(o["stabilization_window"])}

        def shrunk() -> bool:
            dep = s.plain(self.ctx.call(f"get Deployment {self.ns}/{APP}",
                                        self.ctx.apps.read_namespaced_deployment, APP, self.ns))
            return int((dep.get("spec") or {}).get("replicas") or 0) <= n and len(_pods(self.ctx, self.ns)) <= n

        try:
            wait_until(shrunk, timeout=float(o["scale_down_timeout"]), interval=POLL,
                       what=f"the HPA to scale {APP} back to {n} replica(s)", missing=self.missing)
            out["scaled"] = True
        except ProbeTimeout as exc:
            out.update(scaled=False, timeout=str(exc))
        out["after_s"] = round(time.monotonic() - started, 3)
        hpa = self.hpa()
        out["hpa"] = _hpa_summary(hpa)
        self.ctx.record("HPA after load removed (scale down)", {"status": hpa.get("status")}, kind="object",
                        command=f"kubectl get hpa -n {self.ns} {self.hpa_name} -o yaml")
        return out
