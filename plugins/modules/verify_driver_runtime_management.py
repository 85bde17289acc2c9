#!/usr/bin/python
"""Ansible module: verify driver_runtime_management (KAR-0001) like upstream TestAcceleratorDriverRuntimeManagement."""
from __future__ import annotations

DOCUMENTATION = r"""
module: verify_driver_runtime_management
short_description: Verify that accelerator drivers and runtime configuration are installed, advertised and working
description:
  - C(VerifiableMechanismExposed) reads what the platform advertises for the accelerator node, DRA ResourceSlice
    attributes C(driverVersion) and C(cudaDriverVersion) first, GPU Feature Discovery labels
    C(nvidia.com/cuda.driver-version.full) and C(nvidia.com/cuda.runtime-version.full) otherwise, plus
    C(status.nodeInfo.containerRuntimeVersion) and an C(nvidia) RuntimeClass. Missing versions are warnings.
  - C(DriverAndRuntimeCompatibility) runs upstream's probe in a vanilla image granted one accelerator; it needs one
    device, injected C(nvidia-smi) (C(RUNTIME_CONFIG_OK)), a working driver (C(DRIVER_FUNCTIONAL)) and versions equal
    to the advertised ones at their shared precision.
  - "An accelerator type the upstream test does not know gives C(unknown) (C(RESULT: STATUS=UNKNOWN))."
  - The verdict is data (C(status), C(reasons)), never a task failure.
version_added: 0.1.0
author: aiconform developers (!UNKNOWN)
extends_documentation_fragment:
  - aiconform.conformance.cluster
  - aiconform.conformance.cluster.VERIFIER
  - aiconform.conformance.verifier_options.driver_runtime_management
"""

EXAMPLES = r"""
- name: Verify driver and runtime management
  aiconform.conformance.verify_driver_runtime_management:
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
  description: C(aiconform_result_driver_runtime_management), the full result (checks, evidence, facts).
  returned: always
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule  # noqa: E402,F401  (AnsiballZ bundles basic and hands over the args)
from ansible_collections.aiconform.conformance.plugins.module_utils.verifiers import driver_runtime_management  # noqa: E402,F401  (AnsiballZ ships what is imported by name)
from ansible_collections.aiconform.conformance.plugins.module_utils.verifiers.module import run_module  # noqa: E402


def main() -> None:
    run_module("driver_runtime_management")


if __name__ == "__main__":
    main()
