"""playbooks/install.yml and teardown.yml against the simulator (gpu-lab, Kubernetes v1.35).

Stand-in charts (tests/charts/<chart>, same names and versions as pinned) are installed through the
roles' local-chart variables, which is also the air-gap path; images are redirected to a mirror through
aiconform_image_registry. The tests share one simulator and run in file order: check mode, install,
idempotent re-run, teardown, then a component that never becomes ready. The operator status the roles wait on
(ClusterPolicy ``status.state``, the Prometheus CR's ``Available``) comes from the simulator's operator
controllers (aiconform/sim/controllers/operators.py), switched off through ``/_sim/controllers`` for the
never-ready case.
"""
from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
import yaml
from cluster_objects import object_set
from helpers.sim import SimHandle, run_playbook, run_tool
from kubernetes import client, config

from aiconform import PROJECT_ROOT

# they share one simulator and run in file order: make test distributes whole files (--dist loadfile)
pytestmark = pytest.mark.e2e

CHARTS = PROJECT_ROOT / "tests" / "charts"
INSTALL = PROJECT_ROOT / "playbooks" / "install.yml"
TEARDOWN = PROJECT_ROOT / "playbooks" / "teardown.yml"
MIRROR = "mirror.example:5000"
# stacks.md §1 install order, as (role, Helm release, namespace) of each role's main release.
ORDER = [
    ("kube_prometheus_stack", "kube-prometheus-stack", "monitoring"),
    ("gpu_operator", "gpu-operator", "gpu-operator"),
    ("nvidia_dra_driver", "dra-driver-nvidia-gpu", "dra-driver-nvidia-gpu"),
    ("metrics_server", "metrics-server", "kube-system"),
    ("prometheus_adapter", "prometheus-adapter", "monitoring"),
    ("kueue", "kueue", "kueue-system"),
    ("kgateway", "kgateway", "kgateway-system"),
    ("inference_extension", "agentgateway", "agentgateway-system"),
    ("kuberay", "kuberay-operator", "kuberay-system"),
    ("cluster_autoscaler", "cluster-autoscaler", "kube-system"),
]


def lab_vars(sim: SimHandle, **extra: Any) -> dict[str, Any]:
    return {
        "aiconform_kubeconfig": str(sim.kubeconfig),
        "aiconform_cluster": {"kubernetes_version": "v1.35", "reachable": True},
        "aiconform_image_registry": MIRROR,
        "aiconform_install_wait_timeout": 60,
        "kube_prometheus_stack_chart_path": str(CHARTS / "kube-prometheus-stack"),
        "gpu_operator_chart_path": str(CHARTS / "gpu-operator"),
        "nvidia_dra_driver_chart_path": str(CHARTS / "dra-driver-nvidia-gpu"),
        "metrics_server_chart_path": str(CHARTS / "metrics-server"),
        "prometheus_adapter_chart_path": str(CHARTS / "prometheus-adapter"),
        "kueue_chart_path": str(CHARTS / "kueue"),
        "gateway_api_crds_path": str(CHARTS / "bundles" / "gateway-api-standard-install.yaml"),
        "kgateway_crds_chart_path": str(CHARTS / "kgateway-crds"),
        "kgateway_chart_path": str(CHARTS / "kgateway"),
        "inference_extension_crds_path": str(CHARTS / "bundles" / "gateway-api-inference-extension-manifests.yaml"),
        "inference_extension_crds_chart_path": str(CHARTS / "agentgateway-crds"),
        "inference_extension_chart_path": str(CHARTS / "agentgateway"),
        "kuberay_chart_path": str(CHARTS / "kuberay-operator"),
        "cluster_autoscaler_chart_path": str(CHARTS / "cluster-autoscaler"),
        "cluster_autoscaler_kwok_chart_path": str(CHARTS / "kwok"),
        "cluster_autoscaler_kwok_stage_chart_path": str(CHARTS / "stage-fast"),
        **extra,
    }


def recap(output: str) -> dict[str, int]:
    m = re.search(r"ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", output)
    assert m, output[-3000:]
    return dict(zip(("ok", "changed", "unreachable", "failed"), map(int, m.groups()), strict=True))


