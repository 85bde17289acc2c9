"""Job controller: pods up to ``parallelism`` until ``completions`` succeed, ``suspend``, backoffLimit, and the
conditions upstream sets (SuccessCriteriaMet/Complete, FailureTarget/Failed, Suspended)."""
from __future__ import annotations

import copy
from typing import Any

from aiconform.sim.api import Cluster, now
from aiconform.sim.controllers.common import (
    create_pod,
    delete_pod,
    owned_by,
    pod_from_template,
    pod_ready,
    set_condition,
)


def _terminal(job: dict[str, Any]) -> bool:
    return any(x.get("type") in ("Complete", "Failed") and x.get("status") == "True"
               for x in (job.get("status") or {}).get("conditions") or [])


def sync(c: Cluster, mgr: Any) -> None:
    rd = c.rd("batch", "jobs")
    minor = getattr(mgr, "minor", 33)
    for job in c.objects("batch", "jobs"):
        if job["metadata"].get("deletionTimestamp") or _terminal(job):
            continue
        ns = job["metadata"]["namespace"]
        spec = job.get("spec") or {}
        completions = spec.get("completions")
        parallelism = int(spec.get("parallelism", 1))
        target = int(completions) if completions is not None else max(parallelism, 1)
        backoff = int(spec.get("backoffLimit", 6))
        pods = [p for p in c.objects("", "pods", ns) if owned_by(p, job)]
        succeeded = [p for p in pods if (p.get("status") or {}).get("phase") == "Succeeded"]
        failed = [p for p in pods if (p.get("status") or {}).get("phase") == "Failed"]
        active = [p for p in pods if (p.get("status") or {}).get("phase") not in ("Succeeded", "Failed")]
        old = job.get("status") or {}
        status: dict[str, Any] = {k: v for k, v in old.items() if k in ("conditions", "startTime")}
        conds = list(old.get("conditions") or [])
        if spec.get("suspend"):
            for p in active:
                delete_pod(c, p, job)
            active = []
            if not any(x["type"] == "Suspended" and x["status"] == "True" for x in conds):
                conds = set_condition(conds, "Suspended", "True", "JobSuspended", "Job suspended")
                c.record_event(job, "Normal", "Suspended", "Job suspended", "job-controller")
            status.pop("startTime", None)
        else:
            if any(x["type"] == "Suspended" and x["status"] == "True" for x in conds):
                conds = set_condition(conds, "Suspended", "False", "JobResumed", "Job resumed")
                c.record_event(job, "Normal", "Resumed", "Job resumed", "job-controller")
            status.setdefault("startTime", now())
            if len(failed) > backoff:
                for p in active:
                    delete_pod(c, p, job)
                active = []
                for ctype in ("FailureTarget", "Failed"):
                    conds = set_condition(conds, ctype, "True", "BackoffLimitExceeded",
                                          "Job has reached the specified backoff limit")
                c.record_event(job, "Warning", "BackoffLimitExceeded", "Job has reached the specified backoff limit",
                               "job-controller")
            elif len(succeeded) >= target and not active:
                if minor >= 31:
                    conds = set_condition(conds, "SuccessCriteriaMet", "True", "CompletionsReached",
                                          "Reached expected number of succeeded pods")
                conds = set_condition(conds, "Complete", "True", "CompletionsReached",
                                      "Reached expected number of succeeded pods")
                status["completionTime"] = now()
                c.record_event(job, "Normal", "Completed", "Job completed", "job-controller")
            else:
                indexed = spec.get("completionMode") == "Indexed"
                done_idx = {(p["metadata"].get("annotations") or {}).get("batch.kubernetes.io/job-completion-index")
                            for p in succeeded + active}
                need = min(parallelism, target - len(succeeded)) - len(active)
                for _ in range(max(need, 0)):
                    labels = {"batch.kubernetes.io/controller-uid": job["metadata"]["uid"],
                              "batch.kubernetes.io/job-name": job["metadata"]["name"],
                              "controller-uid": job["metadata"]["uid"], "job-name": job["metadata"]["name"]}
                    ann = {}
                    if indexed:
                        idx = next(str(i) for i in range(target + len(done_idx) + 1) if str(i) not in done_idx)
                        done_idx.add(idx)
                        ann["batch.kubernetes.io/job-completion-index"] = idx
                        labels["batch.kubernetes.io/job-completion-index"] = idx
                    pod = pod_from_template(job, spec.get("template") or {}, None, labels, ann)
                    created = create_pod(c, ns, pod, job)
                    if created:
                        active.append(created)
        if active:
            status["active"] = len(active)
        ready = sum(1 for p in active if pod_ready(p))
        status["ready"] = ready
        if succeeded:
            status["succeeded"] = len(succeeded)
        if failed:
            status["failed"] = len(failed)
        status["terminating"] = 0
        status["uncountedTerminatedPods"] = {}
        if conds:
            status["conditions"] = conds
        if "completionTime" in old:
            status["completionTime"] = old["completionTime"]
        if status != old:
            c.update_status(rd, c.get(rd, ns, job["metadata"]["name"]), copy.deepcopy(status))
