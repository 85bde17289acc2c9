"""pod_autoscaling judge: a metrics path served, the metric shown to follow the accelerator (not CPU), scale-up on
accelerator nodes under load, scale-down after."""
from __future__ import annotations

from typing import Any

from ...results import Check, Outcome, Status, Verdict

APIS, ORIGIN = "MetricsAPIsAvailable", "MetricFollowsAcceleratorLoad"
UP, DOWN = "ScaleUpOnAcceleratorMetric", "ScaleDownAfterStabilization"
RESOURCES = ("nvidia.com/gpu", "amd.com/gpu")


def _rest(reason: str) -> list[Check]:
    return [Check(name, Outcome.SKIP, reason) for name in (ORIGIN, UP, DOWN)]


def judge(facts: dict[str, Any]) -> Verdict:
    o = facts.get("options") or {}
    apis, unknown = _apis(facts)
    if unknown:
        return Verdict(Status.UNKNOWN, [f"{APIS}: {unknown}"], [apis, *_rest("metrics path not known")])
    if apis.outcome is not Outcome.PASS:
        return Verdict(Status.NOT_IMPLEMENTED, [f"{APIS}: {apis.reason}"], [apis, *_rest("not run")])
    acc = facts.get("accelerator") or {}
    if facts.get("accelerator") is not None and not acc.get("vendor"):
        if acc.get("candidates"):
            shown = "; ".join(f"{r} on {', '.join(n)}" for r, n in acc["candidates"].items())
            why = (f"nodes advertise several accelerator kinds ({shown}): set aiconform_pod_autoscaling_"
                   "accelerator_resource to the one to test")
        elif acc.get("source") == "inventory":
            why = (f"aiconform has no load program for {acc.get('resource')} (it has NVIDIA nvidia.com/gpu and AMD "
                   "amd.com/gpu): the accelerator cannot be loaded, so the HPA cannot be tested")
        else:
            why = (f"no node advertises allocatable {' or '.join(RESOURCES)}: the accelerator workload cannot run, so "
                   "the HPA cannot be tested (set aiconform_pod_autoscaling_accelerator_resource if the accelerator "
                   "uses another resource)")
        return Verdict(Status.UNKNOWN, [why], [apis, *_rest("no accelerator to load")])
    if not facts.get("accelerator_nodes"):
        return Verdict(Status.UNKNOWN, [f"no node advertises allocatable {acc.get('resource') or o.get('accelerator_resource')}: "
                                        "the accelerator workload cannot run, so the HPA cannot be tested"],
                       [apis, *_rest("no accelerator node")])
    prom = facts.get("prometheus")
    if prom is not None and not prom.get("address"):
        return Verdict(Status.UNKNOWN, [
            f"KEDA's Prometheus scaler needs the Prometheus query URL and none was found (looked for "
            f"{prom.get('looked_for')}): set aiconform_pod_autoscaling_prometheus_address"],
            [apis, *_rest("no Prometheus address for KEDA")])
    base = facts.get("baseline") or {}
    if base.get("timeout"):
        return Verdict(Status.UNKNOWN, [f"the accelerator workload never ran, so scaling could not be observed: "
                                        f"{base['timeout']}"], [apis, *_rest("workload not Running")])
    owner = facts.get("hpa_name") or {}
    if owner.get("timeout"):
        return Verdict(Status.NOT_IMPLEMENTED, [f"KEDA never created the HPA of the ScaledObject: {owner['timeout']}"],
                       [apis, *_rest("no HPA")])
    up = _up(facts.get("scale_up"), o)
    origin = _origin(facts.get("control"), facts.get("scale_up"))
    checks = [apis, origin, up, _down(facts.get("scale_down"))]
    if origin.outcome is Outcome.SKIP and up.outcome is Outcome.PASS:
        return Verdict(Status.UNKNOWN, [f"the HPA scaled, but aiconform could not tell where the metric comes from: "
                                        f"{origin.reason}"], checks)
    failed = [c for c in checks if c.outcome is not Outcome.PASS]
    if failed:
        return Verdict(Status.NOT_IMPLEMENTED, [f"{c.name}: {c.reason}" for c in failed], checks)
    return Verdict(Status.IMPLEMENTED, [
        f"the HPA scaled the accelerator Deployment on {_what(facts)} up under accelerator load (not under CPU-only "
        f"load) and back to {o.get('min_replicas')} after the load stopped"], checks)


def _what(facts: dict[str, Any]) -> str:
    o = facts.get("options") or {}
    src = (facts.get("source") or {}).get("name", "custom")
    if src == "external":
        return f"KEDA external metric ({facts.get('query')})"
    return f"custom metric {o.get('metric_name')}"


def _api_state(a: dict[str, Any]) -> str:
    if not a.get("exists"):
        return f"APIService {a.get('name')} not registered"
    if not a.get("available"):
        return f"APIService {a.get('name')} not Available ({a.get('reason')}: {a.get('message')})"
    return f"APIService {a.get('name')} Available" + (f" ({a['service']})" if a.get("service") else "")


