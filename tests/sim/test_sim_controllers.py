"""Simulated controllers: scheduler (resources, taints, selectors, affinity, FailedScheduling), kubelet, Jobs,
DaemonSets, StatefulSets, DRA allocation, GPU/Prometheus operator status, and scenario data (gpu-lab / conformant)."""
from __future__ import annotations

import time
from typing import Any

import pytest
from helpers.sim import until
from kubernetes import client, config


@pytest.fixture(scope="module")
def sim_scenario() -> str:
    return "conformant"


@pytest.fixture(scope="module")
def api(sim) -> client.ApiClient:
    return config.new_client_from_config(config_file=str(sim.kubeconfig))


@pytest.fixture(scope="module")
def core(api) -> client.CoreV1Api:
    return client.CoreV1Api(api)


def pod(name: str, gpus: int = 0, tolerate_gpu: bool = True, **spec: Any) -> dict:
    res = {"limits": {"nvidia.com/gpu": str(gpus)}} if gpus else {"requests": {"cpu": "100m"}}
    body = {"metadata": {"name": name}, "spec": {"containers": [{"name": "c", "image": "cuda:12", "resources": res}],
                                                 **spec}}
    if tolerate_gpu:
        body["spec"]["tolerations"] = [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]
    return body


def events_for(core, name: str, reason: str) -> list:
    return [e for e in core.list_namespaced_event("default").items
            if e.involved_object.name == name and e.reason == reason]


def test_gpu_lab_nodes_carry_gfd_labels_and_taints(core):
    gpu_nodes = core.list_node(label_selector="nvidia.com/gpu.present=true").items
    assert len(gpu_nodes) == 2
    n = gpu_nodes[0]
    assert n.status.allocatable["nvidia.com/gpu"] == "1"
    assert n.metadata.labels["nvidia.com/gpu.product"] == "GRID-A100-10C"
    assert n.metadata.labels["nvidia.com/cuda.driver-version.full"] == "580.126.09"
    assert [(t.key, t.effect) for t in n.spec.taints] == [("nvidia.com/gpu", "NoSchedule")]
    assert n.status.node_info.kubelet_version == "v1.34.1"


def test_gpu_pod_is_bound_and_running(core):
    core.create_namespaced_pod("default", pod("one-gpu", 1))
    p = until(lambda: (x := core.read_namespaced_pod("one-gpu", "default")).status.phase == "Running" and x)
    assert p and p.spec.node_name.startswith("gpu-worker-")
    assert {c.type: c.status for c in p.status.conditions}["Ready"] == "True"
    assert events_for(core, "one-gpu", "Scheduled")[0].message.endswith(f"to {p.spec.node_name}")


def test_pod_that_does_not_fit_stays_pending_with_failed_scheduling(core):
    core.create_namespaced_pod("default", pod("too-big", 4))
    ev = until(lambda: events_for(core, "too-big", "FailedScheduling"))
    assert ev and ev[0].type == "Warning"
    assert ev[0].message == (
        "0/6 nodes are available: 1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }, "
        "5 Insufficient nvidia.com/gpu. preemption: 0/6 nodes are available: "
        "1 Preemption is not helpful for scheduling, 5 No preemption victims found for incoming pod.")
    p = core.read_namespaced_pod("too-big", "default")
    cond = {c.type: c for c in p.status.conditions}["PodScheduled"]
    assert p.status.phase == "Pending" and cond.status == "False" and cond.reason == "Unschedulable"
    assert p.spec.node_name is None


def test_gpu_pod_without_toleration_is_rejected_by_taint(core):
    core.create_namespaced_pod("default", pod("no-tol", 1, tolerate_gpu=False))
    ev = until(lambda: events_for(core, "no-tol", "FailedScheduling"))
    assert "2 node(s) had untolerated taint {nvidia.com/gpu: present}" in ev[0].message
    assert "3 Insufficient nvidia.com/gpu" in ev[0].message


def test_node_selector_and_required_affinity(core):
    core.create_namespaced_pod("default", pod("sel", nodeSelector={"nvidia.com/gpu.product": "H100"}))
    ev = until(lambda: events_for(core, "sel", "FailedScheduling"))
    assert "6 node(s) didn't match Pod's node affinity/selector" in ev[0].message or \
        "node(s) didn't match Pod's node affinity/selector" in ev[0].message
    aff = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
        {"matchExpressions": [{"key": "nvidia.com/gpu.present", "operator": "Exists"},
                              {"key": "kubernetes.io/hostname", "operator": "NotIn", "values": ["gpu-worker-1"]}]}]}}}
    core.create_namespaced_pod("default", pod("aff", affinity=aff))
    p = until(lambda: (x := core.read_namespaced_pod("aff", "default")).spec.node_name and x)
    assert p.spec.node_name == "gpu-worker-2"


