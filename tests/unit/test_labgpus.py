"""The lab's GPU emulation, pure parts: device-plugin allocation, the device state, the load stand-ins' locks,
the exporter's exposition from a node's state, and the image table's GPU images."""
from __future__ import annotations

import fcntl
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from aiconform import PROJECT_ROOT, versions
from aiconform.labcluster import devices, gpus, pods
from aiconform.labcluster.programs import gpu

NODE = {"metadata": {"name": "gpu-2x", "labels": {"nvidia.com/gpu.product": "NVIDIA-L4",
                                                  "nvidia.com/gpu.memory": "23034"}},
        "status": {"capacity": {"nvidia.com/gpu": "2"}}}


def test_node_gpus_from_capacity_and_from_the_dra_slice() -> None:
    two = gpus.node_gpus(NODE, [])
    assert [g["minor"] for g in two] == [0, 1] and two[0]["uuid"] != two[1]["uuid"]
    assert gpus.node_gpus(NODE, [])[1]["uuid"] == two[1]["uuid"]  # stable
    sl = {"spec": {"driver": "gpu.nvidia.com", "nodeName": "gpu-2x", "pool": {"name": "gpu-2x"},
                   "devices": [{"name": "gpu-0", "attributes": {"uuid": {"string": "GPU-aaa"}, "index": {"int": 0},
                                                                "type": {"string": "gpu"}}}]}}
    one = gpus.node_gpus(NODE, [sl])
    assert one == [{"minor": 0, "uuid": "GPU-aaa", "device": "gpu-0", "pool": "gpu-2x"}]


def test_device_plugin_allocates_free_gpus_deterministically_and_releases_them() -> None:
    dp = gpus.DevicePlugin()
    found = gpus.node_gpus(NODE, [])
    a = dp.allocate("gpu-2x", found, "uid-a", "c", 1)
    b = dp.allocate("gpu-2x", found, "uid-b", "c", 1)
    assert [g["minor"] for g in a] == [0] and [g["minor"] for g in b] == [1]
    assert dp.allocate("gpu-2x", found, "uid-a", "c", 1) == a  # a restarted container keeps its GPU
    with pytest.raises(RuntimeError, match="UnexpectedAdmissionError: 1 nvidia.com/gpu requested, 0 free"):
        dp.allocate("gpu-2x", found, "uid-c", "c", 1)
    dp.release({"uid-b"})  # pod a ended
    assert [g["minor"] for g in dp.allocate("gpu-2x", found, "uid-c", "c", 1)] == [0]
    assert gpus.device_paths(a) == ["nvidia0", "nvidiactl", "nvidia-uvm", "nvidia-uvm-tools"]
    assert gpus.minors(gpus.device_paths(found)) == [0, 1]


def test_gpu_limit_reads_limits_then_requests() -> None:
    assert gpus.gpu_limit({"resources": {"limits": {"nvidia.com/gpu": "2"}}}) == 2
    assert gpus.gpu_limit({"resources": {"requests": {"nvidia.com/gpu": 1}}}) == 1
    assert gpus.gpu_limit({"resources": {"limits": {"cpu": "1"}}}) == 0


def test_container_results_name_the_dra_device_and_its_minor() -> None:
    pod = {"spec": {"resourceClaims": [{"name": "gpu", "resourceClaimName": "c1"}],
                    "containers": [{"name": "x", "resources": {"claims": [{"name": "gpu"}]}}]}}
    claim = {"status": {"allocation": {"devices": {"results": [
        {"request": "r", "driver": "gpu.nvidia.com", "pool": "n1", "device": "gpu-1"}]}}}}
    sl = {"spec": {"driver": "gpu.nvidia.com", "pool": {"name": "n1"},
                   "devices": [{"name": "gpu-1", "attributes": {"index": {"int": 1}}}]}}
    res = devices.container_results(pod, pod["spec"]["containers"][0], {"c1": claim}, [sl])
    assert res == [{"claim": "c1", "driver": "gpu.nvidia.com", "pool": "n1", "device": "gpu-1", "minor": 1,
                    "nodes": ["nvidia1", "nvidiactl", "nvidia-uvm", "nvidia-uvm-tools"]}]
    assert devices.container_devices(pod, pod["spec"]["containers"][0], {"c1": claim}, [sl]) == res[0]["nodes"]


def _state(busy: bool, via: str = "device-plugin") -> dict:
    holder = {"pod": "load", "namespace": "ns", "uid": "u", "container": "c", "via": via, "claim": "cl",
              "claim_namespace": "ns", "dra_driver": "gpu.nvidia.com", "pool": "gpu-2x", "device": "gpu-0"}
    state = gpus.node_state(NODE, gpus.node_gpus(NODE, []), {0: [holder]}, {0} if busy else set())
    return state


def _series(text: str, metric: str) -> dict[str, tuple[dict, float]]:
    fam = next(f for f in text_string_to_metric_families(text) if f.name == metric)
    return {s.labels["gpu"]: (dict(s.labels), s.value) for s in fam.samples}


