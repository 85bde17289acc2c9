"""KEDA for real (stack ``keda``): the operator and metrics API server v2.20.2 built from
github.com/kedacore/keda/v2, the real Prometheus its Prometheus scaler queries (installed by the kube_prometheus_stack
role, no prometheus-adapter: no custom.metrics.k8s.io), the real HPA controller. pod_autoscaling detects KEDA (external
metrics), creates a ScaledObject on the workload's DCGM utilization, and KEDA's own HPA scales it.

One lab for the file, in order: KEDA runs (its cert rotation wrote the Secret and the APIService's caBundle; the
aggregator says external.metrics.k8s.io is Available), pod_autoscaling Implemented through KEDA, a query with no
series Not Implemented (KEDA's value stays 0, nothing scales), the metrics API server stopped Not Implemented (the
APIService not Available), teardown of what the install added.

The lab has no cluster DNS: KEDA's scaler is given Prometheus' pod address (``aiconform_pod_autoscaling_prometheus_address``,
the inventory variable a platform whose Prometheus the verifier cannot find sets); the detection of the Prometheus
Operator's Service is covered by the simulator's scenario (tests/verify/test_verify_pod_autoscaling.py).
"""
from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from helpers.lab import LabHandle, require_binaries, verify_on_lab
from helpers.lab import kubectl_ok as kubectl
from helpers.lab import wait_for as wait
from helpers.sim import run_playbook, run_tool

from aiconform import PROJECT_ROOT, versions
from aiconform.lab import component_switches, lab_components, lab_stack_vars
from aiconform.labcluster import build, keda

pytestmark = pytest.mark.lab

INSTALL = PROJECT_ROOT / "playbooks" / "install.yml"
TEARDOWN = PROJECT_ROOT / "playbooks" / "teardown.yml"
STACK = "keda"
INSTALLED = ["prometheus"]  # by the install phase; KEDA is applied by the lab itself (labcluster/keda.py)
EXTERNAL = "/apis/external.metrics.k8s.io/v1beta1"
STATE: dict[str, Any] = {}


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabHandle]:
    require_binaries(stack=STACK)
    handle = LabHandle(tmp_path_factory.mktemp("lab-keda"), stack=STACK)
    yield handle
    handle.stop()


def condition(lab: LabHandle, kind: str, name: str, ctype: str, namespace: str | None = None) -> str:
    obj = json.loads(kubectl(lab, *(["-n", namespace] if namespace else []), "get", kind, name, "-o", "json"))
    return next((c["status"] for c in obj.get("status", {}).get("conditions") or [] if c["type"] == ctype), "")


@pytest.fixture(scope="module")
def installed(lab: LabHandle, tmp_path_factory: pytest.TempPathFactory) -> LabHandle:
    work = tmp_path_factory.mktemp("lab-keda-charts")
    role_vars = {"aiconform_kubeconfig": str(lab.kubeconfig),
                 "aiconform_cluster": {"kubernetes_version": "v1.35", "reachable": True},
                 "aiconform_install_wait_timeout": 180, **component_switches(False),
                 **lab_stack_vars(INSTALLED, work)}
    assert role_vars["kube_prometheus_stack_enabled"] and not role_vars.get("prometheus_adapter_enabled")
    STATE["role_vars"] = role_vars
    rc, out = run_playbook(INSTALL, lab, role_vars, timeout=900)  # type: ignore[arg-type]
    assert rc == 0, out[-4000:] + lab.log("pods")[-3000:]
    return lab


def prometheus_address(lab: LabHandle) -> str:
    """http://<the Prometheus pod's IP>:9090 (what DNS would resolve the Prometheus Operator's Service to)."""
    pods = json.loads(kubectl(lab, "-n", versions.get("kube_prometheus_stack.namespace"), "get", "pods", "-o", "json"))
    ips = [p["status"]["podIP"] for p in pods["items"] if p["metadata"]["name"].startswith("prometheus-")
           and (p.get("status") or {}).get("podIP") and not p["metadata"].get("deletionTimestamp")]
    assert len(ips) == 1, [p["metadata"]["name"] for p in pods["items"]]
    return f"http://{ips[0]}:9090"


