"""Gang schedulers with a PodGroup: Volcano, KAI Scheduler and scheduler-plugins coscheduling.

Each is a second scheduler: it binds only pods whose ``spec.schedulerName`` is its own, and only while its
PodGroup CRD is installed. What a client observes, from each project's API types and the events its scheduler
records (nothing more is modelled):

- A pod joins a gang through its PodGroup reference: Volcano the annotation ``scheduling.k8s.io/group-name``
  (PodGroup ``scheduling.volcano.sh/v1beta1``), KAI the annotation ``pod-group-name`` (PodGroup
  ``scheduling.run.ai/v2alpha2``, whose ``spec.queue`` must name a ``scheduling.run.ai`` Queue), coscheduling
  the label ``scheduling.x-k8s.io/pod-group`` (PodGroup ``scheduling.x-k8s.io/v1alpha1``). A pod without one is
  a gang of one (Volcano's and KAI's pod grouper give it a PodGroup of ``minMember`` 1; coscheduling treats it as
  an ordinary pod).
- All or nothing: the pending members are bound only when, together with those already bound, at least
  ``spec.minMember`` of them fit on the nodes (the default scheduler's filters, controllers/scheduler.py);
  otherwise none is bound, each stays ``PodScheduled=False/Unschedulable``.
- Messages: Volcano's PodGroup condition ``Unschedulable`` reason ``NotEnoughResources`` "<n>/<m> tasks in gang
  unschedulable: pod group is not ready, <p> Pending, <min> minAvailable", a ``FailedScheduling`` pod event from
  ``volcano``, PodGroup ``status.phase`` Pending/Inqueue/Running; KAI a Warning ``Unschedulable`` pod event, a
  Normal ``Unschedulable`` PodGroup event and ``status.schedulingConditions`` ``UnschedulableOnNodePool``
  (``NotReady`` "Job is not ready for scheduling. Waiting for <min> pods, currently <n> exist, 0 are gated" while
  the gang is short of members); coscheduling ``FailedScheduling`` from ``scheduler-plugins-scheduler`` in the
  words of the real v0.34 scheduler (the lab's coscheduling stack): "0/<n> nodes are available: pre-filter pod <p>
  cannot find enough sibling pods, current pods number: <k>, minMember of group: <min>. no new claims to deallocate,
  preemption: ..., PodGroup <ns>/<pg> gets rejected due to Pod <p> is unschedulable even after PostFilter" while
  the gang is short of members; once complete, the fit error of the first member that fits nowhere followed by that
  PostFilter rejection, and "0/1 nodes are available: 1 optimistic rejection in PostFilter." on the members that fit
  (rejected while waiting in Permit); ``status.phase`` as scheduler-plugins' PodGroup controller steps it
  (Pending, Scheduling once minMember pods exist even if none is bound, Running, Finished or Failed).

Simulator-only fault: a ConfigMap ``gang-sim-faults`` in the scheduler's namespace (``volcano-system``,
``kai-scheduler``, ``scheduler-plugins``) annotated ``sim.aiconform.io/gang: ignore-min-member`` binds every pod
that fits, one by one (a gang scheduler that starts part of a gang).
"""
from __future__ import annotations

import copy
from collections import Counter
from dataclasses import dataclass
from typing import Any

from aiconform.sim.api import ANNOTATION_PREFIX, Cluster
from aiconform.sim.controllers import dra
from aiconform.sim.controllers.common import set_condition
from aiconform.sim.controllers.scheduler import _usage, bind, filter_node, fit_error, pod_requests, unschedulable

Obj = dict[str, Any]
FAULT = ANNOTATION_PREFIX + "gang"


@dataclass(frozen=True)
class Gang:
    name: str
    group: str
    scheduler: str
    namespace: str
    annotation: str = ""
    label: str = ""


