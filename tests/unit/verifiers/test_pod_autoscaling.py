"""pod_autoscaling judge, table-driven on facts built from real HPA outputs.

Sources (parsed when ../shared is present, else skipped):
- Viettel v1.35 pod_autoscaling.md: `kubectl describe hpa` conditions (AbleToScale/SucceededRescale,
  ScalingActive/ValidMetricFound, ScalingLimited/DesiredWithinRange), SuccessfulRescale events, the custom
  metrics API answering `dcgm_fi_dev_gpu_util` = 100 for a busy GPU pod.
- kOps v1.35 PodAutoscaling transcript: `.status.conditions` JSON with ScalingActive=False FailedGetPodsMetric.
"""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from aiconform.results import Status
from aiconform.verifiers.pod_autoscaling import judge

EVIDENCE = Path(__file__).resolve().parents[3].parent / "shared" / "fixtures" / "evidence" / "cncf-k8s-ai-conformance"
VIETTEL = EVIDENCE / "v1.35/viettel-ai-platform/pod_autoscaling.md"
KOPS = EVIDENCE / "v1.35/kops/tests/Test_SchedulingOrchestration_PodAutoscaling/output.md"
_COND = re.compile(r"^\s+(AbleToScale|ScalingActive|ScalingLimited)\s+(True|False)\s+(\w+)\s+(.*)$")


def _need(path: Path) -> str:
    if not path.is_file():
        pytest.skip(f"{path} absent")
    return path.read_text()


def viettel_conditions() -> list[dict[str, str]]:
    return [{"type": m[1], "status": m[2], "reason": m[3], "message": m[4].strip()}
            for m in (_COND.match(ln) for ln in _need(VIETTEL).splitlines()) if m]


def viettel_metric_values() -> list[dict[str, str]]:
    return [{"pod": m[1], "value": m[2]} for m in re.finditer(r"^(gpu-inference-\S+) -> (\d+)$", _need(VIETTEL), re.M)]


def kops_failed_conditions() -> list[dict[str, str]]:
    line = next(ln for ln in _need(KOPS).splitlines() if ln.startswith('[{"lastTransitionTime"'))
    return [{k: c[k] for k in ("type", "status", "reason", "message")} for c in json.loads(line)]


def _apis(**over: Any) -> dict[str, Any]:
    a = {"metrics": {"name": "v1beta1.metrics.k8s.io", "exists": True, "available": True},
         "custom_metrics": {"name": "v1beta1.custom.metrics.k8s.io", "exists": True, "available": True},
         "external_metrics": {"name": "v1beta1.external.metrics.k8s.io", "exists": False, "available": False}}
    a.update(over)
    return a


def _viettel_busy() -> float:
    return max(float(v["value"]) for v in viettel_metric_values())


def _control(max_value: float | None = 0.0, desired_max: int = 1) -> dict[str, Any]:
    return {"window_s": 60.0, "samples": 0 if max_value is None else 30, "max_value": max_value,
            "desired_max": desired_max, "min_replicas": 1, "target": 50.0, "errors": []}


def _base() -> dict[str, Any]:
    conds = viettel_conditions()
    return {
        "options": {"metric_name": "dcgm_fi_dev_gpu_util", "min_replicas": 1, "max_replicas": 4,
                    "accelerator_resource": "auto", "stabilization_window": 30},
        "apiservices": _apis(), "metric_listed": True, "accelerator_nodes": ["gpu-node-1", "gpu-node-2"],
        "keda_versions": [],
        "source": {"name": "custom", "source": "detected", "custom": True, "external": False, "keda_served": False},
        "accelerator": {"resource": "nvidia.com/gpu", "vendor": "nvidia", "nodes": ["gpu-node-1", "gpu-node-2"],
                        "source": "detected"},
        "control": _control(),
        "baseline": {"pods": [{"name": "gpu-inference-5679dcc845-rthh8", "phase": "Running", "node": "gpu-node-1"}]},
        "scale_up": {"scaled": True, "on_accelerator_nodes": True, "duration_s": 38.0,
                     "pods": [{"name": p, "phase": "Running", "node": "gpu-node-1"} for p in (
                         "gpu-inference-5679dcc845-c94dh", "gpu-inference-5679dcc845-rthh8")],
                     "hpa": {"desiredReplicas": 4, "conditions": conds}, "metric_values": viettel_metric_values(),
                     "max_value": _viettel_busy()},
        "scale_down": {"scaled": True, "after_s": 61.0, "target_replicas": 1, "stabilization_window": 30,
                       "hpa": {"desiredReplicas": 1, "conditions": conds}},
    }


