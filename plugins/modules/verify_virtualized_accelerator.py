#!/usr/bin/python
"""Ansible module: verify virtualized_accelerator (KAR-0004): vGPUs exposed and allocated like physical GPUs."""
from __future__ import annotations

DOCUMENTATION = r"""
module: verify_virtualized_accelerator
short_description: Verify that virtual GPUs (vGPU) are exposed and allocated through the same mechanism as physical GPUs
description:
  - C(VirtualizedAcceleratorExposed) classifies each Ready GPU node from GPU Feature Discovery labels
    (C(nvidia.com/vgpu.present), C(nvidia.com/vgpu.host-driver-version), a C(GRID) or vGPU C(nvidia.com/gpu.product))
    and its DRA devices (a virtual NVML C(brand) such as C(NvidiaVCS), C(vfio) passthrough devices).
  - C(VGPUAllocated) creates one pod that requests one accelerator on a vGPU node through the platform's mechanism
    (DRA claim or C(nvidia.com/gpu), upstream allocation-mode rules); it must see exactly one device that is the vGPU.
    C(HealthCheck) needs C(nvidia-smi) to query it.
  - No vGPU on demonstrably physical GPUs (physical DRA brand, or C(nvidia.com/vgpu.present=false)) gives C(N/A) with
    the reason; GPUs that cannot be classified give C(unknown). The verdict is data, never a task failure.
version_added: 0.1.0
author: aiconform developers (!UNKNOWN)
extends_documentation_fragment:
  - aiconform.conformance.cluster
  - aiconform.conformance.cluster.VERIFIER
  - aiconform.conformance.verifier_options.virtualized_accelerator
"""

EXAMPLES = r"""
- name: Verify virtualized accelerators
  aiconform.conformance.verify_virtualized_accelerator:
    run_id: "{{ aiconform_run.id }}"
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
  description: C(aiconform_result_virtualized_accelerator), the full result (checks, evidence, facts).
  returned: always
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule  # noqa: E402,F401  (AnsiballZ bundles basic and hands over the args)
from ansible_collections.aiconform.conformance.plugins.module_utils.verifiers import virtualized_accelerator  # noqa: E402,F401  (AnsiballZ ships what is imported by name)
from ansible_collections.aiconform.conformance.plugins.module_utils.verifiers.module import run_module  # noqa: E402


def main() -> None:
    run_module("virtualized_accelerator")


if __name__ == "__main__":
    main()