def test_exposition_follows_busy_and_labels_the_holder_as_the_real_exporter() -> None:
    hot = _series(gpus.exposition(_state(True), {"device-plugin"}), "DCGM_FI_DEV_GPU_UTIL")
    assert hot["0"][1] == 100 and hot["1"][1] == 0
    assert hot["0"][0]["pod"] == "load" and hot["0"][0]["namespace"] == "ns" and hot["0"][0]["container"] == "c"
    assert "pod" not in hot["1"][0] and hot["1"][0]["Hostname"] == "gpu-2x"
    # held but idle: labelled, utilization 0 (a pod that holds a GPU without a load does not make it busy)
    idle = _series(gpus.exposition(_state(False), {"device-plugin"}), "DCGM_FI_DEV_GPU_UTIL")
    assert idle["0"][1] == 0 and idle["0"][0]["pod"] == "load"
    used = _series(gpus.exposition(_state(True), {"device-plugin"}), "DCGM_FI_DEV_FB_USED")
    assert used["0"][1] == 1024 and used["1"][1] == 0
    # no DCGM_EXPORTER_KUBERNETES: no pod labels; DRA holders only with the DRA mapping
    assert "pod" not in _series(gpus.exposition(_state(True), set()), "DCGM_FI_DEV_GPU_UTIL")["0"][0]
    dra = _state(True, via="dra")
    assert "pod" not in _series(gpus.exposition(dra, {"device-plugin"}), "DCGM_FI_DEV_GPU_UTIL")["0"][0]
    labels = _series(gpus.exposition(dra, {"device-plugin", "dra"}), "DCGM_FI_DEV_GPU_UTIL")["0"][0]
    assert labels["dra_claim_name"] == "cl" and labels["pod"] == "load"


def test_exporter_mapping_from_its_environment() -> None:
    assert gpu.mapping_from_env({}) == set()
    assert gpu.mapping_from_env({"DCGM_EXPORTER_KUBERNETES": "true"}) == {"device-plugin"}
    env = {"DCGM_EXPORTER_KUBERNETES": "true", "KUBERNETES_ENABLE_DRA": "true"}
    assert gpu.mapping_from_env(env, can_list=lambda: False) == {"device-plugin"}  # no RBAC for ResourceSlices
    assert gpu.mapping_from_env(env, can_list=lambda: True) == {"device-plugin", "dra"}


def test_image_table_has_the_gpu_images_from_their_pins() -> None:
    for path, program in (("gpu_operator.images.dcgm", "dcgmproftester"),
                          ("gpu_operator.images.dcgm_exporter", "dcgm-exporter"),
                          ("verifier_probes.images.cuda_devel", "cuda-load")):
        img = versions.get(path)
        assert pods.IMAGES[f"{img['registry']}/{img['repository']}:{img['tag']}"] == program
    ds = next(o for o in gpus.exporter_objects() if o["kind"] == "DaemonSet")
    img = versions.get("gpu_operator.images.dcgm_exporter")
    assert ds["spec"]["template"]["spec"]["containers"][0]["image"] == \
        f"{img['registry']}/{img['repository']}:{img['tag']}"
    svc = next(o for o in gpus.exporter_objects() if o["kind"] == "Service")
    assert svc["spec"]["ports"][0] == {"name": "gpu-metrics", "port": 9400, "protocol": "TCP", "targetPort": 9400}


def _locked(path: Path) -> bool:
    fd = os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return False
    except BlockingIOError:
        return True
    finally:
        os.close(fd)


def _wait(fn, timeout: float = 10) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if fn():
            return True
        time.sleep(0.1)
    return False


def test_cuda_load_stand_in_makes_its_gpu_busy_on_1_and_not_on_c(tmp_path: Path) -> None:
    """pod_autoscaling's load switch: "1" holds the GPU (busy), "c" burns CPU with the GPU idle, else idle."""
    dev = tmp_path / "dev"
    dev.mkdir()
    (dev / "nvidia0").touch()
    switch = tmp_path / "load"
    switch.write_text("0")
    code = ("import sys; from aiconform.labcluster.programs import gpu; "
            "sys.exit(gpu.cuda_load(['bash', '-c', 'nvcc -o /tmp/load /tmp/load.cu'], sys.argv[1], sys.argv[2]))")
    proc = subprocess.Popen([sys.executable, "-c", code, str(switch), str(dev)], cwd=PROJECT_ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        time.sleep(1.5)
        assert not _locked(dev / "nvidia0")
        switch.write_text("1")
        assert _wait(lambda: _locked(dev / "nvidia0")), "the load did not take its GPU on 1"
        switch.write_text("c")
        assert _wait(lambda: not _locked(dev / "nvidia0")), "the CPU-only control kept the GPU busy"
        time.sleep(2.5)
        assert not _locked(dev / "nvidia0")
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    assert gpu.is_cuda_load(["bash", "-c", "nvcc -o /tmp/load /tmp/load.cu && exec /tmp/load"])
    assert not gpu.is_cuda_load(["sh", "-c", "nvidia-smi"])


def test_dcgmproftester_stand_in_is_busy_for_its_duration_and_fails_without_a_gpu(tmp_path: Path) -> None:
    dev = tmp_path / "dev"
    dev.mkdir()
    code = ("import os, sys; os.chdir(sys.argv[1]); from aiconform.labcluster.programs import gpu; "
            "gpu.Devices.__init__.__defaults__ = (sys.argv[2],); "
            "sys.exit(gpu.dcgmproftester(['--no-dcgm-validation', '-t', '1004', '-d', '2']))")
    empty = subprocess.run([sys.executable, "-c", code, str(PROJECT_ROOT), str(dev)], capture_output=True, text=True,
                           timeout=30)
    assert empty.returncode == 1 and "no GPUs found" in empty.stderr
    (dev / "nvidia1").touch()
    proc = subprocess.Popen([sys.executable, "-c", code, str(PROJECT_ROOT), str(dev)], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    assert _wait(lambda: _locked(dev / "nvidia1")), "dcgmproftester did not take its GPU"
    assert proc.wait(timeout=20) == 0
    assert not _locked(dev / "nvidia1")
