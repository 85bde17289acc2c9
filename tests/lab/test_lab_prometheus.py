"""The metrics pipeline of the lab for real: Prometheus v3.14.0 (module v0.314.0) and prometheus-adapter v0.12.0,
built from their Go modules and installed by the install phase (roles kube_prometheus_stack and prometheus_adapter,
the lab's stand-in charts). Prometheus discovers pods through kubernetes_sd and scrapes them at their pod IPs; the
adapter reaches it through the API server's service proxy and serves ``custom.metrics.k8s.io`` to the API server's
aggregator.

Emulated: the Prometheus Operator (the chart runs the server itself; a script writes the Prometheus object's status)
and, in this test, the DCGM exporter (a pod serving a fixed ``DCGM_FI_DEV_GPU_UTIL`` series naming a workload pod).

One lab for the file, in order: install, Prometheus answers and scrapes annotated pods, the GPU series reaches
``custom.metrics.k8s.io`` through the role's rules, the install again (nothing changed), the real HPA scales a Deployment on a pods metric the adapter
serves (a rule of the test's), ai_service_metrics Implemented, the adapter stopped (APIService not Available, the
HPA's ScalingActive False), Prometheus stopped (ai_service_metrics not Implemented), teardown (nothing left).
"""
from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import yaml
from helpers.lab import LabHandle, require_binaries, verify_on_lab
from helpers.lab import kubectl_ok as kubectl
from helpers.lab import wait_for as wait
from helpers.sim import run_playbook, run_tool
from install.cluster_objects import object_set

from aiconform import PROJECT_ROOT, versions
from aiconform.lab import component_switches, lab_components, lab_stack_vars
from aiconform.labcluster import build

pytestmark = pytest.mark.lab

INSTALL = PROJECT_ROOT / "playbooks" / "install.yml"
TEARDOWN = PROJECT_ROOT / "playbooks" / "teardown.yml"
CONTROLLERS = ["prometheus", "prometheus-adapter"]
NS = "prom-lab"
PROM = "/api/v1/namespaces/monitoring/services/kube-prometheus-stack-prometheus:9090/proxy"
CUSTOM = "/apis/custom.metrics.k8s.io/v1beta1"
# a metrics endpoint (text exposition format, as Prometheus 3 requires a Content-Type) serving METRICS
SERVER = """\
import http.server, os
BODY = os.environ["METRICS"].encode()
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
        self.send_header("Content-Length", str(len(BODY)))
        self.end_headers()
        self.wfile.write(BODY)
http.server.HTTPServer(("", 8080), H).serve_forever()
"""


def promql(lab: LabHandle, expr: str) -> list[dict[str, Any]]:
    body = json.loads(kubectl(lab, "get", "--raw", f"{PROM}/api/v1/query?query={quote(expr)}"))
    assert body["status"] == "success", body
    return body["data"]["result"]


def metrics_pod(name: str, namespace: str, metrics: str, labels: dict[str, str],
                annotations: dict[str, str] | None = None) -> list[dict[str, Any]]:
    py = versions.get("verifier_probes.images.python")
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": namespace},
          "data": {"server.py": SERVER}}
    pod = {"apiVersion": "v1", "kind": "Pod",
           "metadata": {"name": name, "namespace": namespace, "labels": labels, "annotations": annotations or {}},
           "spec": {"tolerations": [{"operator": "Exists"}],
                    "containers": [{"name": "server", "image": f"{py['registry']}/{py['repository']}:{py['tag']}",
                                    "command": ["python3", "/app/server.py"],
                                    "env": [{"name": "METRICS", "value": metrics}],
                                    "ports": [{"name": "metrics", "containerPort": 8080}],
                                    "readinessProbe": {"httpGet": {"path": "/metrics", "port": 8080},
                                                       "periodSeconds": 2},
                                    "volumeMounts": [{"name": "app", "mountPath": "/app"}]}],
                    "volumes": [{"name": "app", "configMap": {"name": name}}]}}
    return [cm, pod]


def apply(lab: LabHandle, objs: list[dict[str, Any]]) -> None:
    kubectl(lab, "apply", "-f", "-", input=json.dumps({"apiVersion": "v1", "kind": "List", "items": objs}))


def condition(lab: LabHandle, kind: str, name: str, ctype: str, namespace: str | None = None) -> str:
    obj = json.loads(kubectl(lab, *(["-n", namespace] if namespace else []), "get", kind, name, "-o", "json"))
    return next((c["status"] for c in obj.get("status", {}).get("conditions") or [] if c["type"] == ctype), "")


