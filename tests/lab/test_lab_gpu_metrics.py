"""GPUs that do work on the lab (emulated: no GPUs) and the emulated DCGM exporter, scraped for real.

The real scheduler places ``nvidia.com/gpu`` pods; the pod runner allocates their GPUs as the NVIDIA device plugin
(distinct, released when the pod goes; labcluster/gpus.py); a load program holding a GPU makes it busy in its node's
device state; the DCGM exporter the lab runs as the GPU Operator would (a DaemonSet whose pods the real
DaemonSet controller creates) reports it, scraped through the real API server's proxy. accelerator_metrics is
Implemented on the lab; with the exporter removed, or stale (a collection interval longer than the verification),
it is not.
"""
from __future__ import annotations

import copy
import json
import time
from pathlib import Path

import pytest
import yaml
from helpers.lab import LabHandle
from prometheus_client.parser import text_string_to_metric_families
from test_lab_cluster import kget, kubectl, wait
from test_lab_pods import apply, container_log
from test_lab_verify import _verify_one

from aiconform import PROJECT_ROOT, versions
from aiconform.labcluster import gpus

pytestmark = pytest.mark.lab

NS = "gpu-work"
NODE = "gpu-2x"
BUSYBOX = "registry.k8s.io/e2e-test-images/busybox:1.36.1-1"
TOLERATE = [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]


def _image(path: str) -> str:
    img = versions.get(path)
    return f"{img['registry']}/{img['repository']}:{img['tag']}"


def _gpu_pod(name: str, image: str, command: list[str], node: str | None = NODE, gpus_: int = 1,
             **extra: object) -> dict:
    spec: dict = {"restartPolicy": "Never", "terminationGracePeriodSeconds": 1, "tolerations": TOLERATE,
                  "containers": [{"name": "c", "image": image, "command": command,
                                  "resources": {"limits": {"nvidia.com/gpu": str(gpus_)}}}], **extra}
    if node:
        spec["nodeSelector"] = {"kubernetes.io/hostname": node}
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": NS}, "spec": spec}


def _add_two_gpu_node(lab: LabHandle) -> None:
    """A third GPU node with two GPUs (the lab's own have one each), kwok-managed like the others."""
    base = kget(lab, "node", "-l", "nvidia.com/gpu.present=true")["items"][0]
    node = copy.deepcopy(base)
    for k in ("uid", "resourceVersion", "creationTimestamp", "managedFields"):
        node["metadata"].pop(k, None)
    node["metadata"]["name"] = NODE
    node["metadata"]["labels"].update({"kubernetes.io/hostname": NODE, "nvidia.com/gpu.count": "2"})
    node["spec"] = {**node["spec"], "podCIDR": "10.244.200.0/24", "podCIDRs": ["10.244.200.0/24"],
                    "providerID": f"kwok://{NODE}"}
    node["status"] = {k: v for k, v in node["status"].items() if k in ("addresses", "nodeInfo", "daemonEndpoints")}
    node["status"]["capacity"] = {**base["status"]["capacity"], "nvidia.com/gpu": "2"}
    node["status"]["allocatable"] = {**base["status"]["allocatable"], "nvidia.com/gpu": "2"}
    kubectl(lab, "create", "-f", "-", input=json.dumps(node))
    wait(lambda: any(c["type"] == "Ready" and c["status"] == "True"
                     for c in kget(lab, "node", NODE)["status"].get("conditions") or []), 60, f"node {NODE} Ready")


def _running(lab: LabHandle, name: str, timeout: float = 60) -> dict:
    return wait(lambda: (p := kget(lab, "pod", "-n", NS, name))["status"].get("phase") == "Running" and p,
                timeout, f"pod {name} Running")


def _log_has(lab: LabHandle, pod: dict, text: str, timeout: float = 30) -> str:
    return wait(lambda: (log := container_log(lab, pod, "c")) and text in log and log, timeout,
                f"{text!r} in the log of {pod['metadata']['name']}")


def _state(lab: LabHandle, node: str) -> dict:
    path = lab.state / "nodes" / node / gpus.STATE
    return json.loads(path.read_text()) if path.exists() else {}


def _exporter_pod(lab: LabHandle, node: str) -> dict:
    return wait(lambda: next((p for p in kget(lab, "pods", "-n", gpus.NAMESPACE, "-l", f"app={gpus.EXPORTER}")["items"]
                              if p["spec"].get("nodeName") == node and p["status"].get("phase") == "Running"
                              and not p["metadata"].get("deletionTimestamp")), None),
                90, f"an exporter pod on {node}")