GANGS = (
    Gang("volcano", "scheduling.volcano.sh", "volcano", "volcano-system", annotation="scheduling.k8s.io/group-name"),
    Gang("kai", "scheduling.run.ai", "kai-scheduler", "kai-scheduler", annotation="pod-group-name"),
    Gang("coscheduling", "scheduling.x-k8s.io", "scheduler-plugins-scheduler", "scheduler-plugins",
         label="scheduling.x-k8s.io/pod-group"),
)


def sync(c: Cluster, mgr: Any) -> None:
    for g in GANGS:
        if c.registry.get(g.group, "podgroups") is not None:
            _schedule(c, g)
            _podgroup_status(c, g)


def _fault(c: Cluster, g: Gang) -> str:
    for cm in c.objects("", "configmaps", g.namespace):
        if cm["metadata"]["name"] == "gang-sim-faults":
            return str(((cm.get("metadata") or {}).get("annotations") or {}).get(FAULT) or "")
    return ""


def _group_of(pod: Obj, g: Gang) -> str:
    meta = pod.get("metadata") or {}
    if g.annotation:
        return (meta.get("annotations") or {}).get(g.annotation) or ""
    return (meta.get("labels") or {}).get(g.label) or ""


def _alive(pod: Obj) -> bool:
    return not pod["metadata"].get("deletionTimestamp") and \
        (pod.get("status") or {}).get("phase", "Pending") in ("Pending", "Running")


def _schedule(c: Cluster, g: Gang) -> None:
    mine = [p for p in c.objects("", "pods") if (p.get("spec") or {}).get("schedulerName") == g.scheduler
            and _alive(p)]
    pending = [p for p in mine if not p["spec"].get("nodeName") and not p["spec"].get("schedulingGates")]
    if not pending:
        return
    nodes = sorted(c.objects("", "nodes"), key=lambda n: n["metadata"]["name"])
    used = _usage(c)
    ignore_min = _fault(c, g) == "ignore-min-member"
    gangs: dict[tuple[str, str], list[Obj]] = {}
    for p in pending:
        gangs.setdefault((p["metadata"]["namespace"], _group_of(p, g)), []).append(p)
    for (ns, pg_name), waiting in sorted(gangs.items()):
        waiting.sort(key=lambda p: (p["metadata"]["creationTimestamp"], p["metadata"]["name"]))
        if not pg_name:  # a gang of one per pod
            for p in waiting:
                _place(c, g, [p], 1, nodes, used, ns, "")
            continue
        pg = c.find(g.group, "podgroups", ns, pg_name)
        if pg is None:
            for p in waiting:
                _unschedulable(c, g, p, f"PodGroup {ns}/{pg_name} not found")
            continue
        if g.name == "kai" and c.registry.get(g.group, "queues") is not None:
            queue = (pg.get("spec") or {}).get("queue") or ""
            if c.find(g.group, "queues", "", queue) is None:
                for p in waiting:
                    _unschedulable(c, g, p, f"QueueDoesNotExist: queue {queue!r} of PodGroup {ns}/{pg_name} "
                                            "does not exist")
                continue
        min_member = 1 if ignore_min else int((pg.get("spec") or {}).get("minMember") or 1)
        members = [p for p in mine if p["metadata"]["namespace"] == ns and _group_of(p, g) == pg_name]
        bound = sum(1 for p in members if p["spec"].get("nodeName"))
        if ignore_min:
            for p in waiting:
                _place(c, g, [p], 1, nodes, used, ns, pg_name)
            continue
        if len(members) < min_member:
            msg = _short_message(g, ns, pg_name, waiting[0], len(members), min_member, len(nodes))
            for p in waiting:
                _unschedulable(c, g, p, msg)
            if g.name == "kai":
                _pg_event(c, pg, "Normal", "NotReady", msg, g)
            continue
        _place(c, g, waiting, max(1, min_member - bound), nodes, used, ns, pg_name, pg, len(members), min_member)


