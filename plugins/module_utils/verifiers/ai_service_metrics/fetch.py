"""Fetch for ai_service_metrics: the monitoring system (Prometheus Operator, or any Prometheus-compatible query
API), the stub offered through every discovery means present, N requests, queries."""
from __future__ import annotations

import copy
import json
import time
from pathlib import Path
from typing import Any

try:
    from kubernetes import client
except ImportError:  # the module reports the missing library (deps.py)
    client = None

from ... import datafiles
from ..httpproxy import api_request, parse_service_ref, service_proxy_path, status_reason, url_request
from ..runtime import ProbeContext, ProbeTimeout, pause, wait_until
from . import OPTIONS
from .judge import DISCOVERY_CRDS, SCRAPE_ANNOTATIONS

MON = ("monitoring.coreos.com", "v1")
OPTION_DEFAULT_SERVICE = OPTIONS["prometheus_service"]["default"]
COUNTER = "ai_conformance_inference_requests_total"
HISTOGRAM_COUNT = "ai_conformance_inference_request_duration_seconds_count"
QUEUE = "ai_conformance_inference_queue_depth"


def parse_labels(text: str) -> dict[str, str]:
    """``k=v,k2=v2`` (upstream -service-metrics-scrape-labels) → dict."""
    out = {}
    for part in (text or "").split(","):
        if part.strip():
            k, sep, v = part.partition("=")
            if not sep or not k.strip():
                raise ValueError(f"scrape label {part!r} is not key=value")
            out[k.strip()] = v.strip()
    return out


def fetch(ctx: ProbeContext) -> dict[str, Any]:
    opts = ctx.options
    facts: dict[str, Any] = {"run_label": ctx.run_id, "request_count": int(opts.get("request_count") or 10),
                             "scrape_labels": parse_labels(opts.get("scrape_labels") or "")}
    facts["monitoring"] = monitoring(ctx)
    operator = facts["monitoring"]["servicemonitor_crd"] and facts["monitoring"]["prometheuses"]
    facts["endpoint"] = prometheus_endpoint(ctx, facts["monitoring"]["prometheuses"])
    if not facts["endpoint"]["found"]:
        return facts
    if not operator or facts["endpoint"].get("configured"):
        # No Prometheus Operator, or a query API named in the inventory: it must answer a query at all.
        facts["query_api"] = query(ctx, facts["endpoint"], "up")
        facts["query_api"].pop("result", None)
        if not facts["query_api"]["ok"]:
            return facts
    ns = ctx.probe_namespace()
    facts["namespace"] = ns
    facts["stub"] = deploy_stub(ctx, ns, facts["scrape_labels"], facts["monitoring"])
    if not facts["stub"].get("ready"):
        return facts
    facts["requests"] = send_requests(ctx, ns, facts["request_count"])
    facts["collection"] = collect(ctx, facts["endpoint"], ctx.run_id, facts["request_count"])
    return facts


def monitoring(ctx: ProbeContext) -> dict[str, Any]:
    ext = client.ApiextensionsV1Api(ctx.conn.api)
    crds = {name: ctx.optional(f"get crd {name}", ext.read_custom_resource_definition, name) is not None
            for name in ("servicemonitors.monitoring.coreos.com", "podmonitors.monitoring.coreos.com",
                         "prometheuses.monitoring.coreos.com")}
    proms = []
    if crds["prometheuses.monitoring.coreos.com"]:
        items = ctx.call("list prometheuses", ctx.custom.list_cluster_custom_object, *MON, "prometheuses")["items"]
        for p in items:
            spec, st = p.get("spec") or {}, p.get("status") or {}
            proms.append({"namespace": p["metadata"]["namespace"], "name": p["metadata"]["name"],
                          "serviceMonitorSelector": spec.get("serviceMonitorSelector"),
                          "serviceMonitorNamespaceSelector": spec.get("serviceMonitorNamespaceSelector"),
                          "available": any(c.get("type") == "Available" and c.get("status") == "True"
                                           for c in st.get("conditions") or [])})
    others = [name for name in DISCOVERY_CRDS
              if ctx.optional(f"get crd {name}", ext.read_custom_resource_definition, name) is not None]
    out = {"servicemonitor_crd": crds["servicemonitors.monitoring.coreos.com"],
           "podmonitor_crd": crds["podmonitors.monitoring.coreos.com"],
           "prometheus_crd": crds["prometheuses.monitoring.coreos.com"], "prometheuses": proms,
           "discovery_crds": others}
    ctx.record("Prometheus Operator CRDs and Prometheus objects", out,
               command="kubectl get crd servicemonitors.monitoring.coreos.com podmonitors.monitoring.coreos.com "
                       + " ".join(DISCOVERY_CRDS) + "; kubectl get prometheuses -A -o yaml")
    return out