def verify(lab: LabHandle, tmp_path: Path, only: str, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    by_id, out, _run = verify_on_lab(lab, tmp_path, only, {"aiconform_engine_components": lab_components(CONTROLLERS),
                                                          **(extra or {})})
    return by_id | {"_out": out}


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabHandle]:
    require_binaries(stack="reference")
    handle = LabHandle(tmp_path_factory.mktemp("lab-prometheus"), stack="reference")
    yield handle
    handle.stop()


# the test's own adapter rule beside the role's: a pods metric from the kubernetes-pods job (labels namespace/pod)
LOAD_RULE = {"seriesQuery": 'lab_load{namespace!="",pod!=""}',
             "resources": {"overrides": {"namespace": {"resource": "namespace"}, "pod": {"resource": "pod"}}},
             "name": {"matches": "^lab_load$", "as": "lab_load"},
             "metricsQuery": "sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)"}
STATE: dict[str, Any] = {}


@pytest.fixture(scope="module")
def installed(lab: LabHandle, tmp_path_factory: pytest.TempPathFactory) -> LabHandle:
    work = tmp_path_factory.mktemp("lab-prometheus-charts")
    defaults = yaml.safe_load((PROJECT_ROOT / "roles" / "prometheus_adapter" / "defaults" / "main.yml").read_text())
    role_vars = {"aiconform_kubeconfig": str(lab.kubeconfig),
                 "aiconform_cluster": {"kubernetes_version": "v1.35", "reachable": True},
                 "aiconform_install_wait_timeout": 180, **component_switches(False),
                 **lab_stack_vars(CONTROLLERS, work),
                 "prometheus_adapter_custom_rules": [*defaults["prometheus_adapter_custom_rules"], LOAD_RULE]}
    assert role_vars["kube_prometheus_stack_enabled"] and role_vars["prometheus_adapter_enabled"]
    STATE.update(role_vars=role_vars, initial=object_set(lab.kubeconfig))
    rc, out = run_playbook(INSTALL, lab, role_vars, timeout=900)  # type: ignore[arg-type]
    assert rc == 0, out[-4000:] + lab.log("pods")[-3000:]
    return lab


def test_the_install_runs_the_real_prometheus_and_adapter(installed: LabHandle) -> None:
    log = installed.log("pods")
    for name in CONTROLLERS:  # the pods of the charts' images run the binaries `aiconform lab build` made
        assert str(build.program_of(name).binary) in log, log[-3000:]
    info = json.loads(kubectl(installed, "get", "--raw", f"{PROM}/api/v1/status/buildinfo"))
    assert info["data"]["version"] == "3.14.0", info  # the real server's own build information
    # the operator's emulation wrote the Prometheus object's status from the server's Deployment
    assert condition(installed, "prometheus", "kube-prometheus-stack-prometheus", "Available",
                     "monitoring") == "True"
    assert condition(installed, "apiservice", "v1beta1.custom.metrics.k8s.io", "Available") == "True"


def test_prometheus_scrapes_annotated_pods(installed: LabHandle) -> None:
    kubectl(installed, "create", "namespace", NS)
    apply(installed, metrics_pod("metrics-probe", NS, "lab_probe_value 42\n", {"app": "metrics-probe"},
                                 {"prometheus.io/scrape": "true", "prometheus.io/port": "8080"}))
    up = wait("Prometheus answers `up` with a target up", lambda: [r for r in promql(installed, "up")
                                                                   if r["value"][1] == "1"], 60)
    assert all(r["metric"].get("job") for r in up), up

    def scraped() -> list[dict[str, Any]]:
        return promql(installed, f'lab_probe_value{{namespace="{NS}"}}')
    result = wait("the annotated pod's series in Prometheus", scraped, 120)
    assert result[0]["value"][1] == "42", result
    assert result[0]["metric"]["pod"] == "metrics-probe" and result[0]["metric"]["job"] == "kubernetes-pods", result
    assert promql(installed, f'up{{job="kubernetes-pods",namespace="{NS}"}}')[0]["value"][1] == "1"
    # a pod without the annotation is not a target
    apply(installed, metrics_pod("not-annotated", NS, "lab_probe_value 7\n", {"app": "not-annotated"}))
    wait("the unannotated pod Ready", lambda: condition(installed, "pod", "not-annotated", "Ready", NS) == "True", 60)
    time.sleep(12)  # two scrape intervals (5 s)
    assert not promql(installed, 'lab_probe_value{pod="not-annotated"}')


