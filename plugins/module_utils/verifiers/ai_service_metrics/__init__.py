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
    "prometheus_service": {"type": "str", "default": "monitoring/kube-prometheus-stack-prometheus:9090"},
    # upstream -service-metrics-query-url / -service-metrics-query-bearer-token-file
    "query_url": {"type": "str", "default": ""},
    "query_bearer_token_file": {"type": "path", "default": ""},
    # upstream -service-metrics-scrape-labels, e.g. release=kube-prometheus-stack
    "scrape_labels": {"type": "str", "default": ""},
    "collection_timeout": {"type": "int", "default": 300},  # upstream 5m
    "request_count": {"type": "int", "default": 10},  # upstream sends exactly 10
    "stub_ready_timeout": {"type": "int", "default": 120},
    "query_interval": {"type": "int", "default": 10},
    "stub_image": {"type": "str", "default": DEFAULT_STUB_IMAGE},
}


from .fetch import fetch  # noqa: E402
from .judge import judge  # noqa: E402

__all__ = ["OPTIONS", "REQUIREMENT", "TEST_NAME", "HOLDS", "fetch", "judge"]