def prometheus_endpoint(ctx: ProbeContext, proms: list[dict[str, Any]]) -> dict[str, Any]:
    opts = ctx.options
    if opts.get("query_url"):
        return {"found": True, "kind": "url", "url": opts["query_url"].rstrip("/"), "description": opts["query_url"],
                "configured": True}
    default = OPTION_DEFAULT_SERVICE
    given = opts.get("prometheus_service") or default
    refs = [given] + [f"{p['namespace']}/prometheus-operated:9090" for p in proms]  # the operator's governing Service
    for ref in refs:
        ns, name, port = parse_service_ref(ref)
        if ctx.optional(f"get service {ns}/{name}", ctx.core.read_namespaced_service, name, ns) is not None:
            return {"found": True, "kind": "service", "service": f"{ns}/{name}:{port}",
                    "path": service_proxy_path(ns, name, port, "/api/v1/query"),
                    "description": f"service {ns}/{name}:{port}", "configured": ref == given and given != default}
    return {"found": False, "reason": f"no Prometheus-compatible query API found ({', '.join(refs)}); set "
                                      "aiconform_ai_service_metrics_prometheus_service or _query_url"}


def deploy_stub(ctx: ProbeContext, ns: str, scrape_labels: dict[str, str],
                monitoring_: dict[str, Any] | None = None) -> dict[str, Any]:
    """The stub, offered to every discovery means present: scrape annotations on its Pod and Service (always), a
    ServiceMonitor (Prometheus Operator CRD), a PodMonitoring (GKE) or VMServiceScrape (VictoriaMetrics)."""
    mon = monitoring_ if monitoring_ is not None else {"servicemonitor_crd": True, "discovery_crds": []}
    cm, pod, svc, smon = copy.deepcopy(datafiles.load_yaml(__file__, "manifests", "stub.yml"))
    for obj in (pod, svc):
        obj["metadata"].setdefault("annotations", {}).update(SCRAPE_ANNOTATIONS)
    cm["data"] = {"stub.py": datafiles.read_text(__file__, "manifests", "stub.py")}
    ctr = pod["spec"]["containers"][0]
    ctr["image"] = ctx.options.get("stub_image") or "python:3.13-alpine"
    for env in ctr["env"]:
        if env["name"] == "RUN_ID":
            env["value"] = ctx.run_id
    smon["metadata"]["labels"].update(scrape_labels)
    smon["spec"]["namespaceSelector"]["matchNames"] = [ns]
    for obj in (cm, pod, svc, smon):
        obj["metadata"]["namespace"] = ns
    ctx.call("create configmap ai-metrics-stub", ctx.core.create_namespaced_config_map, ns, cm)
    ctx.call("create pod ai-metrics-stub", ctx.core.create_namespaced_pod, ns, pod)
    ctx.call("create service ai-metrics-stub", ctx.core.create_namespaced_service, ns, svc)
    offered = ["prometheus.io/scrape annotations on the Pod and Service"]
    if mon.get("servicemonitor_crd"):
        ctx.call("create servicemonitor ai-metrics-stub", ctx.custom.create_namespaced_custom_object, *MON, ns,
                 "servicemonitors", smon)
        ctx.record("ServiceMonitor ai-metrics-stub (as created)", smon, command=f"kubectl create -n {ns} -f stub.yml")
        offered.append("ServiceMonitor ai-metrics-stub")
    for crd in mon.get("discovery_crds") or []:
        group, version, plural, kind, _system = DISCOVERY_CRDS[crd]
        body = discovery_object(kind, ns, scrape_labels)
        body["apiVersion"] = f"{group}/{version}"
        ctx.call(f"create {plural} ai-metrics-stub", ctx.custom.create_namespaced_custom_object, group, version, ns,
                 plural, body)
        ctx.record(f"{kind} ai-metrics-stub (as created)", body, command=f"kubectl create -n {ns} -f -")
        offered.append(f"{kind} ai-metrics-stub")
    state: dict[str, Any] = {}

    def ready() -> bool:
        p = ctx.call("get pod ai-metrics-stub", ctx.core.read_namespaced_pod, "ai-metrics-stub", ns)
        state["phase"] = p.status.phase
        state["ready"] = any(c.type == "Ready" and c.status == "True" for c in p.status.conditions or [])
        waiting = [f"{cs.name}: {cs.state.waiting.reason}" for cs in p.status.container_statuses or []
                   if cs.state and cs.state.waiting and cs.state.waiting.reason]
        state["summary"] = f"phase {p.status.phase}" + (f"; {', '.join(waiting)}" if waiting else "")
        return state["ready"]

    out: dict[str, Any] = {"image": ctr["image"], "offered": offered}
    try:
        wait_until(ready, timeout=float(ctx.options.get("stub_ready_timeout") or 120), interval=2.0,
                   what="stub pod ai-metrics-stub to be Ready", missing=lambda: state.get("summary", "no status"))
        out["ready"] = True
    except ProbeTimeout as exc:
        out.update(ready=False, timeout=str(exc))
    out["phase"] = state.get("phase")
    return out


