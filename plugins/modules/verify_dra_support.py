#!/usr/bin/python
"""Ansible module: verify dra_support (KAR-0051): the resource.k8s.io API and a working ResourceClaim."""
from __future__ import annotations

DOCUMENTATION = r"""
module: verify_dra_support
short_description: Verify the Dynamic Resource Allocation API and a device allocation through it
description:
  - Reads which C(resource.k8s.io) versions the API server serves (C(v1), C(v1beta2), C(v1beta1)) and whether
    C(v1) has C(deviceclasses), C(resourceclaims), C(resourceclaimtemplates) and C(resourceslices).
  - Lists DeviceClasses and ResourceSlices and checks that a complete current-generation pool publishes
    allocatable devices on a Ready, schedulable node.
  - Creates a ResourceClaimTemplate and a pod using it; the generated claim must be allocated and reserved for
    the pod, the allocated device must be one a ResourceSlice publishes, and the pod must see exactly that device
    (its UUID when C(nvidia-smi) is injected).
  - On Kubernetes v1.33 only the beta API exists, so the verdict is C(Partially Implemented) with that reason.
  - The verdict is data (C(status), C(reasons)), never a task failure.
version_added: 0.1.0
author: aiconform developers (!UNKNOWN)
extends_documentation_fragment:
  - aiconform.conformance.cluster
  - aiconform.conformance.cluster.VERIFIER
  - aiconform.conformance.verifier_options.dra_support
"""

EXAMPLES = r"""
- name: Verify DRA support
  aiconform.conformance.verify_dra_support:
    run_id: "{{ aiconform_run.id }}"

- name: Verify DRA support with MIG devices
  aiconform.conformance.verify_dra_support:
    run_id: "{{ aiconform_run.id }}"
    device_class: mig.nvidia.com
"""

RETURN = r"""
status:
  description: Verdict (C(Implemented), C(Partially Implemented), C(Not Implemented), C(unknown), C(error)).
  returned: always
  type: str
  sample: Implemented
reasons:
  description: Why, in one line per finding.
  returned: always
  type: list
  elements: str
ansible_facts:
  description: C(aiconform_result_dra_support), the full result (checks, evidence, facts).
  returned: always
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule  # noqa: E402,F401  (AnsiballZ bundles basic and hands over the args)
from ansible_collections.aiconform.conformance.plugins.module_utils.verifiers import dra_support  # noqa: E402,F401  (AnsiballZ ships what is imported by name)
from ansible_collections.aiconform.conformance.plugins.module_utils.verifiers.module import run_module  # noqa: E402


def main() -> None:
    run_module("dra_support")


if __name__ == "__main__":
    main()
