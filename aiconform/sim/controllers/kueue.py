"""Kueue (v0.19, kueue.x-k8s.io): the batch/job webhook and integration, and quota-based admission.

What a client observes from the real controller, and nothing more:

- Webhook: a Job labelled ``kueue.x-k8s.io/queue-name`` is suspended before the Job controller starts pods
  (this controller runs before ``job`` in a pass, which stands in for the mutating webhook).
- Job integration: one Workload per Job (``job-<name>-<hash>``, label ``kueue.x-k8s.io/job-uid``, owned by the
  Job, one pod set ``main`` of ``parallelism`` pods); event ``CreatedWorkload`` on the Job.
- Scheduler (BestEffortFIFO): a Workload is admitted only when its ClusterQueue's nominalQuota covers the
  whole pod set (all or nothing): conditions QuotaReserved/Admitted, ``status.admission``, events
  ``QuotaReserved``/``Admitted`` on the Workload, then the Job is unsuspended with event ``Started``.
  Otherwise ``QuotaReserved=False reason=Pending`` and a Warning ``Pending`` event with Kueue's message.
- PodsReady when all pods of the pod set are ready (or done), Finished when the Job completes (quota freed).
- ClusterQueue/LocalQueue status (Active condition and counters) and the ``resource-in-use`` finalizers.

Event reasons and messages follow the real Kueue events of the VKS v1.36 evidence
(``fixtures/stacks/cncf_k8s-ai-conformance__v1.36_vks_gang_scheduling.md__kueue_events.txt``) and the
Workload status examples of the Kueue v0.19.2 docs.

Simulator-only fault: annotation ``sim.aiconform.io/kueue-admission: ignore-quota`` on a ConfigMap in
``kueue-system`` admits every Workload regardless of quota (a broken gang scheduler).
"""
from __future__ import annotations

import copy
import hashlib
from typing import Any

from aiconform.sim.api import ANNOTATION_PREFIX, ApiError, Cluster, now, owner_ref
from aiconform.sim.controllers.common import pod_ready, quantity, set_condition, ts_age
from aiconform.sim.controllers.scheduler import pod_requests

Obj = dict[str, Any]
GROUP = "kueue.x-k8s.io"
QUEUE_LABEL = "kueue.x-k8s.io/queue-name"
JOB_UID = "kueue.x-k8s.io/job-uid"
IN_USE = "kueue.x-k8s.io/resource-in-use"
FAULT = ANNOTATION_PREFIX + "kueue-admission"
COMPONENT = "kueue-admission"


def sync(c: Cluster, mgr: Any) -> None:
    if c.registry.get(GROUP, "workloads") is None or c.registry.get(GROUP, "clusterqueues") is None:
        return  # Kueue not installed
    ignore_quota = _fault(c) == "ignore-quota"
    _finalizers(c)
    for job in c.objects("batch", "jobs"):
        _job(c, job)
    _admit(c, ignore_quota)
    _progress(c)
    _queue_status(c)


def _fault(c: Cluster) -> str:
    for cm in c.objects("", "configmaps", "kueue-system"):
        fault = ((cm.get("metadata") or {}).get("annotations") or {}).get(FAULT)
        if fault:
            return str(fault)
    return ""


def _queue_of(job: Obj) -> str | None:
    return ((job["metadata"].get("labels") or {}).get(QUEUE_LABEL)
            or (job["metadata"].get("annotations") or {}).get(QUEUE_LABEL))  # annotation: Kueue <= 0.14


def _terminal(job: Obj) -> bool:
    return any(x.get("type") in ("Complete", "Failed") and x.get("status") == "True"
               for x in (job.get("status") or {}).get("conditions") or [])


def _workload_for(c: Cluster, ns: str, uid: str) -> Obj | None:
    return next((w for w in c.objects(GROUP, "workloads", ns)
                 if (w["metadata"].get("labels") or {}).get(JOB_UID) == uid), None)


