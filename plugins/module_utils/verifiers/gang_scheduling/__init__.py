"""gang_scheduling (KAR-0053): all-or-nothing scheduling, after upstream ``TestGangScheduling``.

PositiveGangScheduling: a Job with parallelism = completions = N runs through the gang scheduler and completes;
every pod was bound. NegativeGangScheduling: a Job far larger than the free capacity gets no pod Running and no
pod bound during the window. Cleanup: everything the probe used is released.

Mechanisms (``MECHANISMS``), detected by their API groups unless ``scheduler`` names one: Kueue (a queue of
aiconform's own, an existing LocalQueue, or a LocalQueue on an existing ClusterQueue), Volcano, KAI Scheduler
and scheduler-plugins coscheduling (a PodGroup with ``minMember`` = the Job's pods, the pods handed to that
scheduler and tied to the PodGroup its way). ``other``: a plain Job with the inventory's labels/schedulerName.
"""
from __future__ import annotations

from typing import Any

from ...versions import probe_image

REQUIREMENT = "gang_scheduling"
TEST_NAME = "TestGangScheduling"
# What the probe holds while it runs (verifiers/holdings.py): a gang larger than the cluster stays pending, which an autoscaler may act on.
HOLDS: dict[str, str] = {"node_capacity": "shared", "autoscaler_pool": "shared"}

# Pinned in versions.yml verifier_probes. Upstream uses
# plain `busybox`; this is the Kubernetes e2e build of it on registry.k8s.io (easy to mirror).
DEFAULT_IMAGE = probe_image("busybox")

