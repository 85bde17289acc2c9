"""The lab pod runner's pure parts: the image table, kwok's Stage selector, what a container gets, the stand-ins."""
from __future__ import annotations

import base64
import json
import os
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
    (pod(AGNHOST, "python:3.13-alpine"), True),  # every container of known images: each runs
    (pod("nvcr.io/nvidia/cuda:12.9.0-base-ubuntu24.04"), True),
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
                                "workdir": str(tmp_path), "ready": str(tmp_path / "ready")}))
    proc = subprocess.Popen([sys.executable, "-m", "aiconform.labcluster.programs.launch", str(spec)],
                            cwd=PROJECT_ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    time.sleep(0.5)
    assert proc.poll() is None, "launch did not wait for its release"
    assert not (tmp_path / "ready").exists()  # `kubectl exec` waits for the container's filesystem
    out, err = proc.communicate("x", timeout=20)
    assert proc.returncode == 5 and out == "hello\n"
    assert (tmp_path / "ready").exists()
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


# -- upstream controllers (lab.controllers): image match, volumes that follow their objects, held pods ----------

KUEUE = versions.get("kueue.images.manager")


@pytest.mark.parametrize(("image", "name"), [
    (f"{KUEUE['registry']}/{KUEUE['repository']}:{KUEUE['tag']}", "kueue"),
    (f"mirror.example:5000/{KUEUE['repository']}:{KUEUE['tag']}", "kueue"),  # aiconform_image_registry
    (f"{KUEUE['repository']}:{KUEUE['tag']}", "kueue"),
    (f"{KUEUE['registry']}/{KUEUE['repository']}:v0.0.1", None),  # another version is another program
    (f"{KUEUE['registry']}/x{KUEUE['repository']}:{KUEUE['tag']}", None),
    (AGNHOST, None),
])
def test_controller_images_match_under_any_registry(image: str, name: str | None) -> None:
    assert pods.controller_of(image) == name


class VolumeApi:
    """A ConfigMap and a Secret whose content the test changes; a Secret that appears later; events/status kept."""

    def __init__(self) -> None:
        self.objects: dict[str, dict[str, str]] = {"configmaps/cfg": {"config.yaml": "a: 1\n"}, "secrets/sec": {}}
        self.posted: list[tuple[str, Any]] = []

    def request(self, method: str, path: str, body: Any = None, **_: Any) -> tuple[int, Any]:
        if method != "GET":
            self.posted.append((path, body))
            return 201, {"status": {"token": "tok"}}
        key = "/".join(path.split("/")[-2:])
        if key not in self.objects:
            return 404, {}
        data = self.objects[key]
        if key.startswith("secrets/"):
            data = {k: base64.b64encode(v.encode()).decode() for k, v in data.items()}
        return 200, {"data": data}


def controller_pod() -> dict[str, Any]:
    p = pod(f"mirror.example/{KUEUE['repository']}:{KUEUE['tag']}", volumes=[
        {"name": "cert", "secret": {"secretName": "sec"}}, {"name": "cfg", "configMap": {"name": "cfg"}},
        {"name": "late", "secret": {"secretName": "late"}}])
    p["spec"]["containers"][0]["volumeMounts"] = [
        {"name": "cert", "mountPath": "/tmp/k8s-webhook-server/serving-certs"},
        {"name": "cfg", "mountPath": "/controller_manager_config.yaml", "subPath": "config.yaml"},
        {"name": "late", "mountPath": "/late"}]
    p["status"]["phase"] = "Running"
    return p


def test_a_pod_waits_for_its_volumes_and_its_secret_volume_follows_the_object(tmp_path: Path) -> None:
    (tmp_path / "logs").mkdir()
    ca = tmp_path / "ca.crt"
    ca.write_text("CA")
    api = VolumeApi()
    runner = pods.PodRunner(api, tmp_path, ca, "10.243.0.1", 6443, stopping=None,  # type: ignore[arg-type]
                            controllers={"kueue": Path("/bin/true")})
    p = controller_pod()
    assert runner.controller_container(p) == (0, "/bin/true")
    runner.start(p, "controller", 0, "/bin/true")
    # Secret "late" does not exist: held (ContainerCreating), one FailedMount event, not started
    assert "u-1" not in runner.managed and runner.held["u-1"] == 'secret "late"'
    events = [b for path, b in api.posted if path.endswith("/events")]
    assert [e["reason"] for e in events] == ["FailedMount"] and 'secret "late" not found' in events[0]["message"]
    status = [b for path, b in api.posted if path.endswith("/status")][0]["status"]
    assert status["containerStatuses"][0]["state"] == {"waiting": {"reason": "ContainerCreating"}}
    runner.start(p, "controller", 0, "/bin/true")  # still missing: no second event
    assert len([1 for path, _ in api.posted if path.endswith("/events")]) == 1
    api.objects["secrets/late"] = {"k": "v"}
    assert runner.missing_volume(p, 0) == ""
    # once it exists, the volumes are made: subPath as one file, the others as directories
    pod_dir = tmp_path / "pods" / "u-1"
    (pod_dir / "root").mkdir(parents=True)
    volumes: list[Any] = []
    _, mounts = runner.prepare(p, pod_dir, 0, volumes)
    by_path = {m["path"]: Path(m["source"]) for m in mounts}
    assert by_path["/controller_manager_config.yaml"].read_text() == "a: 1\n"
    certs = by_path["/tmp/k8s-webhook-server/serving-certs"]
    assert certs.is_dir() and not list(certs.iterdir())  # the chart's Secret is empty at first
    assert {v[3] for v in volumes} == {"sec", "late"}  # subPath volumes are never refreshed (as a kubelet)
    # Kueue's cert manager writes the Secret: the running pod's files follow
    m = pods.Managed(p, "controller", pod_dir, volumes=volumes)
    api.objects["secrets/sec"] = {"tls.crt": "CERT", "tls.key": "KEY"}
    api.objects["configmaps/cfg"] = {"config.yaml": "a: 2\n"}
    runner.refresh_volumes(m)
    assert (certs / "tls.crt").read_text() == "CERT" and (certs / "tls.key").read_text() == "KEY"
    assert by_path["/controller_manager_config.yaml"].read_text() == "a: 1\n"
    assert "volume secret sec updated" in (tmp_path / "logs" / "pods.log").read_text()


def test_a_controller_the_stack_does_not_run_stays_kwok_only(tmp_path: Path) -> None:
    (tmp_path / "logs").mkdir()
    api = VolumeApi()
    runner = pods.PodRunner(api, tmp_path, tmp_path / "ca", "10.243.0.1", 6443, stopping=None)  # type: ignore[arg-type]
    assert runner.controller_container(controller_pod()) is None
    events = [b for path, b in api.posted if path.endswith("/events")]
    assert events[0]["reason"] == "KwokOnly" and "does not run" in events[0]["message"]


def test_a_sidecar_is_not_run_and_the_pod_says_so(tmp_path: Path) -> None:
    (tmp_path / "logs").mkdir()
    api = VolumeApi()
    runner = pods.PodRunner(api, tmp_path, tmp_path / "ca", "10.243.0.1", 6443, stopping=None,  # type: ignore[arg-type]
                            controllers={"kueue": Path("/bin/true")})
    p = controller_pod()
    p["spec"]["containers"].insert(0, {"name": "proxy", "image": "quay.io/brancz/kube-rbac-proxy:v0.18"})
    assert runner.controller_container(p) == (1, "/bin/true")
    events = [b for path, b in api.posted if path.endswith("/events")]
    assert events[0]["reason"] == "PartiallyRun" and "not: proxy" in events[0]["message"]


def test_readiness_follows_the_containers_http_probe(tmp_path: Path) -> None:
    import http.server
    import threading

    class Handler(http.server.BaseHTTPRequestHandler):
        ready = False

        def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
            self.send_response(200 if Handler.ready and self.path == "/readyz" else 500)
            self.end_headers()

        def log_message(self, *_: Any) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        (tmp_path / "logs").mkdir()
        api = VolumeApi()
        runner = pods.PodRunner(api, tmp_path, tmp_path / "ca", "10.243.0.1", 6443, stopping=None)  # type: ignore[arg-type]
        p = controller_pod()
        p["status"]["podIP"] = "127.0.0.1"
        p["spec"]["containers"][0].update(ports=[{"name": "health", "containerPort": server.server_port}],
                                          readinessProbe={"httpGet": {"path": "/readyz", "port": "health"}})
        m = pods.Managed(p, "controller", tmp_path)
        probe = runner.probe_of(m)
        assert probe is not None and not runner.probe(m, probe)
        runner.set_ready(m, runner.probe(m, probe))
        Handler.ready = True
        assert runner.probe(m, probe)
        runner.set_ready(m, runner.probe(m, probe))
        runner.set_ready(m, True)  # no change, no patch
        patches = [b["status"] for path, b in api.posted if path.endswith("/status")]
        assert [s["containerStatuses"][0]["ready"] for s in patches] == [False, True]
        assert patches[1]["conditions"][0] == {"type": "Ready", "status": "True",
                                               "lastTransitionTime": patches[1]["conditions"][0]["lastTransitionTime"]}
        assert runner.probe_of(pods.Managed(pod(AGNHOST), "agnhost", tmp_path)) is None  # stand-ins: kwok's Ready
    finally:
        server.shutdown()


def test_launch_runs_a_controller_binary_from_what_it_opened_first(tmp_path: Path) -> None:
    """The binary is opened before the pod's mounts, which may hide its directory (an emptyDir at /tmp over a lab
    cache under /tmp): here it is gone from its path when the pod is released, and still runs."""
    binary = tmp_path / "cache" / "bin" / "ctl"
    binary.parent.mkdir(parents=True)
    shutil.copyfile("/bin/sh", binary)
    binary.chmod(0o755)
    spec = tmp_path / "launch.json"
    spec.write_text(json.dumps({"program": "controller", "argv": [str(binary), "-c", "exit 7"],
                                "env": {"PATH": pods.DEFAULT_PATH}, "hostname": "not-set", "workdir": str(tmp_path)}))
    proc = subprocess.Popen([sys.executable, "-m", "aiconform.labcluster.programs.launch", str(spec)],
                            cwd=PROJECT_ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    time.sleep(1.0)
    shutil.rmtree(tmp_path / "cache")
    _, err = proc.communicate("x", timeout=20)
    assert proc.returncode == 7, err


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
    # a running container whose filesystem is not made yet: refused (kubectl exec fails, a retry gets in)
    pod_dir = tmp_path / "pod"
    pod_dir.mkdir()
    (pod_dir / "pid").write_text(f"{os.getpid()}\n")
    (pod_dir / "launch.json").write_text(json.dumps({"env": {}, "ready": str(pod_dir / "ready")}))
    monkeypatch.setenv("AICONFORM_POD_DIR", str(pod_dir))
    assert podexec.main(["tool", "x"]) == 126
    assert "starting" in capsys.readouterr().err


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


def test_readiness_uses_the_kubelets_thresholds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A Ready controller turns NotReady only after failureThreshold failed probes, probed every periodSeconds (a
    busy controller missing one probe keeps its endpoints, as under a kubelet)."""
    (tmp_path / "logs").mkdir()
    runner = pods.PodRunner(VolumeApi(), tmp_path, tmp_path / "ca", "10.243.0.1", 6443, stopping=None)  # type: ignore[arg-type]
    p = controller_pod()
    p["spec"]["containers"][0]["readinessProbe"] = {"httpGet": {"path": "/readyz", "port": 8081},
                                                    "periodSeconds": 10, "failureThreshold": 3, "timeoutSeconds": 2}
    m = pods.Managed(p, "controller", tmp_path)

    class Proc:
        def poll(self) -> None:
            return None
    m.proc = Proc()  # type: ignore[assignment]
    answers: list[bool] = []
    seen: list[tuple[bool, float]] = []
    states: list[bool] = []
    monkeypatch.setattr(runner, "probe", lambda _m, _p, timeout=1.0: (seen.append((True, timeout)), answers.pop(0))[1])
    monkeypatch.setattr(runner, "set_ready", lambda _m, ready: (states.append(ready), setattr(_m, "ready", ready)))
    clock = [1000.0]
    monkeypatch.setattr(pods.time, "monotonic", lambda: clock[0])
    answers[:] = [True]
    runner.check(m)  # first probe: Ready
    assert states == [True] and seen[-1][1] == 2.0
    clock[0] += 5
    runner.check(m)  # within periodSeconds: no probe
    assert len(seen) == 1
    answers[:] = [False, False, False]
    for _ in range(2):
        clock[0] += 10
        runner.check(m)
    assert states == [True]  # two failures: still Ready
    clock[0] += 10
    runner.check(m)
    assert states == [True, False]  # the third: NotReady


def test_a_pods_phase_comes_from_all_its_containers(tmp_path: Path) -> None:
    """As a kubelet: Running (not Ready) while one container ended and another runs; Failed once all ended and
    one failed, Succeeded when all exited 0; each container's own state and exit code."""
    (tmp_path / "logs").mkdir()
    api = VolumeApi()
    runner = pods.PodRunner(api, tmp_path, tmp_path / "ca", "10.243.0.1", 6443, stopping=None)  # type: ignore[arg-type]
    p = pod(AGNHOST, "python:3.13-alpine")
    g = pods.Group(p, tmp_path)
    g.members = [pods.Managed(p, "agnhost", tmp_path, container=0, group=g),
                 pods.Managed(p, "exec", tmp_path, container=1, group=g)]
    running = {"running": {"startedAt": "t"}}
    g.members[0].state, g.members[1].state = running, running
    runner.group_status(g)
    status = api.posted[-1][1]["status"]
    assert "phase" not in status and {c["status"] for c in status["conditions"]} == {"True"}
    assert [c["name"] for c in status["containerStatuses"]] == ["c0", "c1"]
    g.members[1].state, g.members[1].exit_code, g.members[1].done = {"terminated": {"exitCode": 2}}, 2, True
    runner.group_status(g)
    status = api.posted[-1][1]["status"]
    assert "phase" not in status and {c["status"] for c in status["conditions"]} == {"False"}
    assert status["containerStatuses"][1]["state"]["terminated"]["exitCode"] == 2
    assert not g.done
    for code in (0, 2):
        g.members[0].state, g.members[0].exit_code, g.members[0].done = {"terminated": {"exitCode": 0}}, 0, True
        g.members[1].exit_code = code
        runner.group_status(g)
        assert api.posted[-1][1]["status"]["phase"] == ("Succeeded" if code == 0 else "Failed")
        assert g.done


def test_a_node_whose_toolkit_accepts_the_env_var_hands_out_its_gpus() -> None:
    from aiconform.labcluster import devices
    assert devices.toolkit_accepts_envvar(f"{devices.ACCEPT_ENVVAR} = true\n")
    assert not devices.toolkit_accepts_envvar(f"{devices.ACCEPT_ENVVAR} = false\n")
    assert not devices.toolkit_accepts_envvar("[nvidia-container-cli]\nldconfig = '@/sbin/ldconfig'\n")
    assert not devices.toolkit_accepts_envvar("not toml [")
    s = _slice("gpu.nvidia.com", "node-a", [{"name": "gpu-0"}, {"name": "gpu-1", "attributes": {
        "uuid": {"string": "GPU-b"}}}])
    s["spec"]["nodeName"] = "node-a"
    other = _slice("gpu.nvidia.com", "node-b", [{"name": "gpu-0"}])
    other["spec"]["nodeName"] = "node-b"
    assert devices.envvar_devices("all", "node-a", [s, other]) == [
        "nvidia0", "nvidiactl", "nvidia-uvm", "nvidia-uvm-tools", "nvidia1"]
    assert devices.envvar_devices("GPU-b", "node-a", [s, other])[0] == "nvidia1"
    assert devices.envvar_devices("1", "node-a", [s]) == ["nvidia1", "nvidiactl", "nvidia-uvm", "nvidia-uvm-tools"]
    for value in (None, "", "void", "none"):
        assert devices.envvar_devices(value, "node-a", [s]) == []
    assert devices.envvar_devices("all", "node-c", [s, other]) == []


def test_the_cuda_base_image_gets_its_env_under_the_containers_own(tmp_path: Path) -> None:
    (tmp_path / "logs").mkdir()
    runner = pods.PodRunner(VolumeApi(), tmp_path, tmp_path / "ca", "10.243.0.1", 6443, stopping=None)  # type: ignore[arg-type]
    p = pod("nvcr.io/nvidia/cuda:12.9.0-base-ubuntu24.04", automountServiceAccountToken=False)
    env, _ = runner.prepare(p, tmp_path)
    assert env["NVIDIA_VISIBLE_DEVICES"] == "all"
    p["spec"]["containers"][0]["env"] = [{"name": "NVIDIA_VISIBLE_DEVICES", "value": "void"}]
    assert runner.prepare(p, tmp_path)[0]["NVIDIA_VISIBLE_DEVICES"] == "void"
    assert "NVIDIA_VISIBLE_DEVICES" not in runner.prepare(pod(AGNHOST, automountServiceAccountToken=False),
                                                          tmp_path)[0]
