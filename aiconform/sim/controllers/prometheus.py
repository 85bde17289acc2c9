"""Prometheus (kube-prometheus-stack / Prometheus Operator) and the ai_service_metrics stub, behind the proxy.

Prometheus pods (image ``prometheus/prometheus``) answer ``/api/v1/query`` and ``/api/v1/targets`` in the real
Prometheus HTTP API JSON format (as in AICR's accelerator-metrics.md and the kOps AIServiceMetrics transcript
under ../shared/fixtures/evidence). Targets follow the Prometheus Operator's selection, so a monitor the
Prometheus would not select yields no data:

- ``spec.serviceMonitorSelector`` / ``podMonitorSelector``: absent selects nothing, ``{}`` everything, else
  label match; ``...NamespaceSelector``: absent means the Prometheus' own namespace, ``{}`` every namespace.
- A ServiceMonitor's ``namespaceSelector`` (``any``/``matchNames``, default its own namespace) and ``selector``
  pick Services; each ready endpoint pod of each ``endpoints[].port`` is a target. Target labels as the
  operator's relabelling gives them: ``job`` (Service name, or its ``jobLabel`` label), ``namespace``,
  ``service``, ``pod``, ``container``, ``endpoint``, ``instance`` (podIP:port); with ``honorLabels: false``
  clashing exposed labels become ``exported_<name>``. PodMonitors: ``job`` is ``<namespace>/<name>``.

A Prometheus pod that no Prometheus object owns (the prometheus-community chart's ``prometheus-server``, configured
by file) discovers as that chart's default scrape configs do: job ``kubernetes-service-endpoints`` scrapes the
ready endpoints of Services annotated ``prometheus.io/scrape: "true"`` and job ``kubernetes-pods`` Running pods so
annotated, on ``prometheus.io/port`` (else the Service's ports / the first container port) and
``prometheus.io/path`` (default ``/metrics``), with labels ``namespace``, ``service``/``pod``, ``node``.
Simulator-only: the pod annotation ``sim.aiconform.io/annotation-discovery: "false"`` stands for a server whose
configuration has no such jobs (it scrapes nothing).

Emulation limits: targets are scraped when a query arrives (no 30 s scrape interval), and a query must be an
instant-vector selector (``name{label="v",label=~"re"}``); anything else is answered ``bad_data``.

The stub (pods labelled ``app.kubernetes.io/name=ai-metrics-stub``) behaves like its script, the verifier's
``stub.py``: ``/v1/infer`` counts a request (latency emulated as 2 ms) and ``/metrics`` serves the counter,
the latency histogram and the queue depth labelled ``conformance_run`` from the pod's ``RUN_ID``.
"""
from __future__ import annotations

import json
import re
import time
from typing import Any
from urllib.parse import parse_qs

from prometheus_client.parser import text_string_to_metric_families

from aiconform.sim.api import ANNOTATION_PREFIX, Cluster
from aiconform.sim.controllers import proxy
from aiconform.sim.selectors import parse_label_selector, selector_to_string

Obj = dict[str, Any]
MON = "monitoring.coreos.com"
STUB_LABEL = ("app.kubernetes.io/name", "ai-metrics-stub")
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
STUB_LATENCY = 0.002
_STUBS: dict[str, dict[str, Any]] = {}  # pod uid -> counters
_SELECTOR = re.compile(r'^\s*([a-zA-Z_:][a-zA-Z0-9_:]*)?\s*(?:\{(.*)\})?\s*$')
_MATCHER = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"\s*(?:,|$)')


# -- the stub ------------------------------------------------------------------------------------
def _stub_state(pod: Obj) -> dict[str, Any]:
    return _STUBS.setdefault(pod["metadata"]["uid"], {"count": 0, "sum": 0.0, "buckets": [0] * len(BUCKETS)})


