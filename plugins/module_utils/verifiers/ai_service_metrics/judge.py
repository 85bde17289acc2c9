"""Judge for ai_service_metrics: facts → verdict, pure.

As upstream ``TestAIServiceMetrics``: a monitoring system that discovers workloads (Prometheus Operator:
ServiceMonitor CRD and a Prometheus; or, without it, any Prometheus-compatible query API that answers a query:
GKE or Azure managed Prometheus, VictoriaMetrics, an OpenTelemetry-fed Prometheus), the stub answers exactly N
requests, and the monitoring system returns the request counter equal to N, plus the latency histogram (count N)
and the queue depth, all labelled with the run id. The stub is offered through every discovery means present
(scrape annotations always; ServiceMonitor, PodMonitoring, VMServiceScrape when their CRDs exist). When nothing
is collected, the Prometheus objects' monitor selectors say why when they can.
"""
from __future__ import annotations

from typing import Any

from ...results import Check, Outcome, Status, Verdict

# Discovery objects of other monitoring systems, created for the stub when their CRD exists:
# CRD name -> (group, version, plural, kind, the system).
DISCOVERY_CRDS = {
    "podmonitorings.monitoring.googleapis.com": ("monitoring.googleapis.com", "v1", "podmonitorings", "PodMonitoring",
                                                 "Google Cloud Managed Service for Prometheus"),
    "vmservicescrapes.operator.victoriametrics.com": ("operator.victoriametrics.com", "v1beta1", "vmservicescrapes",
                                                      "VMServiceScrape", "VictoriaMetrics Operator"),
}
# The annotations the prometheus-community chart's kubernetes-service-endpoints / kubernetes-pods jobs (and
# most operator-less setups: OpenTelemetry prometheus receiver, Azure managed Prometheus pod annotations) honour.
SCRAPE_ANNOTATIONS = {"prometheus.io/scrape": "true", "prometheus.io/port": "8080", "prometheus.io/path": "/metrics"}
STUB_MONITOR_LABELS = {"app.kubernetes.io/name": "ai-metrics-stub", "app.kubernetes.io/managed-by": "aiconform"}


