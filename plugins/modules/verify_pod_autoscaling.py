#!/usr/bin/python
"""Ansible module: verify pod_autoscaling (KAR-0057): an HPA scales accelerator pods on a custom metric."""
from __future__ import annotations

DOCUMENTATION = r"""
module: verify_pod_autoscaling
short_description: Verify that an HPA scales accelerator pods on a metric of the accelerator, up and down
description:
  - C(MetricsAPIsAvailable) picks the metrics path (I(metrics_source)). C(custom) - APIService
    C(v1beta1.custom.metrics.k8s.io) (e.g. prometheus-adapter) Available and serving C(pods/<metric_name>).
    C(external) - APIService C(v1beta1.external.metrics.k8s.io) Available and the C(keda.sh) ScaledObject kind served
    (KEDA). C(auto) takes custom when the metric is served, else KEDA. C(v1beta1.metrics.k8s.io) (metrics-server) is
    recorded, not required. An external metrics server that is not KEDA gives C(unknown) with the reason.
  - The accelerator is the vendor whose extended resource the nodes advertise (C(nvidia.com/gpu) or C(amd.com/gpu); both
    give C(unknown) until I(accelerator_resource) is set). It picks the load program (CUDA built with nvcc in I(image),
    HIP built with hipcc in I(amd_image)).
  - The workload is a Deployment whose pods each request one accelerator and follow the probe's load ConfigMap.
    C(load=1) keeps the accelerator busy, C(load=cpu) burns a CPU core with the accelerator idle, C(load=0) idles.
    The custom path creates an C(autoscaling/v2) HPA with a Pods metric (I(metric_name), AverageValue
    I(target_average_value)). The external path creates a KEDA ScaledObject with the Prometheus scaler (I(external_query)
    against I(prometheus_address), threshold I(target_average_value)) and follows the HPA KEDA creates.
  - C(MetricFollowsAcceleratorLoad) - during I(control_window) seconds of CPU-only load the metric stays at or below the
    target and the HPA keeps I(min_replicas). Under accelerator load the metric rises above the control's values. A
    metric that follows CPU load fails.
  - C(ScaleUpOnAcceleratorMetric) applies accelerator load and expects more than I(min_replicas) pods Running, all on
    accelerator nodes, within I(scale_up_timeout) seconds.
  - C(ScaleDownAfterStabilization) removes the load and expects the replicas back at I(min_replicas) within
    I(scale_down_timeout) seconds (the scale-down stabilization window is I(stabilization_window)).
  - HPA status, conditions, metric values, the ScaledObject status and C(SuccessfulRescale) events are recorded as
    evidence.
  - No node with an allocatable accelerator gives C(unknown); the verdict is data, never a task failure.
version_added: 0.1.0
author: aiconform developers (!UNKNOWN)
extends_documentation_fragment:
  - aiconform.conformance.cluster
  - aiconform.conformance.cluster.VERIFIER
  - aiconform.conformance.verifier_options.pod_autoscaling
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
from ansible_collections.aiconform.conformance.plugins.module_utils.verifiers import pod_autoscaling  # noqa: E402,F401  (AnsiballZ ships what is imported by name)
from ansible_collections.aiconform.conformance.plugins.module_utils.verifiers.module import run_module  # noqa: E402


def main() -> None:
    run_module("pod_autoscaling")


if __name__ == "__main__":
    main()