def _place(c: Cluster, g: Gang, waiting: list[Obj], needed: int, nodes: list[Obj], used: dict[str, Counter[str]],
           ns: str, pg_name: str, pg: Obj | None = None, members: int = 1, min_member: int = 1) -> None:
    """Try the pods on a copy of the node usage; bind them all when at least ``needed`` fit, else none."""
    trial = {k: Counter(v) for k, v in used.items()}
    plan: list[tuple[Obj, str]] = []
    first_error = ""
    failed_pod = ""  # the first pod that fits nowhere (coscheduling's PostFilter names it)
    origin = ""  # Volcano's words for the first pod that fits nowhere: "<pod>: 0/N nodes are unavailable: ..."
    for pod in waiting:
        histogram: Counter[str] = Counter()
        chosen = None
        for node in sorted(nodes, key=lambda n: trial.get(n["metadata"]["name"], Counter())["pods"]):
            reasons = filter_node(pod, node, trial.get(node["metadata"]["name"], Counter()))
            if not reasons and dra.plan_for_pod(c, pod, node) is None:
                reasons = ["cannot allocate all claims"]
            if reasons:
                for r in reasons:
                    histogram[r] += 1
                continue
            chosen = node["metadata"]["name"]
            break
        if chosen is None:
            first_error = first_error or fit_error(len(nodes), histogram)
            failed_pod = failed_pod or pod["metadata"]["name"]
            origin = origin or f"{pod['metadata']['name']}: " + (
                f"0/{len(nodes)} nodes are unavailable: " + ", ".join(sorted(f"{v} {k}" for k, v in histogram.items()))
                + "." if nodes else "no nodes available to schedule pods")
            if len(waiting) == 1:
                break
            continue
        plan.append((pod, chosen))
        u = trial.setdefault(chosen, Counter())
        for k, v in pod_requests(pod["spec"]).items():
            u[k] += v
        u["pods"] += 1
    if len(plan) >= needed and plan:
        for pod, node in plan:
            plan_claims = dra.plan_for_pod(c, pod, next(n for n in nodes if n["metadata"]["name"] == node))
            dra.commit(c, pod, plan_claims or [])
            bind(c, pod, node, g.scheduler)
        used.clear()
        used.update(trial)
        if pg is not None and g.name == "volcano":
            _pg_condition(c, g, pg, "Scheduled", "True", "tasks in gang are ready to be scheduled", "")
        return
    if not pg_name:
        _unschedulable(c, g, waiting[0], first_error)
        return
    fit = len(plan)
    fit_err = origin if g.name == "volcano" else first_error
    planned = {id(p) for p, _node in plan}
    for pod in waiting:
        msg = _gang_message(g, ns, pg_name, pod, fit, len(waiting), members, min_member, fit_err, failed_pod)
        if g.name == "coscheduling" and id(pod) in planned:
            # a member that fit waits in Permit; the failing member's PostFilter rejects every waiting one
            msg = "0/1 nodes are available: 1 optimistic rejection in PostFilter."
        # Volcano's pod condition is the PodGroup's message without its "<n>/<m> tasks in gang unschedulable: "
        _unschedulable(c, g, pod, msg.split(": ", 1)[1] if g.name == "volcano" else msg)
    if pg is not None:
        msg = _gang_message(g, ns, pg_name, waiting[0], fit, len(waiting), members, min_member, fit_err, failed_pod)
        if g.name == "volcano":
            _pg_condition(c, g, pg, "Unschedulable", "True", "NotEnoughResources", msg)
            _pg_event(c, pg, "Warning", "Unschedulable", msg, g)
        elif g.name == "kai":
            _pg_event(c, pg, "Normal", "Unschedulable", msg, g)


