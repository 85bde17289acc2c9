"""HorizontalPodAutoscaler controller (autoscaling/v2) and prometheus-adapter's custom accelerator metrics.

Custom metrics (what ``custom.metrics.k8s.io`` answers, besides the scenario's static values): the
prometheus-adapter rules in the adapter's ConfigMap (``config.yaml`` with ``rules:``, as the chart renders
``rules.custom``) rename DCGM series, e.g. ``DCGM_FI_DEV_GPU_UTIL`` → ``workload_gpu_utilization``. The
DCGM value of a Running pod holding ``nvidia.com/gpu`` is emulated from what the pod itself runs: a pod that
mounts a ConfigMap whose key ``load`` is ``"1"`` runs its GPU kernel (the pod_autoscaling probe's load switch),
so DCGM_FI_DEV_GPU_UTIL = 100, as the Viettel v1.35 evidence shows for a GPU under a busy kernel
(``gpu-inference-… -> 100``); otherwise the GPU idles at 0 (the idle L4 of the kOps DCGM dump). ``load`` = ``"cpu"``
is the probe's CPU-only control: the pod burns a CPU core and leaves the GPU idle. AMD pods (``amd.com/gpu``) are
read through the device-metrics-exporter's ``gpu_gfx_activity`` the same way. Rules over cAdvisor's
``container_cpu_usage_seconds_total`` (as an adapter turning CPU use into a "utilization" would have) give the
rule's output of ``rate(...)*100``: 100 while the pod burns a core (CPU-only control, or the host thread that keeps
the GPU busy), 1 idle.

HPA algorithm (pkg/controller/podautoscaler): for a Pods metric with an AverageValue target,
``ratio = average / target``; within the 0.1 tolerance nothing changes, else
``desired = ceil(sum / target)``; bounded by min/maxReplicas (ScalingLimited); scale-up limited by the default
policy (max of 100 % and 4 pods); scale-down uses the highest recommendation within
``behavior.scaleDown.stabilizationWindowSeconds`` (default 300 s). Conditions, reasons and the
``SuccessfulRescale`` event messages as in the Viettel evidence. The sync period is 1 s (upstream 15 s) so
tests stay short; the stabilization window is honoured as configured.
"""
from __future__ import annotations

import copy
import math
import re
import time
from typing import Any

import yaml

from aiconform.sim.api import Cluster, now
from aiconform.sim.controllers.common import pod_ready, quantity, set_condition
from aiconform.sim.selectors import parse_label_selector, selector_to_string

Obj = dict[str, Any]
TOLERANCE = 0.1
SYNC_PERIOD = 1.0
GPU = "nvidia.com/gpu"
AMD_GPU = "amd.com/gpu"
GPU_SERIES = {GPU: "DCGM_FI_DEV_GPU_UTIL", AMD_GPU: "gpu_gfx_activity"}
CPU_SERIES = "container_cpu_usage_seconds_total"
SERIES = (*GPU_SERIES.values(), CPU_SERIES)
_SERIES = re.compile(r"^\s*([A-Za-z_:][A-Za-z0-9_:]*)")
# Per HPA uid: last sync (monotonic) and the (time, recommendation) history for stabilization.
_STATE: dict[str, dict[str, Any]] = {}


def _adapter_rules(c: Cluster) -> dict[str, str]:
    """exposed metric name -> DCGM series, from every ConfigMap holding a prometheus-adapter config.yaml."""
    out: dict[str, str] = {}
    for cm in c.objects("", "configmaps"):
        text = (cm.get("data") or {}).get("config.yaml")
        if not text or "seriesQuery" not in text:
            continue
        try:
            rules = (yaml.safe_load(text) or {}).get("rules") or []
        except yaml.YAMLError:
            continue
        for rule in rules:
            m = _SERIES.match(str(rule.get("seriesQuery", "")).strip("'\""))
            name = rule.get("name") or {}
            if m and name.get("as") and m.group(1) in SERIES:
                out[str(name["as"])] = m.group(1)
    return out


