"""secure_accelerator_access on the simulator: the verify job in-process; the first test through ansible-playbook.
The tests call ``helpers.conformance_e2e.verify_in_process`` (the verify job's code, the options the plan
task gives from the same inventory variables); the first runs ``ansible-playbook conformance.yml --tags
verify,secure_accelerator_access``.

What each probe container "sees" is not scripted: the simulator's devicemanager controller
(aiconform/sim/controllers/devicemanager.py) derives it from its own allocation state with the real
device-plugin/DRA semantics (a container sees /dev/nvidiaN only for devices allocated to it) and prints it
in the real formats (`nvidia-smi -L` as in the VKS v1.36 transcript; product name, driver attributes and
device names from the conformant scenario's ResourceSlices, which follow the VKS ResourceSlice fixture).
Timeouts are shortened through inventory variables.
"""
from __future__ import annotations

import json

import pytest
import yaml
from helpers.conformance_e2e import probe_namespaces, run_conformance, verify_in_process
from helpers.sim import run_tool

pytestmark = pytest.mark.e2e
REQ = "secure_accelerator_access"
FAST = {"aiconform_secure_accelerator_access_pod_running_timeout": 4,
        "aiconform_secure_accelerator_access_log_timeout": 4,
        "aiconform_secure_accelerator_access_release_timeout": 10, "aiconform_cleanup_timeout": 20}
SUBTESTS = ["PositiveAccessTest", "NegativeIsolationTest", "MultiContainerIsolationTest", "CrossPodIsolationTest",
            "EnvVarBypassTest"]


@pytest.mark.parametrize("lab", ["conformant"], indirect=True)
def test_conformant_dra_is_implemented(lab, tmp_path):
    # a workload that mounts a GPU's device node from the host: the hostPath audit names it, the verdict stands
    hostpath_pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "trainer", "namespace": "default"},
                    "spec": {"volumes": [{"name": "gpu", "hostPath": {"path": "/dev/nvidia0"}}],
                             "containers": [{"name": "c", "image": "busybox", "volumeMounts": [
                                 {"name": "gpu", "mountPath": "/dev/nvidia0"}]}]}}
    res = run_tool(lab, "kubectl", "apply", "-f", "-", input=yaml.safe_dump(hostpath_pod))
    assert res.returncode == 0, res.stderr
    entry, out = run_conformance(lab, tmp_path, REQ, FAST)
    assert entry["status"] == "Implemented", (entry["reasons"], out[-3000:])
    warn = [r for r in entry["reasons"] if r.startswith("WARNING hostPath audit")]
    assert len(warn) == 1 and "default/trainer (/dev/nvidia0)" in warn[0], entry["reasons"]
    assert entry["test_name"] == "TestSecureAcceleratorAccess"
    assert [c["name"] for c in entry["checks"]] == SUBTESTS
    assert all(c["outcome"] == "pass" for c in entry["checks"])
    assert entry["facts"]["environment"]["mode"] == "dra"
    # the two isolation pods hold different devices of the scenario's ResourceSlices and see them
    cross = entry["facts"]["subtests"]["CrossPodIsolationTest"]["pods"]
    uuids = [p["containers"]["prober"]["uuids"] for p in cross.values()]
    assert len(uuids) == 2 and uuids[0] and uuids[0] != uuids[1]
    slice_uuids = {d["attributes"]["uuid"] for s in entry["facts"]["resource_slices"] for d in s["devices"]}
    assert set(uuids[0] + uuids[1]) <= slice_uuids
    evidence = "\n".join(e["content"] for e in entry["evidence"])
    assert "RESULT: ACCELERATOR_COUNT=0" in evidence and "GRID A100-10C (UUID: GPU-" in evidence
    assert not probe_namespaces(lab, REQ)


@pytest.mark.parametrize("lab", ["gpu-lab"], indirect=True)
def test_device_plugin_only_cluster_is_implemented_in_auto_mode(lab, tmp_path):
    entry, out = verify_in_process(lab, tmp_path, REQ, FAST)
    assert entry["status"] == "Implemented", (entry["reasons"], out[-3000:])
    assert entry["facts"]["environment"]["mode"] == "device-plugin"
    assert "device plugin" in entry["reasons"][0]


@pytest.mark.parametrize("lab", ["empty"], indirect=True)
def test_without_accelerators_is_not_implemented(lab, tmp_path):
    entry, out = verify_in_process(lab, tmp_path, REQ, FAST)
    assert entry["status"] == "Not Implemented", (entry["reasons"], out[-3000:])
    assert "no usable accelerator allocation mechanism found" in entry["reasons"][0]
    assert not probe_namespaces(lab, REQ)