def test_the_gpu_metric_reaches_custom_metrics_through_the_roles_rules(installed: LabHandle) -> None:
    # the lab's emulated GPU Operator exporter (DaemonSet gpu-operator/nvidia-dcgm-exporter, applied at lab start)
    # labels a GPU with the pod that holds it; a pod of the DCGM image keeps its GPU busy (dcgmproftester12)
    dcgm = versions.get("gpu_operator.images.dcgm")
    apply(installed, [{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "gpu-holder", "namespace": NS},
                       "spec": {"tolerations": [{"operator": "Exists"}], "restartPolicy": "Always",
                                "containers": [{"name": "load",
                                                "image": f"{dcgm['registry']}/{dcgm['repository']}:{dcgm['tag']}",
                                                "command": ["/usr/bin/dcgmproftester12"],
                                                "args": ["--no-dcgm-validation", "-t", "1004", "-d", "900"],
                                                "resources": {"limits": {"nvidia.com/gpu": "1"}}}]}}])
    result = wait("the holder's DCGM series in Prometheus",
                  lambda: promql(installed, 'DCGM_FI_DEV_GPU_UTIL{exported_pod="gpu-holder"} > 0'), 180, 5)
    labels = result[0]["metric"]
    # as a ServiceMonitor scrape without honorLabels: the exporter's pod/namespace labels kept as exported_*
    assert labels["exported_namespace"] == NS and labels["namespace"] == "gpu-operator", labels
    assert labels["pod"].startswith("nvidia-dcgm-exporter-"), labels
    assert labels["job"] == "nvidia-dcgm-exporter" and labels["endpoint"] == "gpu-metrics", labels

    def served() -> dict[str, Any] | None:
        proc = run_tool(installed, "kubectl", "get", "--raw",  # type: ignore[arg-type]
                        f"{CUSTOM}/namespaces/{NS}/pods/*/workload_gpu_utilization")
        return json.loads(proc.stdout) if proc.returncode == 0 and json.loads(proc.stdout).get("items") else None
    body = wait("workload_gpu_utilization of pod gpu-holder in custom.metrics.k8s.io", served, 120, 5)
    item = body["items"][0]
    assert item["describedObject"]["name"] == "gpu-holder" and item["metricName"] == "workload_gpu_utilization"
    assert item["value"] == "100", item
    names = {r["name"] for r in json.loads(kubectl(installed, "get", "--raw", CUSTOM))["resources"]}
    assert "pods/workload_gpu_utilization" in names, names
    kubectl(installed, "-n", NS, "delete", "pod", "gpu-holder", "--wait=true", timeout=120)  # frees its GPU


def test_the_install_again_changes_nothing(installed: LabHandle) -> None:
    rc, out = run_playbook(INSTALL, installed, STATE["role_vars"], timeout=900)  # type: ignore[arg-type]
    assert rc == 0, out[-4000:]
    changed = [line for line in out.splitlines() if line.startswith("changed:")]
    assert not changed, changed


def test_the_real_hpa_scales_on_a_pods_metric_served_by_the_adapter(installed: LabHandle) -> None:
    py = versions.get("verifier_probes.images.python")
    labels = {"app": "loaded"}
    apply(installed, [
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "loaded", "namespace": NS},
         "data": {"server.py": SERVER}},
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "loaded", "namespace": NS},
         "spec": {"replicas": 1, "selector": {"matchLabels": labels},
                  "template": {"metadata": {"labels": labels, "annotations": {"prometheus.io/scrape": "true",
                                                                                "prometheus.io/port": "8080"}},
                               "spec": {"tolerations": [{"operator": "Exists"}],
                                        "containers": [{"name": "server",
                                                        "image": f"{py['registry']}/{py['repository']}:{py['tag']}",
                                                        "command": ["python3", "/app/server.py"],
                                                        "env": [{"name": "METRICS", "value": "lab_load 100\n"}],
                                                        "volumeMounts": [{"name": "app", "mountPath": "/app"}]}],
                                        "volumes": [{"name": "app", "configMap": {"name": "loaded"}}]}}}},
        {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "loaded", "namespace": NS},
         "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "loaded"},
                  "minReplicas": 1, "maxReplicas": 3,
                  "metrics": [{"type": "Pods", "pods": {"metric": {"name": "lab_load"},
                                                        "target": {"type": "AverageValue", "averageValue": "50"}}}]}}])

    def scaled() -> dict[str, Any] | None:
        hpa = json.loads(kubectl(installed, "-n", NS, "get", "hpa", "loaded", "-o", "json"))
        return hpa if int(hpa["status"].get("desiredReplicas") or 0) > 1 else None
    hpa = wait("the HPA scaling Deployment loaded on lab_load (100 per pod, target 50)", scaled, 180, 5)
    conds = {c["type"]: c for c in hpa["status"]["conditions"]}
    assert conds["ScalingActive"]["status"] == "True", conds  # ValidMetricFound: the adapter answered
    current = hpa["status"]["currentMetrics"][0]["pods"]
    assert current["metric"]["name"] == "lab_load" and current["current"]["averageValue"] == "100", current
    STATE["hpa"] = True


