"""pod_autoscaling (KAR-0057): an HPA scales accelerator pods on a custom accelerator metric.

Metrics APIs: metrics-server (v1beta1.metrics.k8s.io) and the custom metrics adapter
(v1beta1.custom.metrics.k8s.io) Available, the metric served. ScaleUp: with load on, the HPA (autoscaling/v2,
Pods metric, AverageValue target) raises replicas and the new pods run on accelerator nodes. ScaleDown: with
load off, replicas return to the minimum after the stabilization window.
"""
from __future__ import annotations

from typing import Any

from aiconform.versions import probe_image

REQUIREMENT = "pod_autoscaling"
# One upstream README variant lists this name; no upstream code is pinned yet (requirements.md §4.2).
TEST_NAME = "TestAcceleratorHorizontalPodAutoscaling"
# What the probe holds while it runs (verifiers/holdings.py): GPU load pods, scaled up by the HPA.
HOLDS: dict[str, str] = {"accelerators": "exclusive", "node_capacity": "shared", "autoscaler_pool": "shared"}

# The AICR evidence's image (nvcc builds the kernel); pinned in versions.yml verifier_probes.
DEFAULT_IMAGE = probe_image("cuda_devel")

OPTIONS: dict[str, dict[str, Any]] = {
    "metric_name": {"type": "str", "default": "workload_gpu_utilization"},
    "target_average_value": {"type": "str", "default": "50"},
    "min_replicas": {"type": "int", "default": 1},
    "max_replicas": {"type": "int", "default": 2},
    "stabilization_window": {"type": "int", "default": 30},
    "accelerator_resource": {"type": "str", "default": "nvidia.com/gpu"},
    "pod_ready_timeout": {"type": "int", "default": 300},
    "scale_up_timeout": {"type": "int", "default": 300},
    "scale_down_timeout": {"type": "int", "default": 300},
    "image": {"type": "str", "default": DEFAULT_IMAGE},
}


from .fetch import fetch  # noqa: E402
from .judge import judge  # noqa: E402

__all__ = ["OPTIONS", "REQUIREMENT", "TEST_NAME", "HOLDS", "fetch", "judge"]