def test_daemonset_runs_on_matching_gpu_nodes(api):
    apps = client.AppsV1Api(api)
    ds = until(lambda: (d := apps.read_namespaced_daemon_set("nvidia-device-plugin-daemonset", "gpu-operator"))
               .status.number_ready == 2 and d)
    assert ds and ds.status.desired_number_scheduled == 2 and ds.status.number_available == 2
    pods = client.CoreV1Api(api).list_namespaced_pod("gpu-operator", label_selector="app=nvidia-device-plugin-daemonset")
    assert sorted(p.spec.node_name for p in pods.items) == ["gpu-worker-1", "gpu-worker-2"]


def test_job_runs_to_completion_and_respects_suspend(api, core):
    batch = client.BatchV1Api(api)
    tmpl = {"metadata": {"annotations": {"sim.aiconform.io/log": "done"}},
            "spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "busybox", "command": ["true"]}]}}
    batch.create_namespaced_job("default", {"metadata": {"name": "j"}, "spec": {"completions": 2, "parallelism": 2,
                                                                               "template": tmpl}})
    job = until(lambda: (j := batch.read_namespaced_job("j", "default")).status.succeeded == 2 and j)
    conds = {c.type: c for c in job.status.conditions}
    assert conds["Complete"].status == "True" and conds["Complete"].reason == "CompletionsReached"
    assert job.status.completion_time and job.status.start_time
    pods = core.list_namespaced_pod("default", label_selector="job-name=j").items
    assert {p.status.phase for p in pods} == {"Succeeded"}
    assert core.read_namespaced_pod_log(pods[0].metadata.name, "default") == "done\n"
    batch.create_namespaced_job("default", {"metadata": {"name": "js"}, "spec": {"suspend": True, "template": tmpl}})
    job = until(lambda: (j := batch.read_namespaced_job("js", "default")).status.conditions and j)
    assert {c.type: c.reason for c in job.status.conditions} == {"Suspended": "JobSuspended"}
    assert core.list_namespaced_pod("default", label_selector="job-name=js").items == []
    batch.patch_namespaced_job("js", "default", {"spec": {"suspend": False}})
    job = until(lambda: (j := batch.read_namespaced_job("js", "default")).status.succeeded == 1 and j)
    assert {c.type: c.status for c in job.status.conditions}["Complete"] == "True"


def test_statefulset_ordinal_pods(api, core):
    apps = client.AppsV1Api(api)
    apps.create_namespaced_stateful_set("default", {
        "metadata": {"name": "db"}, "spec": {"replicas": 2, "serviceName": "db", "selector": {"matchLabels": {"app": "db"}},
                                             "template": {"metadata": {"labels": {"app": "db"}},
                                                          "spec": {"containers": [{"name": "c", "image": "pg"}]}}}})
    sts = until(lambda: (s := apps.read_namespaced_stateful_set("db", "default")).status.ready_replicas == 2 and s)
    assert sts.status.current_revision == sts.status.update_revision
    assert sorted(p.metadata.name for p in core.list_namespaced_pod("default", label_selector="app=db").items) == \
        ["db-0", "db-1"]


def test_dra_claim_from_template_is_allocated_from_resource_slices(api, core):
    co = client.CustomObjectsApi(api)
    slices = co.list_cluster_custom_object("resource.k8s.io", "v1", "resourceslices")["items"]
    assert len(slices) == 2
    dev = slices[0]["spec"]["devices"][0]
    assert slices[0]["spec"]["driver"] == "gpu.nvidia.com" and dev["name"] == "gpu-0"
    assert dev["attributes"]["productName"] == {"string": "GRID A100-10C"}
    co.create_namespaced_custom_object("resource.k8s.io", "v1", "default", "resourceclaimtemplates", {
        "apiVersion": "resource.k8s.io/v1", "kind": "ResourceClaimTemplate", "metadata": {"name": "single-gpu"},
        "spec": {"spec": {"devices": {"requests": [{"name": "gpu", "exactly": {"deviceClassName": "gpu.nvidia.com"}}]}}}})
    core.create_namespaced_pod("default", pod("dra", resourceClaims=[{"name": "gpu",
                                                                     "resourceClaimTemplateName": "single-gpu"}]))
    p = until(lambda: (x := core.read_namespaced_pod("dra", "default")).status.phase == "Running" and x)
    assert p, core.read_namespaced_pod("dra", "default").status
    claim_name = p.status.resource_claim_statuses[0].resource_claim_name
    claim = co.get_namespaced_custom_object("resource.k8s.io", "v1", "default", "resourceclaims", claim_name)
    assert claim["metadata"]["annotations"]["resource.kubernetes.io/pod-claim-name"] == "gpu"
    result = claim["status"]["allocation"]["devices"]["results"][0]
    assert result == {"request": "gpu", "driver": "gpu.nvidia.com", "pool": p.spec.node_name, "device": "gpu-0"}
    assert claim["status"]["reservedFor"] == [{"resource": "pods", "name": "dra", "uid": p.metadata.uid}]
    core.delete_namespaced_pod("dra", "default")
    assert until(lambda: not co.list_namespaced_custom_object("resource.k8s.io", "v1", "default",
                                                              "resourceclaims")["items"])


def test_controllers_off_leave_pods_pending(sim_factory):
    h = sim_factory("empty", controllers=False)
    core = client.CoreV1Api(config.new_client_from_config(config_file=str(h.kubeconfig)))
    core.create_namespaced_pod("default", pod("idle"))
    time.sleep(0.6)
    p = core.read_namespaced_pod("idle", "default")
    assert p.status.phase == "Pending" and p.spec.node_name is None
    h.controllers(scheduler=True, kubelet=True)
    assert until(lambda: core.read_namespaced_pod("idle", "default").status.phase == "Running")


@pytest.mark.parametrize(("version", "dra"), [("v1.33.2", ["v1beta2", "v1beta1"]),
                                              ("v1.34.2", ["v1", "v1beta2", "v1beta1"]),
                                              ("v1.35.2", ["v1"])])
def test_kubernetes_version_flag_selects_dra_versions(sim_factory, version, dra):
    h = sim_factory("empty", kubernetes_version=version)
    api = config.new_client_from_config(config_file=str(h.kubeconfig))
    assert client.VersionApi(api).get_code().git_version == version
    groups = {g.name: g for g in client.ApisApi(api).get_api_versions().groups}
    assert [v.version for v in groups["resource.k8s.io"].versions] == dra


def _cluster_policy(api) -> dict:
    return client.CustomObjectsApi(api).get_cluster_custom_object("nvidia.com", "v1", "clusterpolicies",
                                                                  "cluster-policy")


def test_gpu_operator_reports_ready_once_its_operand_daemonsets_are(api):
    """GPU Operator semantics: operands of the enabled components, then ClusterPolicy state ready."""
    st = until(lambda: (_cluster_policy(api).get("status") or {}).get("state") == "ready" and _cluster_policy(api))
    assert st, _cluster_policy(api).get("status")
    conds = {c["type"]: (c["status"], c["reason"]) for c in st["status"]["conditions"]}
    assert conds == {"Ready": ("True", "Reconciled"), "Error": ("False", "Ready")}
    apps = client.AppsV1Api(api)
    for name in ("nvidia-driver-daemonset", "nvidia-container-toolkit-daemonset", "nvidia-device-plugin-daemonset",
                 "nvidia-dcgm-exporter"):
        ds = apps.read_namespaced_daemon_set(name, "gpu-operator")
        assert ds.status.number_ready == ds.status.desired_number_scheduled == 2, name


def test_gpu_operator_not_ready_while_an_operand_is_not(sim_factory):
    lab = sim_factory("conformant")
    api = config.new_client_from_config(config_file=str(lab.kubeconfig))
    until(lambda: (_cluster_policy(api).get("status") or {}).get("state") == "ready")
    lab.controllers(kubelet=False)  # new driver pods never start
    core = client.CoreV1Api(api)
    for p in core.list_namespaced_pod("gpu-operator", label_selector="app=nvidia-driver-daemonset").items:
        core.delete_namespaced_pod(p.metadata.name, "gpu-operator")
    st = until(lambda: (_cluster_policy(api).get("status") or {}).get("state") == "notReady" and _cluster_policy(api))
    assert st, _cluster_policy(api).get("status")
    ready = next(c for c in st["status"]["conditions"] if c["type"] == "Ready")
    assert ready["status"] == "False" and ready["reason"] == "OperandNotReady" and "state-driver" in ready["message"]
    lab.controllers(gpuoperator=False, kubelet=True)  # the operator is down: the status stays as last written
    time.sleep(1)
    assert _cluster_policy(api)["status"]["state"] == "notReady"


def test_prometheus_operator_creates_the_statefulset_and_reports_available(api):
    mon = client.CustomObjectsApi(api)
    body = {"apiVersion": "monitoring.coreos.com/v1", "kind": "Prometheus", "metadata": {"name": "extra"},
            "spec": {"version": "v3.14.0", "replicas": 1}}
    mon.create_namespaced_custom_object("monitoring.coreos.com", "v1", "monitoring", "prometheuses", body)

    def available() -> dict | None:
        obj = mon.get_namespaced_custom_object("monitoring.coreos.com", "v1", "monitoring", "prometheuses", "extra")
        conds = {c["type"]: c["status"] for c in (obj.get("status") or {}).get("conditions") or []}
        return obj if conds == {"Available": "True", "Reconciled": "True"} else None
    obj = until(available)
    assert obj and obj["status"]["availableReplicas"] == 1, obj
    sts = client.AppsV1Api(api).read_namespaced_stateful_set("prometheus-extra", "monitoring")
    assert sts.metadata.owner_references[0].kind == "Prometheus" and sts.status.ready_replicas == 1
