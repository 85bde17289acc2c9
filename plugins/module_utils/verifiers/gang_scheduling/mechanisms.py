"""The gang-scheduling mechanisms aiconform recognises, as data (which API shows each is installed, how a probe
pod joins its gang), and the pure choice among those found.

Written from each project's API types: Kueue ``kueue.x-k8s.io`` (LocalQueue label ``kueue.x-k8s.io/queue-name``);
Volcano ``scheduling.volcano.sh/v1beta1`` PodGroup (``spec.minMember``; pods carry the annotation
``scheduling.k8s.io/group-name`` and ``schedulerName: volcano``); KAI Scheduler ``scheduling.run.ai/v2alpha2``
PodGroup (``spec.minMember``, ``spec.queue``; pods carry the annotation ``pod-group-name``, the queue label
``kai.scheduler/queue`` and ``schedulerName: kai-scheduler``); scheduler-plugins coscheduling
``scheduling.x-k8s.io/v1alpha1`` PodGroup (``spec.minMember``; pods carry the label
``scheduling.x-k8s.io/pod-group`` and the second scheduler's name, ``scheduler-plugins-scheduler`` in its chart).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Mechanism:
    name: str
    label: str  # for people
    group: str  # the API group whose presence shows it is installed
    versions: tuple[str, ...] = ()  # PodGroup versions aiconform can write, preferred first
    scheduler_name: str = ""  # default spec.schedulerName of the probe pods
    pod_annotations: tuple[str, ...] = ()  # keys whose value is the PodGroup's name
    pod_labels: tuple[str, ...] = ()
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def podgroup(self) -> bool:
        return bool(self.versions)


MECHANISMS: dict[str, Mechanism] = {m.name: m for m in (
    Mechanism("kueue", "Kueue", "kueue.x-k8s.io"),
    Mechanism("volcano", "Volcano", "scheduling.volcano.sh", ("v1beta1",), "volcano",
              pod_annotations=("scheduling.k8s.io/group-name",)),
    Mechanism("kai", "KAI Scheduler", "scheduling.run.ai", ("v2alpha2",), "kai-scheduler",
              pod_annotations=("pod-group-name",), extra={"queue_label": "kai.scheduler/queue"}),
    Mechanism("coscheduling", "scheduler-plugins coscheduling", "scheduling.x-k8s.io", ("v1alpha1",),
              "scheduler-plugins-scheduler", pod_labels=("scheduling.x-k8s.io/pod-group",)),
)}
VARIABLE = "aiconform_gang_scheduling_scheduler"


def choose(requested: str, served_groups: set[str], kueue_queue: str = "") -> dict[str, Any]:
    """Which mechanism to test: the inventory's, else the only one installed (pure).

    ``kueue_queue``: the inventory variable naming a Kueue queue, if one is set; it chooses Kueue in ``auto``.
    Returns {"name": chosen or None, "source": "inventory" | "detected" | None, "variable": the inventory variable
    that chose it, "found": [names installed], "looked_for": {name: group}}.
    """
    found = [m.name for m in MECHANISMS.values() if m.group in served_groups]
    out: dict[str, Any] = {"found": found, "looked_for": {m.name: m.group for m in MECHANISMS.values()},
                           "name": None, "source": None, "variable": None}
    if requested and requested != "auto":
        out.update(name=requested, source="inventory", variable=VARIABLE)
    elif kueue_queue:
        out.update(name="kueue", source="inventory", variable=kueue_queue)
    elif len(found) == 1:
        out.update(name=found[0], source="detected")
    return out


def describe(name: str) -> str:
    m = MECHANISMS.get(name)
    return f"{m.label} ({m.group})" if m else name