def judge(facts: dict[str, Any]) -> Verdict:
    checks: list[Check] = []
    mon = facts.get("monitoring") or {}
    n = int(facts.get("request_count") or 10)
    series = f'ai_conformance_inference_requests_total{{conformance_run="{facts.get("run_label", "")}"}}'
    endpoint = facts.get("endpoint") or {}
    api = facts.get("query_api")
    operator = bool(mon.get("servicemonitor_crd") and mon.get("prometheuses"))
    if api is not None and not api.get("ok"):
        why = (f"the query API {endpoint.get('description')} did not answer the query up: {api.get('error')}; check "
               "aiconform_ai_service_metrics_query_url / _query_bearer_token_file / _prometheus_service")
        checks.append(Check("MonitoringSystemPresent", Outcome.FAIL, why))
        return Verdict(Status.UNKNOWN, [why], checks)
    if not operator and not (endpoint.get("found") and api is not None):
        missing = [what for what, ok in (("the ServiceMonitor CRD", mon.get("servicemonitor_crd")),
                                         ("a Prometheus object", mon.get("prometheuses"))) if not ok]
        why = (f"no monitoring system that discovers workloads: {' and '.join(missing)} missing (no Prometheus "
               "Operator), and no Prometheus-compatible query API "
               + (f"({endpoint['reason']})" if endpoint.get("reason") else "")
               + " (install kube-prometheus-stack, or set aiconform_ai_service_metrics_query_url or _prometheus_service "
               "to your monitoring system's query API)")
        checks.append(Check("MonitoringSystemPresent", Outcome.FAIL, why))
        return Verdict(Status.NOT_IMPLEMENTED, [why], checks)
    proms = mon.get("prometheuses") or []
    system = _system(mon, operator)
    if operator:
        checks.append(Check("MonitoringSystemPresent", Outcome.PASS, "Prometheus Operator CRDs; Prometheus "
                            + ", ".join(f"{p['namespace']}/{p['name']}" for p in proms)))
    else:
        checks.append(Check("MonitoringSystemPresent", Outcome.PASS, f"{system}: Prometheus-compatible query API "
                            f"{endpoint.get('description')} answered (no Prometheus Operator)"))
    if not endpoint.get("found"):
        why = endpoint.get("reason") or "no Prometheus query endpoint"
        checks.append(Check("MetricsCollected", Outcome.FAIL, why))
        return Verdict(Status.NOT_IMPLEMENTED, [why], checks)
    stub = facts.get("stub") or {}
    if not stub.get("ready"):
        why = f"the stub service never became ready, so collection could not be tested: {stub.get('timeout', '')}"
        checks.append(Check("StubServesRequests", Outcome.FAIL, why))
        return Verdict(Status.UNKNOWN, [why], checks)
    req = facts.get("requests") or {}
    if req.get("ok") != n:
        answered = f"the stub answered {req.get('ok', 0)} of {n} requests (statuses {req.get('statuses')})"
        col = facts.get("collection") or {}
        if req.get("ok") and col.get("counter") is None and not col.get("errors"):
            # whatever the count, the monitoring system collected none of the answered requests
            checks.append(Check("StubServesRequests", Outcome.FAIL, answered))
            why = (f"{answered}, and {endpoint.get('description')} returned no series for {series} within "
                   f"{col.get('timeout_s')}s: the workload's metrics are not collected")
            checks.append(Check("MetricsCollected", Outcome.FAIL, why))
            return Verdict(Status.NOT_IMPLEMENTED, [why], checks)
        why = f"{answered}; the count is undecidable"
        checks.append(Check("StubServesRequests", Outcome.FAIL, why))
        return Verdict(Status.UNKNOWN, [why], checks)
    checks.append(Check("StubServesRequests", Outcome.PASS, f"{n} requests to /v1/infer answered through the service proxy"))

    col = facts.get("collection") or {}
    counter = col.get("counter")
    reasons: list[str] = []
    if counter is None:
        offered = (stub.get("offered") or [])
        why = (f"{endpoint.get('description')} returned no series for {series} within {col.get('timeout_s')}s"
               + (f" (query errors: {col['errors']})" if col.get("errors") else "")
               + (f"; the stub was offered through {', '.join(offered)}" if offered else "")
               + _selection_hint(proms, {**STUB_MONITOR_LABELS, **(facts.get("scrape_labels") or {})},
                                 facts.get("namespace", "")))
        checks.append(Check("MetricsCollected", Outcome.FAIL, why))
        return Verdict(Status.NOT_IMPLEMENTED, [why], checks)
    if counter != n:
        reasons.append(f"{series} is {counter:g}, expected exactly {n}")
        checks.append(Check("MetricsCollected", Outcome.FAIL, reasons[-1]))
    else:
        checks.append(Check("MetricsCollected", Outcome.PASS, f"{series} = {n} after {col.get('attempts')} query(ies)"))
    hist = col.get("histogram_count")
    if hist == n:
        checks.append(Check("LatencyHistogram", Outcome.PASS, f"request duration histogram count = {n}"))
    else:
        reasons.append(f"latency histogram count is {hist}, expected {n}")
        checks.append(Check("LatencyHistogram", Outcome.FAIL, reasons[-1]))
    if col.get("queue_depth") is not None:
        checks.append(Check("QueueDepth", Outcome.PASS, f"queue depth {col['queue_depth']:g}"))
    else:
        reasons.append("queue depth gauge not collected")
        checks.append(Check("QueueDepth", Outcome.FAIL, reasons[-1]))
    if reasons:
        return Verdict(Status.NOT_IMPLEMENTED, reasons, checks)
    labels = (col.get("series_labels") or [{}])[0]
    return Verdict(Status.IMPLEMENTED, [f"{system} discovered the stub (job {labels.get('job', '?')}, namespace "
                                        f"{labels.get('namespace', '?')}) and returned {series} = {n}, its latency "
                                        "histogram and queue depth"], checks)


def _system(mon: dict[str, Any], operator: bool) -> str:
    if operator:
        return "Prometheus"
    named = [DISCOVERY_CRDS[c][4] for c in mon.get("discovery_crds") or [] if c in DISCOVERY_CRDS]
    return " / ".join(named) or "the monitoring system"


def _selection_hint(proms: list[dict[str, Any]], monitor_labels: dict[str, str], namespace: str) -> str:
    """Why no Prometheus would select the stub's ServiceMonitor, when the selectors show it."""
    notes = []
    for p in proms:
        sel = p.get("serviceMonitorSelector")
        nsel = p.get("serviceMonitorNamespaceSelector")
        name = f"{p['namespace']}/{p['name']}"
        if sel is None:
            notes.append(f"Prometheus {name} has no serviceMonitorSelector, so it selects no ServiceMonitor")
            continue
        want = sel.get("matchLabels") or {}
        missing = {k: v for k, v in want.items() if monitor_labels.get(k) != v}
        if missing:
            labels = ",".join(f"{k}={v}" for k, v in missing.items())
            notes.append(f"Prometheus {name} selects only ServiceMonitors labelled {labels} (set "
                         f"aiconform_ai_service_metrics_scrape_labels: {labels}, or serviceMonitorSelectorNilUsesHelmValues=false)")
        elif nsel is None and p["namespace"] != namespace:
            notes.append(f"Prometheus {name} watches ServiceMonitors in its own namespace only")
    return ("; " + "; ".join(notes)) if notes else ""
