"""The lab pod runner's pure parts: the image table, kwok's Stage selector, what a container gets, the stand-ins."""
from __future__ import annotations

import base64
import json
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import yaml

from aiconform import PROJECT_ROOT, versions
from aiconform.labcluster import pods

AGNHOST = "registry.k8s.io/e2e-test-images/agnhost:2.53"


def pod(*images: str, **spec: Any) -> dict[str, Any]:
    return {"metadata": {"name": "p", "namespace": "ns", "uid": "u-1", "labels": {"app": "x"}},
            "spec": {"containers": [{"name": f"c{i}", "image": img} for i, img in enumerate(images)], **spec},
            "status": {"podIP": "10.244.1.7"}}


def test_image_table_comes_from_the_verifier_probe_pins() -> None:
    images = versions.get("verifier_probes.images")
    a = images["agnhost"]
    assert pods.IMAGES[f"{a['registry']}/{a['repository']}:{a['tag']}"] == "agnhost"
    py = images["python"]
    assert pods.IMAGES[f"python:{py['tag']}"] == "exec"  # Docker Hub short name, as pod specs write it
    assert "nginx:1.27" not in pods.IMAGES


@pytest.mark.parametrize(("p", "runs"), [
    (pod(AGNHOST), True),
    (pod("nginx:1.27"), False),
    (pod(AGNHOST, "nginx:1.27"), False),
    (pod(AGNHOST, hostNetwork=True), False),
    (pod(AGNHOST, initContainers=[{"name": "i", "image": AGNHOST}]), False),
])
def test_runnable_and_the_kwok_selector_agree(p: dict[str, Any], runs: bool) -> None:
    program, why = pods.runnable(p)
    assert (program is not None) == runs
    assert bool(why) != runs
    if not runs and p["spec"]["containers"][0]["image"] == "nginx:1.27":
        assert "nginx:1.27" in why
    jq = shutil.which("jq")
    if jq is None:
        pytest.skip("jq is not installed: the selector expression is checked by tests/lab")
    res = subprocess.run([jq, pods.runs_jq(list(pods.IMAGES))], input=json.dumps(p), capture_output=True,
                         text=True, check=True, timeout=10)
    assert res.stdout.strip() == ("true" if runs else "false")


def test_kwok_stages_only_narrow_pod_complete() -> None:
    defaults = yaml.safe_dump_all([
        {"kind": "Stage", "metadata": {"name": "pod-ready"}, "spec": {"selector": {"matchExpressions": []},
                                                                      "next": {"statusTemplate": "a\nb\n"}}},
        {"kind": "Stage", "metadata": {"name": "pod-complete"}, "spec": {"selector": {"matchExpressions": [
            {"key": ".status.phase", "operator": "In", "values": ["Running"]}]}}}])
    out = pods.kwok_stages(defaults, ["img:1"])
    assert "statusTemplate: |" in out  # templates stay literal blocks
    before, after = list(yaml.safe_load_all(defaults)), list(yaml.safe_load_all(out))
    assert before[0] == after[0]
    exprs = after[1]["spec"]["selector"]["matchExpressions"]
    assert exprs[0] == before[1]["spec"]["selector"]["matchExpressions"][0]
    assert exprs[1]["operator"] == "NotIn" and exprs[1]["values"] == ["true"] and '"img:1"' in exprs[1]["key"]
    assert list(yaml.safe_load_all(pods.kwok_stages(defaults, []))) == before


@pytest.mark.parametrize(("program", "container", "argv"), [
    ("agnhost", {"args": ["netexec", "--http-port=8080"]}, ["netexec", "--http-port=8080"]),
    ("agnhost", {"command": ["/agnhost", "webhook"], "args": ["--port=8443"]}, ["webhook", "--port=8443"]),
    ("agnhost", {}, ["netexec"]),
    ("exec", {"command": ["sh", "-c"], "args": ["exit 3"]}, ["sh", "-c", "exit 3"]),
    ("exec", {"args": ["sleep", "1"]}, ["sleep", "1"]),
    ("exec", {}, ["sh"]),
    ("pause", {"args": ["x"]}, []),
])
def test_command_and_args_as_a_kubelet_combines_them(program: str, container: dict, argv: list[str]) -> None:
    assert pods._argv(program, container) == argv


class FakeApi:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    def request(self, method: str, path: str, body: Any = None, **_: Any) -> tuple[int, Any]:
        self.calls.append((method, path))
        if path.endswith("/serviceaccounts/runner/token"):
            assert body["spec"]["boundObjectRef"] == {"apiVersion": "v1", "kind": "Pod", "name": "p", "uid": "u-1"}
            return 201, {"status": {"token": "tok-123"}}
        if path == "/api/v1/namespaces/ns/configmaps/cfg":
            return 200, {"data": {"a.txt": "A", "b.txt": "B"}}
        if path == "/api/v1/namespaces/ns/secrets/sec":
            return 200, {"data": {"tls.crt": base64.b64encode(b"CERT").decode()}}
        return 404, {}