def test_ai_service_metrics_is_implemented_by_the_real_prometheus(installed: LabHandle, tmp_path: Path) -> None:
    by_id = verify(installed, tmp_path, "ai_service_metrics")
    r = by_id["ai_service_metrics"]
    assert r["status"] == "Implemented", "\n".join((json.dumps(r), by_id["_out"][-3000:]))
    assert "= 10" in json.dumps(r), r


def test_pod_autoscaling_is_implemented_by_the_real_hpa_adapter_and_prometheus(installed: LabHandle,
                                                                            tmp_path: Path) -> None:
    by_id = verify(installed, tmp_path, "pod_autoscaling")
    r = by_id["pod_autoscaling"]
    assert r["status"] == "Implemented", "\n".join((json.dumps(r), by_id["_out"][-3000:]))
    checks = {c["name"]: c["outcome"] for c in r["checks"]}
    assert set(checks.values()) == {"pass"}, checks  # the metric stayed flat under CPU-only load and rose with GPU load


def test_adapter_stopped_makes_the_apiservice_unavailable(installed: LabHandle) -> None:
    kubectl(installed, "-n", "monitoring", "scale", "deployment", "prometheus-adapter", "--replicas=0")
    wait("APIService v1beta1.custom.metrics.k8s.io not Available",
         lambda: condition(installed, "apiservice", "v1beta1.custom.metrics.k8s.io", "Available") == "False", 120)
    proc = run_tool(installed, "kubectl", "get", "--raw", CUSTOM)  # type: ignore[arg-type]
    assert proc.returncode != 0, proc.stdout
    if STATE.get("hpa"):  # the real HPA loses its metric
        wait("the HPA's ScalingActive False", lambda: any(
            c["type"] == "ScalingActive" and c["status"] == "False" for c in json.loads(kubectl(
                installed, "-n", NS, "get", "hpa", "loaded", "-o", "json"))["status"]["conditions"]), 120, 5)
    STATE["adapter_stopped"] = True


def test_pod_autoscaling_fails_with_the_adapter_stopped(installed: LabHandle, tmp_path: Path) -> None:
    assert STATE.get("adapter_stopped"), "the previous test did not stop the adapter"
    by_id = verify(installed, tmp_path, "pod_autoscaling")
    r = by_id["pod_autoscaling"]
    assert r["status"] == "Not Implemented", "\n".join((json.dumps(r), by_id["_out"][-3000:]))
    assert "v1beta1.custom.metrics.k8s.io" in " ".join(r["reasons"]), r["reasons"]
    kubectl(installed, "-n", "monitoring", "scale", "deployment", "prometheus-adapter", "--replicas=1")
    wait("APIService v1beta1.custom.metrics.k8s.io Available again",
         lambda: condition(installed, "apiservice", "v1beta1.custom.metrics.k8s.io", "Available") == "True", 120)


def test_ai_service_metrics_fails_with_prometheus_stopped(installed: LabHandle, tmp_path: Path) -> None:
    kubectl(installed, "-n", "monitoring", "scale", "deployment", "prometheus-kube-prometheus-stack-prometheus",
            "--replicas=0")
    wait("the Prometheus pod gone", lambda: "prometheus-kube-prometheus-stack-prometheus" not in kubectl(
        installed, "-n", "monitoring", "get", "pods", "-o", "name"), 60)
    wait("the Prometheus object not Available (operator emulation)", lambda: condition(
        installed, "prometheus", "kube-prometheus-stack-prometheus", "Available", "monitoring") == "False", 60)
    by_id = verify(installed, tmp_path, "ai_service_metrics", {"aiconform_ai_service_metrics_collection_timeout": 20})
    r = by_id["ai_service_metrics"]
    assert r["status"] == "Not Implemented", "\n".join((json.dumps(r), by_id["_out"][-3000:]))
    assert "returned no series" in json.dumps(r), r


def test_teardown_leaves_nothing_behind(installed: LabHandle) -> None:
    kubectl(installed, "delete", "namespace", NS, "--wait=true", timeout=180)
    rc, out = run_playbook(TEARDOWN, installed, STATE["role_vars"], timeout=900)  # type: ignore[arg-type]
    assert rc == 0, out[-4000:]

    def same() -> bool:
        return object_set(installed.kubeconfig) == STATE["initial"]
    try:
        wait("the cluster as the install found it", same, 90, 5)
    except AssertionError:
        after = object_set(installed.kubeconfig)
        raise AssertionError({"left": sorted(after - STATE["initial"]),
                              "removed": sorted(STATE["initial"] - after)}) from None