def verify(lab: LabHandle, tmp_path: Path, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    inventory = {"aiconform_engine_components": lab_components(build.stack_controllers(STACK)),
                 "aiconform_pod_autoscaling_prometheus_address": prometheus_address(lab), **(extra or {})}
    by_id, out, _run = verify_on_lab(lab, tmp_path, "pod_autoscaling", inventory)
    return by_id["pod_autoscaling"] | {"_out": out}


def checks(r: dict[str, Any]) -> dict[str, str]:
    return {c["name"]: c["outcome"] for c in r["checks"]}


def test_keda_runs_for_real(installed: LabHandle) -> None:
    log = installed.log("pods")
    for name in ("keda-operator", "keda-metrics-apiserver"):  # the pods of KEDA's images run the built binaries
        assert str(build.program_of(name).binary) in log, log[-3000:]
    # KEDA's own cert rotation: the Secret it writes, and the caBundle it patches into the APIService
    secret = json.loads(kubectl(installed, "-n", keda.NAMESPACE, "get", "secret", keda.CERT_SECRET, "-o", "json"))
    assert {"ca.crt", "tls.crt", "tls.key"} <= set(secret["data"]), sorted(secret["data"])
    api = json.loads(kubectl(installed, "get", "apiservice", keda.APISERVICE, "-o", "json"))
    assert api["spec"].get("caBundle") == secret["data"]["ca.crt"], api["spec"]
    assert condition(installed, "apiservice", keda.APISERVICE, "Available") == "True"
    # served by KEDA's metrics API server through the aggregator
    doc = json.loads(kubectl(installed, "get", "--raw", EXTERNAL))
    assert doc["groupVersion"] == "external.metrics.k8s.io/v1beta1", doc
    assert "keda.sh" in kubectl(installed, "api-resources", "--api-group=keda.sh", "-o", "name")
    # no custom metrics API: KEDA is the only metrics path pod_autoscaling can find
    assert run_tool(installed, "kubectl", "get", "apiservice", "v1beta1.custom.metrics.k8s.io").returncode != 0  # type: ignore[arg-type]


def test_pod_autoscaling_is_implemented_through_keda(installed: LabHandle, tmp_path: Path) -> None:
    r = verify(installed, tmp_path)
    assert r["status"] == "Implemented", "\n".join((json.dumps(r)[:5000], r["_out"][-3000:],
                                                    installed.log("pods")[-2000:]))
    assert set(checks(r).values()) == {"pass"}, checks(r)  # flat under CPU-only load, up under GPU load, down after
    text = json.dumps(r)
    assert "external metrics through KEDA" in text and "KEDA external metric" in text, text[:3000]
    assert "keda-hpa-aiconform-gpu-workload" in text, text[:3000]  # the HPA KEDA created for the ScaledObject


def test_a_query_without_series_is_not_implemented(installed: LabHandle, tmp_path: Path) -> None:
    # nothing to scale on: 90 s of waiting say so as well as the default 300 (KEDA scaled up in ~20 s above)
    r = verify(installed, tmp_path, {"aiconform_pod_autoscaling_external_query": "avg(aiconform_no_such_series)",
                                     "aiconform_pod_autoscaling_scale_up_timeout": 90})
    assert r["status"] == "Not Implemented", "\n".join((json.dumps(r)[:5000], r["_out"][-3000:]))
    assert checks(r)["ScaleUpOnAcceleratorMetric"] == "fail", checks(r)


def test_the_metrics_server_stopped_is_not_implemented(installed: LabHandle, tmp_path: Path) -> None:
    kubectl(installed, "-n", keda.NAMESPACE, "scale", "deployment", keda.METRICS_SERVER, "--replicas=0")
    try:
        wait(f"APIService {keda.APISERVICE} not Available",
             lambda: condition(installed, "apiservice", keda.APISERVICE, "Available") == "False", 120)
        r = verify(installed, tmp_path)
        assert r["status"] == "Not Implemented", "\n".join((json.dumps(r)[:5000], r["_out"][-3000:]))
        assert checks(r)["MetricsAPIsAvailable"] == "fail", checks(r)
        assert keda.APISERVICE in " ".join(r["reasons"]), r["reasons"]
    finally:
        kubectl(installed, "-n", keda.NAMESPACE, "scale", "deployment", keda.METRICS_SERVER, "--replicas=1")
    wait(f"APIService {keda.APISERVICE} Available again",
         lambda: condition(installed, "apiservice", keda.APISERVICE, "Available") == "True", 120)


def _scaledobject_and_target(ns: str, prometheus: str) -> list[dict[str, Any]]:
    """The verifier's own ScaledObject (its manifest) on a Deployment of its own, KEDA's scaler on ``prometheus``."""
    so = yaml.safe_load((PROJECT_ROOT / "plugins/module_utils/verifiers/pod_autoscaling/manifests/"
                         "scaledobject.yaml").read_text())
    so["metadata"]["namespace"] = ns
    so["spec"]["triggers"][0]["metadata"]["serverAddress"] = prometheus
    pause = versions.get("verifier_probes.images.pause")
    name = so["spec"]["scaleTargetRef"]["name"]
    dep = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": ns},
           "spec": {"replicas": 1, "selector": {"matchLabels": {"app": name}},
                    "template": {"metadata": {"labels": {"app": name}}, "spec": {"containers": [
                        {"name": "c", "image": f"{pause['registry']}/{pause['repository']}:{pause['tag']}"}]}}}}
    return [dep, so]