@pytest.mark.parametrize("lab", ["conformant"], indirect=True)
def test_probe_pods_never_start_is_the_timeout_path(lab, tmp_path):
    lab.controllers(kubelet=False)  # pods are bound but no container ever starts
    entry, out = verify_in_process(lab, tmp_path, REQ, FAST)
    assert entry["status"] == "Not Implemented", (entry["reasons"], out[-3000:])
    checks = {c["name"]: c for c in entry["checks"]}
    assert checks["PositiveAccessTest"]["outcome"] == "fail"
    assert "timed out after 4s waiting for pod pos-pod to be Running" in checks["PositiveAccessTest"]["reason"]
    assert "phase=Pending" in checks["PositiveAccessTest"]["reason"]
    assert not probe_namespaces(lab, REQ)


@pytest.mark.parametrize("lab", ["conformant"], indirect=True)
def test_forbidden_pod_creation_is_an_error_and_leaves_nothing(lab, tmp_path):
    lab.faults({"path": r"/api/v1/namespaces/aiconform-secure-accelerator-access-[^/]+/pods$", "verb": "create",
                "status": 403})
    entry, out = verify_in_process(lab, tmp_path, REQ, FAST)
    assert entry["status"] == "error", (entry["reasons"], out[-3000:])
    assert "forbidden" in entry["reasons"][0] and "create pod" in entry["reasons"][0]
    assert not probe_namespaces(lab, REQ)


def _leftover(run_id: str) -> list[dict]:
    """Pods of another aiconform run (a crashed one, or a second run against the same cluster) holding both GPUs."""
    ns = f"aiconform-cluster-autoscaling-{run_id}"
    objs: list[dict] = [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns, "labels": {
        "app.kubernetes.io/managed-by": "aiconform", "aiconform.io/run-id": run_id,
        "aiconform.io/requirement": "cluster-autoscaling"}}}]
    for i in range(2):
        objs.append({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": f"baseline-{i}", "namespace": ns},
                     "spec": {"tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}],
                              "containers": [{"name": "hold", "image": "registry.k8s.io/pause:3.10",
                                              "resources": {"limits": {"nvidia.com/gpu": "1"}}}]}})
    return objs


@pytest.mark.parametrize("lab", ["gpu-lab"], indirect=True)
def test_a_timeout_caused_by_aiconforms_own_pods_is_an_error_not_a_verdict(lab, tmp_path):
    """Both GPUs held by pods of another aiconform run that is still alive (its Lease is renewed, so the leftover
    cleanup leaves them alone): the probe times out, and that is aiconform's doing."""
    from aiconform.verifiers.leftovers import RunLease

    lease = RunLease({"kubeconfig": str(lab.kubeconfig)}, "r0-leftover", renew_seconds=1).start()
    try:
        manifest = tmp_path / "leftover.yaml"
        manifest.write_text(yaml.safe_dump_all(_leftover("r0-leftover")))
        applied = run_tool(lab, "kubectl", "apply", "-f", str(manifest))
        assert applied.returncode == 0, applied.stderr
        waited = run_tool(lab, "kubectl", "wait", "-n", "aiconform-cluster-autoscaling-r0-leftover", "--for=condition=Ready",
                          "pod/baseline-0", "pod/baseline-1", "--timeout=30s")
        assert waited.returncode == 0, waited.stdout + waited.stderr
        entry, out = verify_in_process(lab, tmp_path, REQ, FAST)
        assert entry["status"] == "error", (entry["reasons"], out[-3000:])
        first = entry["reasons"][0]
        assert "aiconform's own pods held what this probe needs" in first, entry["reasons"]
        assert "aiconform-cluster-autoscaling-r0-leftover/baseline-0" in first and "cluster_autoscaling" in first
        assert any(r.startswith("(would have been Not Implemented)") and "timed out" in r for r in entry["reasons"])
        assert entry["facts"]["aiconform_pods_in_the_way"][0]["holds"][0] == "accelerators"
    finally:
        lease.stop()


@pytest.mark.parametrize("lab", ["conformant"], indirect=True)
def test_toolkit_honouring_the_env_var_is_not_implemented(lab, tmp_path):
    """The GPU Operator's toolkit set to accept NVIDIA_VISIBLE_DEVICES from unprivileged pods: a pod that requests
    nothing but sets NVIDIA_VISIBLE_DEVICES=all sees the node's GPU."""
    patch = {"spec": {"toolkit": {"env": [{"name": "ACCEPT_NVIDIA_VISIBLE_DEVICES_ENVVAR_WHEN_UNPRIVILEGED",
                                           "value": "true"}]}}}
    proc = run_tool(lab, "kubectl", "patch", "clusterpolicy", "cluster-policy", "--type", "merge", "-p", json.dumps(patch))
    assert proc.returncode == 0, proc.stderr
    entry, out = verify_in_process(lab, tmp_path, REQ, FAST)
    assert entry["status"] == "Not Implemented", (entry["reasons"], out[-3000:])
    checks = {c["name"]: c for c in entry["checks"]}
    assert checks["EnvVarBypassTest"]["outcome"] == "fail"
    assert all(checks[n]["outcome"] == "pass" for n in SUBTESTS[:4])
    assert "VIOLATION: envvar-plain/prober (no accelerator requested, NVIDIA_VISIBLE_DEVICES=all" in \
        checks["EnvVarBypassTest"]["reason"]
    assert "envvar-cuda/prober" in checks["EnvVarBypassTest"]["reason"]
    assert not probe_namespaces(lab, REQ)


