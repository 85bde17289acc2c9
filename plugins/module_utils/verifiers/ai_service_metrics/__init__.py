"""ai_service_metrics: a monitoring system that discovers and collects workload metrics (KAR-0061).

Upstream test: ``TestAIServiceMetrics`` (requirements.md §4.2): a stub service exposing request count, a latency
histogram and queue depth labelled with the run id, a ServiceMonitor, exactly N requests through the API
server service proxy, then Prometheus is queried until the counter equals N (collection timeout 5 m).
"""
from __future__ import annotations

from typing import Any

from ..runtime import declared_options

REQUIREMENT = "ai_service_metrics"
TEST_NAME = "TestAIServiceMetrics"
# What the probe holds while it runs (verifiers/holdings.py): a stub service's pod.
HOLDS: dict[str, str] = {"node_capacity": "shared"}

# Declared with its documentation in verifier.yml (python -m aiconform.collection options generates from it).
OPTIONS: dict[str, dict[str, Any]] = declared_options(__file__)


from .fetch import fetch  # noqa: E402
from .judge import judge  # noqa: E402

__all__ = ["OPTIONS", "REQUIREMENT", "TEST_NAME", "HOLDS", "fetch", "judge"]
