"""The resource-metrics pipeline of the lab, all real but the numbers: metrics-server v0.8.1 (built from its Go
module) installed by aiconform's install phase from the stand-in of its chart, scraping each kwok node's
``/metrics/resource``, served through the aggregated ``metrics.k8s.io`` API to ``kubectl top`` and to the real
kube-controller-manager's HPA controller.

Emulated: the usage numbers. kwok computes them from its ClusterResourceUsage (a pod's
``kwok.x-k8s.io/usage-cpu`` annotation, else 1m CPU per container); no cgroup measures anything.
"""
from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from helpers.lab import LabHandle, require_binaries
from helpers.lab import kubectl_ok as kubectl
from helpers.lab import wait_for as wait
from helpers.sim import run_playbook, run_tool

from aiconform import PROJECT_ROOT, versions

pytestmark = pytest.mark.lab

INSTALL = PROJECT_ROOT / "playbooks" / "install.yml"
CHART = PROJECT_ROOT / "tests" / "charts" / "metrics-server"
NS = "hpa-lab"


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabHandle]:
    """A lab whose pod runner runs the reference stack's controllers (metrics-server among them)."""
    require_binaries(stack="reference")
    handle = LabHandle(tmp_path_factory.mktemp("lab"), stack="reference")
    yield handle
    handle.stop()


@pytest.fixture(scope="module")
def installed(lab: LabHandle) -> LabHandle:
    """metrics-server through the install role (tag metrics_server) with the stand-in chart."""
    rc, out = run_playbook(INSTALL, lab, {"aiconform_kubeconfig": str(lab.kubeconfig),
                                          "aiconform_cluster": {"kubernetes_version": "v1.35", "reachable": True},
                                          "metrics_server_chart_path": str(CHART),
                                          "aiconform_install_wait_timeout": 120},
                           tags=["metrics_server"], timeout=300)
    assert rc == 0, out[-4000:]
    return lab


def test_the_pod_is_the_real_metrics_server(installed: LabHandle) -> None:
    pods = json.loads(kubectl(installed, "-n", "kube-system", "get", "pods", "-l",
                              "app.kubernetes.io/name=metrics-server", "-o", "json"))["items"]
    assert len(pods) == 1, pods
    img = versions.get("metrics_server.images.metrics_server")
    assert pods[0]["spec"]["containers"][0]["image"] == f"{img['registry']}/{img['repository']}:{img['tag']}"
    logs = kubectl(installed, "-n", "kube-system", "logs", pods[0]["metadata"]["name"])
    # the real server's own start-up lines (k8s.io/apiserver), not a stand-in's
    assert "Serving securely on" in logs, logs[-2000:]


def test_kubectl_top_nodes_and_pods(installed: LabHandle) -> None:
    def top_nodes() -> list[str]:
        proc = run_tool(installed, "kubectl", "top", "nodes", "--no-headers")
        return proc.stdout.splitlines() if proc.returncode == 0 else []

    lines = wait("kubectl top nodes", top_nodes, 120)
    names = {ln.split()[0] for ln in lines}
    nodes = {n["metadata"]["name"] for n in json.loads(kubectl(installed, "get", "nodes", "-o", "json"))["items"]}
    assert names == nodes, (names, nodes)

    def top_pod() -> str:
        proc = run_tool(installed, "kubectl", "top", "pods", "-n", "kube-system", "--no-headers")
        return proc.stdout if proc.returncode == 0 and "metrics-server" in proc.stdout else ""

    out = wait("kubectl top pods", top_pod, 90)
    # kwok's usage-from-annotation default: 1m CPU and 1Mi memory per container (the CPU is a rate of kwok's
    # cumulative counter over metrics-server's two last scrapes: 1m or 2m)
    row = next(ln.split() for ln in out.splitlines() if ln.startswith("metrics-server"))
    assert row[1] in ("1m", "2m") and row[2] == "1Mi", row


