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

from ..runtime import declared_options

REQUIREMENT = "pod_autoscaling"
# One upstream README variant lists this name; no upstream code is pinned yet (requirements.md §4.2).
TEST_NAME = "TestAcceleratorHorizontalPodAutoscaling"
# What the probe holds while it runs (verifiers/holdings.py): GPU load pods, scaled up by the HPA.
HOLDS: dict[str, str] = {"accelerators": "exclusive", "node_capacity": "shared", "autoscaler_pool": "shared"}

# Declared with its documentation in verifier.yml (python -m aiconform.collection options generates from it).
OPTIONS: dict[str, dict[str, Any]] = declared_options(__file__)


from .fetch import fetch  # noqa: E402
from .judge import judge  # noqa: E402

__all__ = ["OPTIONS", "REQUIREMENT", "TEST_NAME", "HOLDS", "fetch", "judge"]