def _scrape(lab: LabHandle, node: str) -> dict[str, dict]:
    """DCGM_FI_DEV_GPU_UTIL per gpu from the exporter on ``node``, through the API server's pod proxy."""
    pod = _exporter_pod(lab, node)["metadata"]["name"]
    res = kubectl(lab, "get", "--raw", f"/api/v1/namespaces/{gpus.NAMESPACE}/pods/{pod}:9400/proxy/metrics",
                  check=False)
    if res.returncode != 0 or not res.stdout:
        return {}
    fam = next((f for f in text_string_to_metric_families(res.stdout) if f.name == "DCGM_FI_DEV_GPU_UTIL"), None)
    return {s.labels["gpu"]: {**s.labels, "value": s.value} for s in fam.samples} if fam else {}


def test_device_plugin_allocation_distinct_pending_and_released(lab: LabHandle) -> None:
    kubectl(lab, "create", "namespace", NS)
    _add_two_gpu_node(lab)
    show = ["sh", "-c", "ls /dev | grep nvidia | tr '\\n' ' '; echo; echo VISIBLE=$NVIDIA_VISIBLE_DEVICES; "
                        "sleep 3600"]
    apply(lab, _gpu_pod("a", BUSYBOX, show), _gpu_pod("b", BUSYBOX, show))
    logs = {n: _log_has(lab, _running(lab, n), "VISIBLE=") for n in ("a", "b")}
    seen = {n: (log.splitlines()[0].split(), log.split("VISIBLE=")[1].split()[0]) for n, log in logs.items()}
    gpu_a = [d for d in seen["a"][0] if d[6:].isdigit()]
    gpu_b = [d for d in seen["b"][0] if d[6:].isdigit()]
    assert len(gpu_a) == 1 and len(gpu_b) == 1 and gpu_a != gpu_b, seen
    assert "nvidiactl" in seen["a"][0], seen
    assert seen["a"][1].startswith("GPU-") and seen["a"][1] != seen["b"][1], seen
    state = wait(lambda: (s := _state(lab, NODE)) and all(g["holders"] for g in s["gpus"]) and s, 20,
                 "both GPUs held in the device state")
    by_pod = {g["holders"][0]["pod"]: g for g in state["gpus"]}
    assert by_pod["a"]["uuid"] == seen["a"][1] and by_pod["a"]["holders"][0]["via"] == "device-plugin", state
    assert not any(g["busy"] for g in state["gpus"]), state  # held, no load: idle
    # a third pod: the real scheduler finds no free nvidia.com/gpu on the node
    apply(lab, _gpu_pod("c", BUSYBOX, show))
    time.sleep(5)
    c = kget(lab, "pod", "-n", NS, "c")
    cond = next(x for x in c["status"].get("conditions") or [] if x["type"] == "PodScheduled")
    assert c["status"]["phase"] == "Pending" and cond["status"] == "False", c["status"]
    assert "nvidia.com/gpu" in cond.get("message", ""), cond
    # a's GPU goes back when a is deleted, and c gets it
    kubectl(lab, "-n", NS, "delete", "pod", "a", "--wait=true", "--timeout=60s")
    log_c = _log_has(lab, _running(lab, "c"), "VISIBLE=")
    assert log_c.split("VISIBLE=")[1].split()[0] == seen["a"][1], (log_c, seen)


def test_exporter_reports_each_gpu_of_its_node_with_the_holders_labels(lab: LabHandle) -> None:
    # the exporter collects every DCGM_EXPORTER_INTERVAL (2 s on the lab): c took a's GPU a moment ago
    series = wait(lambda: (s := _scrape(lab, NODE)) and {x.get("pod") for x in s.values()} == {"b", "c"} and s,
                  30, f"two GPUs of {NODE} labelled with their holders b and c")
    assert len(series) == 2, series
    assert all(x["namespace"] == NS and x["container"] == "c" and x["Hostname"] == NODE for x in series.values())
    assert {x["value"] for x in series.values()} == {0.0}, series  # held without a load: idle
    state = _state(lab, NODE)
    assert {x["UUID"] for x in series.values()} == {g["uuid"] for g in state["gpus"]}
    # the lab's own GPU nodes have an exporter each, one GPU each
    for node in kget(lab, "nodes", "-l", "nvidia.com/gpu.present=true")["items"]:
        name = node["metadata"]["name"]
        if name != NODE:
            assert len(wait(lambda name=name: _scrape(lab, name), 60, f"series of {name}")) == 1
    kubectl(lab, "-n", NS, "delete", "pod", "b", "c", "--wait=true", "--timeout=60s")