def _job(c: Cluster, job: Obj) -> None:
    queue = _queue_of(job)
    if not queue or job["metadata"].get("deletionTimestamp"):
        return
    ns, uid = job["metadata"]["namespace"], job["metadata"]["uid"]
    wl = _workload_for(c, ns, uid)
    jobs_rd = c.rd("batch", "jobs")
    if wl is None:
        if _terminal(job):
            return
        if not (job.get("spec") or {}).get("suspend") and not (job.get("status") or {}).get("startTime"):
            new = copy.deepcopy(job)  # the mutating webhook: created suspended
            new["spec"]["suspend"] = True
            job = c.write(jobs_rd, new)
        name = f"job-{job['metadata']['name']}-{hashlib.sha1(uid.encode()).hexdigest()[:5]}"[:253]
        spec = job.get("spec") or {}
        wl_rd = c.rd(GROUP, "workloads")
        body = {"apiVersion": f"{GROUP}/{wl_rd.versions[0]}", "kind": "Workload",
                "metadata": {"name": name, "namespace": ns, "labels": {JOB_UID: uid},
                             "ownerReferences": [owner_ref(job)], "finalizers": []},
                "spec": {"queueName": queue, "active": True, "priority": 0,
                         "podSets": [{"name": "main", "count": int(spec.get("parallelism", 1)),
                                      "template": copy.deepcopy(spec.get("template") or {})}]}}
        body["metadata"].pop("finalizers")
        try:
            c.create(wl_rd, ns, body)
        except ApiError:
            return
        c.record_event(job, "Normal", "CreatedWorkload", f"Created Workload: {ns}/{name}", "kueue-job-controller")
        return
    admitted = _cond(wl, "Admitted")
    if admitted and (job.get("spec") or {}).get("suspend") and not _cond(wl, "Finished"):
        new = copy.deepcopy(job)
        new["spec"]["suspend"] = False
        cq = ((wl.get("status") or {}).get("admission") or {}).get("clusterQueue", "")
        c.write(jobs_rd, new)
        c.record_event(job, "Normal", "Started", f"Admitted by clusterQueue {cq}", "kueue-job-controller")


def _cond(obj: Obj, ctype: str) -> bool:
    return any(x.get("type") == ctype and x.get("status") == "True"
               for x in (obj.get("status") or {}).get("conditions") or [])


def _podset_usage(wl: Obj) -> dict[str, float]:
    total: dict[str, float] = {}
    for ps in (wl.get("spec") or {}).get("podSets") or []:
        per_pod = pod_requests(((ps.get("template") or {}).get("spec")) or {})
        for res, amount in per_pod.items():
            total[res] = total.get(res, 0.0) + amount * int(ps.get("count", 1))
    return total


def _quota(cq: Obj) -> tuple[dict[str, float], dict[str, str], set[str]]:
    """nominalQuota per resource (first flavor covering it), the flavor per resource, covered resources."""
    quota, flavor_of, covered = {}, {}, set()
    for rg in (cq.get("spec") or {}).get("resourceGroups") or []:
        covered |= set(rg.get("coveredResources") or [])
        for fl in rg.get("flavors") or []:
            for r in fl.get("resources") or []:
                if r.get("name") not in quota:
                    quota[r["name"]] = quantity(r.get("nominalQuota", 0))
                    flavor_of[r["name"]] = fl.get("name", "")
    return quota, flavor_of, covered


def _used(c: Cluster, cq_name: str) -> dict[str, float]:
    used: dict[str, float] = {}
    for w in c.objects(GROUP, "workloads"):
        adm = (w.get("status") or {}).get("admission") or {}
        if adm.get("clusterQueue") != cq_name or _cond(w, "Finished") or not _cond(w, "QuotaReserved"):
            continue
        for res, amount in _podset_usage(w).items():
            used[res] = used.get(res, 0.0) + amount
    return used