def _short_message(g: Gang, ns: str, pg: str, pod: Obj, members: int, min_member: int, n_nodes: int) -> str:
    if g.name == "volcano":
        return f"pod group is not ready, {members} Pending, {min_member} minAvailable"
    if g.name == "kai":
        return f"Job is not ready for scheduling. Waiting for {min_member} pods, currently {members} exist, 0 are gated"
    # as the lab's real scheduler-plugins v0.34 scheduler words it: PreFilter's error as the fit error, then the
    # PostFilter plugins' messages (DynamicResources, DefaultPreemption, Coscheduling)
    name = pod["metadata"]["name"]
    return (f"0/{n_nodes} nodes are available: pre-filter pod {name} cannot find enough sibling pods, current pods "
            f"number: {members}, minMember of group: {min_member}. no new claims to deallocate, preemption: "
            f"0/{n_nodes} nodes are available: {n_nodes} Preemption is not helpful for scheduling., "
            f"{_postfilter_rejection(ns, pg, name)}")


def _postfilter_rejection(ns: str, pg: str, pod: str) -> str:
    return f"PodGroup {ns}/{pg} gets rejected due to Pod {pod} is unschedulable even after PostFilter"


def _gang_message(g: Gang, ns: str, pg: str, pod: Obj, fit: int, pending: int, members: int, min_member: int,
                  fit_err: str, failed_pod: str = "") -> str:
    if g.name == "volcano":
        # as v1.14's gang plugin writes it (seen on the lab's real scheduler): "13/22 tasks in gang unschedulable: pod
        # group is not ready, 22 Pending, 22 minAvailable; Pending: 13 Unschedulable, 9 Schedulable. Origin reason is
        # <pod>: 0/5 nodes are unavailable: 5 Insufficient cpu."
        return (f"{min_member - fit}/{members} tasks in gang unschedulable: pod group is not ready, {pending} "
                f"Pending, {min_member} minAvailable; Pending: {pending - fit} Unschedulable, {fit} Schedulable"
                + (f". Origin reason is {fit_err}" if fit_err else ""))
    if g.name == "kai":
        return (f"Resources were found for {fit} pods while {min_member} are required for gang scheduling. "
                + (fit_err or ""))
    # as the lab's real scheduler-plugins v0.34 scheduler words it: "0/5 nodes are available: 1 node(s) had untolerated
    # taint(s), 4 Insufficient cpu. no new claims to deallocate, preemption: 0/5 nodes are available: 1 Preemption is
    # not helpful for scheduling, 4 No preemption victims found for incoming pod., PodGroup <ns>/<pg> gets rejected
    # due to Pod <pod> is unschedulable even after PostFilter"
    fit_part, sep, pre = fit_err.partition(" preemption: ")
    head = f"{fit_part} no new claims to deallocate, preemption: {pre}, " if sep else (f"{fit_err} " if fit_err else "")
    return head + _postfilter_rejection(ns, pg, failed_pod or pod["metadata"]["name"])


def _unschedulable(c: Cluster, g: Gang, pod: Obj, message: str) -> None:
    unschedulable(c, pod, message, g.scheduler, "Unschedulable" if g.name == "kai" else "FailedScheduling")


def _pg_condition(c: Cluster, g: Gang, pg: Obj, ctype: str, status: str, reason: str, message: str) -> None:
    cur = c.find(g.group, "podgroups", pg["metadata"]["namespace"], pg["metadata"]["name"]) or pg
    conds = (cur.get("status") or {}).get("conditions") or []
    if any(x.get("type") == ctype and x.get("status") == status and x.get("message", "") == message for x in conds):
        return
    new = copy.deepcopy(cur)
    st = new.setdefault("status", {})
    others = "Scheduled" if ctype == "Unschedulable" else "Unschedulable"
    st["conditions"] = [x for x in set_condition(conds, ctype, status, reason, message) if x.get("type") != others]
    c.write(c.rd(g.group, "podgroups"), new)


def _pg_event(c: Cluster, pg: Obj, etype: str, reason: str, message: str, g: Gang) -> None:
    seen = any((e.get("involvedObject") or {}).get("uid") == pg["metadata"].get("uid") and e.get("reason") == reason
               and e.get("message") == message for e in c.objects("", "events", pg["metadata"]["namespace"]))
    if not seen:
        c.record_event(pg, etype, reason, message, g.scheduler)


