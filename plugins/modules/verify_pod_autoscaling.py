#!/usr/bin/python
"""Ansible module: verify pod_autoscaling (KAR-0057): an HPA scales accelerator pods on a custom metric."""
from __future__ import annotations

DOCUMENTATION = r"""
module: verify_pod_autoscaling
short_description: Verify that an HPA scales accelerator pods on a custom accelerator metric, up and down
description:
  - C(MetricsAPIsAvailable) checks that APIServices C(v1beta1.metrics.k8s.io) (metrics-server) and
    C(v1beta1.custom.metrics.k8s.io) (e.g. prometheus-adapter) are Available and that the custom metrics API serves
    C(pods/<metric_name>).
  - C(ScaleUpOnAcceleratorMetric) runs a Deployment whose pods each request one I(accelerator_resource) and keep the
    GPU busy while the probe's load ConfigMap says C(load=1), creates an C(autoscaling/v2) HPA with a Pods metric
    (I(metric_name), AverageValue I(target_average_value)), applies the load and expects more than I(min_replicas)
    pods Running, all on accelerator nodes, within I(scale_up_timeout) seconds.
  - C(ScaleDownAfterStabilization) removes the load and expects the replicas back at I(min_replicas) within
    I(scale_down_timeout) seconds (the HPA's C(behavior.scaleDown.stabilizationWindowSeconds) is
    I(stabilization_window)).
  - HPA status, conditions, metric values and C(SuccessfulRescale) events are recorded as evidence.
  - No node with allocatable I(accelerator_resource) gives C(unknown); the verdict is data, never a task failure.
version_added: 0.1.0
author: aiconform developers
extends_documentation_fragment:
  - aiconform.conformance.cluster
  - aiconform.conformance.cluster.VERIFIER
options:
  metric_name:
    description: Custom metric (per pod) the HPA scales on; the reference adapter rules expose DCGM_FI_DEV_GPU_UTIL so.
    type: str
    default: workload_gpu_utilization
  target_average_value:
    description: AverageValue target of the metric (GPU utilization percent for the default metric).
    type: str
    default: "50"
  min_replicas:
    description: HPA minReplicas and the Deployment's starting size.
    type: int
    default: 1
  max_replicas:
    description: HPA maxReplicas.
    type: int
    default: 2
  stabilization_window:
    description: HPA C(behavior.scaleDown.stabilizationWindowSeconds).
    type: int
    default: 30
  accelerator_resource:
    description: Extended resource each workload pod requests.
    type: str
    default: nvidia.com/gpu
  pod_ready_timeout:
    description: Seconds for the first workload pod to run.
    type: int
    default: 300
  scale_up_timeout:
    description: Seconds for the scale-up after the load starts.
    type: int
    default: 300
  scale_down_timeout:
    description: Seconds for the scale-down after the load stops (must exceed I(stabilization_window)).
    type: int
    default: 300
  image:
    description: Workload image; it compiles and runs a CUDA busy kernel with nvcc (override for a mirror).
    type: str
    default: nvcr.io/nvidia/cuda:12.9.0-devel-ubuntu24.04
"""

EXAMPLES = r"""
- name: Verify GPU pod autoscaling on the DCGM utilization metric
  aiconform.conformance.verify_pod_autoscaling:
    run_id: "{{ aiconform_run.id }}"
    metric_name: workload_gpu_utilization
    stabilization_window: 30
"""

RETURN = r"""
status:
  description: Verdict (C(Implemented), C(Not Implemented), C(unknown), C(error)).
  returned: always
  type: str
reasons:
  description: Why, one line per finding.
  returned: always
  type: list
  elements: str
ansible_facts:
  description: C(aiconform_result_pod_autoscaling), the full result (checks, evidence, facts).
  returned: always
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule  # noqa: E402,F401  (AnsiballZ bundles basic and hands over the args)

from aiconform.verifiers.module import run_module  # noqa: E402


def main() -> None:
    run_module("pod_autoscaling")


if __name__ == "__main__":
    main()