def stub_metrics(pod: Obj) -> str:
    run = proxy.pod_env(pod).get("RUN_ID", "unknown")
    s = _stub_state(pod)
    lab = f'conformance_run="{run}"'
    out = ["# HELP ai_conformance_inference_requests_total Inference requests served.",
           "# TYPE ai_conformance_inference_requests_total counter",
           f"ai_conformance_inference_requests_total{{{lab}}} {s['count']}",
           "# HELP ai_conformance_inference_request_duration_seconds Inference request latency.",
           "# TYPE ai_conformance_inference_request_duration_seconds histogram"]
    out += [f'ai_conformance_inference_request_duration_seconds_bucket{{{lab},le="{le}"}} {n}'
            for le, n in zip(BUCKETS, s["buckets"], strict=True)]
    out += [f'ai_conformance_inference_request_duration_seconds_bucket{{{lab},le="+Inf"}} {s["count"]}',
            f"ai_conformance_inference_request_duration_seconds_sum{{{lab}}} {s['sum']:.6f}",
            f"ai_conformance_inference_request_duration_seconds_count{{{lab}}} {s['count']}",
            "# HELP ai_conformance_inference_queue_depth Requests waiting or in progress.",
            "# TYPE ai_conformance_inference_queue_depth gauge",
            f"ai_conformance_inference_queue_depth{{{lab}}} 0"]
    return "\n".join(out) + "\n"


@proxy.register
def stub_backend(c: Cluster, req: proxy.ProxyRequest) -> proxy.ProxyResponse | None:
    if (req.pod["metadata"].get("labels") or {}).get(STUB_LABEL[0]) != STUB_LABEL[1]:
        return None
    if req.path.startswith("/metrics") and req.method == "GET":
        return proxy.ProxyResponse(200, stub_metrics(req.pod).encode(), "text/plain; version=0.0.4; charset=utf-8")
    if req.path.startswith("/v1/infer") and req.method in ("GET", "POST"):
        s = _stub_state(req.pod)
        s["count"] += 1
        s["sum"] += STUB_LATENCY
        for i, le in enumerate(BUCKETS):
            if STUB_LATENCY <= le:
                s["buckets"][i] += 1
        return proxy.ProxyResponse(200, json.dumps({"result": "ok", "request": s["count"]}).encode(), "application/json")
    return proxy.ProxyResponse(404, b"not found\n")


# -- Prometheus ----------------------------------------------------------------------------------
def _selects(selector: Any, labels: dict[str, str]) -> bool:
    if selector is None:
        return False
    return parse_label_selector(selector_to_string(selector))(labels)


def _namespaces(c: Cluster, selector: Any, own: str) -> list[str]:
    if selector is None:
        return [own]
    return [n["metadata"]["name"] for n in c.objects("", "namespaces")
            if _selects(selector, n["metadata"].get("labels") or {})]


def _monitor_namespaces(c: Cluster, mon: Obj) -> list[str]:
    sel = (mon.get("spec") or {}).get("namespaceSelector") or {}
    if sel.get("any"):
        return [n["metadata"]["name"] for n in c.objects("", "namespaces")]
    return list(sel.get("matchNames") or []) or [mon["metadata"]["namespace"]]


def targets(c: Cluster, prom: Obj) -> list[dict[str, Any]]:
    spec, ns = prom.get("spec") or {}, prom["metadata"]["namespace"]
    out: list[dict[str, Any]] = []
    for kind, sel_key, nsel_key in (("servicemonitors", "serviceMonitorSelector", "serviceMonitorNamespaceSelector"),
                                    ("podmonitors", "podMonitorSelector", "podMonitorNamespaceSelector")):
        if c.registry.get(MON, kind) is None:
            continue
        for mns in _namespaces(c, spec.get(nsel_key), ns):
            for mon in c.objects(MON, kind, mns):
                if not _selects(spec.get(sel_key), mon["metadata"].get("labels") or {}):
                    continue
                out += _service_targets(c, mon) if kind == "servicemonitors" else _pod_targets(c, mon)
    return out


def _service_targets(c: Cluster, mon: Obj) -> list[dict[str, Any]]:
    spec, out = mon.get("spec") or {}, []
    for ns in _monitor_namespaces(c, mon):
        for svc in c.objects("", "services", ns):
            if not _selects(spec.get("selector") or {}, svc["metadata"].get("labels") or {}):
                continue
            job = (svc["metadata"].get("labels") or {}).get(spec.get("jobLabel") or "", svc["metadata"]["name"])
            for ep in spec.get("endpoints") or []:
                port = next((p for p in (svc.get("spec") or {}).get("ports") or [] if p.get("name") == ep.get("port")
                             or str(p.get("targetPort")) == str(ep.get("targetPort", "-"))), None)
                if port is None:
                    continue
                for pod in proxy.endpoints(c, svc):
                    num = proxy._target_port(pod, port)
                    out.append(_target(pod, num, ep, job, f"serviceMonitor/{mon['metadata']['namespace']}/"
                                       f"{mon['metadata']['name']}/0", {"service": svc["metadata"]["name"],
                                                                        "endpoint": ep.get("port", "")}))
    return out