def test_load_programs_make_their_gpu_busy(lab: LabHandle) -> None:
    """dcgmproftester12 busy for its duration; pod_autoscaling's CUDA load busy on "1", idle GPU on "c"."""
    prof = _gpu_pod("prof", _image("gpu_operator.images.dcgm"), ["/usr/bin/dcgmproftester12"])
    prof["spec"]["containers"][0]["args"] = ["--no-dcgm-validation", "-t", "1004", "-d", "8"]
    apply(lab, prof)
    _running(lab, "prof")
    busy = wait(lambda: [g for g, x in _scrape(lab, NODE).items() if x["value"] == 100 and x.get("pod") == "prof"],
                30, "the compute probe's GPU at 100")
    assert len(busy) == 1
    assert wait(lambda: kget(lab, "pod", "-n", NS, "prof")["status"].get("phase") == "Succeeded", 30, "prof done")
    wait(lambda: (s := _scrape(lab, NODE)) and all(x["value"] == 0 for x in s.values()), 20, "idle again")

    program = yaml.safe_load((PROJECT_ROOT / "plugins/module_utils/verifiers/pod_autoscaling/manifests/"
                              "load-programs.yaml").read_text())["nvidia"]
    kubectl(lab, "-n", NS, "create", "configmap", "switch", "--from-literal=load=0")
    load = _gpu_pod("load", _image("verifier_probes.images.cuda_devel"), program["command"],
                    volumes=[{"name": "switch", "configMap": {"name": "switch"}}])
    load["spec"]["containers"][0]["args"] = program["args"]
    load["spec"]["containers"][0]["volumeMounts"] = [{"name": "switch", "mountPath": "/etc/aiconform-load"}]
    apply(lab, load)
    _running(lab, "load")

    def util() -> float | None:
        return next((x["value"] for x in _scrape(lab, NODE).values() if x.get("pod") == "load"), None)

    time.sleep(3)
    assert util() == 0
    for value, want in (("1", 100), ("c", 0), ("1", 100), ("0", 0)):
        kubectl(lab, "-n", NS, "patch", "configmap", "switch", "-p", json.dumps({"data": {"load": value}}))
        wait(lambda want=want: util() == want, 30, f"utilization {want} on load={value}")
        if value == "c":
            time.sleep(4)  # and it stays idle while the CPU burns
            assert util() == 0
    kubectl(lab, "-n", NS, "delete", "pod", "load", "--wait=true", "--timeout=60s")


def _exporter_env(lab: LabHandle, name: str, value: str | None) -> None:
    """Set (None: remove) an env var of the exporter DaemonSet; wait until its pods run with it."""
    kubectl(lab, "-n", gpus.NAMESPACE, "set", "env", f"daemonset/{gpus.EXPORTER}",
            f"{name}={value}" if value is not None else f"{name}-")

    def restarted() -> bool:
        items = [p for p in kget(lab, "pods", "-n", gpus.NAMESPACE, "-l", f"app={gpus.EXPORTER}")["items"]
                 if not p["metadata"].get("deletionTimestamp")]
        envs = [{e["name"]: e.get("value") for e in p["spec"]["containers"][0].get("env") or []} for p in items]
        return bool(items) and all(e.get(name) == value for e in envs) and all(
            p["status"].get("phase") == "Running" for p in items)

    wait(restarted, 120, f"the exporter pods restarted with {name}={value}")
    time.sleep(3)


