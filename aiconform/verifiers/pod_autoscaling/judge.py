"""pod_autoscaling judge: metrics APIs served, scale-up on accelerator nodes under load, scale-down after."""
from __future__ import annotations

from typing import Any

from aiconform.results import Check, Outcome, Status, Verdict

APIS, UP, DOWN = "MetricsAPIsAvailable", "ScaleUpOnAcceleratorMetric", "ScaleDownAfterStabilization"


def judge(facts: dict[str, Any]) -> Verdict:
    o = facts.get("options") or {}
    apis = _apis(facts)
    if apis.outcome is not Outcome.PASS:
        return Verdict(Status.NOT_IMPLEMENTED, [f"{APIS}: {apis.reason}"],
                       [apis, Check(UP, Outcome.SKIP, "not run"), Check(DOWN, Outcome.SKIP, "not run")])
    if not facts.get("accelerator_nodes"):
        return Verdict(Status.UNKNOWN, [f"no node advertises allocatable {o.get('accelerator_resource')}: "
                                        "the accelerator workload cannot run, so the HPA cannot be tested"],
                       [apis, Check(UP, Outcome.SKIP, "no accelerator node"), Check(DOWN, Outcome.SKIP, "not run")])
    base = facts.get("baseline") or {}
    if base.get("timeout"):
        return Verdict(Status.UNKNOWN, [f"the accelerator workload never ran, so scaling could not be observed: "
                                        f"{base['timeout']}"],
                       [apis, Check(UP, Outcome.SKIP, "workload not Running"), Check(DOWN, Outcome.SKIP, "not run")])
    checks = [apis, _up(facts.get("scale_up"), o), _down(facts.get("scale_down"), o)]
    failed = [c for c in checks if c.outcome is not Outcome.PASS]
    if failed:
        return Verdict(Status.NOT_IMPLEMENTED, [f"{c.name}: {c.reason}" for c in failed], checks)
    return Verdict(Status.IMPLEMENTED, [
        f"the HPA scaled the accelerator Deployment on custom metric {o.get('metric_name')} up under load and back "
        f"to {o.get('min_replicas')} after the load stopped"], checks)


def _apis(facts: dict[str, Any]) -> Check:
    missing = []
    for a in (facts.get("apiservices") or {}).values():
        if not a.get("exists"):
            missing.append(f"APIService {a['name']} not registered")
        elif not a.get("available"):
            missing.append(f"APIService {a['name']} not Available ({a.get('reason')}: {a.get('message')})")
    if missing:
        return Check(APIS, Outcome.FAIL, "; ".join(missing))
    if not facts.get("metric_listed"):
        metric = (facts.get("options") or {}).get("metric_name")
        return Check(APIS, Outcome.FAIL, f"custom.metrics.k8s.io does not serve pods/{metric} (check the adapter's "
                     "rules, e.g. DCGM_FI_DEV_GPU_UTIL renamed with exported_namespace/exported_pod overrides)")
    return Check(APIS, Outcome.PASS, "metrics.k8s.io and custom.metrics.k8s.io Available, metric served")


def _conds(hpa: dict[str, Any]) -> str:
    return "; ".join(f"{c['type']}={c['status']} ({c.get('reason')}: {c.get('message')})"
                     for c in hpa.get("conditions") or [])


def _up(up: dict[str, Any] | None, o: dict[str, Any]) -> Check:
    if not up:
        return Check(UP, Outcome.SKIP, "not run")
    dur = float(up.get("duration_s") or 0)
    hpa = up.get("hpa") or {}
    if not up.get("scaled"):
        return Check(UP, Outcome.FAIL, f"no scale-up under load: {up.get('timeout')}; HPA: {_conds(hpa)}", dur)
    if not up.get("on_accelerator_nodes"):
        nodes = sorted({p.get("node") for p in up.get("pods") or []})
        return Check(UP, Outcome.FAIL, f"scaled, but not every pod runs on an accelerator node: {nodes}", dur)
    vals = up.get("metric_values")
    shown = ", ".join(f"{v['pod']}={v['value']}" for v in vals) if isinstance(vals, list) else ""
    return Check(UP, Outcome.PASS, f"desiredReplicas {hpa.get('desiredReplicas')}, {len(up.get('pods') or [])} pods "
                 f"Running on accelerator nodes in {dur:g}s ({o.get('metric_name')}: {shown or 'n/a'})", dur)


def _down(down: dict[str, Any] | None, o: dict[str, Any]) -> Check:
    if not down:
        return Check(DOWN, Outcome.SKIP, "not run: there was no scale-up to undo")
    dur = float(down.get("after_s") or 0)
    if not down.get("scaled"):
        return Check(DOWN, Outcome.FAIL, f"no scale-down after the load stopped: {down.get('timeout')}; HPA: "
                     f"{_conds(down.get('hpa') or {})}", dur)
    return Check(DOWN, Outcome.PASS, f"back to {down.get('target_replicas')} replica(s) {dur:g}s after the load "
                 f"stopped (stabilization window {down.get('stabilization_window')}s)", dur)
