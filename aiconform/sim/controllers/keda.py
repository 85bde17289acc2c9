"""KEDA (``keda.sh/v1alpha1`` ScaledObject) with its Prometheus scaler, as KEDA's docs and the transcripts of its
users show it. Runs while a ``keda-operator`` Deployment exists and the ScaledObject kind is served.

- For each ScaledObject the operator owns an HPA ``keda-hpa-<name>`` (labels ``app.kubernetes.io/managed-by:
  keda-operator``, ``scaledobject.keda.sh/name``): ``scaleTargetRef`` from the ScaledObject, ``minReplicas`` =
  ``minReplicaCount`` (at least 1: KEDA itself handles 0↔1), ``maxReplicas`` = ``maxReplicaCount`` (default 100),
  ``behavior`` from ``advanced.horizontalPodAutoscalerConfig``, and per trigger i an External metric ``s<i>-<type>``
  selected by ``scaledobject.keda.sh/name=<name>`` with an AverageValue target = the trigger's ``threshold``.
- ScaledObject status: ``hpaName``, ``externalMetricNames``, ``scaleTargetKind``, conditions ``Ready``
  (ScaledObjectReady), ``Active`` (ScalerActive when the metric is above ``activationThreshold``, default 0).
- ``external.metrics.k8s.io`` (KEDA's metrics server): ``namespaces/<ns>/s<i>-prometheus?labelSelector=
  scaledobject.keda.sh/name=<name>`` answers the trigger's ``query`` evaluated on the emulated series of
  ``controllers/hpa.py`` (GPU utilization per vendor exporter, cAdvisor CPU), each labelled as Prometheus stores the
  exporters' per-pod series when it scrapes the exporter's own pod (``exported_namespace``, ``exported_pod``,
  ``exported_container`` for DCGM and AMD's device-metrics-exporter; ``namespace``, ``pod``, ``container`` for cAdvisor). Queries: an instant-vector selector, optionally wrapped
  in ``sum``/``avg``/``max``/``min`` (anything else: no value, as when the query fails).
"""
from __future__ import annotations

import copy
import re
from typing import Any

from aiconform.sim import validation
from aiconform.sim.api import ApiError, Cluster
from aiconform.sim.controllers import hpa
from aiconform.sim.controllers.common import quantity, set_condition
from aiconform.sim.controllers.prometheus import _match, _parse_query

Obj = dict[str, Any]
GROUP = "keda.sh"
LABEL = "scaledobject.keda.sh/name"
_AGG = re.compile(r"^\s*(sum|avg|max|min)\s*\((.*)\)\s*$", re.S)


def _running(c: Cluster) -> bool:
    return c.registry.get(GROUP, "scaledobjects") is not None and any(
        d["metadata"]["name"] == "keda-operator" and not d["metadata"].get("deletionTimestamp")
        for d in c.objects("apps", "deployments"))


def series(c: Cluster) -> list[dict[str, Any]]:
    """Per-pod series as Prometheus would hold them after scraping the exporters and cAdvisor."""
    out = []
    for pod in hpa.gpu_pods(c):
        ns, name = pod["metadata"]["namespace"], pod["metadata"]["name"]
        ctr = ((pod.get("spec") or {}).get("containers") or [{}])[0].get("name", "")
        for s, value in hpa.pod_series(c, pod).items():
            if s in hpa.GPU_SERIES.values():  # scraped from the exporter's pod: the workload's labels are exported_*
                labels = {"exported_namespace": ns, "exported_pod": name, "exported_container": ctr,
                          "namespace": "gpu-operator" if s == "DCGM_FI_DEV_GPU_UTIL" else "kube-amd-gpu"}
            else:
                labels = {"namespace": ns, "pod": name, "container": ctr}
            out.append({"metric": {"__name__": s, **labels}, "value": value})
    return out


def evaluate(c: Cluster, query: str) -> float | None:
    m = _AGG.match(query)
    agg, sel = (m.group(1), m.group(2)) if m else (None, query)
    try:
        name, matchers = _parse_query(sel.strip())
    except ValueError:
        return None
    values = [s["value"] for s in series(c) if _match(s["metric"], name, matchers)]
    if not values:
        return None
    if agg is None:
        return values[0] if len(values) == 1 else None
    return {"sum": sum, "max": max, "min": min, "avg": lambda v: sum(v) / len(v)}[agg](values)


def _metric_name(i: int, trigger: dict[str, Any]) -> str:
    return f"s{i}-{trigger.get('type', 'unknown')}"


def _value(c: Cluster, so: Obj, i: int) -> float | None:
    trig = ((so.get("spec") or {}).get("triggers") or [])[i]
    if trig.get("type") != "prometheus":
        return None
    return evaluate(c, str((trig.get("metadata") or {}).get("query", "")))


def external_value(c: Cluster, ns: str, metric: str, selector: dict[str, Any]) -> float | None:
    if not _running(c):
        return None
    want = (selector.get("matchLabels") or {}).get(LABEL)
    for so in c.objects(GROUP, "scaledobjects", ns):
        if want and so["metadata"]["name"] != want:
            continue
        for i, trig in enumerate((so.get("spec") or {}).get("triggers") or []):
            if _metric_name(i, trig) == metric:
                return _value(c, so, i)
    return None


