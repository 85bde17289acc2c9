"""gang_scheduling judge: TestGangScheduling's pass criteria applied to the fetched facts (pure)."""
from __future__ import annotations

from typing import Any

from ...results import Check, Outcome, Status, Verdict
from .mechanisms import MECHANISMS, VARIABLE, describe

POSITIVE, NEGATIVE, CLEANUP = "PositiveGangScheduling", "NegativeGangScheduling", "Cleanup"


def judge(facts: dict[str, Any]) -> Verdict:
    early = _preconditions(facts)
    if early is not None:
        return early
    checks = [_positive(facts.get("positive")), _negative(facts.get("negative")), _cleanup(facts.get("cleanup"))]
    failed = [c for c in checks if c.outcome is not Outcome.PASS]
    if not failed:
        reasons = [f"a Job of {facts['positive']['parallelism']} pods was co-scheduled and completed; a Job of "
                   f"{facts['negative']['parallelism']} pods got no pod Running or bound in "
                   f"{facts['negative']['window_s']:g}s; the probe's resources were released"]
        reasons += mechanism_note(facts) + _kueue_notes(facts)
        return Verdict(Status.IMPLEMENTED, reasons, checks)
    return Verdict(Status.NOT_IMPLEMENTED, [f"{c.name}: {c.reason}" for c in failed] + mechanism_note(facts)
                   + _kueue_notes(facts), checks)


def _preconditions(facts: dict[str, Any]) -> Verdict | None:
    skip = [Check(name, Outcome.SKIP, "not run: no usable gang scheduler") for name in (POSITIVE, NEGATIVE, CLEANUP)]
    mech = facts.get("mechanism") or {}
    name, found = mech.get("name"), list(mech.get("found") or [])
    choices = "|".join([*MECHANISMS, "other"])
    if name is None:
        if len(found) > 1:
            return Verdict(Status.UNKNOWN, [
                f"several gang schedulers are installed: {', '.join(describe(f) for f in found)}; set {VARIABLE} "
                f"({choices}) to the one the platform's AI workloads use"], skip)
        looked = ", ".join(f"{describe(n)}" for n in MECHANISMS)
        kueue = facts.get("kueue") or {}
        served = kueue.get("served_versions") or []
        return Verdict(Status.NOT_IMPLEMENTED, [
            f"no gang scheduler found: looked for {looked}; "
            + (f"kueue.x-k8s.io serves only {', '.join(served)}" if served
               else "the kueue.x-k8s.io API group is not served, nor any other of these groups")
            + f". Another scheduler: set {VARIABLE}: other with its job labels / scheduler name"], skip)
    m = MECHANISMS.get(name)
    if m is not None and m.name not in found and mech.get("source") == "inventory":
        chose = mech.get("variable") or VARIABLE
        return Verdict(Status.UNKNOWN, [
            f"{chose} chose {name} ({chose} is set), but {m.group} is not served"
            + (f"; installed: {', '.join(describe(f) for f in found)}" if found else "; no gang scheduler API found")
            + f"; set {VARIABLE} to the installed one"], skip)
    if name == "kueue":
        kueue = facts.get("kueue") or {}
        if not kueue.get("api_version") or kueue["api_version"] not in (kueue.get("served_versions") or []):
            served = kueue.get("served_versions") or []
            return Verdict(Status.UNKNOWN, [
                f"kueue.x-k8s.io serves {', '.join(served) or 'no version'}, not "
                f"{kueue.get('api_version') or 'v1beta2 or v1beta1'}: set aiconform_gang_scheduling_kueue_api_version "
                "to a served version aiconform knows"], skip)
        queue = facts.get("queue") or {}
        if queue.get("not_operational"):
            return Verdict(Status.NOT_IMPLEMENTED, [
                "Kueue is installed but not operational: the API server could not call its admission webhook for "
                f"Kueue's own objects, which the Kueue controller serves ({queue['not_operational']}); a Kueue "
                "that does not run admits no workload"], skip)
        if not queue.get("usable"):
            return Verdict(Status.UNKNOWN, [f"{queue.get('error', 'no usable Kueue queue')}: fix "
                                            "aiconform_gang_scheduling_queue_name / _queue_namespace / "
                                            "_cluster_queue"], skip)
    if m is not None and m.podgroup:
        pg = facts.get("podgroup") or {}
        if not pg.get("api_version"):
            return Verdict(Status.UNKNOWN, [
                f"{m.label} is installed but {m.group} serves {', '.join(pg.get('served_versions') or []) or 'no version'}"
                f", not the PodGroup version aiconform writes ({', '.join(m.versions)})"], skip)
        if pg.get("queue_missing"):
            return Verdict(Status.UNKNOWN, [
                f"{m.label} queue {pg.get('queue')!r} does not exist (queues: "
                f"{', '.join(pg.get('queues') or []) or 'none'}); set aiconform_gang_scheduling_kai_queue to a queue "
                "the probe may use"], skip)
    return None


