"""gang_scheduling fetch: run TestGangScheduling's positive and negative Jobs and collect what happened."""
from __future__ import annotations

import math
import re
import time
from typing import Any

try:
    from kubernetes import client
except ImportError:  # the module reports the missing library (deps.py)
    client = None

from ...kube import ClusterError
from .. import _scheduling as s
from ..runtime import MANAGED_BY, RUN_LABEL, ProbeContext, ProbeTimeout, dns_label, pause, wait_until
from .mechanisms import MECHANISMS, choose

KUEUE = "kueue.x-k8s.io"
# the API server's message when it cannot call Kueue's own ResourceFlavor webhook (kubebuilder names
# mresourceflavor.kb.io / vresourceflavor.kb.io, served by the Kueue controller)
KUEUE_OWN_WEBHOOK = re.compile(r'failed calling webhook "[mv]resourceflavor\.kb\.io"')
QUEUE_LABEL = "kueue.x-k8s.io/queue-name"
JOB_UID_LABEL = "kueue.x-k8s.io/job-uid"
POLL = 2.0


def fetch(ctx: ProbeContext) -> dict[str, Any]:
    o = ctx.options
    groups = s.served_groups(ctx)
    queue_var = next((f"aiconform_gang_scheduling_{k}" for k in ("queue_name", "cluster_queue") if o.get(k)), "")
    mech = choose(o["scheduler"], groups, queue_var)
    facts: dict[str, Any] = {"scheduler": mech["name"], "mechanism": mech, "options": {
        k: o.get(k) for k in ("parallelism", "negative_parallelism", "negative_window", "positive_timeout",
                              "queue_name", "queue_namespace", "cluster_queue", "cpu_request", "memory_request")}}
    ctx.record("Gang scheduler detection", {"requested": o["scheduler"], "found": mech["found"],
                                            "looked_for": mech["looked_for"], "using": mech["name"],
                                            "source": mech["source"]}, kind="api", command="GET /apis")
    m = MECHANISMS.get(mech["name"] or "")
    if mech["name"] is None or (m is not None and m.group not in groups):
        return facts  # nothing to test: the judge says what was found or looked for
    api_version = None
    if m is not None and m.name == "kueue":
        versions = s.api_group_versions(ctx, KUEUE)
        api_version = o.get("kueue_api_version") or next((v for v in ("v1beta2", "v1beta1") if v in versions), None)
        facts["kueue"] = {"served_versions": versions, "api_version": api_version,
                          "deprecated_only": versions == ["v1beta1"]}
        ctx.record("Kueue API discovery", {"group": KUEUE, "served_versions": versions, "using": api_version},
                   kind="api", command=f"GET /apis/{KUEUE}")
        if api_version is None or api_version not in versions:
            return facts
    gang: dict[str, Any] | None = None
    if m is not None and m.podgroup:
        versions = s.api_group_versions(ctx, m.group)
        pg_version = next((v for v in m.versions if v in versions), None)
        facts["podgroup"] = {"group": m.group, "served_versions": versions, "api_version": pg_version}
        if pg_version is None:
            return facts
        gang = gang_of(m, pg_version, o)
        facts["podgroup"]["scheduler_name"] = gang["scheduler_name"]
        if m.extra.get("queue_label"):  # KAI: a PodGroup in a queue that does not exist is never scheduled
            queues = _kai_queues(ctx, m.group)
            facts["podgroup"]["queue"] = o["kai_queue"]
            if queues is not None and o["kai_queue"] not in queues:
                facts["podgroup"]["queue_missing"] = True
                facts["podgroup"]["queues"] = queues[:20]
                return facts

    cluster_scoped: list[tuple[str, str]] = []  # (plural, name) of Kueue objects this run created
    try:
        ns = _namespace(ctx, facts)
        if mech["name"] == "kueue":
            _queue(ctx, facts, ns, api_version, cluster_scoped)
            if not facts["queue"].get("usable"):
                return facts
        labels = dict(o.get("job_labels") or {})
        if mech["name"] == "kueue":
            labels[QUEUE_LABEL] = facts["queue"]["name"]
        if gang and gang["mechanism"].extra.get("queue_label"):
            labels[gang["mechanism"].extra["queue_label"]] = o["kai_queue"]
        facts["job_labels"] = labels
        allocatable = _allocatable(ctx)
        facts["allocatable"] = allocatable
        base = dns_label(f"aiconform-gang-{ctx.run_id}")[:40].strip("-")
        pos_name, neg_name = f"{base}-pos", f"{base}-neg"
        facts["positive"] = _positive(ctx, ns, pos_name, labels, api_version, gang)
        neg_count = max(int(o["negative_parallelism"]),
                        2 * math.ceil(allocatable["cpu_millis"] / max(1, s.millis(o["cpu_request"]))))
        facts["negative"] = _negative(ctx, ns, neg_name, labels, neg_count, api_version, gang)
        facts["cleanup"] = _release(ctx, ns, [pos_name, neg_name], facts, api_version, gang)
    finally:
        _delete_cluster_scoped(ctx, api_version, cluster_scoped)
    return facts