def _set(**changes: Any):
    def build() -> dict[str, Any]:
        f = _base()
        for dotted, v in changes.items():
            node = f
            *path, last = dotted.split("__")
            for p in path:
                node = node[p]
            node[last] = v
        return f
    return build


def _kops_metric_missing() -> dict[str, Any]:
    f = _base()
    f["scale_up"] = {"scaled": False, "duration_s": 300.0, "timeout": "timed out after 300s waiting for the HPA to "
                     "scale vllm-qwen25-500m to >= 2 Running replicas", "hpa": {"conditions": kops_failed_conditions()}}
    f["scale_down"] = None
    return f


NO_PATH = {"name": None, "source": "detected", "custom": False, "external": False, "keda_served": False,
           "external_service": ""}
KEDA_APIS = {"name": "v1beta1.external.metrics.k8s.io", "exists": True, "available": True,
             "service": "keda/keda-operator-metrics-apiserver"}


def _keda() -> dict[str, Any]:
    """The same Viettel run as if KEDA drove it: KEDA's HPA, the Prometheus scaler's value per pod average."""
    f = _base()
    f["apiservices"] = _apis(custom_metrics={"name": "v1beta1.custom.metrics.k8s.io", "exists": False,
                                             "available": False}, metrics={"name": "v1beta1.metrics.k8s.io",
                                                                           "exists": False, "available": False},
                             external_metrics=KEDA_APIS)
    f["metric_listed"] = None
    f["keda_versions"] = ["v1alpha1"]
    f["source"] = {"name": "external", "source": "detected", "custom": False, "external": True, "keda_served": True,
                   "external_service": KEDA_APIS["service"]}
    f["prometheus"] = {"address": "http://prometheus-operated.monitoring.svc:9090", "source": "Service"}
    f["query"] = 'avg(DCGM_FI_DEV_GPU_UTIL{exported_namespace="ns",exported_pod=~"aiconform-gpu-workload-.+"})'
    f["hpa_name"] = {"name": "keda-hpa-aiconform-gpu-workload", "owner": "keda", "external_metrics": ["s0-prometheus"]}
    f["scale_up"]["metric_values"] = [{"metric": "s0-prometheus", "value": str(int(_viettel_busy()))}]
    return f


def _not_keda() -> dict[str, Any]:
    f = _keda()
    f["keda_versions"] = []
    f["apiservices"]["external_metrics"] = {**KEDA_APIS, "service": "monitoring/prometheus-adapter"}
    f["source"] = {**NO_PATH, "external_service": "monitoring/prometheus-adapter"}
    return f


def _two_vendors() -> dict[str, Any]:
    f = _base()
    f["accelerator"] = {"resource": None, "vendor": None, "nodes": [], "source": "detected",
                        "candidates": {"nvidia.com/gpu": ["gpu-node-1"], "amd.com/gpu": ["mi300x-1"]}}
    f["accelerator_nodes"] = []
    return f


