"""cluster_autoscaling judge: TestAcceleratorClusterAutoscaling's criteria, and the conditional-MUST rules.

The trigger pod must be Unschedulable for lack of the accelerator (upstream's criterion). A pool that scales from
zero has no node to lack an accelerator: its trigger is Unschedulable because no node carries the pool's label
(the scheduler's message names the node selector or other nodes' taints), which is accepted only together with the
autoscaler's scale-up event for that pod (Cluster Autoscaler's TriggeredScaleUp, Karpenter's Nominated).
"""
from __future__ import annotations

from typing import Any

from ...results import Check, Outcome, Status, Verdict

BASE, PENDING, UP, DOWN = "StableBaseline", "TriggerPodUnschedulable", "ScaleUpOnNewNode", "ScaleDownToBaseline"
VAR = "aiconform_cluster_autoscaling_autoscaler"


def _skip(reason: str) -> list[Check]:
    return [Check(name, Outcome.SKIP, reason) for name in (BASE, PENDING, UP, DOWN)]


def _found(auto: dict[str, Any]) -> str:
    mechs = auto.get("mechanisms")
    if mechs is not None:
        return "; ".join(f"{m['name']}: {m['how']}" for m in mechs)
    return ", ".join(auto.get("deployments", []) + auto.get("status_configmaps", [])
                     + [f"NodePool {n}" for n in auto.get("karpenter_nodepools", [])])


def judge(facts: dict[str, Any]) -> Verdict:
    o = facts.get("options") or {}
    auto = facts.get("autoscaler") or {}
    if not o.get("node_pool_label"):
        if auto.get("present"):
            return Verdict(Status.UNKNOWN, [
                f"an autoscaler is present ({_found(auto)}) but no accelerator node pool is configured: set "
                "aiconform_cluster_autoscaling_node_pool_label (key=value) to test it"], _skip("no node pool configured"))
        return Verdict(Status.NOT_APPLICABLE, [
            f"the platform provides no cluster autoscaler: looked for {auto.get('looked_for', 'an autoscaler')} and "
            "found none"], _skip("no autoscaler on the platform"))
    mech = facts.get("mechanism") or {}
    if mech.get("ambiguous"):
        return Verdict(Status.UNKNOWN, [
            f"several autoscalers are present and none is known to own pool {facts.get('selector')}: "
            f"{'; '.join(mech.get('candidates') or [])}; set {VAR} to cluster-autoscaler or karpenter"],
            _skip("autoscaler not chosen"))
    claims = facts.get("claims") or {}
    if claims.get("problem"):
        return Verdict(Status.UNKNOWN, [f"cannot tell how probe pods get an accelerator on pool {facts.get('selector')}: "
                                        f"{claims['problem']}"], _skip("no way to request the accelerator"))
    base = facts.get("baseline") or {}
    if not base.get("ok"):
        return Verdict(Status.UNKNOWN, [f"no usable baseline for pool {facts.get('selector')}: {base.get('problem')}"],
                       [Check(BASE, Outcome.FAIL, str(base.get("problem"))), *_skip("no baseline")[1:]])
    bp = facts.get("baseline_pods") or {}
    if bp.get("timeout"):
        return Verdict(Status.UNKNOWN, [f"the baseline pods did not run on the pool's own nodes: {bp['timeout']}"],
                       [Check(BASE, Outcome.FAIL, bp["timeout"]), *_skip("no baseline")[1:]])
    n = len(base.get("nodes") or [])
    unit = f"{claims['device_class']} device (DRA)" if claims.get("mode") == "dra" else o.get("accelerator_resource")
    checks = [Check(BASE, Outcome.PASS, f"{n} node(s) with one {unit} each, stable, one "
                                        "baseline pod per node" if n else
                    "the pool has no node (it scales from zero), stable")]
    trig = facts.get("trigger") or {}
    events = _scale_up_events(trig, mech)
    pending = _pending(trig, o, events, unit)
    up = _up(trig)
    checks += [pending, up, _down(facts.get("scale_down"), n)]
    if pending.outcome is Outcome.FAIL and up.outcome is Outcome.PASS and _from_zero(trig) and not events:
        return Verdict(Status.UNKNOWN, [
            f"the pool grew from zero for the trigger pod, but no scale-up event aiconform recognises (TriggeredScaleUp, "
            f"Nominated) names the pod, so the new node cannot be tied to an autoscaler's decision: {_mech(mech, auto)}"
            f"; set {VAR} if a known autoscaler runs"], checks)
    failed = [c for c in checks if c.outcome is not Outcome.PASS]
    if failed:
        reasons = [f"{c.name}: {c.reason}" for c in failed]
        if not auto.get("present") and mech.get("name") is None:
            reasons.append(f"no autoscaler found: looked for {auto.get('looked_for', 'an autoscaler')}")
        return Verdict(Status.NOT_IMPLEMENTED, reasons, checks)
    return Verdict(Status.IMPLEMENTED, [f"pool {facts.get('selector')} grew from {n} to {n + 1} node(s) for a pending "
                                        f"accelerator pod and returned to {n}", f"autoscaler: {_mech(mech, auto)}"]
                   + _trigger_note(trig, events), checks)


