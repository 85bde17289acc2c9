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

# Said above its variables in the sample inventory (aiconform/verifier_options.py).
SAMPLE_NOTE = """\
Paths: custom metrics (prometheus-adapter serving pods/<metric_name>) or external metrics (KEDA ScaledObject with
the Prometheus scaler); metrics-server is not required. The metric must stay at or below the target under a
CPU-only control (accelerator idle) and rise under accelerator load. Load programs: NVIDIA (CUDA), AMD (HIP).
"""

OPTIONS: dict[str, dict[str, Any]] = {
    # custom (pods metric via an adapter), external (KEDA ScaledObject), auto: custom when served, else KEDA
    "metrics_source": {
        "type": "str", "default": "auto", "choices": ["auto", "custom", "external"],
        "description": [("Metrics path - C(custom) (an adapter's pod metric), C(external) (KEDA ScaledObject), "
                         'C(auto).')],
        "sample": 'auto | custom | external (KEDA)',
    },
    "metric_name": {
        "type": "str", "default": "workload_gpu_utilization",
        "description": [('Custom metric (per pod) the HPA scales on; the reference adapter rules expose '
                         'DCGM_FI_DEV_GPU_UTIL so.')],
        "sample": 'prometheus-adapter name of DCGM_FI_DEV_GPU_UTIL',
    },
    # KEDA path: PromQL of the Prometheus scaler ("" = the vendor's utilization series of the probe's pods)
    "external_query": {
        "type": "str", "default": "",
        "description": [("PromQL of KEDA's Prometheus scaler (external path). Empty means the average of the "
                         "vendor's utilization series (C(DCGM_FI_DEV_GPU_UTIL), C(gpu_gfx_activity)) over the "
                         "probe's pods (C(exported_namespace), C(exported_pod)).")],
        "sample": 'KEDA PromQL; "" = avg of the vendor\'s utilization series over the probe\'s pods',
    },
    # KEDA path: Prometheus URL ("" = the Service prometheus-operated found in the cluster)
    "prometheus_address": {
        "type": "str", "default": "",
        "description": [("Prometheus URL for KEDA's scaler (external path). Empty means the Service "
                         'C(prometheus-operated) found in the cluster.')],
        "sample": 'KEDA Prometheus URL; "" = Service prometheus-operated found in the cluster',
    },
    "target_average_value": {
        "type": "str", "default": "50",
        "description": ['AverageValue target of the metric (utilization percent for the default metric and query).'],
        "sample": 'AverageValue target (percent utilization)',
    },
    "min_replicas": {
        "type": "int", "default": 1,
        "description": ["HPA minReplicas and the Deployment's starting size."],
    },
    "max_replicas": {
        "type": "int", "default": 2,
        "description": ['HPA maxReplicas.'],
    },
    "stabilization_window": {
        "type": "int", "default": 30,
        "description": ['HPA C(behavior.scaleDown.stabilizationWindowSeconds).'],
        "sample": 'HPA behavior.scaleDown.stabilizationWindowSeconds',
    },
    "control_window": {
        "type": "int", "default": 60,
        "description": [('Seconds of CPU-only load (accelerator idle) during which the metric must stay at or '
                         'below the target.')],
        "sample": 'seconds of CPU-only load the metric must not follow',
    },
    "accelerator_resource": {
        "type": "str", "default": "auto",
        "description": ['Extended resource each workload pod requests; C(auto) is the one the nodes advertise.'],
        "sample": 'nvidia.com/gpu | amd.com/gpu; auto = the one the nodes advertise',
    },
    "pod_ready_timeout": {
        "type": "int", "default": 300,
        "description": ['Seconds for the first workload pod to run (and for KEDA to create its HPA).'],
        "sample": 'seconds for the first workload pod to run',
    },
    "scale_up_timeout": {
        "type": "int", "default": 300,
        "description": ['Seconds for the scale-up after the load starts.'],
        "sample": 'seconds for the scale-up once load is applied',
    },
    "scale_down_timeout": {
        "type": "int", "default": 300,
        "description": ['Seconds for the scale-down after the load stops (must exceed I(stabilization_window)).'],
        "sample": 'seconds for the scale-down once load is removed',
    },
    "image": {
        "type": "str", "default": DEFAULT_IMAGE,
        "description": [('NVIDIA workload image; it compiles and runs a CUDA busy kernel with nvcc (override for '
                         'a mirror).')],
        "sample": 'builds and runs the CUDA kernel',
    },
    "amd_image": {
        "type": "str", "default": DEFAULT_AMD_IMAGE,
        "description": [('AMD workload image; it compiles and runs a HIP busy kernel with hipcc (override for a '
                         'mirror).')],
        "sample": 'builds and runs the HIP kernel',
    },
}


from .fetch import fetch  # noqa: E402
from .judge import judge  # noqa: E402

__all__ = ["OPTIONS", "REQUIREMENT", "TEST_NAME", "HOLDS", "fetch", "judge"]