def gang_of(m: Any, version: str, options: dict[str, Any]) -> dict[str, Any]:
    """How the probe Jobs join a PodGroup mechanism's gang: its PodGroup version, and the probe pods' schedulerName
    (the inventory's ``scheduler_name``, else the mechanism's default: the name its chart gives the scheduler)."""
    return {"mechanism": m, "version": version, "scheduler_name": options.get("scheduler_name") or m.scheduler_name}


def _kai_queues(ctx: ProbeContext, group: str) -> list[str] | None:
    """Names of KAI's Queues (scheduling.run.ai/v2, cluster-scoped); None when that API is not served."""
    if "v2" not in s.api_group_versions(ctx, group):
        return None
    got = ctx.optional("list KAI Queues", ctx.custom.list_cluster_custom_object, group, "v2", "queues")
    if got is None:
        return None
    return sorted(q["metadata"]["name"] for q in got.get("items") or [])


# -- setup -----------------------------------------------------------------------------------------------
def _namespace(ctx: ProbeContext, facts: dict[str, Any]) -> str:
    """The probe namespace, or the inventory's queue namespace (a LocalQueue is namespaced)."""
    if ctx.options.get("queue_namespace"):
        facts["namespace"] = ctx.options["queue_namespace"]
        facts["namespace_owned"] = False
        return facts["namespace"]
    facts["namespace"] = ctx.probe_namespace()
    facts["namespace_owned"] = True
    return facts["namespace"]


