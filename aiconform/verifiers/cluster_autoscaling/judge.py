"""cluster_autoscaling judge: TestAcceleratorClusterAutoscaling's criteria, and the conditional-MUST rules."""
from __future__ import annotations

from typing import Any

from aiconform.results import Check, Outcome, Status, Verdict

BASE, PENDING, UP, DOWN = "StableBaseline", "TriggerPodUnschedulable", "ScaleUpOnNewNode", "ScaleDownToBaseline"


def _skip(reason: str) -> list[Check]:
    return [Check(name, Outcome.SKIP, reason) for name in (BASE, PENDING, UP, DOWN)]


def judge(facts: dict[str, Any]) -> Verdict:
    o = facts.get("options") or {}
    auto = facts.get("autoscaler") or {}
    if not o.get("node_pool_label"):
        if auto.get("present"):
            what = ", ".join(auto.get("deployments", []) + auto.get("status_configmaps", [])
                             + [f"NodePool {n}" for n in auto.get("karpenter_nodepools", [])])
            return Verdict(Status.UNKNOWN, [
                f"an autoscaler is present ({what}) but no accelerator node pool is configured: set "
                "aiconform_cluster_autoscaling_node_pool_label (key=value) to test it"], _skip("no node pool configured"))
        return Verdict(Status.NOT_APPLICABLE, [
            f"the platform provides no cluster autoscaler: looked for {auto.get('looked_for', 'an autoscaler')} and "
            "found none"], _skip("no autoscaler on the platform"))
    base = facts.get("baseline") or {}
    if not base.get("ok"):
        return Verdict(Status.UNKNOWN, [f"no usable baseline for pool {facts.get('selector')}: {base.get('problem')}"],
                       [Check(BASE, Outcome.FAIL, str(base.get("problem"))), *_skip("no baseline")[1:]])
    bp = facts.get("baseline_pods") or {}
    if bp.get("timeout"):
        return Verdict(Status.UNKNOWN, [f"the baseline pods did not run on the pool's own nodes: {bp['timeout']}"],
                       [Check(BASE, Outcome.FAIL, bp["timeout"]), *_skip("no baseline")[1:]])
    n = len(base.get("nodes") or [])
    checks = [Check(BASE, Outcome.PASS, f"{n} node(s) with one {o.get('accelerator_resource')} each, stable, one "
                                        "baseline pod per node")]
    trig = facts.get("trigger") or {}
    checks.append(_pending(trig, o))
    checks.append(_up(trig))
    checks.append(_down(facts.get("scale_down"), n))
    failed = [c for c in checks if c.outcome is not Outcome.PASS]
    if failed:
        reasons = [f"{c.name}: {c.reason}" for c in failed]
        return Verdict(Status.NOT_IMPLEMENTED, reasons, checks)
    return Verdict(Status.IMPLEMENTED, [f"pool {facts.get('selector')} grew from {n} to {n + 1} node(s) for a pending "
                                        f"accelerator pod and returned to {n}"] + _trigger_note(trig), checks)


def _pending(t: dict[str, Any], o: dict[str, Any]) -> Check:
    if not t:
        return Check(PENDING, Outcome.SKIP, "not run")
    if t.get("bound_at_once_to"):
        return Check(PENDING, Outcome.FAIL, f"the trigger pod was scheduled at once on {t['bound_at_once_to']}: the "
                     "pool had spare accelerators, so the baseline is not what the test needs")
    if not t.get("pending"):
        return Check(PENDING, Outcome.FAIL, f"the trigger pod was never reported Unschedulable: {t.get('pending_timeout')}")
    if not t.get("names_resource"):
        return Check(PENDING, Outcome.FAIL, f"Unschedulable, but not for lack of {o.get('accelerator_resource')}: "
                     f"{t.get('unschedulable_message')}")
    return Check(PENDING, Outcome.PASS, f"Unschedulable: {t.get('unschedulable_message')}")


def _up(t: dict[str, Any]) -> Check:
    if not t:
        return Check(UP, Outcome.SKIP, "not run")
    dur = float(t.get("duration_s") or 0)
    if t.get("timeout"):
        note = f"; the autoscaler said: {t['not_triggered'][-1]}" if t.get("not_triggered") else ""
        return Check(UP, Outcome.FAIL, f"no new node for the trigger pod: {t['timeout']}{note}", dur)
    if not t.get("running_on_new_node"):
        return Check(UP, Outcome.FAIL, f"the trigger pod runs on {t.get('node')}, a baseline node, not a new one", dur)
    return Check(UP, Outcome.PASS, f"the trigger pod runs on new node {t.get('node')} after {dur:g}s", dur)


def _down(d: dict[str, Any] | None, n: int) -> Check:
    if not d:
        return Check(DOWN, Outcome.SKIP, "not run: there was no scale-up to undo")
    dur = float(d.get("duration_s") or 0)
    if not d.get("returned"):
        return Check(DOWN, Outcome.FAIL, f"the pool did not return to {n} node(s): {d.get('timeout')}", dur)
    if not d.get("stable"):
        return Check(DOWN, Outcome.FAIL, str(d.get("problem")), dur)
    return Check(DOWN, Outcome.PASS, f"back to {n} node(s) {d.get('returned_after_s')}s after deleting the trigger, "
                 "stable for the window", dur)


def _trigger_note(t: dict[str, Any]) -> list[str]:
    return [f"autoscaler event: TriggeredScaleUp {t['triggered_scale_up'][0]}"] if t.get("triggered_scale_up") else []
