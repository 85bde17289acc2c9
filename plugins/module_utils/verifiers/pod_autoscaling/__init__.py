"""pod_autoscaling (KAR-0057): an HPA scales accelerator pods on a metric that comes from the accelerator.

Metrics path (``metrics_source``): custom metrics (an adapter such as prometheus-adapter serving the pod metric on
``custom.metrics.k8s.io``) or external metrics (KEDA: ``external.metrics.k8s.io`` and a ``keda.sh`` ScaledObject
with the Prometheus scaler, whose HPA KEDA owns); ``auto`` takes custom when the metric is served, else KEDA.
``metrics.k8s.io`` (metrics-server) is recorded, not required. Accelerator: the vendor whose extended resource the
nodes advertise (NVIDIA ``nvidia.com/gpu``, AMD ``amd.com/gpu``) picks the load program and its image.
MetricFollowsAcceleratorLoad: under a CPU-only control (the pods burn a CPU core, the accelerator idles) the metric
stays at or below the target and the HPA keeps the minimum; under accelerator load it rises above both.
ScaleUp: with accelerator load the HPA raises replicas and the new pods run on accelerator nodes. ScaleDown: with
load off, replicas return to the minimum after the stabilization window.
"""
from __future__ import annotations

from typing import Any

from ...versions import probe_image

REQUIREMENT = "pod_autoscaling"
# One upstream README variant lists this name; no upstream code is pinned yet (requirements.md §4.2).
TEST_NAME = "TestAcceleratorHorizontalPodAutoscaling"
# What the probe holds while it runs (verifiers/holdings.py): GPU load pods, scaled up by the HPA.
HOLDS: dict[str, str] = {"accelerators": "exclusive", "node_capacity": "shared", "autoscaler_pool": "shared"}

# Load images (the compiler builds the kernel): NVIDIA the AICR evidence's CUDA image, AMD ROCm's; versions.yml.
DEFAULT_IMAGE = probe_image("cuda_devel")
DEFAULT_AMD_IMAGE = probe_image("rocm_devel")

OPTIONS: dict[str, dict[str, Any]] = {
    # custom (pods metric via an adapter), external (KEDA ScaledObject), auto: custom when served, else KEDA
    "metrics_source": {"type": "str", "default": "auto", "choices": ["auto", "custom", "external"]},
    "metric_name": {"type": "str", "default": "workload_gpu_utilization"},
    # KEDA path: PromQL of the Prometheus scaler ("" = the vendor's utilization series of the probe's pods)
    "external_query": {"type": "str", "default": ""},
    # KEDA path: Prometheus URL ("" = the Service prometheus-operated found in the cluster)
    "prometheus_address": {"type": "str", "default": ""},
    "target_average_value": {"type": "str", "default": "50"},
    "min_replicas": {"type": "int", "default": 1},
    "max_replicas": {"type": "int", "default": 2},
    "stabilization_window": {"type": "int", "default": 30},
    "control_window": {"type": "int", "default": 60},
    "accelerator_resource": {"type": "str", "default": "auto"},
    "pod_ready_timeout": {"type": "int", "default": 300},
    "scale_up_timeout": {"type": "int", "default": 300},
    "scale_down_timeout": {"type": "int", "default": 300},
    "image": {"type": "str", "default": DEFAULT_IMAGE},
    "amd_image": {"type": "str", "default": DEFAULT_AMD_IMAGE},
}


from .fetch import fetch  # noqa: E402
from .judge import judge  # noqa: E402

__all__ = ["OPTIONS", "REQUIREMENT", "TEST_NAME", "HOLDS", "fetch", "judge"]