def _queue(ctx: ProbeContext, facts: dict[str, Any], ns: str, version: str | None,
           cluster_scoped: list[tuple[str, str]]) -> None:
    o = ctx.options
    q: dict[str, Any] = {"created": False}
    facts["queue"] = q
    if o.get("queue_name"):
        q["name"], q["namespace"] = o["queue_name"], ns
        lq = ctx.optional(f"get LocalQueue {ns}/{o['queue_name']}", ctx.custom.get_namespaced_custom_object,
                          KUEUE, version, ns, "localqueues", o["queue_name"])
        if lq is None:
            q["usable"] = False
            q["error"] = f"LocalQueue {ns}/{o['queue_name']} (from the inventory) does not exist"
            return
        q["cluster_queue"] = (lq.get("spec") or {}).get("clusterQueue")
        q["conditions"] = s.conditions(lq)
        q["usable"] = True
        ctx.record(f"LocalQueue {ns}/{o['queue_name']} (from the inventory)", lq, kind="object")
        return
    if o.get("cluster_queue"):
        _local_queue_on(ctx, q, ns, version, o["cluster_queue"])
        return
    # No queue configured: a ResourceFlavor, ClusterQueue and LocalQueue of our own, quota sized to the cluster.
    suffix = dns_label(ctx.run_id)[:30].strip("-")
    rf_name, cq_name, lq_name = f"aiconform-{suffix}", f"aiconform-{suffix}", "aiconform-gang"
    allocatable = _allocatable(ctx)
    n = int(o["parallelism"])
    cpu = max(allocatable["cpu_millis"], n * s.millis(o["cpu_request"]))
    mem = max(allocatable["memory_bytes"], n * int(s.quantity(o["memory_request"])))
    run_labels = {**MANAGED_BY, RUN_LABEL: dns_label(ctx.run_id)}
    rf = s.manifest(__file__, "resourceflavor.yaml")
    rf["apiVersion"] = f"{KUEUE}/{version}"
    rf["metadata"] = {"name": rf_name, "labels": run_labels}
    cq = s.manifest(__file__, "clusterqueue.yaml")
    cq["apiVersion"] = f"{KUEUE}/{version}"
    cq["metadata"] = {"name": cq_name, "labels": run_labels}
    cq["spec"]["namespaceSelector"] = {"matchLabels": {"kubernetes.io/metadata.name": ns}}
    flavor = cq["spec"]["resourceGroups"][0]["flavors"][0]
    flavor["name"] = rf_name
    flavor["resources"] = [{"name": "cpu", "nominalQuota": f"{cpu}m"}, {"name": "memory", "nominalQuota": str(mem)}]
    lq = s.manifest(__file__, "localqueue.yaml")
    lq["apiVersion"] = f"{KUEUE}/{version}"
    lq["metadata"] = {"name": lq_name, "namespace": ns, "labels": run_labels}
    lq["spec"]["clusterQueue"] = cq_name
    try:
        ctx.call(f"create ResourceFlavor {rf_name}", ctx.custom.create_cluster_custom_object, KUEUE, version,
                 "resourceflavors", rf)
    except ClusterError as exc:
        # Kueue's own webhooks for its own objects cannot be called (its controller serves them): Kueue admits
        # nothing, so no gang is scheduled by it. Anything else — another webhook (a policy engine's) failing, or
        # any other error — stays an error (undecided).
        if not KUEUE_OWN_WEBHOOK.search(str(exc)):
            raise
        q.update({"usable": False, "not_operational": str(exc)})
        return
    cluster_scoped.append(("resourceflavors", rf_name))
    ctx.call(f"create ClusterQueue {cq_name}", ctx.custom.create_cluster_custom_object, KUEUE, version,
             "clusterqueues", cq)
    cluster_scoped.append(("clusterqueues", cq_name))
    ctx.call(f"create LocalQueue {ns}/{lq_name}", ctx.custom.create_namespaced_custom_object, KUEUE, version, ns,
             "localqueues", lq)
    q.update({"created": True, "name": lq_name, "namespace": ns, "cluster_queue": cq_name, "flavor": rf_name})
    ctx.record("Kueue objects created for the probe (ResourceFlavor, ClusterQueue, LocalQueue)",
               [rf, cq, lq], kind="object", command=f"create {KUEUE}/{version} resourceflavors, clusterqueues, localqueues")

    def active() -> dict[str, Any] | None:
        got = ctx.call(f"get ClusterQueue {cq_name}", ctx.custom.get_cluster_custom_object, KUEUE, version,
                       "clusterqueues", cq_name)
        return got if s.condition_true(got, "Active") else None

    try:
        got = wait_until(active, timeout=float(o["queue_ready_timeout"]), interval=1.0,
                         what=f"ClusterQueue {cq_name} to become Active")
        q["conditions"] = s.conditions(got)
        q["usable"] = True
    except ProbeTimeout as exc:
        # An inactive queue admits nothing: the positive case will say so; keep going for the evidence.
        q["not_active"] = str(exc)
        q["usable"] = True