def deployment(name: str, usage_cpu: str | None) -> dict[str, Any]:
    annotations = {"kwok.x-k8s.io/usage-cpu": usage_cpu} if usage_cpu else {}
    pause = versions.get("verifier_probes.images.pause")
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": NS},
            "spec": {"replicas": 1, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}, "annotations": annotations},
                                  "spec": {"containers": [{
                                      "name": "app", "image": f"{pause['registry']}/{pause['repository']}:{pause['tag']}",
                                      "resources": {"requests": {"cpu": "100m"}}}]}}}}


def hpa(name: str) -> dict[str, Any]:
    return {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": name, "namespace": NS},
            "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
                     "minReplicas": 1, "maxReplicas": 3,
                     "metrics": [{"type": "Resource", "resource": {
                         "name": "cpu", "target": {"type": "Utilization", "averageUtilization": 50}}}]}}


def test_the_real_hpa_scales_on_cpu_and_not_without_load(installed: LabHandle) -> None:
    kubectl(installed, "create", "namespace", NS)
    # busy: 400m used of 100m requested (400% vs a 50% target) → 3 replicas (max); idle: 1m (1%) → stays at 1
    docs = [deployment("busy", "400m"), hpa("busy"), deployment("idle", None), hpa("idle")]
    kubectl(installed, "apply", "-f", "-", input="\n---\n".join(json.dumps(d) for d in docs))

    def status(name: str) -> dict[str, Any]:
        return json.loads(kubectl(installed, "-n", NS, "get", "hpa", name, "-o", "json")).get("status", {})

    def scaled() -> dict[str, Any] | None:
        st = status("busy")
        return st if st.get("desiredReplicas") == 3 else None

    st = wait("HPA busy scales to 3", scaled, 180)
    cpu = st["currentMetrics"][0]["resource"]["current"]
    assert cpu["averageUtilization"] >= 300, st  # computed from metrics-server's numbers, not a default
    wait("Deployment busy has 3 replicas", lambda: json.loads(kubectl(
        installed, "-n", NS, "get", "deploy", "busy", "-o", "json"))["status"].get("readyReplicas") == 3, 60)

    # The control got metrics too (so "not scaled" is a decision, not missing data) and stayed at 1.
    idle = wait("HPA idle has a CPU reading", lambda: (s := status("idle")).get("currentMetrics") and s, 60)
    assert idle["currentMetrics"][0]["resource"]["current"]["averageUtilization"] <= 5, idle
    assert idle["desiredReplicas"] == 1 and idle["currentReplicas"] == 1, idle
    events = kubectl(installed, "-n", NS, "get", "events", "--field-selector",
                     "involvedObject.kind=HorizontalPodAutoscaler", "-o", "json")
    reasons = {(e["involvedObject"]["name"], e["reason"]) for e in json.loads(events)["items"]}
    assert ("busy", "SuccessfulRescale") in reasons, reasons
    assert ("idle", "SuccessfulRescale") not in reasons, reasons


def test_without_metrics_server_the_hpa_cannot_decide(installed: LabHandle) -> None:
    """The pipeline broken: metrics-server stopped → the aggregated API is unavailable and the real HPA reports it
    cannot get the resource metric (so the scaling above came through metrics-server, nothing else)."""
    kubectl(installed, "-n", "kube-system", "scale", "deployment", "metrics-server", "--replicas=0")

    def unavailable() -> bool:
        svc = json.loads(kubectl(installed, "get", "apiservice", "v1beta1.metrics.k8s.io", "-o", "json"))
        return any(c["type"] == "Available" and c["status"] == "False" for c in svc["status"].get("conditions", []))

    wait("APIService v1beta1.metrics.k8s.io unavailable", unavailable, 90)

    def failing() -> dict[str, Any] | None:
        st = json.loads(kubectl(installed, "-n", NS, "get", "hpa", "idle", "-o", "json")).get("status", {})
        cond = {c["type"]: c for c in st.get("conditions", [])}.get("ScalingActive", {})
        return cond if cond.get("status") == "False" else None

    cond = wait("HPA idle reports it cannot get metrics", failing, 90)
    assert cond["reason"] == "FailedGetResourceMetric", cond
    assert proc_fails(installed, "top", "nodes")


def proc_fails(lab: LabHandle, *args: str) -> bool:
    proc = run_tool(lab, "kubectl", *args)
    return proc.returncode != 0 and "Metrics API not available" in proc.stderr