def _fmt(res: str, amount: float) -> str:
    if res == "cpu":
        m = round(amount * 1000)
        return str(m // 1000) if m % 1000 == 0 else f"{m}m"
    if res in ("memory", "ephemeral-storage"):
        for suffix, size in (("Gi", 2**30), ("Mi", 2**20), ("Ki", 2**10)):
            if amount >= size and amount % size == 0:
                return f"{int(amount // size)}{suffix}"
    return str(int(amount)) if float(amount).is_integer() else str(amount)


def _set_status(c: Cluster, wl: Obj, status: Obj) -> Obj:
    return c.update_status(c.rd(GROUP, "workloads"), wl, status)


def _admit(c: Cluster, ignore_quota: bool) -> None:
    pending = sorted((w for w in c.objects(GROUP, "workloads")
                      if not _cond(w, "QuotaReserved") and not _cond(w, "Finished")
                      and not w["metadata"].get("deletionTimestamp")),
                     key=lambda w: w["metadata"]["creationTimestamp"])
    for wl in pending:
        ns = wl["metadata"]["namespace"]
        st = copy.deepcopy(wl.get("status") or {})
        conds = st.get("conditions") or []
        lq_name = (wl.get("spec") or {}).get("queueName", "")
        lq = c.find(GROUP, "localqueues", ns, lq_name)
        if lq is None:
            _pending(c, wl, st, conds, "Inadmissible", f"LocalQueue {lq_name} doesn't exist")
            continue
        cq_name = (lq.get("spec") or {}).get("clusterQueue", "")
        cq = c.find(GROUP, "clusterqueues", "", cq_name)
        if cq is None or cq["metadata"].get("deletionTimestamp"):
            _pending(c, wl, st, conds, "Inadmissible", f"ClusterQueue {cq_name} doesn't exist")
            continue
        if not _namespace_selected(c, cq, ns):
            _pending(c, wl, st, conds, "Inadmissible",
                     "Workload namespace doesn't match ClusterQueue selector")
            continue
        quota, flavor_of, covered = _quota(cq)
        need = {r: v for r, v in _podset_usage(wl).items() if v > 0}
        used = _used(c, cq_name)
        message = ""
        for res in sorted(need):
            if res not in covered:
                message = f"couldn't assign flavors to pod set main: resource {res} unavailable in ClusterQueue"
                break
            if need[res] > quota.get(res, 0.0) + 1e-9:
                message = (f"couldn't assign flavors to pod set main: insufficient quota for {res} in flavor "
                           f"{flavor_of.get(res, '')} in ClusterQueue")
                break
            if used.get(res, 0.0) + need[res] > quota.get(res, 0.0) + 1e-9:
                more = used.get(res, 0.0) + need[res] - quota.get(res, 0.0)
                message = (f"couldn't assign flavors to pod set main: insufficient unused quota for {res} in "
                           f"flavor {flavor_of.get(res, '')}, {_fmt(res, more)} more needed")
                break
        if message and not ignore_quota:
            _pending(c, wl, st, conds, "Pending", message)
            continue
        count = sum(int(ps.get("count", 1)) for ps in (wl.get("spec") or {}).get("podSets") or [])
        st["admission"] = {"clusterQueue": cq_name, "podSetAssignments": [{
            "name": "main", "count": count,
            "flavors": {r: flavor_of.get(r, "") for r in need if r in flavor_of},
            "resourceUsage": {r: _fmt(r, v) for r, v in need.items()}}]}
        conds = set_condition(conds, "QuotaReserved", "True", "QuotaReserved", f"Quota reserved in ClusterQueue {cq_name}")
        conds = set_condition(conds, "Admitted", "True", "Admitted", "The workload is admitted")
        st["conditions"] = conds
        queued = int(ts_age(wl["metadata"].get("creationTimestamp")))
        wl = _set_status(c, wl, st)
        c.record_event(wl, "Normal", "QuotaReserved",
                       f"Quota reserved in ClusterQueue {cq_name}, wait time since queued was {queued}s", COMPONENT)
        c.record_event(wl, "Normal", "Admitted",
                       f"Admitted by ClusterQueue {cq_name}, wait time since reservation was 0s", COMPONENT)


def _namespace_selected(c: Cluster, cq: Obj, ns: str) -> bool:
    sel = (cq.get("spec") or {}).get("namespaceSelector")
    if sel is None:
        return False  # Kueue: a nil selector matches no namespace
    labels = ((c.find("", "namespaces", "", ns) or {}).get("metadata") or {}).get("labels") or {}
    if any(labels.get(k) != v for k, v in (sel.get("matchLabels") or {}).items()):
        return False
    for e in sel.get("matchExpressions") or []:
        key, op, vals = e.get("key"), e.get("operator"), e.get("values") or []
        if (op == "In" and labels.get(key) not in vals) or (op == "NotIn" and labels.get(key) in vals) or \
                (op == "Exists" and key not in labels) or (op == "DoesNotExist" and key in labels):
            return False
    return True


def _pending(c: Cluster, wl: Obj, st: Obj, conds: list[Obj], reason: str, message: str) -> None:
    st["conditions"] = set_condition(conds, "QuotaReserved", "False", reason, message)
    before = wl.get("status") or {}
    wl = _set_status(c, wl, st)
    if before != st:
        c.record_event(wl, "Warning", "Pending", message, COMPONENT)


def _progress(c: Cluster) -> None:
    """PodsReady and Finished, from the Job and its pods (the workload and job reconcilers)."""
    for wl in c.objects(GROUP, "workloads"):
        if not _cond(wl, "Admitted") or _cond(wl, "Finished"):
            continue
        owner = next((r for r in wl["metadata"].get("ownerReferences") or [] if r.get("kind") == "Job"), None)
        job = c.find("batch", "jobs", wl["metadata"]["namespace"], owner["name"]) if owner else None
        if job is None:
            continue
        st = copy.deepcopy(wl.get("status") or {})
        conds = st.get("conditions") or []
        count = int(((wl.get("spec") or {}).get("podSets") or [{}])[0].get("count", 1))
        pods = [p for p in c.objects("", "pods", wl["metadata"]["namespace"])
                if any(r.get("uid") == job["metadata"]["uid"] for r in p["metadata"].get("ownerReferences") or [])]
        ready = sum(1 for p in pods if pod_ready(p) or (p.get("status") or {}).get("phase") == "Succeeded")
        if ready >= count and not _cond(wl, "PodsReady"):
            conds = set_condition(conds, "PodsReady", "True", "Started",
                                  "All pods reached readiness and the workload is running")
        elif ready < count and not any(x.get("type") == "PodsReady" for x in conds):
            conds = set_condition(conds, "PodsReady", "False", "PodsReady", "Not all pods are ready or succeeded")
        finished = None
        for jc in (job.get("status") or {}).get("conditions") or []:
            if jc.get("status") == "True" and jc.get("type") in ("Complete", "Failed"):
                finished = jc
        if finished is not None:
            ok = finished["type"] == "Complete"
            conds = set_condition(conds, "Finished", "True", "Succeeded" if ok else "Failed",
                                  "Job finished successfully" if ok else finished.get("message", "Job failed"))
        st["conditions"] = conds
        _set_status(c, wl, st)
        if finished is not None:
            c.record_event(job, "Normal", "FinishedWorkload",
                           f"Workload '{wl['metadata']['namespace']}/{wl['metadata']['name']}' is declared finished",
                           "kueue-job-controller")


def _finalizers(c: Cluster) -> None:
    """resource-in-use on ClusterQueues and ResourceFlavors, released when nothing uses them any more."""
    for plural in ("clusterqueues", "resourceflavors"):
        rd = c.rd(GROUP, plural)
        for obj in c.objects(GROUP, plural):
            fins = list(obj["metadata"].get("finalizers") or [])
            deleting = bool(obj["metadata"].get("deletionTimestamp"))
            if not deleting and IN_USE not in fins:
                new = copy.deepcopy(obj)
                new["metadata"]["finalizers"] = [*fins, IN_USE]
                c.write(rd, new)
            elif deleting and IN_USE in fins and not _in_use(c, plural, obj["metadata"]["name"]):
                new = copy.deepcopy(obj)
                new["metadata"]["finalizers"] = [f for f in fins if f != IN_USE]
                c.write(rd, new)


def _in_use(c: Cluster, plural: str, name: str) -> bool:
    if plural == "clusterqueues":
        return any(((w.get("status") or {}).get("admission") or {}).get("clusterQueue") == name
                   and not _cond(w, "Finished") for w in c.objects(GROUP, "workloads"))
    return any(fl.get("name") == name for cq in c.objects(GROUP, "clusterqueues")
               if not cq["metadata"].get("deletionTimestamp")
               for rg in (cq.get("spec") or {}).get("resourceGroups") or [] for fl in rg.get("flavors") or [])


def _queue_status(c: Cluster) -> None:
    wls = c.objects(GROUP, "workloads")
    cq_rd, lq_rd = c.rd(GROUP, "clusterqueues"), c.rd(GROUP, "localqueues")
    lq_to_cq = {(lq["metadata"]["namespace"], lq["metadata"]["name"]): (lq.get("spec") or {}).get("clusterQueue")
                for lq in c.objects(GROUP, "localqueues")}

    def counts(match: Any) -> dict[str, int]:
        mine = [w for w in wls if match(w) and not _cond(w, "Finished")]
        return {"pendingWorkloads": sum(1 for w in mine if not _cond(w, "QuotaReserved")),
                "reservingWorkloads": sum(1 for w in mine if _cond(w, "QuotaReserved")),
                "admittedWorkloads": sum(1 for w in mine if _cond(w, "Admitted"))}

    for cq in c.objects(GROUP, "clusterqueues"):
        name = cq["metadata"]["name"]
        flavors = [fl.get("name") for rg in (cq.get("spec") or {}).get("resourceGroups") or []
                   for fl in rg.get("flavors") or []]
        missing = [f for f in flavors if c.find(GROUP, "resourceflavors", "", f) is None]
        st = copy.deepcopy(cq.get("status") or {})
        if missing:
            st["conditions"] = set_condition(st.get("conditions") or [], "Active", "False", "FlavorNotFound",
                                             f"Can't admit new workloads: references missing ResourceFlavor(s): {missing}.")
        else:
            st["conditions"] = set_condition(st.get("conditions") or [], "Active", "True", "Ready",
                                             "Can admit new workloads")
        st.update(counts(lambda w, n=name: lq_to_cq.get((w["metadata"]["namespace"],
                                                         (w.get("spec") or {}).get("queueName"))) == n))
        used = _used(c, name)
        quota, flavor_of, _ = _quota(cq)
        st["flavorsUsage"] = [{"name": f, "resources": [{"name": r, "total": _fmt(r, used.get(r, 0.0))}
                                                        for r in quota if flavor_of[r] == f]} for f in flavors]
        c.update_status(cq_rd, cq, st)
    for lq in c.objects(GROUP, "localqueues"):
        ns, name = lq["metadata"]["namespace"], lq["metadata"]["name"]
        cq_name = (lq.get("spec") or {}).get("clusterQueue", "")
        st = copy.deepcopy(lq.get("status") or {})
        if c.find(GROUP, "clusterqueues", "", cq_name) is None:
            st["conditions"] = set_condition(st.get("conditions") or [], "Active", "False", "ClusterQueueDoesNotExist",
                                             "Can't submit new workloads to clusterQueue")
        else:
            st["conditions"] = set_condition(st.get("conditions") or [], "Active", "True", "Ready",
                                             "Can submit new workloads to localQueue")
        st.update(counts(lambda w, n=ns, q=name: w["metadata"]["namespace"] == n
                         and (w.get("spec") or {}).get("queueName") == q))
        c.update_status(lq_rd, lq, st)


_ = now