def _local_queue_on(ctx: ProbeContext, q: dict[str, Any], ns: str, version: str | None, cq_name: str) -> None:
    """An existing ClusterQueue from the inventory: a LocalQueue of our own in the probe namespace points at it."""
    cq = ctx.optional(f"get ClusterQueue {cq_name}", ctx.custom.get_cluster_custom_object, KUEUE, version,
                      "clusterqueues", cq_name)
    if cq is None:
        q["usable"] = False
        q["error"] = f"ClusterQueue {cq_name} (from the inventory, aiconform_gang_scheduling_cluster_queue) does not exist"
        return
    ctx.record(f"ClusterQueue {cq_name} (from the inventory)", cq, kind="object")
    selector = (cq.get("spec") or {}).get("namespaceSelector")
    ns_labels = {"kubernetes.io/metadata.name": ns, **MANAGED_BY, RUN_LABEL: dns_label(ctx.run_id)}
    wanted = (selector or {}).get("matchLabels") or {}
    if selector is None or any(ns_labels.get(k) != v for k, v in wanted.items()) or (selector or {}).get(
            "matchExpressions"):
        q["usable"] = False
        q["error"] = (f"ClusterQueue {cq_name}'s namespaceSelector ({selector}) does not select the probe namespace "
                      f"{ns}; name a LocalQueue instead (aiconform_gang_scheduling_queue_name / _queue_namespace)")
        return
    lq = s.manifest(__file__, "localqueue.yaml")
    lq["apiVersion"] = f"{KUEUE}/{version}"
    lq["metadata"] = {"name": "aiconform-gang", "namespace": ns,
                      "labels": {**MANAGED_BY, RUN_LABEL: dns_label(ctx.run_id)}}
    lq["spec"]["clusterQueue"] = cq_name
    ctx.call(f"create LocalQueue {ns}/aiconform-gang", ctx.custom.create_namespaced_custom_object, KUEUE, version,
             ns, "localqueues", lq)
    ctx.record(f"LocalQueue {ns}/aiconform-gang created on ClusterQueue {cq_name}", lq, kind="object")
    q.update({"created": False, "name": "aiconform-gang", "namespace": ns, "cluster_queue": cq_name,
              "conditions": s.conditions(cq), "usable": True})


def _allocatable(ctx: ProbeContext) -> dict[str, int]:
    """Sum of allocatable cpu/memory over Ready, schedulable nodes: the capacity the negative Job must exceed."""
    nodes = s.plain(ctx.call("list nodes", ctx.core.list_node)).get("items") or []
    cpu = mem = count = 0
    for node in nodes:
        if (node.get("spec") or {}).get("unschedulable"):
            continue
        if not any(c.get("type") == "Ready" and c.get("status") == "True"
                   for c in (node.get("status") or {}).get("conditions") or []):
            continue
        alloc = (node.get("status") or {}).get("allocatable") or {}
        cpu += s.millis(alloc.get("cpu", 0))
        mem += int(s.quantity(alloc.get("memory", 0)))
        count += 1
    return {"nodes": count, "cpu_millis": cpu, "memory_bytes": mem}


def _podgroup(ctx: ProbeContext, ns: str, name: str, count: int, gang: dict[str, Any]) -> None:
    """The gang: a PodGroup named like the Job, minMember = every pod of the Job."""
    m = gang["mechanism"]
    pg = s.manifest(__file__, "podgroup.yaml")
    pg["apiVersion"] = f"{m.group}/{gang['version']}"
    pg["metadata"] = {"name": name, "namespace": ns,
                      "labels": {**pg["metadata"]["labels"], RUN_LABEL: dns_label(ctx.run_id)}}
    pg["spec"]["minMember"] = count
    if m.extra.get("queue_label"):
        pg["spec"]["queue"] = ctx.options["kai_queue"]
        pg["metadata"]["labels"][m.extra["queue_label"]] = ctx.options["kai_queue"]
    ctx.call(f"create PodGroup {ns}/{name}", ctx.custom.create_namespaced_custom_object, m.group, gang["version"],
             ns, "podgroups", pg)
    ctx.record(f"PodGroup {ns}/{name} ({m.label})", pg, kind="object",
               command=f"create {m.group}/{gang['version']} podgroups")