def _pod_targets(c: Cluster, mon: Obj) -> list[dict[str, Any]]:
    spec, out = mon.get("spec") or {}, []
    for ns in _monitor_namespaces(c, mon):
        for pod in c.objects("", "pods", ns):
            if (pod.get("status") or {}).get("phase") != "Running" or not _selects(
                    spec.get("selector") or {}, pod["metadata"].get("labels") or {}):
                continue
            for ep in spec.get("podMetricsEndpoints") or []:
                num = next((cp["containerPort"] for ctr in pod["spec"].get("containers") or []
                            for cp in ctr.get("ports") or [] if cp.get("name") == ep.get("port")), None)
                if num is not None:
                    out.append(_target(pod, int(num), ep, f"{mon['metadata']['namespace']}/{mon['metadata']['name']}",
                                       f"podMonitor/{mon['metadata']['namespace']}/{mon['metadata']['name']}/0",
                                       {"endpoint": ep.get("port", "")}))
    return out


SCRAPE = "prometheus.io/scrape"


def annotation_targets(c: Cluster) -> list[dict[str, Any]]:
    """Targets of the prometheus-community chart's kubernetes-service-endpoints and kubernetes-pods jobs."""
    out: list[dict[str, Any]] = []
    for svc in c.objects("", "services"):
        ann = svc["metadata"].get("annotations") or {}
        if ann.get(SCRAPE) != "true":
            continue
        for pod in proxy.endpoints(c, svc):
            ports = [int(ann["prometheus.io/port"])] if str(ann.get("prometheus.io/port", "")).isdigit() else [
                proxy._target_port(pod, p) for p in (svc.get("spec") or {}).get("ports") or []]
            for num in ports:
                out.append(_target(pod, num, {"path": ann.get("prometheus.io/path")}, "kubernetes-service-endpoints",
                                   "kubernetes-service-endpoints", {"service": svc["metadata"]["name"],
                                                                    "node": pod["spec"].get("nodeName", "")}))
    for pod in c.objects("", "pods"):
        ann = pod["metadata"].get("annotations") or {}
        if ann.get(SCRAPE) != "true" or (pod.get("status") or {}).get("phase") != "Running":
            continue
        num = (int(ann["prometheus.io/port"]) if str(ann.get("prometheus.io/port", "")).isdigit() else
               next((cp["containerPort"] for ctr in pod["spec"].get("containers") or [] for cp in ctr.get("ports") or []),
                    None))
        if num is not None:
            out.append(_target(pod, int(num), {"path": ann.get("prometheus.io/path")}, "kubernetes-pods",
                               "kubernetes-pods", {"node": pod["spec"].get("nodeName", "")}))
    return out


def _target(pod: Obj, port: int, ep: dict[str, Any], job: str, pool: str, extra: dict[str, str]) -> dict[str, Any]:
    ctr = next((ctr["name"] for ctr in pod["spec"].get("containers") or []
                if any(cp.get("containerPort") == port for cp in ctr.get("ports") or [])),
               (pod["spec"].get("containers") or [{}])[0].get("name", ""))
    labels = {"job": job, "namespace": pod["metadata"]["namespace"], "pod": pod["metadata"]["name"],
              "container": ctr, "instance": f"{(pod.get('status') or {}).get('podIP', '')}:{port}", **extra}
    return {"pod": pod, "port": port, "path": ep.get("path") or "/metrics", "labels": labels, "scrapePool": pool,
            "honor": bool(ep.get("honorLabels"))}