def helm_values(sim: SimHandle, release: str, namespace: str) -> dict[str, Any]:
    proc = run_tool(sim, "helm", "get", "values", release, "-n", namespace, "-o", "json")
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[SimHandle, set[Any]]]:
    sim = SimHandle("gpu-lab", "v1.35.2", workdir=tmp_path_factory.mktemp("install-sim"))
    initial = object_set(sim.kubeconfig)
    yield sim, initial
    sim.stop()


def test_check_mode_creates_nothing(lab: tuple[SimHandle, set[Any]]) -> None:
    sim, initial = lab
    rc, out = run_playbook(INSTALL, sim, lab_vars(sim), check=True)
    assert rc == 0, out[-4000:]
    assert recap(out)["changed"] > 0  # it reports what it would do ...
    assert object_set(sim.kubeconfig) == initial  # ... and does none of it


def test_install_in_order_with_air_gap_overrides(lab: tuple[SimHandle, set[Any]]) -> None:
    sim, _ = lab
    rc, out = run_playbook(INSTALL, sim, lab_vars(sim))
    assert rc == 0, out[-4000:]

    # Order on the cluster: the first revision of each release (a Helm Secret) was written in install order.
    core = client.CoreV1Api(config.new_client_from_config(str(sim.kubeconfig)))
    written = {s.metadata.labels["name"]: int(s.metadata.resource_version)
               for s in core.list_secret_for_all_namespaces(label_selector="owner=helm,version=1").items}
    assert [r for _, r, _ in ORDER] == sorted((r for _, r, _ in ORDER), key=written.__getitem__)

    # Air gap: the mirror reaches the rendered values and the workloads.
    kueue = helm_values(sim, "kueue", "kueue-system")
    assert kueue["controllerManager"]["manager"]["image"]["repository"] == f"{MIRROR}/kueue/kueue"
    gpu = helm_values(sim, "gpu-operator", "gpu-operator")
    assert gpu["operator"]["repository"] == f"{MIRROR}/nvidia"
    assert gpu["dcgmExporter"]["repository"] == f"{MIRROR}/nvidia/k8s"
    assert helm_values(sim, "kube-prometheus-stack", "monitoring")["global"]["imageRegistry"] == MIRROR
    ca = helm_values(sim, "cluster-autoscaler", "kube-system")
    assert ca["image"] == {"repository": f"{MIRROR}/autoscaling/cluster-autoscaler", "tag": "v1.35.2"}
    apps = client.AppsV1Api(core.api_client)
    image = apps.read_namespaced_deployment("kueue-controller-manager", "kueue-system").spec.template.spec.containers[0].image
    assert image == f"{MIRROR}/kueue/kueue:v0.19.2"

    # Reference-stack choices: DRA serves GPUs (device plugin off), v1 DRA API on 1.35, gang admission.
    assert gpu["devicePlugin"]["enabled"] is False
    dra = helm_values(sim, "dra-driver-nvidia-gpu", "dra-driver-nvidia-gpu")
    assert dra["gpuResourcesEnabledOverride"] is True and dra["resourceApiVersion"] == "resource.k8s.io/v1"
    assert "waitForPodsReady:" in kueue["managerConfig"]["controllerManagerConfigYaml"]
    assert "apiVersion: config.kueue.x-k8s.io/v1beta2" in kueue["managerConfig"]["controllerManagerConfigYaml"]
    spec = helm_values(sim, "kube-prometheus-stack", "monitoring")["prometheus"]["prometheusSpec"]
    assert spec["serviceMonitorSelectorNilUsesHelmValues"] is False and spec["podMonitorSelectorNilUsesHelmValues"] is False

    # KubeRay's webhook: registered with the generated CA, served by the patched operator.
    adm = client.AdmissionregistrationV1Api(core.api_client)
    vwc = adm.read_validating_webhook_configuration("kuberay-validating-webhook-configuration")
    assert {w.name for w in vwc.webhooks} == {"vraycluster.kb.io", "vrayjob.kb.io", "vrayservice.kb.io"}
    assert vwc.webhooks[0].client_config.ca_bundle
    op = apps.read_namespaced_deployment("kuberay-operator", "kuberay-system").spec.template.spec
    assert op.volumes[0].secret.secret_name == "kuberay-webhook-server-cert"
    assert any(e.name == "ENABLE_WEBHOOKS" and e.value == "true" for e in op.containers[0].env)

    # GPU Operator in DRA mode: the DCGM exporter maps DRA GPUs to pods (flag, token, resourceslices RBAC); the NFD
    # subchart's image follows the mirror too.
    assert gpu["dcgmExporter"]["env"] == [{"name": "KUBERNETES_ENABLE_DRA", "value": "true"}]
    assert gpu["node-feature-discovery"]["image"]["repository"] == f"{MIRROR}/nfd/node-feature-discovery"
    rbac = client.RbacAuthorizationV1Api(core.api_client)
    assert rbac.read_cluster_role("aiconform-dcgm-exporter-resourceslices").rules[0].resources == ["resourceslices"]
    ds = apps.read_namespaced_daemon_set("nvidia-dcgm-exporter", "gpu-operator").spec.template.spec
    assert ds.automount_service_account_token is True and ds.service_account_name == "nvidia-dcgm-exporter"
    assert {e.name: e.value for e in ds.containers[0].env}["KUBERNETES_ENABLE_DRA"] == "true"
    # ComputeDomain CRDs: the GPU Operator chart (installed first) ships older copies in crds/; the DRA driver
    # role applies its own chart's, so the served schema is the DRA driver's.
    crds = client.CustomObjectsApi(core.api_client)
    for name in ("computedomains", "computedomaincliques"):
        live = crds.get_cluster_custom_object("apiextensions.k8s.io", "v1", "customresourcedefinitions",
                                              f"{name}.resource.nvidia.com")
        want = yaml.safe_load((CHARTS / "dra-driver-nvidia-gpu" / "crds" / f"{name}.yaml").read_text())
        assert live["spec"]["versions"][0]["schema"] == want["spec"]["versions"][0]["schema"], name

    # cluster-autoscaler (kwok): the provider reads its templates once, at start, so the role writes them before
    # the autoscaler runs; the groups it serves are the role's GPU group, not the chart's kind-cluster templates.
    assert ca["replicaCount"] == 0 and ca["podAnnotations"]["aiconform.io/kwok-provider-checksum"]
    assert apps.read_namespaced_deployment("cluster-autoscaler", "kube-system").spec.replicas == 1

    def served_groups() -> list[str] | None:
        cm = core.list_namespaced_config_map("kube-system", field_selector="metadata.name=cluster-autoscaler-status")
        status = yaml.safe_load(cm.items[0].data["status"]) if cm.items else None
        return [g["name"] for g in status.get("nodeGroups") or []] if status else None
    deadline = time.time() + 30  # one --scan-interval (10s) after the pod runs
    while not served_groups() and time.time() < deadline:
        time.sleep(0.5)
    assert served_groups() == ["gpu-a"]
    provider = yaml.safe_load(core.read_namespaced_config_map("kwok-provider-config", "kube-system").data["config"])
    assert provider["nodes"]["skipTaint"] is False and provider["configmap"]["name"] == "kwok-provider-templates"


