#!/usr/bin/python
"""Ansible module: verify gpu_sharing (KAR-0003): one physical GPU exposed as several allocatable GPUs."""
from __future__ import annotations

DOCUMENTATION = r"""
module: verify_gpu_sharing
short_description: Verify that GPUs are shared (time-slicing, MPS or MIG) and that pods really share one GPU
description:
  - C(SharedResourcesAllocatable) reads how each Ready GPU node shares its GPUs, from the GPU Feature Discovery labels
    C(nvidia.com/gpu.sharing-strategy), C(nvidia.com/gpu.replicas), C(nvidia.com/mig.strategy) and C(nvidia.com/gpu.count)
    (physical GPUs), the allocatable C(nvidia.com/gpu), C(nvidia.com/gpu.shared) and C(nvidia.com/mig-<profile>)
    resources, and MIG devices in DRA ResourceSlices. Sharing counts only when a node allocates more units than it has
    physical GPUs. The GPU Operator ClusterPolicy C(devicePlugin.config) and its ConfigMap are recorded as evidence.
  - On the sharing node with the fewest physical GPUs, physical + 1 pods each request one unit (pinned by node selector so
    the scheduler counts the shared resource). C(SharedPodsRunning) needs every pod Running with one device,
    C(SamePhysicalGPU) needs two pods to report the same physical GPU UUID, C(HealthCheck) needs C(nvidia-smi) to query
    the GPU in every pod.
  - No sharing configured gives C(Not Implemented) with what the nodes advertise; an accelerator type aiconform does not
    know gives C(unknown). The verdict is data (C(status), C(reasons)), never a task failure.
version_added: 0.1.0
author: aiconform developers (!UNKNOWN)
extends_documentation_fragment:
  - aiconform.conformance.cluster
  - aiconform.conformance.cluster.VERIFIER
  - aiconform.conformance.verifier_options.gpu_sharing
"""

EXAMPLES = r"""
- name: Verify GPU sharing
  aiconform.conformance.verify_gpu_sharing:
    run_id: "{{ aiconform_run.id }}"
    max_probe_pods: 5
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
  description: C(aiconform_result_gpu_sharing), the full result (checks, evidence, facts).
  returned: always
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule  # noqa: E402,F401  (AnsiballZ bundles basic and hands over the args)
from ansible_collections.aiconform.conformance.plugins.module_utils.verifiers import gpu_sharing  # noqa: E402,F401  (AnsiballZ ships what is imported by name)
from ansible_collections.aiconform.conformance.plugins.module_utils.verifiers.module import run_module  # noqa: E402


def main() -> None:
    run_module("gpu_sharing")


if __name__ == "__main__":
    main()