def _apis(facts: dict[str, Any]) -> tuple[Check, str]:
    """The check, and a reason when aiconform cannot tell (an external metrics server that is not KEDA)."""
    apis = facts.get("apiservices") or {}
    metric = (facts.get("options") or {}).get("metric_name")
    src = facts.get("source")
    if src is None:  # facts of older runs: custom metrics only
        src = {"name": "custom" if (apis.get("custom_metrics") or {}).get("available") and facts.get("metric_listed")
               else None, "source": "detected"}
    server = apis.get("metrics") or {}
    ms = f"; metrics.k8s.io: {_api_state(server)} (not required)" if server else ""
    custom, ext = apis.get("custom_metrics") or {}, apis.get("external_metrics") or {}
    if src.get("name") == "custom":
        later = facts.get("metric_served")
        if later and later.get("timeout"):
            return Check(APIS, Outcome.FAIL, f"custom metrics: {_api_state(custom)}, but pods/{metric} was not listed "
                         "and never served for the workload's pods while they held their accelerators: "
                         f"{later['timeout']} (check the adapter's rules, e.g. DCGM_FI_DEV_GPU_UTIL renamed with "
                         "exported_namespace/exported_pod overrides, and that the exporter labels the pods)"), ""
        when = (f" once the workload held its accelerators ({later.get('seconds')}s: the adapter lists a metric when "
                "its series exist)" if later else "")
        return Check(APIS, Outcome.PASS, f"custom metrics: {_api_state(custom)}, pods/{metric} served{when}{ms}"), ""
    if src.get("name") == "external":
        return Check(APIS, Outcome.PASS, f"external metrics through KEDA: {_api_state(ext)}, keda.sh ScaledObject "
                     f"served{ms}"), ""
    custom_why = (_api_state(custom) if not custom.get("available") else
                  f"custom.metrics.k8s.io does not serve pods/{metric} (check the adapter's rules, e.g. "
                  "DCGM_FI_DEV_GPU_UTIL renamed with exported_namespace/exported_pod overrides)")
    if ext and not src.get("keda_served") and ext.get("available") and src.get("wanted") != "custom":
        return Check(APIS, Outcome.SKIP, "external metrics served by a server aiconform does not drive"), (
            f"external.metrics.k8s.io is served by {ext.get('service') or 'an unknown server'}, not KEDA (no keda.sh "
            f"ScaledObject kind): aiconform drives external metrics through KEDA ScaledObjects only; custom path: "
            f"{custom_why}. Serve pods/{metric} on custom.metrics.k8s.io, or set aiconform_pod_autoscaling_"
            "metrics_source and test that path by hand")
    ext_why = (_api_state(ext) if ext and not ext.get("available") else "APIService for external.metrics.k8s.io "
               "not registered" if not ext else "no keda.sh ScaledObject kind (KEDA not installed)")
    wanted = src.get("wanted")
    if wanted == "custom":
        return Check(APIS, Outcome.FAIL, f"custom metrics (chosen by the inventory): {custom_why}"), ""
    if wanted == "external":
        return Check(APIS, Outcome.FAIL, f"external metrics through KEDA (chosen by the inventory): {ext_why}"), ""
    return Check(APIS, Outcome.FAIL, f"no metrics path for the HPA: custom metrics (prometheus-adapter): {custom_why}; "
                 f"external metrics (KEDA): {ext_why}"), ""


def _conds(hpa: dict[str, Any]) -> str:
    return "; ".join(f"{c['type']}={c['status']} ({c.get('reason')}: {c.get('message')})"
                     for c in hpa.get("conditions") or [])


def _origin(control: dict[str, Any] | None, up: dict[str, Any] | None) -> Check:
    if not control:
        return Check(ORIGIN, Outcome.SKIP, "the CPU-only control did not run")
    target = float(control.get("target") or 0)
    cmax, dmax, low = control.get("max_value"), int(control.get("desired_max") or 0), int(control.get("min_replicas") or 1)
    if cmax is None:
        err = f": {control['errors'][-1]}" if control.get("errors") else ""
        return Check(ORIGIN, Outcome.SKIP, f"no value of the scaled metric could be read during the "
                     f"{control.get('window_s')}s CPU-only control{err}")
    if cmax > target or dmax > low:
        return Check(ORIGIN, Outcome.FAIL, f"with the accelerator idle and only CPU busy the metric reached {cmax:g} "
                     f"(target {target:g}) and the HPA wanted {dmax} replica(s): it follows CPU load, not the "
                     "accelerator")
    umax = (up or {}).get("max_value")
    if umax is None:
        return Check(ORIGIN, Outcome.SKIP, "no value of the scaled metric could be read under accelerator load")
    if umax <= cmax:
        return Check(ORIGIN, Outcome.FAIL, f"the metric did not rise with accelerator load ({cmax:g} under CPU-only "
                     f"load, {umax:g} under accelerator load)")
    return Check(ORIGIN, Outcome.PASS, f"{cmax:g} under CPU-only load for {control.get('window_s')}s (HPA kept {low}), "
                 f"{umax:g} under accelerator load (target {target:g})")


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
    shown = ", ".join(f"{v.get('pod') or v.get('metric')}={v['value']}" for v in vals) if isinstance(vals, list) else ""
    name = "metric" if any("metric" in v for v in vals or [] if isinstance(v, dict)) else o.get("metric_name")
    return Check(UP, Outcome.PASS, f"desiredReplicas {hpa.get('desiredReplicas')}, {len(up.get('pods') or [])} pods "
                 f"Running on accelerator nodes in {dur:g}s ({name}: {shown or 'n/a'})", dur)


def _down(down: dict[str, Any] | None) -> Check:
    if not down:
        return Check(DOWN, Outcome.SKIP, "not run: there was no scale-up to undo")
    dur = float(down.get("after_s") or 0)
    if not down.get("scaled"):
        return Check(DOWN, Outcome.FAIL, f"no scale-down after the load stopped: {down.get('timeout')}; HPA: "
                     f"{_conds(down.get('hpa') or {})}", dur)
    return Check(DOWN, Outcome.PASS, f"back to {down.get('target_replicas')} replica(s) {dur:g}s after the load "
                 f"stopped (stabilization window {down.get('stabilization_window')}s)", dur)