CASES = [
    ("viettel-scaled-1-to-4-and-back", _base, Status.IMPLEMENTED, "up under accelerator load (not under CPU-only load) and back to 1",
     {"ScaleUpOnAcceleratorMetric": "pass", "ScaleDownAfterStabilization": "pass"}),
    ("kops-metric-not-served", _kops_metric_missing, Status.NOT_IMPLEMENTED, "FailedGetPodsMetric",
     {"ScaleUpOnAcceleratorMetric": "fail", "ScaleDownAfterStabilization": "skip"}),
    ("no-custom-metrics-adapter-no-keda", _set(apiservices=_apis(custom_metrics={
        "name": "v1beta1.custom.metrics.k8s.io", "exists": False, "available": False}), source=NO_PATH),
     Status.NOT_IMPLEMENTED, "v1beta1.custom.metrics.k8s.io not registered; external metrics (KEDA): "
     "APIService v1beta1.external.metrics.k8s.io not registered", {"MetricsAPIsAvailable": "fail", "MetricFollowsAcceleratorLoad": "skip"}),
    # metrics-server is not needed for an HPA on a custom or external metric: recorded, not required
    ("metrics-server-unavailable-is-not-required", _set(apiservices=_apis(metrics={
        "name": "v1beta1.metrics.k8s.io", "exists": True, "available": False, "reason": "FailedDiscoveryCheck",
        "message": "failing or missing response from https://10.96.0.12:443/apis/metrics.k8s.io/v1beta1"})),
     Status.IMPLEMENTED, "FailedDiscoveryCheck: failing or missing response", {"MetricsAPIsAvailable": "pass"}),
    ("metric-not-listed", _set(metric_listed=False, source=NO_PATH), Status.NOT_IMPLEMENTED,
     "does not serve pods/dcgm_fi_dev_gpu_util", {}),
    # an idle cluster: the adapter lists pods/<metric> only once a pod holds a GPU (DCGM labels it then), as the lab's
    # real prometheus-adapter showed; the probe waits for it after its workload runs
    ("metric-listed-once-the-workload-held-its-gpus", _set(metric_listed=False, metric_served={
        "seconds": 12.5, "values": [{"pod": "gpu-inference-5679dcc845-rthh8", "value": "0"}]}),
     Status.IMPLEMENTED, "served once the workload held its accelerators (12.5s", {"MetricsAPIsAvailable": "pass"}),
    ("metric-never-served-for-the-workload", _set(metric_listed=False, metric_served={
        "timeout": "timed out after 300s waiting for custom.metrics.k8s.io to serve pods/dcgm_fi_dev_gpu_util"},
        scale_up=None, scale_down=None, control=None),
     Status.NOT_IMPLEMENTED, "never served for the workload's pods while they held their accelerators",
     {"MetricsAPIsAvailable": "fail"}),
    ("scaled-onto-cpu-node", _set(scale_up__on_accelerator_nodes=False), Status.NOT_IMPLEMENTED,
     "not every pod runs on an accelerator node", {"ScaleUpOnAcceleratorMetric": "fail"}),
    ("never-scaled-down", _set(scale_down={"scaled": False, "after_s": 300.0, "timeout": "timed out after 300s",
                                           "hpa": {"conditions": []}}),
     Status.NOT_IMPLEMENTED, "no scale-down", {"ScaleDownAfterStabilization": "fail"}),
    ("no-accelerator-node", _set(accelerator_nodes=[], accelerator={"resource": None, "vendor": None, "nodes": [],
                                                                    "source": "detected"}),
     Status.UNKNOWN, "no node advertises allocatable nvidia.com/gpu or amd.com/gpu", {}),
    ("workload-never-ran", _set(baseline={"timeout": "timed out after 300s waiting for 1 GPU workload pod(s) "
                                                     "Running: 0/4 nodes are available: 4 Insufficient nvidia.com/gpu."}),
     Status.UNKNOWN, "Insufficient nvidia.com/gpu", {}),
    # the metric's origin: a "GPU" metric that rises under CPU-only load (Viettel's busy value, GPU idle) fails
    ("metric-follows-cpu", _set(control=_control(max_value=100.0, desired_max=2)), Status.NOT_IMPLEMENTED,
     "it follows CPU load, not the accelerator", {"MetricFollowsAcceleratorLoad": "fail",
                                                  "ScaleUpOnAcceleratorMetric": "pass"}),
    ("hpa-scaled-under-cpu-only", _set(control=_control(max_value=40.0, desired_max=2)), Status.NOT_IMPLEMENTED,
     "the HPA wanted 2 replica(s)", {"MetricFollowsAcceleratorLoad": "fail"}),
    ("metric-did-not-rise", _set(control=_control(max_value=50.0), scale_up__max_value=50.0),
     Status.NOT_IMPLEMENTED, "did not rise with accelerator load", {"MetricFollowsAcceleratorLoad": "fail"}),
    ("control-unreadable-but-scaled-is-unknown", _set(control=_control(max_value=None)), Status.UNKNOWN,
     "could not tell where the metric comes from", {"MetricFollowsAcceleratorLoad": "skip"}),
    ("keda-external-without-metrics-server", _keda, Status.IMPLEMENTED, "KEDA external metric (avg(DCGM_FI_DEV_GPU_UTIL",
     {"MetricsAPIsAvailable": "pass", "MetricFollowsAcceleratorLoad": "pass"}),
    ("keda-never-made-its-hpa", lambda: {**_keda(), "hpa_name": {"name": None, "owner": "keda", "timeout":
                                                                  "timed out after 300s waiting for KEDA"}},
     Status.NOT_IMPLEMENTED, "KEDA never created the HPA", {}),
    ("keda-without-prometheus-address", lambda: {**_keda(), "prometheus": {"address": "", "looked_for": "a Service "
                                                                           "prometheus-operated in any namespace"}},
     Status.UNKNOWN, "set aiconform_pod_autoscaling_prometheus_address", {}),
    ("external-metrics-not-from-keda", _not_keda, Status.UNKNOWN, "monitoring/prometheus-adapter, not KEDA", {}),
    ("nvidia-and-amd-nodes", _two_vendors, Status.UNKNOWN, "set aiconform_pod_autoscaling_accelerator_resource", {}),
]