def _what_keda_made(handle: Any, ns: str) -> dict[str, Any]:
    """The HPA KEDA made for the ScaledObject and what the ScaledObject's status says, as clients read them."""
    so = json.loads(run_tool(handle, "kubectl", "-n", ns, "get", "scaledobject", "aiconform-gpu-workload",
                             "-o", "json").stdout)
    status = so.get("status") or {}
    name = status.get("hpaName")
    if not name:
        return {}
    proc = run_tool(handle, "kubectl", "-n", ns, "get", "hpa", name, "-o", "json")
    if proc.returncode != 0:
        return {}
    hpa = json.loads(proc.stdout)
    labels = hpa["metadata"].get("labels") or {}
    return {"hpaName": name, "externalMetricNames": status.get("externalMetricNames"),
            "Ready": next((c["status"] for c in status.get("conditions") or [] if c["type"] == "Ready"), None),
            "labels": {k: labels.get(k) for k in ("scaledobject.keda.sh/name", "app.kubernetes.io/managed-by")},
            "owner": [(o["kind"], o["name"], o.get("controller")) for o in hpa["metadata"].get("ownerReferences") or []],
            "spec": {k: hpa["spec"].get(k) for k in ("scaleTargetRef", "minReplicas", "maxReplicas", "metrics",
                                                     "behavior")}}


def test_the_simulators_keda_makes_what_keda_makes(installed: LabHandle, tmp_path: Path) -> None:
    """Differential: the ScaledObject pod_autoscaling creates becomes the same HPA, and the same ScaledObject status
    fields the verifier reads, on the simulator's KEDA (aiconform/sim/controllers/keda.py) as on the real one."""
    from helpers.sim import SimHandle

    sim = SimHandle("keda", workdir=tmp_path / "sim")
    try:
        ns = "keda-diff"
        got = {}
        # a Prometheus that answers on each (the query has no series: KEDA's value is 0, its scaler healthy)
        sim_prometheus = "http://prometheus-operated.monitoring.svc:9090"  # the keda scenario's Service
        for engine, handle, prom in (("lab", installed, prometheus_address(installed)), ("sim", sim, sim_prometheus)):
            assert run_tool(handle, "kubectl", "create", "namespace", ns).returncode == 0  # type: ignore[arg-type]
            for obj in _scaledobject_and_target(ns, prom):  # one by one: kubectl validates a List against /openapi/v2,
                # which the simulator does not serve (tests/differential: kubectl-apply-list)
                res = run_tool(handle, "kubectl", "apply", "-f", "-", input=json.dumps(obj))  # type: ignore[arg-type]
                assert res.returncode == 0, (engine, res.stderr)
            got[engine] = wait(f"the HPA KEDA makes on the {engine}",
                               lambda handle=handle: _what_keda_made(handle, ns), 60)
        lab, simulated = got["lab"], got["sim"]
        assert lab["hpaName"] == "keda-hpa-aiconform-gpu-workload" and lab["Ready"] == "True", lab
        assert simulated == lab, {"lab": lab, "sim": simulated}
    finally:
        run_tool(installed, "kubectl", "delete", "namespace", "keda-diff", "--wait=false")  # type: ignore[arg-type]
        sim.stop()


def test_teardown(installed: LabHandle) -> None:
    rc, out = run_playbook(TEARDOWN, installed, STATE["role_vars"], timeout=900)  # type: ignore[arg-type]
    assert rc == 0, out[-4000:]
    assert "monitoring.coreos.com" not in kubectl(installed, "get", "crd", "-o", "name")
    # KEDA, the lab's own, stays
    assert condition(installed, "apiservice", keda.APISERVICE, "Available") == "True"


def test_the_stack_is_described(installed: LabHandle) -> None:
    info = json.loads((installed.state / "lab.json").read_text())
    stack = info["stack"]["keda"]
    assert stack["version"] == versions.get("lab.controllers.keda-operator.version")
    assert "scaledobjects.keda.sh" in stack["crds"], stack
    assert keda.grpc_host() in stack["grpc"], stack