def mechanism_note(facts: dict[str, Any]) -> list[str]:
    """Which mechanism the probe used, and why that one (the report says it)."""
    mech = facts.get("mechanism") or {}
    name = mech.get("name")
    if not name:
        return []
    why = (f"chosen by {mech.get('variable') or VARIABLE}" if mech.get("source") == "inventory"
           else "detected: the only gang scheduler installed")
    m = MECHANISMS.get(name)
    if m is None:
        labels = facts.get("job_labels") or {}
        return [f"mechanism: a plain Job with labels {labels or '{}'} and schedulerName "
                f"{(facts.get('options') or {}).get('scheduler_name') or 'default'} ({why})"]
    if m.podgroup:
        pg = facts.get("podgroup") or {}
        return [f"mechanism: {m.label}, a PodGroup {m.group}/{pg.get('api_version')} with minMember = the Job's "
                f"pods, schedulerName {pg.get('scheduler_name')} ({why})"]
    queue = facts.get("queue") or {}
    how = ("a queue of aiconform's own" if queue.get("created") else
           f"LocalQueue {queue.get('namespace')}/{queue.get('name')} on ClusterQueue {queue.get('cluster_queue')}")
    return [f"mechanism: Kueue, {how} ({why})"]


def _positive(p: dict[str, Any] | None) -> Check:
    if not p:
        return Check(POSITIVE, Outcome.SKIP, "not run")
    dur = float(p.get("duration_s") or 0)
    n = int(p["parallelism"])
    pods = p.get("pods") or []
    if p.get("failed"):
        return Check(POSITIVE, Outcome.FAIL, f"Job {p['job']} failed: {p.get('failed_reason') or 'no reason given'}",
                     dur)
    if p.get("timeout") or not p.get("complete"):
        wl = _wl_state(p.get("workload"))
        return Check(POSITIVE, Outcome.FAIL, f"Job {p['job']} of {n} pods did not complete: "
                     f"{p.get('timeout') or 'not Complete'}{wl}{_pg_state(p.get('podgroup'))}", dur)
    unbound = [x["name"] for x in pods if not x.get("node")]
    if len(pods) < n or unbound:
        return Check(POSITIVE, Outcome.FAIL, f"Job {p['job']} completed but {len(pods)} pod(s) were seen for "
                     f"parallelism {n}" + (f"; never bound to a node: {', '.join(unbound)}" if unbound else ""), dur)
    if not p.get("labels_kept", True):
        return Check(POSITIVE, Outcome.FAIL, f"Job {p['job']} lost its gang scheduler labels", dur)
    return Check(POSITIVE, Outcome.PASS, f"Job {p['job']}: {n}/{n} pods bound and Complete in {dur:g}s", dur)