@pytest.mark.parametrize("lab", ["gpu-lab"], indirect=True)
def test_single_gpu_cluster_is_implemented_with_cross_pod_skipped(lab, tmp_path):
    """One of the two GPU nodes cordoned: one allocatable GPU, upstream's three subtests pass."""
    nodes = run_tool(lab, "kubectl", "get", "nodes", "-l", "nvidia.com/gpu.present=true", "-o", "name")
    assert nodes.returncode == 0 and len(nodes.stdout.split()) == 2, nodes.stdout
    proc = run_tool(lab, "kubectl", "cordon", nodes.stdout.split()[1])
    assert proc.returncode == 0, proc.stderr
    entry, out = verify_in_process(lab, tmp_path, REQ, FAST)
    assert entry["status"] == "Implemented", (entry["reasons"], out[-3000:])
    checks = {c["name"]: c for c in entry["checks"]}
    assert checks["CrossPodIsolationTest"]["outcome"] == "skip"
    assert "offers 1 allocatable accelerator" in checks["CrossPodIsolationTest"]["reason"]
    assert all(checks[n]["outcome"] == "pass" for n in ("PositiveAccessTest", "NegativeIsolationTest",
                                                          "MultiContainerIsolationTest", "EnvVarBypassTest"))
    assert any("CrossPodIsolationTest skipped" in r for r in entry["reasons"])


# -- AMD GPUs through AMD's DRA driver (scenario amd-gpu) --------------------------------------------------
@pytest.mark.parametrize("lab", ["amd-gpu"], indirect=True)
def test_amd_dra_is_implemented(lab, tmp_path):
    entry, out = verify_in_process(lab, tmp_path, REQ, FAST)
    assert entry["status"] == "Implemented", (entry["reasons"], out[-3000:])
    assert entry["reasons"][0].startswith("AMD (detected): accelerator access is mediated by DRA ResourceClaims")
    assert [c["name"] for c in entry["checks"]] == SUBTESTS[:4]  # the env-var bypass is NVIDIA's
    assert all(c["outcome"] == "pass" for c in entry["checks"])
    cross = entry["facts"]["subtests"]["CrossPodIsolationTest"]["pods"]
    seen = [p["containers"]["prober"]["devices"] for p in cross.values()]
    assert seen == [["/dev/dri/renderD128"], ["/dev/dri/renderD128"]]  # same render index, different nodes
    assert len(set(entry["facts"]["subtests"]["CrossPodIsolationTest"]["nodes"].values())) == 2
    assert not probe_namespaces(lab, REQ)


@pytest.mark.parametrize("lab", ["intel-gpu"], indirect=True)
def test_intel_dra_is_implemented(lab, tmp_path):
    entry, out = verify_in_process(lab, tmp_path, REQ, FAST)
    assert entry["status"] == "Implemented", (entry["reasons"], out[-3000:])
    assert entry["reasons"][0].startswith("INTEL (detected): accelerator access is mediated by DRA ResourceClaims")
    assert [c["name"] for c in entry["checks"]] == SUBTESTS[:4]
    assert all(c["outcome"] == "pass" for c in entry["checks"])
    assert not probe_namespaces(lab, REQ)


@pytest.mark.parametrize("lab", ["amd-gpu"], indirect=True)
def test_amd_class_matching_no_device_is_not_implemented(lab, tmp_path):
    cls = {"apiVersion": "resource.k8s.io/v1", "kind": "DeviceClass", "metadata": {"name": "gpu.amd.com"},
           "spec": {"selectors": [{"cel": {"expression": "device.driver == 'gpu.amd.com' && "
                                                         "device.attributes['gpu.amd.com'].type == 'amdgpu-partition'"}}]}}
    proc = run_tool(lab, "kubectl", "apply", "-f", "-", input=json.dumps(cls))
    assert proc.returncode == 0, proc.stderr
    entry, out = verify_in_process(lab, tmp_path, REQ, FAST)
    assert entry["status"] == "Not Implemented", (entry["reasons"], out[-3000:])
    assert {c["name"]: c["outcome"] for c in entry["checks"]}["PositiveAccessTest"] == "fail"
    assert not probe_namespaces(lab, REQ)
