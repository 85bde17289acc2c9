#!/usr/bin/python
"""Ansible module: verify high_performance_networking (secondary interfaces through DRA or Multus)."""
from __future__ import annotations

DOCUMENTATION = r"""
module: verify_high_performance_networking
short_description: Verify high_performance_networking by attaching a probe pod to a secondary network
description:
  - Finds the secondary-network mechanism, network DRA ResourceSlices (DRANET or another network driver, with
    their attributes), Multus NetworkAttachmentDefinitions or the SR-IOV operator API; none gives C(unknown).
  - Attaches a listener pod (DRA ResourceClaim from I(device_class), else the Multus network
    I(network_attachment)), lists its interfaces and addresses and checks that it landed on a node publishing a
    network device.
  - Data transfer (the HMT's fourth step) - a sender pod with the same attachment, on another capable node
    unless the cluster has only one, sends I(transfer_bytes) bytes with the run's marker with busybox C(nc) from
    its secondary address to the listener's secondary address; the listener must report the marker and byte
    count arriving on that interface and address (not eth0's).
  - C(Implemented) when all four checks pass; C(Not Implemented) when one fails; C(unknown) when no mechanism is
    found or, for Multus, because placement on capable nodes cannot be checked.
version_added: 0.1.0
author: aiconform developers (!UNKNOWN)
extends_documentation_fragment:
  - aiconform.conformance.cluster
  - aiconform.conformance.cluster.VERIFIER
  - aiconform.conformance.verifier_options.high_performance_networking
"""

EXAMPLES = r"""
- name: Verify high_performance_networking with DRANET
  aiconform.conformance.verify_high_performance_networking:
    run_id: "{{ aiconform_run.id }}"
    device_class: dranet
"""

RETURN = r"""
status:
  description: Implemented, Not Implemented, unknown or error.
  returned: always
  type: str
reasons:
  description: Why.
  returned: always
  type: list
  elements: str
ansible_facts:
  description: C(aiconform_result_high_performance_networking) (checks NetworkResourcesDiscoverable,
    SecondaryInterfaceAttached, PlacementOnCapableNodes, DataTransferOverSecondaryInterface).
  returned: always
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule  # noqa: E402,F401  (AnsiballZ bundles basic and hands over the args)
from ansible_collections.aiconform.conformance.plugins.module_utils.verifiers import high_performance_networking  # noqa: E402,F401  (AnsiballZ ships what is imported by name)
from ansible_collections.aiconform.conformance.plugins.module_utils.verifiers.module import run_module  # noqa: E402


def main() -> None:
    run_module("high_performance_networking")


if __name__ == "__main__":
    main()
