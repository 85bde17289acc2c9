"""accelerator_metrics: per-accelerator utilization and memory on a Prometheus endpoint (KAR-0059).

Upstream test: ``TestAcceleratorPerformanceMetrics`` (requirements.md §4.2). Option defaults are the
upstream values (scrape timeout 30 s); the endpoint defaults to the GPU Operator's DCGM exporter, else the
exporter Service found by its labels, a ServiceMonitor or its name (DCGM, AMD device-metrics-exporter, Intel
XPU Manager).
"""
from __future__ import annotations

from typing import Any

from ..runtime import declared_options

REQUIREMENT = "accelerator_metrics"
TEST_NAME = "TestAcceleratorPerformanceMetrics"
# What the probe holds while it runs (verifiers/holdings.py): its load pod drives a GPU and reads the others idle.
HOLDS: dict[str, str] = {"accelerators": "exclusive", "node_capacity": "shared"}

# Declared with its documentation in verifier.yml (python -m aiconform.collection options generates from it).
OPTIONS: dict[str, dict[str, Any]] = declared_options(__file__)


from .fetch import fetch  # noqa: E402
from .judge import judge  # noqa: E402

__all__ = ["OPTIONS", "REQUIREMENT", "TEST_NAME", "HOLDS", "fetch", "judge"]