@pytest.mark.parametrize(("build", "status", "fragment", "checks"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_judge(build, status, fragment, checks):
    verdict = judge(build())
    assert verdict.status is status, verdict.reasons
    text = " ".join(verdict.reasons) + " " + " ".join(c.reason for c in verdict.checks)
    assert fragment in text, text
    got = {c.name: c.outcome.value for c in verdict.checks}
    for name, outcome in checks.items():
        assert got[name] == outcome, got


def test_busy_gpu_metric_value_is_shown():
    up = next(c for c in judge(_base()).checks if c.name == "ScaleUpOnAcceleratorMetric")
    assert "gpu-inference-5679dcc845-rthh8=100" in up.reason


@pytest.mark.parametrize(("custom", "listed", "external", "keda", "wanted", "expected"), [
    (True, True, True, True, "auto", "custom"),        # both usable: the adapter's pod metric
    (False, None, True, True, "auto", "external"),     # KEDA only (no adapter, no metrics-server)
    (True, False, True, True, "auto", "external"),     # adapter without the metric: KEDA
    (True, True, True, True, "external", "external"),  # the inventory chooses
    (True, True, False, False, "external", None),      # chosen but absent: judged Not Implemented
    (False, None, True, False, "auto", None),          # external metrics, but not KEDA's: judged unknown
])
def test_metrics_source_choice(custom, listed, external, keda, wanted, expected):
    from aiconform.verifiers.pod_autoscaling.fetch import _source
    facts = {"apiservices": _apis(custom_metrics={"name": "c", "exists": custom, "available": custom},
                                  external_metrics={"name": "e", "exists": external, "available": external,
                                                    "service": "keda/keda-operator-metrics-apiserver"}),
             "metric_listed": listed, "keda_versions": ["v1alpha1"] if keda else []}
    assert _source(facts, wanted)["name"] == expected


def _source_facts(custom: bool, listed: bool, keda: bool) -> dict[str, Any]:
    return {"apiservices": {"custom_metrics": {"available": custom},
                            "external_metrics": {"available": keda, "service": "keda/keda-operator-metrics-apiserver"}},
            "metric_listed": listed if custom else None, "keda_versions": ["v1alpha1"] if keda else []}


@pytest.mark.parametrize(("custom", "listed", "keda", "chosen", "later"), [
    (True, True, False, "custom", False),
    (True, False, False, "custom", True),  # listed once the workload holds GPUs: tried then (fetch waits)
    (True, False, True, "external", False),  # KEDA ready now beats a metric that is not listed yet
    (False, None, False, None, False),
])
def test_the_metrics_path_is_chosen_from_what_the_cluster_serves(custom, listed, keda, chosen, later):
    from aiconform.verifiers.pod_autoscaling.fetch import _source
    src = _source(_source_facts(custom, bool(listed), keda), "auto")
    assert src["name"] == chosen and bool(src.get("listed_later")) is later