def _negative(nf: dict[str, Any] | None) -> Check:
    if not nf:
        return Check(NEGATIVE, Outcome.SKIP, "not run")
    dur = float(nf.get("observed_s") or 0)
    bad = nf.get("violations") or []
    if bad:
        first = ", ".join(f"{v['name']} ({v.get('phase')}{' on ' + v['node'] if v.get('node') else ''}, after "
                          f"{v.get('seen_after_s', 0):g}s)" for v in bad[:3])
        return Check(NEGATIVE, Outcome.FAIL, f"partial scheduling: {nf.get('violation_count', len(bad))} pod(s) of "
                     f"Job {nf['job']} (parallelism {nf['parallelism']}, larger than the free capacity) were "
                     f"Running or bound within the {nf['window_s']:g}s window: {first}", dur)
    if dur + 0.5 < float(nf.get("window_s") or 0):
        return Check(NEGATIVE, Outcome.FAIL, f"observed only {dur:g}s of the {nf['window_s']:g}s window", dur)
    how = "the Job stayed suspended" if nf.get("suspended_throughout") else f"{nf.get('pods_seen', 0)} pod(s) pending"
    return Check(NEGATIVE, Outcome.PASS, f"no pod of Job {nf['job']} (parallelism {nf['parallelism']}) Running or "
                 f"bound during {nf['window_s']:g}s ({how}){_wl_state(nf.get('workload'))}"
                 f"{_pg_state(nf.get('podgroup'))}{_pending(nf.get('pending_reason'))}", dur)


def _cleanup(c: dict[str, Any] | None) -> Check:
    if not c:
        return Check(CLEANUP, Outcome.SKIP, "not run")
    dur = float(c.get("duration_s") or 0)
    if not c.get("released"):
        return Check(CLEANUP, Outcome.FAIL, f"resources not released: {c.get('timeout', 'unknown')}", dur)
    return Check(CLEANUP, Outcome.PASS, "probe Jobs, pods and Workloads deleted; queue usage back to zero", dur)


def _wl_state(wl: dict[str, Any] | None) -> str:
    if wl is None:
        return ""
    if not wl.get("found"):
        return "; no Kueue Workload was created for the Job (is the batch/job integration on?)"
    conds = ", ".join(f"{c['type']}={c['status']}" + (f" ({c.get('reason')}: {c.get('message')})"
                                                      if c.get("status") != "True" and c.get("message") else "")
                      for c in wl.get("conditions") or [])
    return f"; Workload {wl['name']}: {conds or 'no conditions'}"


def _pending(reason: dict[str, Any] | None) -> str:
    if not reason or not reason.get("message"):
        return ""
    return f"; pending: {reason.get('reason', '')}: {str(reason['message'])[:200]}"


def _pg_state(pg: dict[str, Any] | None) -> str:
    if pg is None:
        return ""
    if not pg.get("found"):
        return f"; PodGroup {pg.get('name')} is gone"
    conds = "; ".join(
        f"{c.get('type')}={c.get('status')}" + (f" ({c.get('reason')}: {c.get('message')})" if c.get("message") else "")
        for c in pg.get("conditions") or [])
    return (f"; PodGroup {pg['name']} minMember {pg.get('min_member')}, phase {pg.get('phase') or 'unset'}"
            + (f", {conds}" if conds else ""))


def _kueue_notes(facts: dict[str, Any]) -> list[str]:
    notes = []
    kueue = facts.get("kueue") or {}
    if kueue.get("deprecated_only"):
        notes.append("Kueue serves only kueue.x-k8s.io/v1beta1 (deprecated); upgrade to a release serving v1beta2")
    wl = (facts.get("positive") or {}).get("workload") or {}
    if facts.get("scheduler") == "kueue" and wl.get("found"):
        types = {c["type"] for c in wl.get("conditions") or [] if c.get("status") == "True"}
        seen = [t for t in ("QuotaReserved", "Admitted", "PodsReady", "Finished") if t in types]
        notes.append(f"Kueue Workload {wl['name']} conditions: {', '.join(seen) or 'none True'}")
    return notes
