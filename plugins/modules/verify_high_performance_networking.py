#!/usr/bin/python
"""Ansible module: verify high_performance_networking (secondary interfaces through DRA or Multus)."""
from __future__ import annotations

DOCUMENTATION = r"""
module: verify_high_performance_networking
short_description: Verify high_performance_networking by attaching a probe pod to a secondary network
description:
  - Finds the secondary-network mechanism, network DRA ResourceSlices (DRANET or another network driver, with
    their attributes), Multus NetworkAttachmentDefinitions or the SR-IOV operator API; none gives C(unknown).
  - Attaches a probe pod (DRA ResourceClaim from I(device_class), else the Multus network
    I(network_attachment)), lists its interfaces and checks that it landed on a node publishing a network device.
  - Two pods transferring data over the secondary interface (the HMT's fourth step) is not tested yet, so the
    verdict is C(unknown) naming the passing checks, or C(Not Implemented) when a check fails.
version_added: 0.1.0
author: aiconform developers
extends_documentation_fragment:
  - aiconform.conformance.cluster
  - aiconform.conformance.cluster.VERIFIER
options:
  device_class:
    description: DeviceClass of the network devices; empty picks one whose selectors name a network driver found.
    type: str
    default: ""
  network_attachment:
    description: Multus network (C(namespace/name)) for the probe when no DRA network device exists; empty picks the first.
    type: str
    default: ""
  network_drivers:
    description: DRA driver names treated as network drivers (besides names containing net/network/sriov/rdma).
    type: list
    elements: str
    default: [dra.net, sriovnetwork.k8snetworkplumbingwg.io]
  pod_timeout:
    description: Seconds for the probe pod to run and list its interfaces.
    type: int
    default: 180
  image:
    description: Probe image providing C(/bin/sh) and C(ip).
    type: str
    default: registry.k8s.io/e2e-test-images/busybox:1.36.1-1
"""

EXAMPLES = r"""
- name: Verify high_performance_networking with DRANET
  aiconform.conformance.verify_high_performance_networking:
    run_id: "{{ aiconform_run.id }}"
    device_class: dranet
"""

RETURN = r"""
status:
  description: unknown, Not Implemented or error (never Implemented until data transfer is tested).
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

from aiconform.verifiers.module import run_module  # noqa: E402


def main() -> None:
    run_module("high_performance_networking")


if __name__ == "__main__":
    main()