def external_metric_items(c: Cluster) -> list[dict[str, Any]]:
    """Entries in the shape of the scenario's ``external_metrics`` for every ScaledObject trigger with a value."""
    if not _running(c):
        return []
    out = []
    for so in c.objects(GROUP, "scaledobjects"):
        for i, trig in enumerate((so.get("spec") or {}).get("triggers") or []):
            v = _value(c, so, i)
            if v is not None:
                out.append({"metric": _metric_name(i, trig), "namespace": so["metadata"]["namespace"],
                            "labels": {LABEL: so["metadata"]["name"]}, "value": hpa._fmt(v)})
    return out


def sync(c: Cluster, mgr: Any) -> None:
    if not _running(c):
        return
    for so in c.objects(GROUP, "scaledobjects"):
        if not so["metadata"].get("deletionTimestamp"):
            _reconcile(c, so)


EXCLUDED_LABELS = "scaledobject.keda.sh/hpa-excluded-labels"


def _own_labels(so: Obj) -> dict[str, str]:
    meta = so["metadata"]
    excluded = set(str((meta.get("annotations") or {}).get(EXCLUDED_LABELS, "")).split(","))
    return {k: v for k, v in (meta.get("labels") or {}).items() if k not in excluded}


def _reconcile(c: Cluster, so: Obj) -> None:
    spec, ns, name = so.get("spec") or {}, so["metadata"]["namespace"], so["metadata"]["name"]
    ref = spec.get("scaleTargetRef") or {}
    triggers = spec.get("triggers") or []
    metrics = []
    for i, trig in enumerate(triggers):
        meta = trig.get("metadata") or {}
        metrics.append({"type": "External", "external": {
            "metric": {"name": _metric_name(i, trig), "selector": {"matchLabels": {LABEL: name}}},
            "target": {"type": "AverageValue", "averageValue": str(meta.get("threshold", "1"))}}})
    hpa_name = f"keda-hpa-{name}"
    body = {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
            # KEDA's labels, then the ScaledObject's own over them (less those its excluded-labels annotation
            # names; KEDA first labels the ScaledObject with its name), and its annotations (controllers/keda/hpa.go)
            "metadata": {"name": hpa_name, "namespace": ns,
                         "labels": {"app.kubernetes.io/managed-by": "keda-operator", "app.kubernetes.io/name": hpa_name,
                                    "app.kubernetes.io/part-of": name, LABEL: name, **_own_labels(so)},
                         **({"annotations": dict(so["metadata"]["annotations"])}
                            if so["metadata"].get("annotations") else {}),
                         "ownerReferences": [{"apiVersion": f"{GROUP}/v1alpha1", "kind": "ScaledObject", "name": name,
                                              "uid": so["metadata"]["uid"], "controller": True,
                                              "blockOwnerDeletion": True}]},
            "spec": {"scaleTargetRef": {"apiVersion": ref.get("apiVersion", "apps/v1"),
                                        "kind": ref.get("kind", "Deployment"), "name": ref.get("name", "")},
                     "minReplicas": max(1, int(spec.get("minReplicaCount", 0) or 0)),
                     "maxReplicas": int(spec.get("maxReplicaCount", 100)), "metrics": metrics}}
    behavior = (((spec.get("advanced") or {}).get("horizontalPodAutoscalerConfig") or {}).get("behavior"))
    if behavior:
        body["spec"]["behavior"] = copy.deepcopy(behavior)
    validation.apply_defaults(("autoscaling", "horizontalpodautoscalers"), body)  # compared with what is stored
    have = c.find("autoscaling", "horizontalpodautoscalers", ns, hpa_name)
    try:
        if have is None:
            c.create(c.rd("autoscaling", "horizontalpodautoscalers"), ns, body)
        elif have.get("spec") != body["spec"]:
            new = copy.deepcopy(have)
            new["spec"] = body["spec"]
            c.write(c.rd("autoscaling", "horizontalpodautoscalers"), new)
    except ApiError:
        return
    values = [_value(c, so, i) for i in range(len(triggers))]
    activation = [quantity(str((t.get("metadata") or {}).get("activationThreshold", "0"))) for t in triggers]
    active = any(v is not None and v > a for v, a in zip(values, activation, strict=True))
    conds = (so.get("status") or {}).get("conditions") or []
    conds = set_condition(conds, "Ready", "True", "ScaledObjectReady",
                          "ScaledObject is defined correctly and is ready for scaling")
    conds = set_condition(conds, "Active", "True" if active else "False", "ScalerActive" if active else
                          "ScalerNotActive", "Scaling is performed because triggers are active" if active else
                          "Scaling is not performed because triggers are not active")
    conds = set_condition(conds, "Fallback", "False", "NoFallbackFound", "No fallbacks are active on this scaled object")
    status = {**(so.get("status") or {}), "hpaName": hpa_name,
              "externalMetricNames": [_metric_name(i, t) for i, t in enumerate(triggers)],
              "scaleTargetKind": f"{ref.get('apiVersion', 'apps/v1')}.{ref.get('kind', 'Deployment')}",
              "originalReplicaCount": 1, "conditions": conds}
    if status != so.get("status"):
        c.update_status(c.rd(GROUP, "scaledobjects"), so, status)