def _podgroup_state(ctx: ProbeContext, ns: str, name: str, gang: dict[str, Any] | None) -> dict[str, Any] | None:
    if gang is None:
        return None
    m = gang["mechanism"]
    pg = ctx.optional(f"get PodGroup {ns}/{name}", ctx.custom.get_namespaced_custom_object, m.group,
                      gang["version"], ns, "podgroups", name)
    if pg is None:
        return {"found": False, "name": name}
    st = pg.get("status") or {}
    conds = [*s.conditions(pg), *({k: c.get(k) for k in ("type", "status", "reason", "message") if c.get(k)}
                                  for c in st.get("schedulingConditions") or [])]
    return {"found": True, "name": name, "min_member": (pg.get("spec") or {}).get("minMember"),
            "phase": st.get("phase") or "", "conditions": conds, "object": pg}


def _job(ctx: ProbeContext, ns: str, name: str, labels: dict[str, str], count: int,
         gang: dict[str, Any] | None = None) -> dict[str, Any]:
    o = ctx.options
    job = s.manifest(__file__, "job.yaml")
    job["metadata"] = {"name": name, "namespace": ns,
                       "labels": {**job["metadata"]["labels"], **labels, RUN_LABEL: dns_label(ctx.run_id)}}
    job["spec"]["parallelism"] = job["spec"]["completions"] = count
    pod = job["spec"]["template"]["spec"]
    if gang is not None:
        _podgroup(ctx, ns, name, count, gang)
        m = gang["mechanism"]
        tmeta = job["spec"]["template"]["metadata"]
        tmeta["annotations"] = {**(tmeta.get("annotations") or {}), **{k: name for k in m.pod_annotations}}
        tmeta["labels"] = {**(tmeta.get("labels") or {}), **{k: name for k in m.pod_labels},
                           **({m.extra["queue_label"]: o["kai_queue"]} if m.extra.get("queue_label") else {})}
        pod["schedulerName"] = gang["scheduler_name"]
    elif o.get("scheduler_name"):
        pod["schedulerName"] = o["scheduler_name"]
    container = pod["containers"][0]
    container["image"] = o["image"]
    res = {"cpu": o["cpu_request"], "memory": o["memory_request"]}
    container["resources"] = {"requests": dict(res), "limits": dict(res)}
    return ctx.call(f"create Job {ns}/{name}", lambda **kw: s.plain(
        ctx.batch.create_namespaced_job(ns, job, **kw)))


def _get_job(ctx: ProbeContext, ns: str, name: str) -> dict[str, Any]:
    return s.plain(ctx.call(f"get Job {ns}/{name}", ctx.batch.read_namespaced_job, name, ns))


def _workload(ctx: ProbeContext, ns: str, job_uid: str, version: str | None) -> dict[str, Any] | None:
    if version is None:
        return None
    data = ctx.call(f"list Workloads in {ns}", ctx.custom.list_namespaced_custom_object, KUEUE, version, ns,
                    "workloads", label_selector=f"{JOB_UID_LABEL}={job_uid}")
    items = data.get("items") or []
    if not items:
        return {"found": False}
    wl = items[0]
    adm = (wl.get("status") or {}).get("admission") or {}
    return {"found": True, "name": wl["metadata"]["name"], "conditions": s.conditions(wl),
            "cluster_queue": adm.get("clusterQueue"),
            "assigned": sum(int(p.get("count") or 0) for p in adm.get("podSetAssignments") or []),
            "object": wl}


def _job_state(job: dict[str, Any]) -> dict[str, Any]:
    spec, status = job.get("spec") or {}, job.get("status") or {}
    conds = {c.get("type"): c for c in status.get("conditions") or [] if c.get("status") == "True"}
    return {"suspended": bool(spec.get("suspend")), "complete": "Complete" in conds, "failed": "Failed" in conds,
            "failed_reason": (conds.get("Failed") or {}).get("message", ""),
            "active": status.get("active") or 0, "succeeded": status.get("succeeded") or 0}