def _mech(mech: dict[str, Any], auto: dict[str, Any]) -> str:
    if not mech.get("name"):
        return f"none recognised (looked for {auto.get('looked_for', 'an autoscaler')})"
    how = mech.get("how") or ("not found in the cluster" if not mech.get("detected") else "")
    return f"{mech['name']} ({how}; chosen by {mech.get('source')})"


def _scale_up_events(t: dict[str, Any], mech: dict[str, Any]) -> list[dict[str, Any]]:
    evs = list(t.get("scale_up_events") or [])
    if not evs and t.get("triggered_scale_up"):  # facts of older runs: CA events only
        evs = [{"reason": "TriggeredScaleUp", "source": "cluster-autoscaler", "message": m,
                "autoscaler": "cluster-autoscaler"} for m in t["triggered_scale_up"]]
    if mech.get("name"):
        evs = [e for e in evs if e.get("autoscaler") == mech["name"]]
    return evs


def _from_zero(t: dict[str, Any]) -> bool:
    return bool(t.get("pool_was_empty"))


def _pending(t: dict[str, Any], o: dict[str, Any], events: list[dict[str, Any]], unit: Any = None) -> Check:
    if not t:
        return Check(PENDING, Outcome.SKIP, "not run")
    if t.get("bound_at_once_to"):
        return Check(PENDING, Outcome.FAIL, f"the trigger pod was scheduled at once on {t['bound_at_once_to']}: the "
                     "pool had spare accelerators, so the baseline is not what the test needs")
    if not t.get("pending"):
        return Check(PENDING, Outcome.FAIL, f"the trigger pod was never reported Unschedulable: {t.get('pending_timeout')}")
    msg = t.get("unschedulable_message")
    res = unit or o.get("accelerator_resource")
    if t.get("names_resource"):
        return Check(PENDING, Outcome.PASS, f"Unschedulable: {msg}")
    if _from_zero(t):
        if events:
            e = events[0]
            return Check(PENDING, Outcome.PASS, f"Unschedulable because the pool has no node yet (no node carries its "
                         f"label; scheduler: {msg}), and the autoscaler acted for it: {e['reason']} from "
                         f"{e.get('source') or e.get('autoscaler')}: {e['message']}")
        return Check(PENDING, Outcome.FAIL, f"Unschedulable because the pool has no node ({msg}), but no autoscaler "
                     "recorded a scale-up for the pod (TriggeredScaleUp, Nominated)")
    return Check(PENDING, Outcome.FAIL, f"Unschedulable, but not for lack of {res}: {msg}")


def _up(t: dict[str, Any]) -> Check:
    if not t:
        return Check(UP, Outcome.SKIP, "not run")
    dur = float(t.get("duration_s") or 0)
    if t.get("timeout"):
        note = f"; the autoscaler said: {t['not_triggered'][-1]}" if t.get("not_triggered") else ""
        return Check(UP, Outcome.FAIL, f"no new node for the trigger pod: {t['timeout']}{note}", dur)
    if not t.get("running_on_new_node"):
        return Check(UP, Outcome.FAIL, f"the trigger pod runs on {t.get('node')}, a baseline node, not a new one", dur)
    claim = t.get("nodeclaim") or {}
    via = f" (NodeClaim {claim['name']} of NodePool {claim.get('nodepool')})" if claim.get("name") else ""
    return Check(UP, Outcome.PASS, f"the trigger pod runs on new node {t.get('node')}{via} after {dur:g}s", dur)


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


def _trigger_note(t: dict[str, Any], events: list[dict[str, Any]]) -> list[str]:
    return [f"autoscaler event: {e['reason']} {e['message']}" for e in events[:1]]