def _podgroup_status(c: Cluster, g: Gang) -> None:
    """Phase and counters from the members, as each project's controller keeps them."""
    pods_by_group: dict[tuple[str, str], list[Obj]] = {}
    for p in c.objects("", "pods"):
        name = _group_of(p, g)
        # scheduler-plugins' PodGroup controller counts the pods by their label alone, whatever their scheduler
        if name and (g.name == "coscheduling" or (p.get("spec") or {}).get("schedulerName") == g.scheduler):
            pods_by_group.setdefault((p["metadata"]["namespace"], name), []).append(p)
    for pg in c.objects(g.group, "podgroups"):
        members = pods_by_group.get((pg["metadata"]["namespace"], pg["metadata"]["name"]), [])
        phases = Counter((p.get("status") or {}).get("phase", "Pending") for p in members)
        bound = sum(1 for p in members if (p.get("spec") or {}).get("nodeName"))
        min_member = int((pg.get("spec") or {}).get("minMember") or 1)
        st = copy.deepcopy(pg.get("status") or {})
        if g.name == "kai":
            unsched = [p for p in members if not p["spec"].get("nodeName") and any(
                x.get("type") == "PodScheduled" and x.get("status") == "False"
                for x in (p.get("status") or {}).get("conditions") or [])]
            if unsched and bound < min_member:
                msg = next(x.get("message", "") for x in unsched[0]["status"]["conditions"]
                           if x.get("type") == "PodScheduled")
                st["schedulingConditions"] = [{"type": "UnschedulableOnNodePool", "nodePool": "default",
                                               "reason": "Unschedulable", "message": msg, "status": "True"}]
            else:
                st.pop("schedulingConditions", None)
        elif g.name == "volcano":
            st.update({"running": phases["Running"], "succeeded": phases["Succeeded"], "failed": phases["Failed"]})
            done = phases["Succeeded"] + phases["Failed"]
            # the enqueue action admits a PodGroup once its minMember pods exist (the real scheduler's
            # oversized gang stays Inqueue with none bound); fewer members: the job is invalid, Pending
            st["phase"] = ("Completed" if members and done >= min_member and not phases["Running"] else
                           "Running" if phases["Running"] + done >= min_member else
                           "Inqueue" if bound or len(members) >= min_member else "Pending")
        else:
            st = _coscheduling_status(st, members, phases, min_member)
        if st != (pg.get("status") or {}):
            c.update_status(c.rd(g.group, "podgroups"), pg, st)


def _coscheduling_status(st: Obj, members: list[Obj], phases: Counter[str], min_member: int) -> Obj:
    """One step of scheduler-plugins' PodGroup controller (pkg/controllers/podgroup_controller.go, as the lab's
    coscheduling stack runs it): no phase -> Pending; Pending -> Scheduling once minMember pods exist (bound or
    not: an oversized gang none of whose pods is bound is Scheduling); then, with the counters, Pending (fewer pods
    than minMember), Scheduling, Running (running + succeeded >= minMember), Failed (a failed pod and failed +
    running + succeeded >= minMember) or Finished (succeeded >= minMember), which are final."""
    phase = st.get("phase") or ""
    if phase in ("Finished", "Failed"):
        return st
    if not phase:
        return {**st, "phase": "Pending"}
    if phase == "Pending":
        return {**st, "phase": "Scheduling"} if len(members) >= min_member else st
    running, succeeded, failed = phases["Running"], phases["Succeeded"], phases["Failed"]
    st = {**st, "running": running, "succeeded": succeeded, "failed": failed}
    if len(members) < min_member:
        return {**st, "phase": "Pending"}
    phase = "Running" if succeeded + running >= min_member else "Scheduling"
    if failed and failed + running + succeeded >= min_member:
        phase = "Failed"
    if succeeded >= min_member:
        phase = "Finished"
    return {**st, "phase": phase}