def discovery_object(kind: str, ns: str, labels: dict[str, str]) -> dict[str, Any]:
    """PodMonitoring (monitoring.googleapis.com: selector, endpoints[].port/interval) or VMServiceScrape
    (operator.victoriametrics.com: selector, endpoints[].port/path) for the stub, as their CRDs define them."""
    meta = {"name": "ai-metrics-stub", "namespace": ns,
            "labels": {"app.kubernetes.io/name": "ai-metrics-stub", "app.kubernetes.io/managed-by": "aiconform",
                       **labels}}
    selector = {"matchLabels": {"app.kubernetes.io/name": "ai-metrics-stub"}}
    return {"kind": kind, "metadata": meta,
            "spec": {"selector": selector, "endpoints": [{"port": "http", "path": "/metrics", "interval": "5s"}]}}


def send_requests(ctx: ProbeContext, ns: str, n: int) -> dict[str, Any]:
    path = service_proxy_path(ns, "ai-metrics-stub", "http", "/v1/infer")
    # Warm-up through the same proxy path with an uncounted GET /metrics (up to 3 tries): a first request that
    # times out while the API server first dials the pod would otherwise make the count undecidable.
    warm = service_proxy_path(ns, "ai-metrics-stub", "http", "/metrics")
    for _attempt in range(3):
        if api_request(ctx, "GET", warm, timeout=15, max_bytes=65536, what="warm-up GET /metrics").ok:
            break
    statuses = []
    for i in range(n):
        res = api_request(ctx, "POST", path, body={"prompt": f"aiconform request {i + 1}"}, timeout=15,
                          max_bytes=65536, what=f"POST /v1/infer #{i + 1} through the service proxy")
        statuses.append(res.status if not res.timed_out else 0)
    ok = sum(1 for s in statuses if 200 <= s < 300)
    ctx.record(f"{n} requests to /v1/infer", f"POST {path}\nstatuses: {statuses}", kind="api", command=f"POST {path}")
    return {"sent": n, "ok": ok, "statuses": statuses}


def query(ctx: ProbeContext, endpoint: dict[str, Any], promql: str) -> dict[str, Any]:
    if endpoint["kind"] == "url":
        token = ""
        if ctx.options.get("query_bearer_token_file"):
            token = Path(ctx.options["query_bearer_token_file"]).read_text().strip()
        res = url_request(endpoint["url"] + "/api/v1/query", query={"query": promql}, timeout=30, max_bytes=4 << 20,
                          bearer_token=token, verify=bool(ctx.conn.tls_verify))
    else:
        res = api_request(ctx, "GET", endpoint["path"], query={"query": promql}, timeout=30, max_bytes=4 << 20,
                          what=f"query Prometheus ({endpoint['description']})")
    if not res.ok:
        return {"ok": False, "error": status_reason(res)}
    try:
        body = json.loads(res.text)
    except ValueError as exc:
        return {"ok": False, "error": f"not JSON: {exc}"}
    if not isinstance(body, dict) or body.get("status") != "success":
        return {"ok": False, "error": str(body.get("error") if isinstance(body, dict) else body)[:300]}
    return {"ok": True, "result": (body.get("data") or {}).get("result") or []}


def _value(result: list[dict[str, Any]]) -> float | None:
    """The stub is one pod: the counter is the largest series value (a second scrape job would duplicate it)."""
    values = []
    for r in result:
        try:
            values.append(float(r["value"][1]))
        except (KeyError, IndexError, TypeError, ValueError):
            continue
    return max(values) if values else None


def collect(ctx: ProbeContext, endpoint: dict[str, Any], run: str, n: int) -> dict[str, Any]:
    sel = f'{{conformance_run="{run}"}}'
    timeout = float(ctx.options.get("collection_timeout") or 300)
    interval = float(ctx.options.get("query_interval") or 10)
    deadline = time.monotonic() + timeout
    attempts = 0
    last: dict[str, Any] = {}
    while True:
        attempts += 1
        last = {name: query(ctx, endpoint, name + sel) for name in (COUNTER, HISTOGRAM_COUNT, QUEUE)}
        counter = _value(last[COUNTER].get("result") or [])
        if counter is not None and counter >= n or time.monotonic() + interval > deadline:
            break
        pause(interval)
    out = {"attempts": attempts, "timeout_s": timeout,
           "counter": _value(last[COUNTER].get("result") or []),
           "histogram_count": _value(last[HISTOGRAM_COUNT].get("result") or []),
           "queue_depth": _value(last[QUEUE].get("result") or []),
           "errors": {k: v["error"] for k, v in last.items() if not v.get("ok")},
           "series_labels": [r.get("metric", {}) for r in last[COUNTER].get("result") or []][:5]}
    ctx.record(f"Prometheus query {COUNTER}{sel}", json.dumps(dict(last), indent=1)[:20000],
               kind="metrics", command=f"GET /api/v1/query?query={COUNTER}{sel}")
    return out