def load_mode(c: Cluster, pod: Obj) -> str:
    """What the probe's load switch (a mounted ConfigMap's ``load``) makes the pod do: gpu, cpu or idle."""
    ns = pod["metadata"]["namespace"]
    for vol in (pod.get("spec") or {}).get("volumes") or []:
        ref = (vol.get("configMap") or {}).get("name")
        cm = c.find("", "configmaps", ns, ref) if ref else None
        value = str(((cm or {}).get("data") or {}).get("load", "")).strip()
        if value == "1":
            return "gpu"
        if value == "cpu":
            return "cpu"
    return "idle"


def gpu_kind(pod: Obj) -> str | None:
    for ctr in (pod.get("spec") or {}).get("containers") or []:
        res = ctr.get("resources") or {}
        merged = {**(res.get("requests") or {}), **(res.get("limits") or {})}
        for kind in GPU_SERIES:
            if quantity(merged.get(kind, 0)) > 0:
                return kind
    return None


def pod_series(c: Cluster, pod: Obj) -> dict[str, float]:
    """Emulated per-pod series values: the pod's GPU utilization (its vendor's exporter) and its CPU use."""
    mode = load_mode(c, pod)
    out = {CPU_SERIES: 100.0 if mode in ("gpu", "cpu") else 1.0}
    kind = gpu_kind(pod)
    if kind:
        out[GPU_SERIES[kind]] = 100.0 if mode == "gpu" else 0.0
    return out


def gpu_pods(c: Cluster) -> list[Obj]:
    return [p for p in c.objects("", "pods") if (p.get("status") or {}).get("phase") == "Running" and gpu_kind(p)]


def custom_metric_items(c: Cluster) -> list[dict[str, Any]]:
    """Entries in the shape of the scenario's ``custom_metrics`` (metric, namespace, name, value, labels)."""
    rules = _adapter_rules(c)
    if not rules:
        return []
    out = []
    for pod in gpu_pods(c):
        values = pod_series(c, pod)
        for exposed, series in rules.items():
            if series not in values:
                continue
            out.append({"metric": exposed, "resource": "pods", "namespace": pod["metadata"]["namespace"],
                        "name": pod["metadata"]["name"], "value": _fmt(values[series]),
                        "labels": pod["metadata"].get("labels") or {}})
    return out