OPTIONS: dict[str, dict[str, Any]] = {
    "scheduler": {
        "type": "str", "default": "auto", "choices": ["auto", "kueue", "volcano", "kai", "coscheduling", "other"],
        "description": [
            ('The gang-scheduling mechanism to test. C(auto) detects it by API group (C(kueue.x-k8s.io), '
             'C(scheduling.volcano.sh), C(scheduling.run.ai), C(scheduling.x-k8s.io)) and uses the only one '
             'installed; with several the verdict is C(unknown) listing them, with none C(Not Implemented) naming '
             'what was looked for. I(queue_name) or I(cluster_queue) set chooses Kueue.'),
            ('C(kueue) uses a Kueue LocalQueue (own queue objects, I(queue_name), or a LocalQueue on '
             'I(cluster_queue)).'),
            ("C(volcano), C(kai), C(coscheduling) create a PodGroup with C(minMember) = the Job's pods before "
             'each Job and hand the pods to that scheduler (annotation C(scheduling.k8s.io/group-name), '
             'annotation C(pod-group-name) plus queue label C(kai.scheduler/queue), label '
             'C(scheduling.x-k8s.io/pod-group)).'),
            'C(other) only applies I(job_labels) and I(scheduler_name) to a plain Job.',
        ],
        "sample": ('auto | kueue | volcano | kai | coscheduling | other auto: the only one whose API group is '
                   'served (kueue.x-k8s.io, scheduling.volcano.sh, scheduling.run.ai, scheduling.x-k8s.io); '
                   'several: unknown until set; other: the two below on a plain Job (queue_name or cluster_queue '
                   'set: kueue)'),
    },
    "queue_name": {
        "type": "str",
        "description": ['Existing Kueue LocalQueue to submit to. Unset, the module creates its own queue objects.'],
        "sample": ('existing Kueue LocalQueue; unset: aiconform creates a ResourceFlavor/ClusterQueue/LocalQueue '
                   'and deletes them after'),
    },
    "queue_namespace": {
        "type": "str",
        "description": [
            'Namespace of I(queue_name); the probe Jobs run there (upstream C(-gang-scheduler-namespace)).',
            'Unset, they run in the probe namespace C(aiconform-gang-scheduling-<run_id>).',
        ],
        "sample": ('namespace of that LocalQueue (upstream -gang-scheduler-namespace); unset: the probe namespace '
                   'aiconform-gang-scheduling-<run id>'),
    },
    "cluster_queue": {
        "type": "str",
        "description": [('Existing Kueue ClusterQueue; the module creates a LocalQueue on it in the probe '
                         'namespace (its C(namespaceSelector) must select that namespace). Unset, and without '
                         'I(queue_name), it creates its own ResourceFlavor and ClusterQueue.')],
        "sample": 'existing Kueue ClusterQueue: aiconform adds a LocalQueue on it',
    },
    "kai_queue": {
        "type": "str", "default": "default-queue",
        "description": [('KAI Scheduler queue of the probe PodGroups (C(spec.queue) and the '
                         'C(kai.scheduler/queue) label).')],
        "sample": 'KAI Scheduler queue of the probe PodGroups',
    },
    "job_labels": {
        "type": "dict", "default": {},
        "description": ['Extra labels for the probe Jobs (upstream C(-gang-job-labels)).'],
        "sample": 'extra Job labels (upstream -gang-job-labels)',
    },
    "scheduler_name": {
        "type": "str",
        "description": [("C(spec.schedulerName) for the probe pods. Unset, the mechanism's own (C(volcano), "
                         'C(kai-scheduler), C(scheduler-plugins-scheduler)); with C(kueue) or C(other) the '
                         'default scheduler.')],
        "sample": ('pod spec.schedulerName (default: volcano, kai-scheduler, scheduler-plugins-scheduler; '
                   'kueue/other: the default scheduler)'),
    },
    "kueue_api_version": {
        "type": "str", "choices": ["v1beta2", "v1beta1"],
        "description": ["Kueue API version to use instead of discovery's choice."],
        "sample": 'v1beta2 | v1beta1 (default: discovery, v1beta2 preferred)',
    },
    "parallelism": {
        "type": "int", "default": 2,
        "description": ['Pods of the positive Job (parallelism = completions).'],
        "sample": 'pods of the positive Job (parallelism = completions)',
    },
    "negative_parallelism": {
        "type": "int", "default": 1000,
        "description": [("Minimum pods of the negative Job (raised to twice what the cluster's allocatable CPU "
                         'fits).')],
        "sample": 'minimum pods of the negative Job (raised above capacity)',
    },
    "negative_window": {
        "type": "int", "default": 30,
        "description": [('Seconds during which no pod of the negative Job may be Running or bound (upstream '
                         'default 30).')],
        "sample": 'seconds no negative pod may be Running or bound',
    },
    "positive_timeout": {
        "type": "int", "default": 120,
        "description": ['Seconds for the positive Job to complete (upstream 2m).'],
        "sample": 'seconds for the positive Job to complete',
    },
    "queue_ready_timeout": {
        "type": "int", "default": 60,
        "description": ['Seconds for a ClusterQueue created by the module to become Active.'],
        "sample": "seconds for aiconform's own ClusterQueue to become Active",
    },
    "release_timeout": {
        "type": "int", "default": 60,
        "description": ['Seconds for the probe Jobs, pods and Workloads to be released after deletion.'],
        "sample": 'seconds for Jobs, pods and Workloads to be released',
    },
    "cpu_request": {
        "type": "str", "default": "100m",
        "description": ['CPU request (and limit) of every probe pod.'],
        "sample": 'per probe pod (request = limit)',
    },
    "memory_request": {
        "type": "str", "default": "128Mi",
        "description": ['Memory request (and limit) of every probe pod.'],
        "sample": 'per probe pod (request = limit)',
    },
    "image": {
        "type": "str", "default": DEFAULT_IMAGE,
        "description": ['Probe image running C(sleep 5); override for a mirror.'],
        "sample": 'runs `sleep 5`',
    },
}


from .fetch import fetch  # noqa: E402
from .judge import judge  # noqa: E402

__all__ = ["OPTIONS", "REQUIREMENT", "TEST_NAME", "HOLDS", "fetch", "judge"]
