"""Scenario composition and scenario-driven behaviour: aggregated metrics APIs, log rules, faults, switches."""
from __future__ import annotations

import json
import time
import urllib.request

import pytest
from kubernetes import client, config
from kubernetes.client.rest import ApiException

from aiconform.sim.scenario import available, load_scenario

SCENARIO = """
includes: [gpu-lab]
kubernetes_version: v1.35.2
controllers: {kubelet: false}
aggregated_apis: [metrics.k8s.io, custom.metrics.k8s.io, external.metrics.k8s.io]
objects:
  - apiVersion: metrics.k8s.io/v1beta1
    kind: NodeMetrics
    metadata: {name: gpu-worker-1}
    timestamp: "2025-01-01T00:00:00Z"
    window: 30s
    usage: {cpu: 250m, memory: 1Gi}
custom_metrics:
  - {metric: DCGM_FI_DEV_GPU_UTIL, resource: pods, namespace: default, name: trainer-0, value: "87"}
external_metrics:
  - {metric: queue_depth, namespace: default, value: "12", labels: {queue: a}}
logs:
  - {image: "nvidia/cuda", text: "GPU 0: NVIDIA A100"}
faults:
  - {path: "/api/v1/namespaces/default/secrets/blocked$", status: 403}
"""


def get(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def test_builtin_scenarios_compose():
    assert {"empty", "gpu-lab", "conformant"} <= set(available())
    empty, lab, conf = load_scenario("empty"), load_scenario("gpu-lab"), load_scenario("conformant")
    assert [p["name"] for p in lab.node_pools] == [p["name"] for p in empty.node_pools] + ["gpu-worker"]
    assert conf.node_pools == lab.node_pools and conf.kubernetes_version == "v1.34.1"
    kinds = {(o["kind"], o["metadata"]["name"]) for o in conf.objects}
    assert ("DeviceClass", "gpu.nvidia.com") in kinds
    with pytest.raises(ValueError, match="unknown scenario"):
        load_scenario("no-such-scenario")


def test_an_including_scenario_overrides_an_object_in_place(tmp_path):
    base = tmp_path / "base.yaml"
    base.write_text("objects:\n  - {apiVersion: v1, kind: ConfigMap, metadata: {name: a, namespace: x}, data: {v: '1'}}\n"
                    "  - {apiVersion: v1, kind: ConfigMap, metadata: {name: b, namespace: x}}\n")
    top = tmp_path / "top.yaml"
    top.write_text(f"includes: [{base}]\nobjects:\n"
                   "  - {apiVersion: v1, kind: ConfigMap, metadata: {name: a, namespace: x}, data: {v: '2'}}\n")
    objects = load_scenario(str(top)).objects
    assert [(o["metadata"]["name"], o.get("data")) for o in objects] == [("a", {"v": "2"}), ("b", None)]


def test_scenario_file_drives_metrics_logs_faults_and_switches(sim_factory, tmp_path):
    path = tmp_path / "custom.yaml"
    path.write_text(SCENARIO)
    h = sim_factory(str(path))
    api = config.new_client_from_config(config_file=str(h.kubeconfig))
    assert client.VersionApi(api).get_code().minor == "35"
    groups = {g.name for g in client.ApisApi(api).get_api_versions().groups}
    assert {"metrics.k8s.io", "custom.metrics.k8s.io", "external.metrics.k8s.io"} <= groups
    _, nm = get(h.url + "/apis/metrics.k8s.io/v1beta1/nodes/gpu-worker-1")
    assert nm["kind"] == "NodeMetrics" and nm["usage"]["cpu"] == "250m"
    _, cm = get(h.url + "/apis/custom.metrics.k8s.io/v1beta1/namespaces/default/pods/*/DCGM_FI_DEV_GPU_UTIL")
    assert cm["kind"] == "MetricValueList" and cm["items"][0]["value"] == "87"
    assert cm["items"][0]["describedObject"]["name"] == "trainer-0"
    _, em = get(h.url + "/apis/external.metrics.k8s.io/v1beta1/namespaces/default/queue_depth?labelSelector=queue%3Da")
    assert [i["value"] for i in em["items"]] == ["12"]
    core = client.CoreV1Api(api)
    with pytest.raises(ApiException) as e:
        core.read_namespaced_secret("blocked", "default")
    assert e.value.status == 403
    # kubelet is off in this scenario: the pod is bound but never starts, so its log is not available
    core.create_namespaced_pod("default", {"metadata": {"name": "smi"}, "spec": {"containers": [
        {"name": "c", "image": "nvidia/cuda:12.4.1-base", "command": ["nvidia-smi"]}], "restartPolicy": "Never"}})
    time.sleep(0.5)
    p = core.read_namespaced_pod("smi", "default")
    assert p.spec.node_name and p.status.phase == "Pending"
    with pytest.raises(ApiException) as e:
        core.read_namespaced_pod_log("smi", "default")
    assert e.value.status == 400 and "ContainerCreating" in json.loads(e.value.body)["message"]
    h.controllers(kubelet=True)
    deadline = time.time() + 10
    while core.read_namespaced_pod("smi", "default").status.phase != "Succeeded" and time.time() < deadline:
        time.sleep(0.1)
    assert core.read_namespaced_pod("smi", "default").status.phase == "Succeeded"
    assert core.read_namespaced_pod_log("smi", "default") == "GPU 0: NVIDIA A100\n"
    assert h.requests()["by_verb"]["create"] == 1
