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
options:
  scheduler:
    description:
      - The gang-scheduling mechanism to test. C(auto) detects it by API group (C(kueue.x-k8s.io),
        C(scheduling.volcano.sh), C(scheduling.run.ai), C(scheduling.x-k8s.io)) and uses the only one installed;
        with several the verdict is C(unknown) listing them, with none C(Not Implemented) naming what was looked for.
        I(queue_name) or I(cluster_queue) set chooses Kueue.
      - C(kueue) uses a Kueue LocalQueue (own queue objects, I(queue_name), or a LocalQueue on I(cluster_queue)).
      - C(volcano), C(kai), C(coscheduling) create a PodGroup with C(minMember) = the Job's pods before each Job
        and hand the pods to that scheduler (annotation C(scheduling.k8s.io/group-name), annotation
        C(pod-group-name) plus queue label C(kai.scheduler/queue), label C(scheduling.x-k8s.io/pod-group)).
      - C(other) only applies I(job_labels) and I(scheduler_name) to a plain Job.
    type: str
    choices: [auto, kueue, volcano, kai, coscheduling, other]
    default: auto
  queue_name:
    description: Existing Kueue LocalQueue to submit to. Unset, the module creates its own queue objects.
    type: str
  queue_namespace:
    description:
      - Namespace of I(queue_name); the probe Jobs run there (upstream C(-gang-scheduler-namespace)).
      - Unset, they run in the probe namespace C(aiconform-gang-scheduling-<run_id>).
    type: str
  cluster_queue:
    description:
      - Existing Kueue ClusterQueue; the module creates a LocalQueue on it in the probe namespace (its
        C(namespaceSelector) must select that namespace). Unset, and without I(queue_name), it creates its own
        ResourceFlavor and ClusterQueue.
    type: str
  kai_queue:
    description: KAI Scheduler queue of the probe PodGroups (C(spec.queue) and the C(kai.scheduler/queue) label).
    type: str
    default: default-queue
  job_labels:
    description: Extra labels for the probe Jobs (upstream C(-gang-job-labels)).
    type: dict
    default: {}
  scheduler_name:
    description:
      - C(spec.schedulerName) for the probe pods. Unset, the mechanism's own (C(volcano), C(kai-scheduler),
        C(scheduler-plugins-scheduler)); with C(kueue) or C(other) the default scheduler.
    type: str
  kueue_api_version:
    description: Kueue API version to use instead of discovery's choice.
    type: str
    choices: [v1beta2, v1beta1]
  parallelism:
    description: Pods of the positive Job (parallelism = completions).
    type: int
    default: 2
  negative_parallelism:
    description: Minimum pods of the negative Job (raised to twice what the cluster's allocatable CPU fits).
    type: int
    default: 1000
  negative_window:
    description: Seconds during which no pod of the negative Job may be Running or bound (upstream default 30).
    type: int
    default: 30
  positive_timeout:
    description: Seconds for the positive Job to complete (upstream 2m).
    type: int
    default: 120
  queue_ready_timeout:
    description: Seconds for a ClusterQueue created by the module to become Active.
    type: int
    default: 60
  release_timeout:
    description: Seconds for the probe Jobs, pods and Workloads to be released after deletion.
    type: int
    default: 60
  cpu_request:
    description: CPU request (and limit) of every probe pod.
    type: str
    default: 100m
  memory_request:
    description: Memory request (and limit) of every probe pod.
    type: str
    default: 128Mi
  image:
    description: Probe image running C(sleep 5); override for a mirror.
    type: str
    default: registry.k8s.io/e2e-test-images/busybox:1.36.1-1
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
