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
    "metrics_service": {
        "type": "str", "default": "gpu-operator/nvidia-dcgm-exporter:9400",
        "description": [
            'Exporter Service as C(<namespace>/<name>:<port>), reached through the API server service proxy.',
            ('When it does not exist, the exporter Service is discovered by labels, ServiceMonitors and name (see '
             'above).'),
        ],
        "variable": "aiconform_accelerator_metrics_service",
        "sample": ('<ns>/<name>:<port>, via the API server service proxy; missing: the exporter Service found by '
                   'labels, ServiceMonitor or name (DCGM, AMD, Intel)'),
    },
    "metrics_url": {
        "type": "str", "default": "",
        "description": [('URL of the metrics endpoint reachable from the controller (upstream '
                         'C(-metrics-endpoint)); overrides I(metrics_service).')],
        "variable": "aiconform_accelerator_metrics_url",
        "sample": 'a URL reachable from here instead (upstream -metrics-endpoint)',
    },
    "metrics_path": {
        "type": "str", "default": "/metrics",
        "description": ['Path of the metrics on I(metrics_service).'],
        "variable": "aiconform_accelerator_metrics_path",
        "sample": 'path on the Service',
    },
    # Exact metric names (upstream -metrics-utilization-metric / -metrics-memory-metric); empty: patterns.
    "utilization_metric": {
        "type": "str", "default": "",
        "description": [('Exact utilization metric name (upstream C(-metrics-utilization-metric)); empty uses the '
                         'name patterns.')],
        "sample": 'exact name (upstream -metrics-utilization-metric); "" = patterns',
    },
    "memory_metric": {
        "type": "str", "default": "",
        "description": [('Exact memory metric name (upstream C(-metrics-memory-metric)); empty uses the name '
                         'patterns.')],
        "sample": 'exact name (upstream -metrics-memory-metric); "" = patterns',
    },
    # The label that names one device (e.g. gpu_id); empty: the known exporters' labels (judge.EXPORTERS).
    "device_label": {
        "type": "str", "default": "",
        "description": ["The label that names one device (e.g. C(gpu_id)); empty uses the known exporters' labels."],
        "sample": ('label naming one device (e.g. gpu_id); "" = the known exporters\' (DCGM UUID/gpu, AMD gpu_id, '
                   'Intel uuid/pci_bdf)'),
    },
    "scrape_timeout": {
        "type": "int", "default": 30,
        "description": ['Seconds allowed for one scrape (upstream 30).'],
        "sample": 'seconds per scrape (upstream 30 s)',
    },
    "max_bytes": {
        "type": "int", "default": 8388608,
        "description": ['Largest exposition read; a larger one gives C(unknown).'],
        "sample": 'largest exposition read',
    },
    # Workload-driven case: how the compute probe gets an accelerator (none disables the case).
    "allocation_mode": {
        "type": "str", "default": "auto", "choices": ["auto", "device-plugin", "dra", "none"],
        "description": [('How the compute probe gets an accelerator; C(auto) prefers the device plugin, else DRA; '
                         'C(none) skips the workload-driven case (stated in the report, never counted as a pass).')],
        "sample": 'auto | device-plugin | dra | none (none skips the workload case)',
    },
    "probe_image": {
        "type": "str", "default": DEFAULT_PROBE_IMAGE,
        "description": ["Image with C(dcgmproftester12) (the GPU Operator's DCGM image); override for a mirror."],
        "sample": 'dcgmproftester12',
    },
    "probe_duration": {
        "type": "int", "default": 240,
        "description": ['Seconds the compute probe keeps the accelerator busy.'],
        "sample": 'seconds the compute probe keeps its accelerator busy',
    },
    "probe_start_timeout": {
        "type": "int", "default": 300,
        "description": ['Seconds for the compute probe to be Running (includes the image pull).'],
        "sample": 'seconds for the compute probe to run (image pull included)',
    },
    "utilization_timeout": {
        "type": "int", "default": 120,
        "description": [('Seconds to watch for the utilization change (the exporter collects every 30 s by '
                         'default).')],
        "sample": "seconds to see its accelerator's utilization change",
    },
    "sample_interval": {
        "type": "int", "default": 10,
        "description": ['Seconds between scrapes while the compute probe runs.'],
        "sample": 'seconds between scrapes meanwhile',
    },
}


from .fetch import fetch  # noqa: E402
from .judge import judge  # noqa: E402

__all__ = ["OPTIONS", "REQUIREMENT", "TEST_NAME", "HOLDS", "fetch", "judge"]
