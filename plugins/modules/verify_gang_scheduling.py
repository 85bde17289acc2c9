#!/usr/bin/python
"""Ansible module: verify gang_scheduling (KAR-0053) like upstream TestGangScheduling."""
from __future__ import annotations

DOCUMENTATION = r"""
module: verify_gang_scheduling
short_description: Verify all-or-nothing (gang) scheduling with probe Jobs, like upstream TestGangScheduling
description:
  - C(PositiveGangScheduling) creates a Job with I(parallelism) = completions pods through the gang scheduler
    (see I(scheduler), Kueue, Volcano, KAI Scheduler or coscheduling, detected); every pod must be bound and the
    Job Complete within I(positive_timeout) seconds. The reasons name the mechanism used and why.
  - C(NegativeGangScheduling) creates a Job larger than the free capacity (at least I(negative_parallelism)
    pods, more when the cluster's allocatable CPU would fit them); during I(negative_window) seconds no pod may be
    Running or have a node (suspended or pending is fine).
  - C(Cleanup) deletes both Jobs and checks their pods and Kueue Workloads are gone and the queue's usage is back
    to zero.
  - With Kueue and no I(queue_name), the module creates its own ResourceFlavor, ClusterQueue (quota = the
    cluster's allocatable CPU and memory, restricted to the probe namespace) and LocalQueue, and deletes them
    afterwards. The Kueue API version (v1beta2, else v1beta1) is chosen by discovery.
  - Kueue Workload conditions (C(QuotaReserved), C(Admitted), C(PodsReady)) and events are recorded as evidence.
  - The verdict is data (C(status), C(reasons)), never a task failure.
version_added: 0.1.0
author: aiconform developers (!UNKNOWN)
extends_documentation_fragment:
  - aiconform.conformance.cluster
  - aiconform.conformance.cluster.VERIFIER
  - aiconform.conformance.verifier_options.gang_scheduling
"""

EXAMPLES = r"""
- name: Verify gang scheduling with the detected mechanism (with Kueue, its own queue objects)
  aiconform.conformance.verify_gang_scheduling:
    run_id: "{{ aiconform_run.id }}"
    negative_window: 30

- name: Verify gang scheduling through an existing LocalQueue
  aiconform.conformance.verify_gang_scheduling:
    run_id: "{{ aiconform_run.id }}"
    queue_name: e2e-lq
    queue_namespace: gang-e2e

- name: Verify gang scheduling with Volcano (PodGroup with minMember)
  aiconform.conformance.verify_gang_scheduling:
    run_id: "{{ aiconform_run.id }}"
    scheduler: volcano

- name: Verify gang scheduling through an existing Kueue ClusterQueue
  aiconform.conformance.verify_gang_scheduling:
    run_id: "{{ aiconform_run.id }}"
    scheduler: kueue
    cluster_queue: team-a
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
  description: C(aiconform_result_gang_scheduling), the full result (checks, evidence, facts).
  returned: always
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule  # noqa: E402,F401  (AnsiballZ bundles basic and hands over the args)
from ansible_collections.aiconform.conformance.plugins.module_utils.verifiers import gang_scheduling  # noqa: E402,F401  (AnsiballZ ships what is imported by name)
from ansible_collections.aiconform.conformance.plugins.module_utils.verifiers.module import run_module  # noqa: E402


def main() -> None:
    run_module("gang_scheduling")


if __name__ == "__main__":
    main()