def test_a_dra_holder_is_labelled_only_with_the_exporters_dra_mapping(lab: LabHandle) -> None:
    """The GPU Operator's default exporter maps device-plugin GPUs to pods, not DRA ones; with
    KUBERNETES_ENABLE_DRA=true it needs RBAC to list and watch ResourceSlices too (dcgm.py)."""
    apply(lab, {"apiVersion": "resource.k8s.io/v1", "kind": "ResourceClaimTemplate",
                "metadata": {"name": "one-gpu", "namespace": NS},
                "spec": {"spec": {"devices": {"requests": [
                    {"name": "gpu", "exactly": {"deviceClassName": "gpu.nvidia.com", "count": 1}}]}}}})
    pod = _gpu_pod("dra-load", _image("gpu_operator.images.dcgm"), ["dcgmproftester12"], node=None)
    ctr = pod["spec"]["containers"][0]
    ctr["args"] = ["-t", "1004", "-d", "600"]
    ctr["resources"] = {"claims": [{"name": "gpu"}]}
    pod["spec"]["resourceClaims"] = [{"name": "gpu", "resourceClaimTemplateName": "one-gpu"}]
    apply(lab, pod)
    node = _running(lab, "dra-load")["spec"]["nodeName"]

    def hot() -> dict:
        return next((x for x in _scrape(lab, node).values() if x["value"] == 100), {})

    rbac = [{"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "dcgm-dra"},
             "rules": [{"apiGroups": ["resource.k8s.io"], "resources": ["resourceslices"],
                        "verbs": ["get", "list", "watch"]}]},
            {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
             "metadata": {"name": "dcgm-dra"},
             "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "dcgm-dra"},
             "subjects": [{"kind": "ServiceAccount", "name": gpus.EXPORTER, "namespace": gpus.NAMESPACE}]}]
    try:
        series = wait(hot, 30, f"the DRA-held GPU of {node} at 100")
        assert "pod" not in series, series  # the operator's default: no DRA mapping
        _exporter_env(lab, "KUBERNETES_ENABLE_DRA", "true")
        series = wait(hot, 30, f"the DRA-held GPU of {node} at 100")
        assert "pod" not in series, series  # no RBAC for ResourceSlices: its informer cannot start
        apply(lab, *rbac)
        series = wait(lambda: (x := hot()) and "pod" in x and x, 30, "the DRA holder's labels")
        assert series["pod"] == "dra-load" and series["namespace"] == NS and series["container"] == "c", series
        assert series["dra_driver_name"] == "gpu.nvidia.com" and series["dra_claim_name"].startswith("dra-load-")
        assert series["dra_device_name"] == "gpu-0" and series["dra_pool_name"] == node, series
    finally:
        kubectl(lab, "delete", "clusterrolebinding,clusterrole", "dcgm-dra", "--ignore-not-found")
        _exporter_env(lab, "KUBERNETES_ENABLE_DRA", None)
        kubectl(lab, "-n", NS, "delete", "pod", "dra-load", "--wait=true", "--timeout=60s")


TIMEOUTS = {"probe_duration": 60, "probe_start_timeout": 60, "utilization_timeout": 30, "sample_interval": 2,
            "scrape_timeout": 10}


def test_accelerator_metrics_is_implemented_on_the_lab(lab: LabHandle, tmp_path: Path) -> None:
    res, proc = _verify_one(lab, tmp_path, "accelerator_metrics", TIMEOUTS, 600)
    assert res["status"] == "Implemented", (res, proc.stdout[-3000:])
    checks = {c["name"]: c["outcome"] for c in res["checks"]}
    assert checks.get("WorkloadDrivenUtilization") == "pass", checks
    wl = res["facts"]["workload"]
    assert wl["allocation"] == "device-plugin" and wl["attempted"], wl


def test_accelerator_metrics_with_a_stale_exporter_is_not_implemented(lab: LabHandle, tmp_path: Path) -> None:
    """The exporter collects once an hour (DCGM_EXPORTER_INTERVAL): its utilization does not follow the load."""
    try:
        _exporter_env(lab, "DCGM_EXPORTER_INTERVAL", "3600000")
        res, proc = _verify_one(lab, tmp_path, "accelerator_metrics", TIMEOUTS, 600)
    finally:
        _exporter_env(lab, "DCGM_EXPORTER_INTERVAL", str(gpus.LAB_INTERVAL_MS))
    assert res["status"] != "Implemented", (res, proc.stdout[-3000:])
    checks = {c["name"]: c["outcome"] for c in res["checks"]}
    assert checks.get("WorkloadDrivenUtilization") == "fail", checks
    assert proc.returncode == 1, proc.stdout[-2000:]


def test_accelerator_metrics_without_the_exporter_is_not_implemented(lab: LabHandle, tmp_path: Path) -> None:
    """Runs last in the module: removes the exporter (as dcgmExporter.enabled=false would)."""
    kubectl(lab, "-n", gpus.NAMESPACE, "delete", "daemonset,service", gpus.EXPORTER, "--wait=true")
    res, proc = _verify_one(lab, tmp_path, "accelerator_metrics", TIMEOUTS, 600)
    assert res["status"] == "Not Implemented", (res, proc.stdout[-3000:])
    assert "no accelerator metrics exporter" in json.dumps(res), res
    assert proc.returncode == 1, proc.stdout[-2000:]
