"""Every verifier package, imported statically: AnsiballZ ships only what a module imports by name, and
``base.load`` imports a verifier by its id (tests/unit/test_collection.py checks this list is complete)."""
from __future__ import annotations

from . import (
    accelerator_metrics,
    advanced_inference_ingress,
    ai_inference,
    ai_service_metrics,
    cluster_autoscaling,
    disaggregated_inference,
    dra_support,
    driver_runtime_management,
    gang_scheduling,
    gpu_sharing,
    high_performance_networking,
    pod_autoscaling,
    robust_controller,
    secure_accelerator_access,
    virtualized_accelerator,
    workload_sandboxing,
)

MODULES = (accelerator_metrics, advanced_inference_ingress, ai_inference, ai_service_metrics, cluster_autoscaling,
           disaggregated_inference, dra_support, driver_runtime_management, gang_scheduling, gpu_sharing,
           high_performance_networking, pod_autoscaling, robust_controller, secure_accelerator_access,
           virtualized_accelerator, workload_sandboxing)
IDS = tuple(m.REQUIREMENT for m in MODULES)