def test_second_install_changes_nothing(lab: tuple[SimHandle, set[Any]]) -> None:
    sim, _ = lab
    rc, out = run_playbook(INSTALL, sim, lab_vars(sim))
    assert rc == 0, out[-4000:]
    changed = [line for line in out.splitlines() if line.startswith("changed:")]
    assert recap(out)["changed"] == 0, changed


def test_teardown_leaves_the_cluster_as_found(lab: tuple[SimHandle, set[Any]]) -> None:
    sim, initial = lab
    rc, out = run_playbook(TEARDOWN, sim, lab_vars(sim))
    assert rc == 0, out[-4000:]
    after = object_set(sim.kubeconfig)
    assert after == initial, {"left": sorted(after - initial), "removed": sorted(initial - after)}


def test_component_that_never_becomes_ready_fails_naming_it(lab: tuple[SimHandle, set[Any]]) -> None:
    sim, _ = lab
    sim.controllers(gpuoperator=False)  # the operator never reconciles: nobody sets ClusterPolicy status.state
    try:
        rc, out = run_playbook(INSTALL, sim, lab_vars(sim, gpu_operator_wait_timeout=3), tags="gpu_operator")
    finally:
        sim.controllers(gpuoperator=True)
    assert rc != 0
    assert "gpu_operator: not ready after 3s: ClusterPolicy cluster-policy (status.state unset, want ready)" in out, out[-3000:]
    rc, out = run_playbook(TEARDOWN, sim, lab_vars(sim), tags="gpu_operator")
    assert rc == 0, out[-3000:]

