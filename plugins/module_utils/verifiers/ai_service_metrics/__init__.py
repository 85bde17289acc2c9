"""ai_service_metrics: a monitoring system that discovers and collects workload metrics (KAR-0061).

Upstream test: ``TestAIServiceMetrics`` (requirements.md §4.2): a stub service exposing request count, a latency
histogram and queue depth labelled with the run id, a ServiceMonitor, exactly N requests through the API
server service proxy, then Prometheus is queried until the counter equals N (collection timeout 5 m).
"""
from __future__ import annotations

from typing import Any

from ...versions import probe_image

REQUIREMENT = "ai_service_metrics"
TEST_NAME = "TestAIServiceMetrics"
# What the probe holds while it runs (verifiers/holdings.py): a stub service's pod.
HOLDS: dict[str, str] = {"node_capacity": "shared"}

# The upstream test's stub image (pinned in versions.yml verifier_probes).
DEFAULT_STUB_IMAGE = probe_image("python")

OPTIONS: dict[str, dict[str, Any]] = {
    # upstream -service-metrics-prometheus-service <ns>/<name>:<port>, reached through the service proxy
    "prometheus_service": {
        "type": "str", "default": "monitoring/kube-prometheus-stack-prometheus:9090",
        "description": [('Prometheus Service as C(<namespace>/<name>:<port>) (upstream '
                         'C(-service-metrics-prometheus-service)); when it does not exist, '
                         'C(prometheus-operated:9090) in the namespace of each Prometheus object is tried.')],
        "sample": '<ns>/<name>:<port> via the service proxy; missing: <ns>/prometheus-operated:9090',
    },
    # upstream -service-metrics-query-url / -service-metrics-query-bearer-token-file
    "query_url": {
        "type": "str", "default": "",
        "description": [('Base URL of a Prometheus-compatible query API (C(<url>/api/v1/query)) reachable from '
                         'the controller instead (upstream C(-service-metrics-query-url)); the Prometheus '
                         'Operator is then not required.')],
        "sample": ('Prometheus-compatible query API base URL reachable from here instead (GKE/Azure managed '
                   'Prometheus, VictoriaMetrics .../select/0/prometheus); no Prometheus Operator needed'),
    },
    "query_bearer_token_file": {
        "type": "path", "default": "",
        "description": [('File holding a bearer token for I(query_url) (upstream '
                         'C(-service-metrics-query-bearer-token-file)).')],
        "sample": 'bearer token file for that URL',
    },
    # upstream -service-metrics-scrape-labels, e.g. release=kube-prometheus-stack
    "scrape_labels": {
        "type": "str", "default": "",
        "description": [("Labels C(k=v,k2=v2) for the stub's ServiceMonitor (upstream "
                         'C(-service-metrics-scrape-labels)), e.g. C(release=kube-prometheus-stack).')],
        "sample": ("labels of the stub's ServiceMonitor, k=v,k2=v2 (e.g. release=kube-prometheus-stack when the "
                   'selector needs it)'),
    },
    "collection_timeout": {
        "type": "int", "default": 300,
        "description": ['Seconds to wait for the counter to equal I(request_count) (upstream 5m).'],
        "sample": 'seconds until the counter must equal the requests (upstream 5m)',
    },  # upstream 5m
    "request_count": {
        "type": "int", "default": 10,
        "description": ['Requests sent to the stub (upstream exactly 10).'],
        "sample": 'requests sent to /v1/infer (upstream 10)',
    },  # upstream sends exactly 10
    "stub_ready_timeout": {
        "type": "int", "default": 120,
        "description": ['Seconds for the stub pod to be Ready (includes the image pull).'],
        "sample": 'seconds for the stub pod to be Ready (image pull included)',
    },
    "query_interval": {
        "type": "int", "default": 10,
        "description": ['Seconds between Prometheus queries.'],
        "sample": 'seconds between Prometheus queries',
    },
    "stub_image": {
        "type": "str", "default": DEFAULT_STUB_IMAGE,
        "description": ["Python image running the stub (the upstream test's); override for a mirror."],
        "sample": 'image running the stub (stdlib only)',
    },
}


from .fetch import fetch  # noqa: E402
from .judge import judge  # noqa: E402

__all__ = ["OPTIONS", "REQUIREMENT", "TEST_NAME", "HOLDS", "fetch", "judge"]