def test_prepare_gives_env_token_and_volumes_as_files(tmp_path: Path) -> None:
    (tmp_path / "logs").mkdir()
    ca = tmp_path / "ca.crt"
    ca.write_text("CA")
    runner = pods.PodRunner(FakeApi(), tmp_path, ca, "10.243.0.1", 6443, stopping=None)  # type: ignore[arg-type]
    p = pod(AGNHOST, serviceAccountName="runner", volumes=[
        {"name": "cfg", "configMap": {"name": "cfg", "items": [{"key": "a.txt", "path": "sub/a"}]}},
        {"name": "sec", "secret": {"secretName": "sec"}}, {"name": "scratch", "emptyDir": {}}])
    p["spec"]["containers"][0].update(
        env=[{"name": "PLAIN", "value": "v"}, {"name": "ME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
             {"name": "IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
             {"name": "APP", "valueFrom": {"fieldRef": {"fieldPath": "metadata.labels['app']"}}},
             {"name": "FROM_CM", "valueFrom": {"configMapKeyRef": {"name": "cfg", "key": "b.txt"}}}],
        volumeMounts=[{"name": "cfg", "mountPath": "/etc/cfg"}, {"name": "sec", "mountPath": "/certs"},
                      {"name": "scratch", "mountPath": "/tmp/scratch"}])
    pod_dir = tmp_path / "pods" / "u-1"
    (pod_dir / "root").mkdir(parents=True)
    env, mounts = runner.prepare(p, pod_dir)
    root = pod_dir / "root"
    assert env["PLAIN"] == "v" and env["ME"] == "p" and env["IP"] == "10.244.1.7" and env["APP"] == "x"
    assert env["FROM_CM"] == "B"
    assert env["KUBERNETES_SERVICE_HOST"] == "10.243.0.1" and env["KUBERNETES_SERVICE_PORT"] == "6443"
    assert env["AICONFORM_POD_ROOT"] == str(root)
    assert (root / "etc/cfg/sub/a").read_text() == "A" and not (root / "etc/cfg/b.txt").exists()
    assert (root / "certs/tls.crt").read_text() == "CERT"
    assert (root / "tmp/scratch").is_dir()
    assert {m["path"]: m["source"] for m in mounts} == {
        "/etc/cfg": str(root / "etc/cfg"), "/certs": str(root / "certs"), "/tmp/scratch": str(root / "tmp/scratch"),
        pods.SA_DIR: str(root / pods.SA_DIR.lstrip("/"))}
    token = root / "var/run/secrets/kubernetes.io/serviceaccount/token"
    assert token.read_text() == "tok-123" and token.stat().st_mode & 0o077 == 0
    kcfg = yaml.safe_load(Path(env["KUBECONFIG"]).read_text())
    assert kcfg["clusters"][0]["cluster"]["server"] == "https://10.243.0.1:6443"
    assert kcfg["users"][0]["user"] == {"tokenFile": str(token)}  # the token itself is not copied around
    assert "tok-123" not in (tmp_path / "logs" / "pods.log").read_text()
    # a mountPath may not climb out of the pod's directory
    p["spec"]["containers"][0]["volumeMounts"] = [{"name": "scratch", "mountPath": "/../../x"}]
    with pytest.raises(RuntimeError, match="leaves the pod's directory"):
        runner.prepare(p, pod_dir)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_agnhost_netexec_stand_in_answers_and_exits_with_the_asked_code() -> None:
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-c", "import sys; from aiconform.labcluster.programs import agnhost;"
                             f"sys.exit(agnhost.main(['netexec', '--http-port={port}']))"],
                            cwd=PROJECT_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 20
        while True:
            try:
                hostname = urllib.request.urlopen(base + "/hostname", timeout=2).read().decode()  # noqa: S310
                break
            except OSError:
                assert time.monotonic() < deadline and proc.poll() is None, "netexec did not start"
                time.sleep(0.1)
        assert hostname == socket.gethostname()
        assert urllib.request.urlopen(base + "/echo?msg=hi", timeout=2).read() == b"hi"  # noqa: S310
        assert urllib.request.urlopen(base + "/clientip", timeout=2).read().decode().startswith("127.0.0.1:")  # noqa: S310
        urllib.request.urlopen(base + "/exit?code=7", timeout=2).read()  # noqa: S310
        assert proc.wait(timeout=10) == 7
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_launch_waits_for_release_then_returns_the_command_exit_code(tmp_path: Path) -> None:
    spec = tmp_path / "launch.json"
    spec.write_text(json.dumps({"program": "exec", "argv": ["sh", "-c", "echo $GREETING; exit 5"],
                                "env": {"PATH": pods.DEFAULT_PATH, "GREETING": "hello"}, "hostname": "not-set",
                                "workdir": str(tmp_path)}))
    proc = subprocess.Popen([sys.executable, "-m", "aiconform.labcluster.programs.launch", str(spec)],
                            cwd=PROJECT_ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    time.sleep(0.5)
    assert proc.poll() is None, "launch did not wait for its release"
    out, err = proc.communicate("x", timeout=20)
    assert proc.returncode == 5 and out == "hello\n"
    assert "hostname stays the host's" in err  # no UTS namespace here: the host's name is left alone
    # closing the pipe without releasing: the program never starts
    proc = subprocess.run([sys.executable, "-m", "aiconform.labcluster.programs.launch", str(spec)],
                          cwd=PROJECT_ROOT, input="", capture_output=True, text=True, timeout=20)
    assert proc.returncode == 137 and proc.stdout == ""


def test_etc_files_name_the_pod_and_point_dns_nowhere() -> None:
    p = pod(AGNHOST, hostAliases=[{"ip": "10.244.9.9", "hostnames": ["a", "b"]}])
    files = pods.etc_files(p)
    assert "10.244.1.7\tp\n" in files["hosts"] and "10.244.9.9\ta b\n" in files["hosts"]
    assert files["resolv.conf"].startswith("nameserver 127.0.0.1\n")


def test_exec_shims_cover_the_programs_on_path_and_refuse_outside_a_pod(tmp_path, monkeypatch, capsys) -> None:
    from aiconform.labcluster.programs import podexec
    bin_a, bin_b = tmp_path / "a", tmp_path / "b"
    bin_a.mkdir()
    bin_b.mkdir()
    for d, name, mode in ((bin_a, "tool", 0o755), (bin_b, "tool", 0o755), (bin_b, "other", 0o755),
                          (bin_b, "data.txt", 0o644)):
        (d / name).write_text("#!/bin/sh\n")
        (d / name).chmod(mode)
    shims = podexec.shim_dir(tmp_path / "state", f"{bin_a}:{bin_b}:/nonexistent")
    assert sorted(p.name for p in shims.iterdir()) == ["other", "tool"]
    assert all(p.resolve() == (tmp_path / "state" / "podexec") for p in shims.iterdir())
    monkeypatch.delenv("AICONFORM_POD_DIR", raising=False)
    assert podexec.main(["tool"]) == 126
    monkeypatch.setenv("AICONFORM_POD_DIR", str(tmp_path / "gone"))
    assert podexec.main(["tool", "x"]) == 126
    assert "not running" in capsys.readouterr().err


def _slice(driver: str, pool: str, devs: list[dict]) -> dict:
    return {"spec": {"driver": driver, "pool": {"name": pool}, "devices": devs}}


def test_container_devices_follow_the_allocation_of_the_claims_it_lists() -> None:
    from aiconform.labcluster.devices import container_devices
    slices = [_slice("gpu.nvidia.com", "node-a", [{"name": "gpu-0"}, {"name": "gpu-1", "attributes": {
        "minor": {"int": 5}}}]),
              _slice("gpu.amd.com", "node-b", [{"name": "gpu-1-129", "attributes": {
                  "cardIndex": {"int": 1}, "renderIndex": {"int": 129}}}])]
    claim = {"status": {"allocation": {"devices": {"results": [
        {"request": "gpu", "driver": "gpu.nvidia.com", "pool": "node-a", "device": "gpu-1"},
        {"request": "other/sub", "driver": "gpu.amd.com", "pool": "node-b", "device": "gpu-1-129"},
        {"request": "nic", "driver": "dra.net", "pool": "node-a", "device": "eth1"}]}}}}
    pod = {"spec": {"resourceClaims": [{"name": "acc", "resourceClaimTemplateName": "t"}]},
           "status": {"resourceClaimStatuses": [{"name": "acc", "resourceClaimName": "p-acc-x"}]}}
    claims = {"p-acc-x": claim}
    whole = {"resources": {"claims": [{"name": "acc"}]}}
    assert container_devices(pod, whole, claims, slices) == [
        "nvidia5", "nvidiactl", "nvidia-uvm", "nvidia-uvm-tools", "dri/card1", "dri/renderD129", "kfd"]
    assert container_devices(pod, {"resources": {"claims": [{"name": "acc", "request": "other"}]}}, claims,
                             slices) == ["dri/card1", "dri/renderD129", "kfd"]
    # a container that lists no claim, a claim not yet allocated, a claim of another pod: nothing
    assert container_devices(pod, {"name": "c"}, claims, slices) == []
    assert container_devices(pod, whole, {"p-acc-x": {"status": {}}}, slices) == []
    assert container_devices(pod, whole, {}, slices) == []
