#!/usr/bin/python
"""Ansible module: verify accelerator_metrics (KAR-0059) like upstream TestAcceleratorPerformanceMetrics."""
from __future__ import annotations

DOCUMENTATION = r"""
module: verify_accelerator_metrics
short_description: Verify per-accelerator performance metrics on a Prometheus endpoint, like upstream TestAcceleratorPerformanceMetrics
description:
  - Finds the accelerator metrics endpoint, by default the GPU Operator's DCGM exporter Service
    C(gpu-operator/nvidia-dcgm-exporter:9400); when it does not exist, a Service whose app labels, a ServiceMonitor
    selecting it, or its name match the known exporters (C(dcgm-exporter), AMD C(amdgpu-metrics-exporter) /
    C(amd-metrics-exporter), Intel C(xpumanager)/C(xpum)), in that order; or uses I(metrics_url).
  - Scrapes it through the API server's service proxy (C(/api/v1/namespaces/<ns>/services/<name>:<port>/proxy/metrics))
    within I(scrape_timeout) seconds and I(max_bytes) bytes, and parses the Prometheus exposition format with
    prometheus-client's parser. A malformed exposition gives C(error) with the parser's reason.
  - C(PerAcceleratorUtilization) and C(PerAcceleratorMemory) (required) need metrics matched by name - the known
    exporters' own (NVIDIA C(DCGM_FI_DEV_GPU_UTIL)/C(DCGM_FI_DEV_FB_USED), AMD C(gpu_gfx_activity)/C(gpu_used_vram),
    Intel C(xpum_engine_group_compute_all_ratio)/C(xpum_memory_used_bytes)), else a name with the whole word
    C(util)/C(utilization)/C(activity)/C(busy) or C(mem)/C(memory)/C(fb)/C(vram)/C(hbm) that is not a violation,
    throttle, clock or temperature metric - or named by I(utilization_metric)/I(memory_metric); each with a device
    label (NVIDIA C(UUID)/C(gpu)/C(pci_bus_id), AMD C(gpu_id)/C(serial_number)/C(gpu_uuid), Intel
    C(uuid)/C(pci_bdf)/C(deviceId)/C(dev_file), or I(device_label)) whose value is one device (C(all), C(total) or
    empty is an aggregate and does not count); every accelerator must report both. Temperature, power/energy and
    interconnect bandwidth are reported when present.
  - C(SeriesPerAdvertisedDevice) - each node named by the series (C(Hostname)/C(hostname)/C(node)) must have a
    utilization series for every accelerator it advertises (C(nvidia.com/gpu) as physical GPUs, C(amd.com/gpu),
    C(gpu.intel.com/i915)/C(xe), or DRA C(gpu.nvidia.com)/C(gpu.amd.com)/C(gpu.intel.com) devices); skipped, with
    why, when no series names such a node.
  - "C(WorkloadDrivenUtilization) runs when an accelerator is schedulable (device plugin C(nvidia.com/gpu), else DRA
    C(gpu.nvidia.com)): a compute probe pod (dcgmproftester) holds one accelerator and the utilization of that
    accelerator must change within I(utilization_timeout) seconds. A probe that never starts gives C(unknown)."
  - The verdict is data (C(status), C(reasons)), never a task failure.
version_added: 0.1.0
author: aiconform developers (!UNKNOWN)
extends_documentation_fragment:
  - aiconform.conformance.cluster
  - aiconform.conformance.cluster.VERIFIER
  - aiconform.conformance.verifier_options.accelerator_metrics
"""

EXAMPLES = r"""
- name: Verify the DCGM exporter of the GPU Operator
  aiconform.conformance.verify_accelerator_metrics:
    run_id: "{{ aiconform_run.id }}"

- name: Verify a standalone exporter, metrics only (no compute probe)
  aiconform.conformance.verify_accelerator_metrics:
    run_id: "{{ aiconform_run.id }}"
    metrics_service: monitoring/dcgm-exporter:9400
    allocation_mode: none
"""

RETURN = r"""
status:
  description: Verdict (C(Implemented), C(Not Implemented), C(unknown), C(error)).
  returned: always
  type: str
  sample: Implemented
reasons:
  description: Why, in one line per finding.
  returned: always
  type: list
  elements: str
ansible_facts:
  description: C(aiconform_result_accelerator_metrics), the full result (checks, evidence, facts).
  returned: always
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule  # noqa: E402,F401  (AnsiballZ bundles basic and hands over the args)
from ansible_collections.aiconform.conformance.plugins.module_utils.verifiers import accelerator_metrics  # noqa: E402,F401  (AnsiballZ ships what is imported by name)
from ansible_collections.aiconform.conformance.plugins.module_utils.verifiers.module import run_module  # noqa: E402


def main() -> None:
    run_module("accelerator_metrics")


if __name__ == "__main__":
    main()
