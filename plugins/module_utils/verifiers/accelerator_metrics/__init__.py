"""accelerator_metrics: per-accelerator utilization and memory on a Prometheus endpoint (KAR-0059).

Upstream test: ``TestAcceleratorPerformanceMetrics`` (requirements.md §4.2). Option defaults are the
upstream values (scrape timeout 30 s); the endpoint defaults to the GPU Operator's DCGM exporter, else the
exporter Service found by its labels, a ServiceMonitor or its name (DCGM, AMD device-metrics-exporter, Intel
XPU Manager).
"""
from __future__ import annotations

from typing import Any

from ...versions import component_image

REQUIREMENT = "accelerator_metrics"
TEST_NAME = "TestAcceleratorPerformanceMetrics"
# What the probe holds while it runs (verifiers/holdings.py): its load pod drives a GPU and reads the others idle.
HOLDS: dict[str, str] = {"accelerators": "exclusive", "node_capacity": "shared"}

# The GPU Operator's own DCGM pin
# (gpu_operator.images.dcgm), which ships dcgmproftester. A unit test keeps the two equal.
DEFAULT_PROBE_IMAGE = component_image("gpu_operator.images.dcgm")

OPTIONS: dict[str, dict[str, Any]] = {
    # Where the metrics are: a Service reached through the API server's service proxy, or a URL.
    "metrics_service": {"type": "str", "default": "gpu-operator/nvidia-dcgm-exporter:9400"},
    "metrics_url": {"type": "str", "default": ""},
    "metrics_path": {"type": "str", "default": "/metrics"},
    # Exact metric names (upstream -metrics-utilization-metric / -metrics-memory-metric); empty: patterns.
    "utilization_metric": {"type": "str", "default": ""},
    "memory_metric": {"type": "str", "default": ""},
    # The label that names one device (e.g. gpu_id); empty: the known exporters' labels (judge.EXPORTERS).
    "device_label": {"type": "str", "default": ""},
    "scrape_timeout": {"type": "int", "default": 30},
    "max_bytes": {"type": "int", "default": 8388608},
    # Workload-driven case: how the compute probe gets an accelerator (none disables the case).
    "allocation_mode": {"type": "str", "default": "auto", "choices": ["auto", "device-plugin", "dra", "none"]},
    "probe_image": {"type": "str", "default": DEFAULT_PROBE_IMAGE},
    "probe_duration": {"type": "int", "default": 240},
    "probe_start_timeout": {"type": "int", "default": 300},
    "utilization_timeout": {"type": "int", "default": 120},
    "sample_interval": {"type": "int", "default": 10},
}


from .fetch import fetch  # noqa: E402
from .judge import judge  # noqa: E402

__all__ = ["OPTIONS", "REQUIREMENT", "TEST_NAME", "HOLDS", "fetch", "judge"]