def scrape(c: Cluster, target: dict[str, Any]) -> tuple[list[dict[str, Any]], str]:
    req = proxy.ProxyRequest("GET", target["path"], {}, b"", target["pod"]["metadata"]["namespace"], target["pod"],
                             target["port"])
    resp = next((r for b in proxy.BACKENDS if b is not prometheus_backend for r in [b(c, req)] if r is not None), None)
    if resp is None or resp.status != 200:
        return [], "connection refused" if resp is None else f"server returned HTTP status {resp.status}"
    series = []
    try:
        for fam in text_string_to_metric_families(resp.body.decode()):
            for s in fam.samples:
                labels = dict(s.labels)
                for k, v in target["labels"].items():
                    if k in labels and not target["honor"]:
                        labels[f"exported_{k}"] = labels.pop(k)
                    if k not in labels or not target["honor"]:
                        labels[k] = v
                series.append({"metric": {"__name__": s.name, **labels}, "value": s.value})
    except ValueError as exc:
        return [], str(exc)
    return series, ""


def _parse_query(q: str) -> tuple[str | None, list[tuple[str, str, str]]]:
    m = _SELECTOR.match(q)
    if not m or not (m.group(1) or m.group(2)):
        raise ValueError(f"the simulator evaluates instant-vector selectors only, got {q!r}")
    matchers, rest = [], (m.group(2) or "")
    while rest.strip():
        mm = _MATCHER.match(rest)
        if not mm:
            raise ValueError(f"bad label matcher in {q!r}")
        matchers.append((mm.group(1), mm.group(2), bytes(mm.group(3), "utf-8").decode("unicode_escape")))
        rest = rest[mm.end():]
    return m.group(1), matchers


def _match(metric: dict[str, str], name: str | None, matchers: list[tuple[str, str, str]]) -> bool:
    if name and metric.get("__name__") != name:
        return False
    for k, op, v in matchers:
        have = metric.get(k, "")
        ok = {"=": have == v, "!=": have != v, "=~": re.fullmatch(v, have) is not None,
              "!~": re.fullmatch(v, have) is None}[op]
        if not ok:
            return False
    return True


def _json(code: int, body: Any) -> proxy.ProxyResponse:
    return proxy.ProxyResponse(code, json.dumps(body).encode(), "application/json")


def _prometheus_for(c: Cluster, pod: Obj) -> Obj | None:
    labels = pod["metadata"].get("labels") or {}
    name = labels.get("operator.prometheus.io/name") or labels.get("prometheus")
    if c.registry.get(MON, "prometheuses") is None or not name:
        return None
    return c.find(MON, "prometheuses", pod["metadata"]["namespace"], name)


@proxy.register
def prometheus_backend(c: Cluster, req: proxy.ProxyRequest) -> proxy.ProxyResponse | None:
    if not any("prometheus/prometheus" in img for img in proxy.container_images(req.pod)):
        return None
    prom = _prometheus_for(c, req.pod)
    params = dict(req.query)
    if req.method == "POST" and req.body:
        params.update({k: v[0] for k, v in parse_qs(req.body.decode()).items()})
    now_ = round(time.time(), 3)
    discovery = (req.pod["metadata"].get("annotations") or {}).get(ANNOTATION_PREFIX + "annotation-discovery")
    found = targets(c, prom) if prom else ([] if discovery == "false" else annotation_targets(c))
    if req.path.rstrip("/") == "/api/v1/targets":
        active = []
        for t in found:
            _series, err = scrape(c, t)
            active.append({"discoveredLabels": {}, "labels": t["labels"], "scrapePool": t["scrapePool"],
                           "scrapeUrl": f"http://{t['labels']['instance']}{t['path']}", "health": "down" if err else "up",
                           "lastError": err, "lastScrape": now_, "scrapeInterval": "30s", "scrapeTimeout": "10s"})
        return _json(200, {"status": "success", "data": {"activeTargets": active, "droppedTargets": []}})
    if req.path.rstrip("/") != "/api/v1/query":
        return proxy.ProxyResponse(404, b"404 page not found\n")
    try:
        name, matchers = _parse_query(params.get("query", ""))
    except ValueError as exc:
        return _json(400, {"status": "error", "errorType": "bad_data", "error": str(exc)})
    result = []
    for t in found:
        series, _err = scrape(c, t)
        for s in series:
            if _match(s["metric"], name, matchers):
                value = s["value"]
                text = str(int(value)) if float(value).is_integer() else repr(value)
                result.append({"metric": s["metric"], "value": [now_, text]})
    return _json(200, {"status": "success", "data": {"resultType": "vector", "result": result}})