def _fmt(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else f"{round(v * 1000)}m"


def sync(c: Cluster, mgr: Any) -> None:
    if c.registry.get("autoscaling", "horizontalpodautoscalers") is None:
        return
    t = time.monotonic()
    live = set()
    for hpa in c.objects("autoscaling", "horizontalpodautoscalers"):
        uid = hpa["metadata"]["uid"]
        live.add(uid)
        state = _STATE.setdefault(uid, {"last": 0.0, "recs": []})
        if t - state["last"] < SYNC_PERIOD:
            continue
        state["last"] = t
        _reconcile(c, hpa, state, t)
    for uid in set(_STATE) - live:
        _STATE.pop(uid, None)


def _reconcile(c: Cluster, hpa: Obj, state: dict[str, Any], t: float) -> None:
    rd = c.rd("autoscaling", "horizontalpodautoscalers")
    spec, ns = hpa.get("spec") or {}, hpa["metadata"]["namespace"]
    ref = spec.get("scaleTargetRef") or {}
    st = copy.deepcopy(hpa.get("status") or {})
    conds = st.get("conditions") or []
    dep = c.find("apps", "deployments", ns, ref.get("name", "")) if ref.get("kind") == "Deployment" else None
    if dep is None:
        conds = set_condition(conds, "AbleToScale", "False", "FailedGetScale",
                              f'the HPA controller was unable to get the target\'s current scale: deployments.apps '
                              f'"{ref.get("name")}" not found')
        c.update_status(rd, hpa, {**st, "conditions": conds})
        return
    current = int((dep.get("spec") or {}).get("replicas", 1))
    lo, hi = int(spec.get("minReplicas", 1)), int(spec.get("maxReplicas", 1))
    m0 = (spec.get("metrics") or [{}])[0]
    external = m0.get("type") == "External"
    metric = (m0.get("external") if external else m0.get("pods")) or {}
    name = (metric.get("metric") or {}).get("name", "")
    target = quantity((metric.get("target") or {}).get("averageValue", "0"))
    match = parse_label_selector(selector_to_string(((dep.get("spec") or {}).get("selector")) or {}))
    pods = [p for p in c.objects("", "pods", ns) if match(p["metadata"].get("labels") or {})
            and not p["metadata"].get("deletionTimestamp") and pod_ready(p)]
    if external:  # KEDA's metrics server answers external.metrics.k8s.io (controllers/keda.py)
        from aiconform.sim.controllers import keda
        value = keda.external_value(c, ns, name, (metric.get("metric") or {}).get("selector") or {})
        got = [] if value is None else [value]
        missing = (f"the HPA was unable to compute the replica count: unable to get external metric {ns}/{name}: no "
                   "metrics returned from external metrics API")
    else:
        values = {m["name"]: float(quantity(m["value"])) for m in custom_metric_items(c)
                  if m["metric"] == name and m["namespace"] == ns}
        got = [values[p["metadata"]["name"]] for p in pods if p["metadata"]["name"] in values]
        missing = (f"the HPA was unable to compute the replica count: unable to get metric {name}: no metrics "
                   "returned from custom metrics API")
    st.update(currentReplicas=current, desiredReplicas=st.get("desiredReplicas", current))
    if not got or target <= 0:
        conds = set_condition(conds, "AbleToScale", "True", "SucceededGetScale",
                              "the HPA controller was able to get the target's current scale")
        conds = set_condition(conds, "ScalingActive", "False",
                              "FailedGetExternalMetric" if external else "FailedGetPodsMetric", missing)
        c.update_status(rd, hpa, {**st, "conditions": conds})
        return
    # Pods: the average over pods against the target; External AverageValue: the value per current replica
    average = sum(got) / (max(current, 1) if external else len(got))
    ratio = average / target
    raw = current if abs(ratio - 1.0) <= TOLERANCE else math.ceil(sum(got) / target)
    # stabilization: scale-down takes the highest recommendation of the window (upstream's stabilizeRecommendation)
    window = float(((spec.get("behavior") or {}).get("scaleDown") or {}).get("stabilizationWindowSeconds", 300))
    state["recs"] = [(ts, r) for ts, r in state["recs"] if t - ts <= window] + [(t, raw)]
    desired = raw if raw >= current else min(current, max(r for _, r in state["recs"]))
    if desired > current:
        desired = min(desired, max(current * 2, current + 4))
    limited = None
    if desired > hi:
        desired, limited = hi, ("TooManyReplicas", "the desired replica count is more than the maximum replica count")
    elif desired < lo:
        desired, limited = lo, ("TooFewReplicas", "the desired replica count is less than the minimum replica count")
    kind = "External" if external else "Pods"
    st.update(desiredReplicas=desired, currentMetrics=[{"type": kind, kind.lower(): {
        "metric": {"name": name}, "current": {"averageValue": _fmt(average)}}}])
    if desired != current:
        new = copy.deepcopy(dep)
        new["spec"]["replicas"] = desired
        c.write(c.rd("apps", "deployments"), new)
        why = (f"{'external' if external else 'pods'} metric {name} above target" if desired > current
               else "All metrics below target")
        c.record_event(hpa, "Normal", "SuccessfulRescale", f"New size: {desired}; reason: {why}",
                       "horizontal-pod-autoscaler")
        st["lastScaleTime"] = now()
        conds = set_condition(conds, "AbleToScale", "True", "SucceededRescale",
                              f"the HPA controller was able to update the target scale to {desired}")
    else:
        conds = set_condition(conds, "AbleToScale", "True", "ReadyForNewScale",
                              "recommended size matches current size")
    conds = set_condition(conds, "ScalingActive", "True", "ValidMetricFound",
                          f"the HPA was able to successfully calculate a replica count from "
                          f"{'external' if external else 'pods'} metric {name}")
    if limited:
        conds = set_condition(conds, "ScalingLimited", "True", *limited)
    else:
        conds = set_condition(conds, "ScalingLimited", "False", "DesiredWithinRange",
                              "the desired count is within the acceptable range")
    st["conditions"] = conds
    c.update_status(rd, hpa, st)