def _record_outcome(ctx: ProbeContext, title: str, ns: str, job: dict[str, Any], wl: dict[str, Any] | None,
                    pods: list[dict[str, Any]], pg: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    names = {job["metadata"]["name"]}
    if pg and pg.get("found"):
        ctx.record(f"{title}: PodGroup {ns}/{pg['name']}", pg["object"], kind="object")
    if wl and wl.get("found"):
        names.add(wl["name"])
        ctx.record(f"{title}: Kueue Workload {ns}/{wl['name']}", wl["object"], kind="object",
                   command=f"kubectl get workloads.{KUEUE} -n {ns} -l {JOB_UID_LABEL}={job['metadata']['uid']} -o yaml")
    ctx.record(f"{title}: Job {ns}/{job['metadata']['name']} status", {"spec": {"suspend": (job.get("spec") or {}).get(
        "suspend"), "parallelism": job["spec"].get("parallelism")}, "status": job.get("status") or {}}, kind="object")
    if pods:
        ctx.record(f"{title}: pods", "\n".join(
            f"{p['name']:<50} {p['phase'] or '':<10} {p['node'] or '<none>':<30} {p['start']}" for p in pods[:50])
            + (f"\n... {len(pods) - 50} more" if len(pods) > 50 else ""), kind="text",
            command=f"kubectl get pods -n {ns} -o wide")
    evs = s.events(ctx, ns, names)
    ctx.record(f"{title}: events", s.events_table(evs), kind="text",
               command=f"kubectl get events -n {ns} --sort-by=.lastTimestamp")
    return evs


# -- PositiveGangScheduling ---------------------------------------------------------------------------------
def _positive(ctx: ProbeContext, ns: str, name: str, labels: dict[str, str], version: str | None,
              gang: dict[str, Any] | None = None) -> dict[str, Any]:
    n = int(ctx.options["parallelism"])
    started = time.monotonic()
    job = _job(ctx, ns, name, labels, n, gang)
    uid = job["metadata"]["uid"]
    out: dict[str, Any] = {"job": name, "parallelism": n, "timeout_s": ctx.options["positive_timeout"]}
    seen: dict[str, dict[str, Any]] = {}
    max_bound = 0

    def done() -> dict[str, Any] | None:
        nonlocal max_bound
        current = _get_job(ctx, ns, name)
        pods = [s.pod_summary(p) for p in s.owned_pods(ctx, ns, uid)]
        for p in pods:
            prev = seen.get(p["name"], {})
            seen[p["name"]] = {**p, "node": p["node"] or prev.get("node", ""),
                               "was_running": prev.get("was_running", False) or p["phase"] == "Running"}
        max_bound = max(max_bound, sum(1 for p in pods if p["node"] and p["phase"] in ("Pending", "Running")))
        state = _job_state(current)
        return current if state["complete"] or state["failed"] else None

    try:
        job = wait_until(done, timeout=float(ctx.options["positive_timeout"]), interval=POLL,
                         what=f"Job {ns}/{name} (parallelism {n}) to complete",
                         missing=lambda: _positive_missing(ctx, ns, name, seen))
    except ProbeTimeout as exc:
        out["timeout"] = str(exc)
        job = _get_job(ctx, ns, name)
    out["duration_s"] = round(time.monotonic() - started, 3)
    out.update(_job_state(job))
    out["pods"] = sorted(seen.values(), key=lambda p: p["name"])
    out["max_bound_together"] = max_bound
    got_labels = (job.get("metadata") or {}).get("labels") or {}
    out["labels_kept"] = all(got_labels.get(k) == v for k, v in labels.items())
    wl = _workload(ctx, ns, uid, version)
    pg = _podgroup_state(ctx, ns, name, gang)
    evs = _record_outcome(ctx, "PositiveGangScheduling", ns, job, wl, out["pods"], pg)
    if wl is not None:
        out["workload"] = {k: v for k, v in wl.items() if k != "object"}
    if pg is not None:
        out["podgroup"] = {k: v for k, v in pg.items() if k != "object"}
    out["events"] = evs
    return out


def _positive_missing(ctx: ProbeContext, ns: str, name: str, seen: dict[str, dict[str, Any]]) -> str:
    state = _job_state(_get_job(ctx, ns, name))
    if state["suspended"]:
        return "the Job is still suspended (never admitted by the gang scheduler)"
    unbound = [p["name"] for p in seen.values() if not p["node"]]
    return (f"{state['succeeded']} succeeded, {state['active']} active, {len(seen)} pods seen"
            + (f", unbound: {', '.join(sorted(unbound)[:5])}" if unbound else ""))


# -- NegativeGangScheduling ---------------------------------------------------------------------------------
def _negative(ctx: ProbeContext, ns: str, name: str, labels: dict[str, str], count: int,
              version: str | None, gang: dict[str, Any] | None = None) -> dict[str, Any]:
    window = float(ctx.options["negative_window"])
    job = _job(ctx, ns, name, labels, count, gang)
    uid = job["metadata"]["uid"]
    started = time.monotonic()
    violations: dict[str, dict[str, Any]] = {}
    pods_seen: set[str] = set()
    polls = 0
    suspended_always = True
    pending_reason: dict[str, str] = {}  # the scheduler's word on a pending pod (PodScheduled=False)
    # Watch the whole window: any pod Running or bound to a node at any poll breaks all-or-nothing.
    while True:
        polls += 1
        current = _get_job(ctx, ns, name)
        suspended_always = suspended_always and bool((current.get("spec") or {}).get("suspend"))
        for p in (s.pod_summary(x) for x in s.owned_pods(ctx, ns, uid)):
            pods_seen.add(p["name"])
            if (p["phase"] == "Running" or p["node"]) and p["name"] not in violations:
                violations[p["name"]] = {**p, "seen_after_s": round(time.monotonic() - started, 1)}
            elif p.get("unschedulable") and not p["node"]:
                pending_reason = p["unschedulable"]
        elapsed = time.monotonic() - started
        if elapsed >= window:
            break
        pause(min(POLL, max(0.05, window - elapsed)))
    out: dict[str, Any] = {"job": name, "parallelism": count, "window_s": window,
                           "observed_s": round(time.monotonic() - started, 3), "polls": polls,
                           "pods_seen": len(pods_seen),
                           "violations": sorted(violations.values(), key=lambda p: p["name"])[:20],
                           "violation_count": len(violations), "suspended_throughout": suspended_always}
    if pending_reason:
        out["pending_reason"] = {k: str(v)[:500] for k, v in pending_reason.items()}
        ctx.record("NegativeGangScheduling: why a pod of the gang stays Pending (PodScheduled=False)",
                   f"{pending_reason.get('reason', '')}: {pending_reason.get('message', '')}", kind="text",
                   command=f"kubectl get pods -n {ns} -o jsonpath='{{.items[0].status.conditions}}'")
    wl = _workload(ctx, ns, uid, version)
    pg = _podgroup_state(ctx, ns, name, gang)
    out["events"] = _record_outcome(ctx, "NegativeGangScheduling", ns, current, wl,
                                    list(violations.values()) or [], pg)[-20:]
    if wl is not None:
        out["workload"] = {k: v for k, v in wl.items() if k != "object"}
    if pg is not None:
        out["podgroup"] = {k: v for k, v in pg.items() if k != "object"}
    return out


# -- Cleanup ------------------------------------------------------------------------------------------------
def _release(ctx: ProbeContext, ns: str, jobs: list[str], facts: dict[str, Any], version: str | None,
             gang: dict[str, Any] | None = None) -> dict[str, Any]:
    """verifyResourcesReleased: the probe Jobs, their pods, Workloads and PodGroups are gone and quota is free."""
    uids = {}
    for name in jobs:
        job = ctx.optional(f"get Job {ns}/{name}", ctx.batch.read_namespaced_job, name, ns)
        if job is not None:
            uids[name] = job.metadata.uid
            ctx.optional(f"delete Job {ns}/{name}", ctx.batch.delete_namespaced_job, name, ns,
                         body=client.V1DeleteOptions(propagation_policy="Background"))
        if gang is not None:
            ctx.optional(f"delete PodGroup {ns}/{name}", ctx.custom.delete_namespaced_custom_object,
                         gang["mechanism"].group, gang["version"], ns, "podgroups", name)
    cq = (facts.get("queue") or {}).get("cluster_queue") if facts.get("queue", {}).get("created") else None

    def remaining() -> list[str]:
        left = []
        for name, uid in uids.items():
            if ctx.optional(f"get Job {ns}/{name}", ctx.batch.read_namespaced_job, name, ns) is not None:
                left.append(f"Job {name}")
            pods = s.owned_pods(ctx, ns, uid)
            if pods:
                left.append(f"{len(pods)} pod(s) of {name}")
            wl = _workload(ctx, ns, uid, version)
            if wl and wl.get("found"):
                left.append(f"Workload {wl['name']}")
            pg = _podgroup_state(ctx, ns, name, gang)
            if pg and pg.get("found"):
                left.append(f"PodGroup {name}")
        if cq and version:
            got = ctx.optional(f"get ClusterQueue {cq}", ctx.custom.get_cluster_custom_object, KUEUE, version,
                               "clusterqueues", cq)
            st = (got or {}).get("status") or {}
            for key in ("reservingWorkloads", "admittedWorkloads"):
                if int(st.get(key) or 0):
                    left.append(f"ClusterQueue {cq} {key}={st[key]}")
        return left

    out: dict[str, Any] = {"jobs": list(uids)}
    started = time.monotonic()
    try:
        wait_until(lambda: not remaining(), timeout=float(ctx.options["release_timeout"]), interval=1.0,
                   what="the probe Jobs, pods and Workloads to be released", missing=lambda: ", ".join(remaining()))
        out["released"] = True
    except ProbeTimeout as exc:
        out["released"] = False
        out["timeout"] = str(exc)
    out["duration_s"] = round(time.monotonic() - started, 3)
    return out


def _delete_cluster_scoped(ctx: ProbeContext, version: str | None, objs: list[tuple[str, str]]) -> None:
    """ClusterQueue and ResourceFlavor outlive the probe namespace: delete them explicitly, always."""
    if not objs or version is None:
        return
    ns = ctx.namespaces[0] if ctx.namespaces else None
    if ns:  # the LocalQueue points at the ClusterQueue; remove it first so the CQ finalizer can clear
        try:
            ctx.optional("delete LocalQueue aiconform-gang", ctx.custom.delete_namespaced_custom_object, KUEUE,
                         version, ns, "localqueues", "aiconform-gang")
        except ClusterError as exc:
            ctx.cleanup_errors.append(str(exc))
    for plural, name in reversed(objs):  # ClusterQueue before ResourceFlavor
        try:
            ctx.optional(f"delete {plural} {name}", ctx.custom.delete_cluster_custom_object, KUEUE, version,
                         plural, name)
            wait_until(lambda p=plural, n=name: ctx.optional(f"get {p} {n}", ctx.custom.get_cluster_custom_object,
                                                             KUEUE, version, p, n) is None,
                       timeout=float(ctx.options.get("release_timeout", 60)), interval=1.0,
                       what=f"{plural}.{KUEUE} {name} to be deleted", interruptible=False)
        except (ClusterError, ProbeTimeout) as exc:
            ctx.cleanup_errors.append(str(exc))
