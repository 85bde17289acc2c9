"""The simulated DCGM exporter labels a DRA-allocated GPU with its pod only where the real exporter would:
KUBERNETES_ENABLE_DRA (and DCGM_EXPORTER_KUBERNETES), a mounted service-account token and list/watch on
resourceslices for that ServiceAccount (dcgm-exporter 4.x internal/pkg/transformation: the ResourceSlice informer
needs the API). A GPU handed out by the device plugin needs none of the DRA prerequisites."""
from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from kubernetes import client, config

NS = "gpu-operator"
IMAGE = "nvcr.io/nvidia/k8s/dcgm-exporter:4.6.0-4.8.3-distroless"
FULL_ENV = {"DCGM_EXPORTER_KUBERNETES": "true", "KUBERNETES_ENABLE_DRA": "true"}


@pytest.fixture(scope="module")
def sim_scenario() -> str:
    return "conformant"


def until(fn: Callable[[], Any], timeout: float = 20.0) -> Any:
    deadline = time.time() + timeout
    while True:
        val = fn()
        if val or time.time() > deadline:
            return val
        time.sleep(0.2)


@pytest.fixture(scope="module")
def core(sim) -> client.CoreV1Api:
    return client.CoreV1Api(config.new_client_from_config(config_file=str(sim.kubeconfig)))


@pytest.fixture(scope="module")
def holder(sim, core) -> Any:
    """A running pod whose container holds one GPU through a DRA claim."""
    co = client.CustomObjectsApi(core.api_client)
    co.create_namespaced_custom_object("resource.k8s.io", "v1", "default", "resourceclaims", {
        "apiVersion": "resource.k8s.io/v1", "kind": "ResourceClaim", "metadata": {"name": "one-gpu"},
        "spec": {"devices": {"requests": [{"name": "gpu", "exactly": {"deviceClassName": "gpu.nvidia.com"}}]}}})
    core.create_namespaced_pod("default", {"metadata": {"name": "dra-holder"}, "spec": {
        "resourceClaims": [{"name": "gpu", "resourceClaimName": "one-gpu"}],
        "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}],
        "containers": [{"name": "cuda", "image": "cuda:12", "resources": {"claims": [{"name": "gpu"}]}}]}})
    p = until(lambda: (x := core.read_namespaced_pod("dra-holder", "default")).status.phase == "Running" and x)
    assert p, "the DRA pod never ran"
    return p


def exporter(core: client.CoreV1Api, name: str, node: str, env: dict[str, str], sa: str = "nvidia-dcgm-exporter",
             automount: bool | None = True) -> str:
    spec: dict[str, Any] = {"nodeName": node, "serviceAccountName": sa,
                            "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}],
                            "containers": [{"name": "nvidia-dcgm-exporter", "image": IMAGE,
                                            "env": [{"name": k, "value": v} for k, v in env.items()],
                                            "ports": [{"containerPort": 9400}]}]}
    if automount is not None:
        spec["automountServiceAccountToken"] = automount
    core.create_namespaced_pod(NS, {"metadata": {"name": name}, "spec": spec})
    assert until(lambda: core.read_namespaced_pod(name, NS).status.phase == "Running"), name
    return core.connect_get_namespaced_pod_proxy_with_path(f"{name}:9400", NS, "metrics")


def util_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("DCGM_FI_DEV_GPU_UTIL{")]


def test_configured_exporter_labels_the_dra_pod_with_its_claim(core, holder) -> None:
    text = exporter(core, "exp-full", holder.spec.node_name, FULL_ENV)
    held = [line for line in util_lines(text) if 'pod="dra-holder"' in line]
    assert len(held) == 1, util_lines(text)
    for label in ('namespace="default"', 'container="cuda"', 'dra_claim_name="one-gpu"', 'dra_claim_namespace="default"',
                  'dra_driver_name="gpu.nvidia.com"', f'dra_pool_name="{holder.spec.node_name}"', 'dra_device_name="gpu-0"'):
        assert label in held[0], held[0]
    assert held[0].endswith(" 100")  # the held GPU is busy whoever labels it


@pytest.mark.parametrize(("name", "env", "sa", "automount"), [
    ("exp-no-dra-flag", {"DCGM_EXPORTER_KUBERNETES": "true"}, "nvidia-dcgm-exporter", True),  # the operator's default
    ("exp-no-token", FULL_ENV, "nvidia-dcgm-exporter", False),  # v26.7.0 asset: automountServiceAccountToken false
    ("exp-no-rbac", FULL_ENV, "default", None),  # a ServiceAccount that may not list resourceslices
    ("exp-no-kubernetes", {"KUBERNETES_ENABLE_DRA": "true"}, "nvidia-dcgm-exporter", True),
])
def test_exporter_without_a_dra_prerequisite_leaves_the_series_unlabelled(core, holder, name, env, sa, automount) -> None:
    text = exporter(core, name, holder.spec.node_name, env, sa, automount)
    lines = util_lines(text)
    assert lines and all("pod=" not in line and "dra_claim_name" not in line for line in lines), lines
    assert any(line.endswith(" 100") for line in lines)  # the GPU is still busy, only its pod is unknown


def test_the_gpu_operator_in_dra_mode_renders_an_exporter_that_can() -> None:
    """The sim's GPU Operator: ClusterPolicy env + enablePodUID give the exporter DaemonSet the DRA flag and a token."""
    from aiconform.sim.controllers.operators import _operand_daemonset
    policy = {"metadata": {"name": "cluster-policy", "uid": "u"}, "apiVersion": "nvidia.com/v1", "kind": "ClusterPolicy",
              "spec": {"dcgmExporter": {"env": [{"name": "KUBERNETES_ENABLE_DRA", "value": "true"}], "enablePodUID": True}}}
    pod = _operand_daemonset(policy, NS, "dcgmExporter")["spec"]["template"]["spec"]
    env = {e["name"]: e["value"] for e in pod["containers"][0]["env"]}
    assert env["KUBERNETES_ENABLE_DRA"] == "true" and env["DCGM_EXPORTER_KUBERNETES_ENABLE_POD_UID"] == "true"
    assert pod["automountServiceAccountToken"] is True and pod["serviceAccountName"] == "nvidia-dcgm-exporter"
    policy["spec"]["dcgmExporter"] = {"env": [{"name": "KUBERNETES_ENABLE_DRA", "value": "true"}]}
    pod = _operand_daemonset(policy, NS, "dcgmExporter")["spec"]["template"]["spec"]
    assert pod["automountServiceAccountToken"] is False  # the env alone does not mount the token (v26.7.0)
