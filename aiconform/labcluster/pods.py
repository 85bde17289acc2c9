"""The lab's pod runner: pods bound to a lab node whose image the lab knows get a real process with their own IP.

A thread of the lab's machine (``node.py``, inside the lab's network namespace). Every half second it lists the pods
bound to a node. For a pod whose containers' images are all in ``IMAGES`` (one table, built from versions.yml
``verifier_probes.images``), once kwok has written its ``status.podIP``, it starts the image's stand-in program
(``labcluster/programs``) in new network, UTS and mount namespaces (``unshare``), held on a pipe while a
veth pair is made (host end on the ``aic0`` bridge, ``eth0`` with the pod IP inside, default route via the
bridge's address), then released. So pods reach each other and the API server, and the API server reaches
webhooks served by pods at their endpoints' addresses (``--enable-aggregator-routing``).

A pod of several containers (``Group``) gets a sandbox first, as a kubelet's pod sandbox: ``pause`` holding new
network and UTS namespaces with the veth and pod IP; then every container is a process of its own that enters
them (``nsenter``) and gets a mount namespace of its own (``unshare --mount``): one IP and one localhost for the
pod, each container its own env, command, volumes (an emptyDir its containers share is one directory), DRA
devices (those of the claims it lists), log (``kubectl logs -c``), exec target (``kubectl exec -c``), restarts
and containerStatus. The pod's phase is a kubelet's: Running while any container runs or restarts; once every
container ended for good (restartPolicy Never, or OnFailure after exit 0), Succeeded when all exited 0, else
Failed; then the sandbox is stopped. Init containers are not run: such a pod stays kwok-only (``KwokOnly``).

As a kubelet would, the runner gives the program the pod's env (values, field refs, ConfigMap/Secret keys),
command and args, ``KUBERNETES_SERVICE_HOST``/``PORT`` — the API server's own address (10.243.0.1:6443), not the
``kubernetes`` Service's ClusterIP: the lab has no kube-proxy —, the pod's ServiceAccount token (a TokenRequest
bound to the pod) with the cluster CA and a kubeconfig (``KUBECONFIG``), and ConfigMap/Secret/emptyDir volumes.
hostPath volumes are the node's own directory in the lab's state (``nodes/<node>/<path>``, created empty: the lab
puts there only what it emulates of a node, e.g. the GPU device state, ``gpus.py``).
A container limiting ``nvidia.com/gpu`` gets GPUs of its node as the NVIDIA device plugin's Allocate gives them
(``gpus.py``: distinct, released when the pod ends; their device nodes, ``NVIDIA_VISIBLE_DEVICES`` their UUIDs).
The files are written under the pod's directory (``$AICONFORM_POD_ROOT``) and bound at their paths in the pod's
own mount namespace, where the host's directories are overlays with a tmpfs writable layer (``programs/launch.py``;
the pod never writes the host's files). There is no image filesystem: commands run with the host's programs.
``kubectl logs [-c NAME] [--previous]`` reads the program's output (CRI format) through a kwok ``Logs`` object per
pod (one entry per container); ``kubectl exec [-c NAME]`` runs a command (given by name) in the container's
namespaces through a kwok ``Exec`` object per pod (one target per container; ``programs/podexec.py``). An image's
ENV that matters to the lab comes first in a container's environment (``IMAGE_ENV``: the CUDA base image's
``NVIDIA_VISIBLE_DEVICES=all``).

Pod status: kwok's ``pod-complete`` Stage skips images in the table (``kwok_stages``); when the program exits the
runner writes the phase and the real exit code (pods/status), or restarts it (restartPolicy Always/OnFailure,
counting ``restartCount``). Any other pod stays kwok-only and gets an Event with reason ``KwokOnly`` naming why.
A deleted pod's process is stopped (SIGTERM, SIGKILL after the grace period, at most 10 s) and its veth removed.
Everything dies with the lab's namespace (PR_SET_PDEATHSIG).

kgateway's images (in ``PROGRAMS``: its controller and envoy-wrapper) run the lab's emulation of kgateway
(``programs/gateway.py``), as any stand-in: a pod of several containers only when each image is known.

Upstream controllers (``lab.controllers`` of versions.yml, built by ``aiconform lab build --stack``): a container
whose image is a controller's ``<repository>:<tag>`` under any registry (the install phase may mirror it) runs the
built binary in place of the container's command, with the container's args and the pod's in-cluster config; other
containers of the pod (sidecars) are not run, and an Event ``PartiallyRun`` says so. As a kubelet, the runner holds
a pod whose non-optional ConfigMap/Secret volume does not exist yet (``ContainerCreating``, Event ``FailedMount``),
refreshes a running pod's ConfigMap/Secret volumes when the objects change (Kueue writes its webhook certificate
into the mounted Secret and waits for the files), binds ``subPath`` mounts as single files, and sets Ready from an
``httpGet`` readinessProbe (a controller is Ready when it says so, not when kwok would).

Not a security boundary: programs run as the lab's root (the invoking user, mapped, when rootless) with the host's
kernel, /proc, /sys and /dev; no cgroups, no resource limits, no DNS, no Service ClusterIPs (no kube-proxy).
"""
from __future__ import annotations

import datetime
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from aiconform import versions
from aiconform.labcluster import devices, gpus

BRIDGE = "aic0"
GATEWAY = "10.244.255.254"  # the last address of the pod CIDR: kwok hands out 10.244.<node>.x from node podCIDRs
POD_PREFIX = 16
# versions.yml verifier_probes.images key (or, for another component's image, its full versions.yml path) -> the
# stand-in that runs it (programs/launch.py)
PROGRAMS = {"agnhost": "agnhost", "pause": "pause", "busybox": "exec", "python": "exec", "curl": "exec",
            "ubuntu": "exec",  # ubuntu: the accelerator probe (a shell script listing device nodes)
            # the CUDA base image (secure_accelerator_access's env-var bypass): an Ubuntu with a shell and coreutils;
            # its CUDA libraries need the NVIDIA container runtime, which the lab has not: no device but the DRA
            # allocation's (or a node's runtime configuration, devices.py) reaches it
            "cuda_base": "exec",
            # GPU work (programs/gpu.py): pod_autoscaling's load program (the CUDA devel image compiling a kernel
            # loop), accelerator_metrics' compute probe (dcgmproftester12 of the GPU Operator's DCGM image), and the
            # GPU Operator's DCGM exporter that the lab's emulated NVIDIA stack runs (labcluster/gpus.py)
            "cuda_devel": "cuda-load", "gpu_operator.images.dcgm": "dcgmproftester",
            "gpu_operator.images.dcgm_exporter": "dcgm-exporter",
            # kgateway needs Envoy (C++), no Go module builds it: its controller and data plane are the project's
            # EMULATION (programs/gateway.py)
            "kgateway.images.controller": "kgateway-controller", "kgateway.images.envoy_wrapper": "kgateway-proxy"}
# the ENV of an image that the lab's stand-in must give its containers (a container's own env overrides it)
IMAGE_ENV = {"cuda_base": {"NVIDIA_VISIBLE_DEVICES": "all", "NVIDIA_DRIVER_CAPABILITIES": "compute,utility"}}
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
SA_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"


def image_table(value: str = "program") -> dict[str, str]:
    """Image reference (as a pod spec names it) -> program (or, ``value="key"``, its versions.yml key). Docker Hub
    images also under their short names."""
    table: dict[str, str] = {}
    images = versions.get("verifier_probes.images")
    for key, program in PROGRAMS.items():
        img = versions.get(key) if "." in key else images[key]
        repo, tag = img["repository"], img["tag"]
        out = program if value == "program" else key
        table[f"{img['registry']}/{repo}:{tag}"] = out
        if img["registry"] == "docker.io":
            table[f"{repo}:{tag}"] = out
            if repo.startswith("library/"):
                table[f"{repo.removeprefix('library/')}:{tag}"] = out
    return table


IMAGES = image_table()
IMAGE_KEYS = image_table("key")


def controller_images() -> dict[str, str]:
    """``<repository>:<tag>`` (no registry) -> controller name, from versions.yml ``lab.controllers.*.image``."""
    table: dict[str, str] = {}
    for name, pin in (versions.get("lab.controllers") or {}).items():
        img = versions.get(str(pin["image"]))
        table[f"{img['repository']}:{img['tag']}"] = str(name)
    return table


CONTROLLER_IMAGES = controller_images()


def controller_of(image: str) -> str | None:
    """The lab controller whose image this is, under any registry (the install phase may mirror it)."""
    for ref, name in CONTROLLER_IMAGES.items():
        if image == ref or image.endswith("/" + ref):
            return name
    return None


class MissingVolume(RuntimeError):
    """A non-optional ConfigMap/Secret the container needs does not exist (yet): the pod waits, as on a kubelet."""


def kwok_stages(defaults: str, images: list[str]) -> str:
    """kwok's default Stages, with ``pod-complete`` (Job pods Succeed at once) skipping pods the runner runs."""
    docs = [d for d in yaml.safe_load_all(defaults) if d]
    for d in docs:
        if d.get("kind") == "Stage" and d["metadata"]["name"] == "pod-complete" and images:
            d["spec"]["selector"]["matchExpressions"].append(
                {"key": runs_jq(images), "operator": "NotIn", "values": ["true"]})
    return "---\n".join(yaml.dump(d, Dumper=_BlockDumper, sort_keys=False) for d in docs)


class _BlockDumper(yaml.SafeDumper):
    """Multi-line strings (kwok's status templates) as literal blocks, as upstream writes them."""


_BlockDumper.add_representer(str, lambda d, s: d.represent_scalar(
    "tag:yaml.org,2002:str", s, style="|" if "\n" in s else None))


def runs_jq(images: list[str]) -> str:
    """A jq expression (kwok Stage selector key) that is true for the pods ``runnable`` runs."""
    listed = ", ".join(json.dumps(i) for i in sorted(images))
    return ("(.spec.containers | length) >= 1 and ((.spec.initContainers // []) | length) == 0"
            " and (.spec.hostNetwork // false) == false"
            f" and ([.spec.containers[].image | IN({listed})] | all)")


# kwok serves `kubectl logs` from the files named by a Logs object per pod (kwok --enable-crds=Logs); the lab
# declares the kind itself, without a schema (kwok reads spec.logs[].containers/logsFile/previousLogsFile)
LOGS_CRD = {
    "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
    "metadata": {"name": "logs.kwok.x-k8s.io"},
    "spec": {"group": "kwok.x-k8s.io", "scope": "Namespaced",
             "names": {"kind": "Logs", "listKind": "LogsList", "plural": "logs", "singular": "logs"},
             "versions": [{"name": "v1alpha1", "served": True, "storage": True,
                           "schema": {"openAPIV3Schema": {"type": "object",
                                                          "x-kubernetes-preserve-unknown-fields": True}}}]}}


# kwok serves `kubectl exec` from an Exec object per pod (kwok --enable-crds=Exec): the command runs through the
# lab's shims (programs/podexec.py), which enter the pod's namespaces; declared the same way
EXEC_CRD = {
    **LOGS_CRD, "metadata": {"name": "execs.kwok.x-k8s.io"},
    "spec": {**LOGS_CRD["spec"],
             "names": {"kind": "Exec", "listKind": "ExecList", "plural": "execs", "singular": "exec"}}}


def install_logs_crd(api: Any, timeout: float = 30) -> None:
    """The kinds kwok reads for `kubectl logs` and `kubectl exec` (Logs, Exec), established."""
    for crd_obj in (LOGS_CRD, EXEC_CRD):
        api.create("/apis/apiextensions.k8s.io/v1/customresourcedefinitions", crd_obj)
    deadline = time.monotonic() + timeout
    pending = [LOGS_CRD["metadata"]["name"], EXEC_CRD["metadata"]["name"]]
    while pending and time.monotonic() < deadline:
        _, crd = api.request("GET", f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{pending[0]}")
        conds = ((crd.get("status") or {}).get("conditions") or []) if isinstance(crd, dict) else []
        if any(c["type"] == "Established" and c["status"] == "True" for c in conds):
            pending.pop(0)
            continue
        time.sleep(0.2)
    if pending:
        raise RuntimeError(f"the CustomResourceDefinition {pending[0]} was not established")


def _pump(pipe: Any, stream: str, fd: int) -> None:
    """Copy a program's output into its log file in the CRI format kwok reads (``<time> <stream> F <line>``)."""
    with pipe:
        for line in iter(pipe.readline, b""):
            ts = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ").encode()
            os.write(fd, ts + b" " + stream.encode() + b" F " + line.rstrip(b"\n") + b"\n")
    os.close(fd)


def _terminate(procs: list[subprocess.Popen[bytes]], grace: float) -> None:
    """SIGTERM to every program at once, SIGKILL to those still running after ``grace`` seconds."""
    for proc in procs:
        proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + grace
    for proc in procs:
        try:
            proc.wait(timeout=max(0.05, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def _procs(m: Managed | Group) -> list[subprocess.Popen[bytes]]:
    """The processes the runner started for a pod (a group's containers, then its sandbox)."""
    if isinstance(m, Group):
        return [p for p in [*(c.proc for c in m.members), m.sandbox] if p is not None]
    return [m.proc] if m.proc is not None else []


def _sh(*cmd: str) -> None:
    res = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=20)
    if res.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)}: {res.stderr.strip()}")


def setup_bridge() -> None:
    """The pods' bridge in the lab's namespace, holding the pods' default gateway."""
    _sh("ip", "link", "add", BRIDGE, "type", "bridge")
    _sh("ip", "addr", "add", f"{GATEWAY}/{POD_PREFIX}", "dev", BRIDGE)
    _sh("ip", "link", "set", BRIDGE, "up")


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def runnable(pod: dict[str, Any]) -> tuple[str | None, str]:
    """(program of the first container, "") when the runner runs this pod (every container's image is known: each
    runs, ``programs``), else (None, why not)."""
    spec = pod["spec"]
    images = [c.get("image", "") for c in spec.get("containers", [])]
    unknown = [i for i in images if i not in IMAGES]
    if unknown or not images:
        which = "image" if len(images) == 1 else f"container image{'s' if len(unknown) > 1 else ''} of the pod"
        return None, (f"{which} {', '.join(unknown or images)} has no stand-in program in the lab (known: "
                      f"{', '.join(sorted(IMAGES))}); kwok only simulates its status")
    if spec.get("initContainers"):
        return None, ("the lab does not run init containers (" + ", ".join(c.get("name", "?") for c in
                      spec["initContainers"]) + "); kwok only simulates the pod")
    if spec.get("hostNetwork"):
        return None, "the lab does not run hostNetwork pods; kwok only simulates it"
    return IMAGES[images[0]], ""


def programs(pod: dict[str, Any]) -> list[str]:
    """The stand-in program of each container of a pod ``runnable`` accepts."""
    return [IMAGES[c["image"]] for c in pod["spec"]["containers"]]


def _argv(program: str, container: dict[str, Any]) -> list[str]:
    command, args = container.get("command") or [], container.get("args") or []
    if program == "agnhost":
        if command and os.path.basename(command[0]) == "agnhost":
            return [*command[1:], *args]
        if command:  # some other executable in the agnhost image: run it with the host's programs
            return [*command, *args]
        return list(args) or ["netexec"]
    if program == "pause":
        return []
    if program == "dcgm-exporter":  # the image's entrypoint is the exporter: its args only
        return list(args)
    return [*command, *args] if command else (list(args) or ["sh"])


def etc_files(pod: dict[str, Any]) -> dict[str, str]:
    """/etc/hosts (the pod's name at its IP, hostAliases) and /etc/resolv.conf: the lab has no DNS, so lookups
    fail at once (nothing listens on the pod's loopback) instead of waiting for the host's resolvers."""
    name = pod["spec"].get("hostname") or pod["metadata"]["name"]
    hosts = ["127.0.0.1\tlocalhost", "::1\tlocalhost ip6-localhost ip6-loopback",
             f"{pod['status']['podIP']}\t{name}"]
    hosts += [f"{a['ip']}\t{' '.join(a.get('hostnames', []))}" for a in pod["spec"].get("hostAliases") or []]
    return {"hosts": "\n".join(hosts) + "\n", "resolv.conf": "nameserver 127.0.0.1\noptions timeout:1 attempts:1\n"}


@dataclass
class Managed:
    pod: dict[str, Any]
    program: str
    dir: Path
    proc: subprocess.Popen[bytes] | None = None
    veth: str = ""
    restarts: int = 0
    started_at: str = ""
    restart_after: float = 0.0
    done: bool = False
    extra: dict[str, Any] = field(default_factory=dict)
    container: int = 0  # the container the lab runs (controller pods may have sidecars it does not run)
    binary: str = ""  # program "controller": the built upstream binary that replaces the container's command
    volumes: list[tuple[Path, str, str, str, Any]] = field(default_factory=list)  # refreshed while running
    refreshed: float = 0.0
    ready: bool | None = None
    probed: float = 0.0
    fails: int = 0  # consecutive readiness failures / successes (kubelet thresholds)
    successes: int = 0
    group: Group | None = None  # a container of a multi-container pod: the pod's sandbox holds its namespaces
    state: dict[str, Any] = field(default_factory=dict)  # its containerStatus state (members only)
    exit_code: int | None = None

    @property
    def spec_container(self) -> dict[str, Any]:
        return self.pod["spec"]["containers"][self.container]


@dataclass
class Group:
    """A pod of several containers: a sandbox process (``pause``) holds the pod's network and UTS namespaces (one
    veth, one pod IP, a shared localhost, as a kubelet's pod sandbox) and every container is a process of its own
    (a ``Managed`` member, its own mount namespace, env, volumes and devices) that enters them."""
    pod: dict[str, Any]
    dir: Path
    members: list[Managed] = field(default_factory=list)
    sandbox: subprocess.Popen[bytes] | None = None
    veth: str = ""
    done: bool = False


class PodRunner:
    def __init__(self, api: Any, state: Path, ca_cert: Path, api_host: str, api_port: int,
                 stopping: threading.Event, preexec: Any = None, controllers: dict[str, Path] | None = None) -> None:
        self.controllers = dict(controllers or {})  # controller name -> its built binary (the lab's stack)
        self.held: dict[str, str] = {}  # uid -> the missing volume it waits for (event sent once per object)
        self.api, self.state, self.ca_cert = api, state, ca_cert
        self.api_host, self.api_port = api_host, api_port
        self.stopping, self.preexec = stopping, preexec
        self.pods_dir = state / "pods"
        self.pods_dir.mkdir(exist_ok=True)
        self.log = open(state / "logs" / "pods.log", "a", encoding="utf-8")  # noqa: SIM115 - for the thread's life
        self.managed: dict[str, Managed | Group] = {}
        self.noted: set[str] = set()  # uids that got their KwokOnly event
        self.plugin = gpus.DevicePlugin()  # the NVIDIA device plugin's allocations (labcluster/gpus.py)
        self.gpu_cache: dict[str, tuple[float, Any]] = {}  # nodes and ResourceSlices, re-read every few seconds

    def say(self, msg: str) -> None:
        self.log.write(f"{_now()} {msg}\n")
        self.log.flush()

    # -- the loop --------------------------------------------------------------------------------------------
    def run(self) -> None:
        try:
            while not self.stopping.wait(0.5):
                try:
                    self.reconcile()
                except Exception as exc:  # noqa: BLE001 - the runner must not take the lab down
                    self.say(f"reconcile failed: {type(exc).__name__}: {exc}")
        finally:
            self.stop_everything()
            self.log.close()

    def stop_everything(self, grace: float = 3) -> None:
        """Lab shutdown: SIGTERM to every program at once, SIGKILL to those still there after ``grace``."""
        _terminate([p for m in self.managed.values() for p in _procs(m) if p.poll() is None], grace)
        self.managed.clear()

    def reconcile(self) -> None:
        status, out = self.api.request("GET", "/api/v1/pods?fieldSelector=spec.nodeName%21%3D")
        if status != 200:
            raise RuntimeError(f"list pods: {status}")
        pods = {p["metadata"]["uid"]: p for p in out.get("items", [])}
        for uid in list(self.managed):
            pod = pods.get(uid)
            if pod is None or pod["metadata"].get("deletionTimestamp"):
                self.stop(uid)
        # GPUs of pods that ended or went are free before new pods are started (the kubelet's device manager)
        self.plugin.release({uid for uid, m in self.managed.items() if not m.done})
        for uid, pod in pods.items():
            if pod["metadata"].get("deletionTimestamp"):
                continue
            m = self.managed.get(uid)
            if isinstance(m, Group):
                m.pod = pod
                for member in m.members:
                    member.pod = pod
                    self.check(member)
                continue
            if m is not None:
                m.pod = pod
                self.check(m)
                continue
            if uid in self.noted:
                continue
            ctl = self.controller_container(pod)
            if ctl is not None:
                index, binary = ctl
                if pod.get("status", {}).get("podIP") and pod["status"].get("phase") == "Running":
                    self.start(pod, "controller", container=index, binary=binary)
                continue
            program, why = runnable(pod)
            if program is None:
                self.noted.add(uid)
                self.event(pod, "KwokOnly", why)
                continue
            if pod.get("status", {}).get("podIP") and pod["status"].get("phase") == "Running":
                if len(pod["spec"]["containers"]) > 1:
                    self.start_group(pod)
                else:
                    self.start(pod, program)
        for uid in list(self.held):
            if uid not in pods:
                self.held.pop(uid)
        self.plugin.release({uid for uid, m in self.managed.items() if not m.done})
        self.update_gpu_state()

    def controller_container(self, pod: dict[str, Any]) -> tuple[int, str] | None:
        """(container index, binary) when a container's image is a lab controller's and the stack runs it."""
        spec = pod["spec"]
        uid = pod["metadata"]["uid"]
        for i, c in enumerate(spec.get("containers") or []):
            name = controller_of(c.get("image", ""))
            if name is None:
                continue
            if name not in self.controllers:
                self.noted.add(uid)
                self.event(pod, "KwokOnly", f"image {c['image']} is {name}'s, which this lab's stack does not run "
                                            "(aiconform lab build/up --stack reference); kwok only simulates it")
                return None
            if spec.get("hostNetwork"):
                self.noted.add(uid)
                self.event(pod, "KwokOnly", "the lab does not run hostNetwork pods; kwok only simulates it")
                return None
            others = [o["name"] for j, o in enumerate(spec["containers"]) if j != i]
            others += [f"{o['name']} (init)" for o in spec.get("initContainers") or []]
            if others and uid not in self.held:
                self.event(pod, "PartiallyRun", f"the lab runs container {c['name']} ({name}, built from its Go "
                                                f"module) only; not: {', '.join(others)} (kwok status only)")
            return i, str(self.controllers[name])
        return None

    # -- one pod ---------------------------------------------------------------------------------------------
    def start(self, pod: dict[str, Any], program: str, container: int = 0, binary: str = "") -> None:
        meta = pod["metadata"]
        uid = meta["uid"]
        if self.hold(pod, [container]):
            return
        m = Managed(pod, program, self.pods_dir / uid, container=container, binary=binary)
        self.managed[uid] = m
        try:
            m.dir.mkdir(exist_ok=True)
            (m.dir / "root").mkdir(exist_ok=True)
            m.extra["env"], m.extra["mounts"] = self.prepare(pod, m.dir, container, m.volumes)
            m.extra["devices"] = self.devices(pod, container, m.extra["env"])
            # kwok's Logs and Exec exist before the program can make the pod Ready: a client that saw Ready can use them
            self.logs_object(m)
            self.exec_object(m)
            self.launch(m)
        except Exception as exc:  # noqa: BLE001 - reported on the pod, as a kubelet would
            self.failed_start(pod, "program", exc)
            self.kill(m)
            m.done = True

    def devices(self, pod: dict[str, Any], container: int, env: dict[str, str]) -> list[str]:
        """The device nodes a container gets: the GPUs the device plugin allocates it, then those its DRA claims or
        env grant."""
        plugin = self.allocate_gpus(pod, container, env)
        return [*plugin, *(d for d in self.accelerator_devices(pod, container, env) if d not in plugin)]

    def hold(self, pod: dict[str, Any], containers: list[int]) -> bool:
        """True (and the pod marked ContainerCreating, once per missing object) while a volume is missing."""
        uid = pod["metadata"]["uid"]
        missing = next((m for m in (self.missing_volume(pod, i) for i in containers) if m), "")
        if missing:  # as a kubelet: the container is not created until its volumes can be
            if self.held.get(uid) != missing:
                self.held[uid] = missing
                self.event(pod, "FailedMount", f"MountVolume.SetUp failed: {missing} not found", warning=True)
                self.patch_status(pod, {
                    "conditions": [{"type": t, "status": "False", "reason": "ContainersNotReady",
                                    "lastTransitionTime": _now()} for t in ("Ready", "ContainersReady")],
                    "containerStatuses": [{"name": c["name"], "image": c["image"], "imageID": "", "ready": False,
                                           "started": False, "restartCount": 0,
                                           "state": {"waiting": {"reason": "ContainerCreating"}}}
                                          for c in (pod["spec"]["containers"][i] for i in containers)]})
            return True
        self.held.pop(uid, None)
        return False

    def start_group(self, pod: dict[str, Any]) -> None:
        """A multi-container pod: its sandbox (network, UTS), then every container in it."""
        meta = pod["metadata"]
        uid = meta["uid"]
        containers = pod["spec"]["containers"]
        if self.hold(pod, list(range(len(containers)))):
            return
        g = Group(pod, self.pods_dir / uid)
        self.managed[uid] = g
        try:
            g.dir.mkdir(exist_ok=True)
            self.start_sandbox(g)
            for i, (c, program) in enumerate(zip(containers, programs(pod), strict=True)):
                m = Managed(pod, program, g.dir / "containers" / c["name"], container=i, group=g)
                g.members.append(m)
                (m.dir / "root").mkdir(parents=True, exist_ok=True)
                m.extra["env"], m.extra["mounts"] = self.prepare(pod, m.dir, i, m.volumes, shared=g.dir / "volumes")
                m.extra["devices"] = self.devices(pod, i, m.extra["env"])
            self.logs_object(g)
            self.exec_object(g)
            for m in g.members:
                self.launch(m)
            self.group_status(g)
        except Exception as exc:  # noqa: BLE001 - reported on the pod, as a kubelet would
            self.failed_start(pod, "containers", exc)
            self.kill_group(g)
            g.done = True

    def failed_start(self, pod: dict[str, Any], what: str, exc: Exception) -> None:
        meta = pod["metadata"]
        self.say(f"{meta['namespace']}/{meta['name']}: cannot start: {exc}")
        if str(exc).startswith("UnexpectedAdmissionError"):  # as a kubelet rejects a pod it cannot give devices
            self.patch_status(pod, {"phase": "Failed", "reason": "UnexpectedAdmissionError",
                                    "message": f"Pod was rejected: {exc}"})
        self.event(pod, "FailedCreatePodSandBox", f"the lab could not start the pod's {what}: {exc}", warning=True)

    def start_sandbox(self, g: Group) -> None:
        """The pod's sandbox: ``pause`` in new network, UTS (and mount) namespaces, wired to the bridge."""
        pod = g.pod
        meta = pod["metadata"]
        spec_file = g.dir / "sandbox.json"
        spec_file.write_text(json.dumps({"program": "pause", "argv": [], "env": {"PATH": DEFAULT_PATH},
                                         "hostname": pod["spec"].get("hostname") or meta["name"]}),
                             encoding="utf-8")
        cmd = ["unshare", "--net", "--uts", "--mount", "--propagation", "private", "--",
               sys.executable, "-m", "aiconform.labcluster.programs.launch", str(spec_file)]
        with open(g.dir / "sandbox.log", "ab") as err:
            g.sandbox = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=err,
                                         cwd=g.dir, preexec_fn=self.preexec)  # noqa: PLW1509 - prctl only
        g.veth = self.wire(g.sandbox, meta["uid"], pod["status"]["podIP"])
        assert g.sandbox.stdin is not None
        g.sandbox.stdin.write(b"x")
        g.sandbox.stdin.close()
        self.say(f"{meta['namespace']}/{meta['name']}: sandbox pid {g.sandbox.pid} ip {pod['status']['podIP']}")

    def wire(self, proc: subprocess.Popen[bytes], uid: str, ip: str) -> str:
        """The veth of the network namespace ``proc`` made (``eth0`` with the pod IP inside); its host end's name."""
        pid = proc.pid
        veth = "aic" + hashlib.sha1(uid.encode()).hexdigest()[:10]  # noqa: S324 - a name, not security
        # the namespace exists once unshare has exec'd python: wait until /proc/<pid>/ns/net differs from ours
        ours = os.readlink("/proc/self/ns/net")
        deadline = time.monotonic() + 10
        while os.readlink(f"/proc/{pid}/ns/net") == ours:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("unshare did not create the pod's network namespace")
            time.sleep(0.02)
        subprocess.run(["ip", "link", "del", veth], capture_output=True, check=False)  # a restart's leftover
        _sh("ip", "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", str(pid))
        _sh("ip", "link", "set", veth, "master", BRIDGE, "up")
        ns = ["nsenter", f"--net=/proc/{pid}/ns/net", "ip"]
        _sh(*ns, "link", "set", "lo", "up")
        _sh(*ns, "addr", "add", f"{ip}/{POD_PREFIX}", "dev", "eth0")
        _sh(*ns, "link", "set", "eth0", "up")
        _sh(*ns, "route", "add", "default", "via", GATEWAY)
        return veth

    def group_status(self, g: Group) -> None:
        """The pod's status from all its containers, as a kubelet computes it: Ready while every container runs;
        once every container ended for good (restartPolicy), Succeeded when all exited 0, else Failed."""
        statuses = []
        for m in g.members:
            c = m.spec_container
            running = "running" in m.state
            st = {"name": c["name"], "image": c["image"], "imageID": "", "ready": running, "started": running,
                  "restartCount": m.restarts, "state": m.state or {"waiting": {"reason": "ContainerCreating"}}}
            if m.extra.get("last"):
                st["lastState"] = m.extra["last"]
            statuses.append(st)
        ready = all("running" in m.state for m in g.members)
        status: dict[str, Any] = {"containerStatuses": statuses}
        if g.members and all(m.done for m in g.members):
            g.done = True
            failed = [m.spec_container["name"] for m in g.members if m.exit_code != 0]
            status["phase"] = "Failed" if failed else "Succeeded"
            status["conditions"] = [{"type": t, "status": "False", "reason": "PodCompleted",
                                     "lastTransitionTime": _now()} for t in ("Ready", "ContainersReady")]
            meta = g.pod["metadata"]
            self.say(f"{meta['namespace']}/{meta['name']}: all containers ended: {status['phase']}"
                     + (f" (failed: {', '.join(failed)})" if failed else ""))
            self.kill_sandbox(g)
        else:
            status["conditions"] = [{"type": t, "status": "True" if ready else "False",
                                     **({} if ready else {"reason": "ContainersNotReady"}),
                                     "lastTransitionTime": _now()} for t in ("Ready", "ContainersReady")]
        self.patch_status(g.pod, status)

    def launch(self, m: Managed) -> None:
        pod = m.pod
        meta, container = pod["metadata"], m.spec_container
        argv = [m.binary, *(container.get("args") or [])] if m.program == "controller" else _argv(m.program, container)
        spec = {"program": m.program, "argv": argv, "env": m.extra["env"],
                "hostname": pod["spec"].get("hostname") or meta["name"], "workdir": container.get("workingDir"),
                "rootfs": str(m.dir / "rootfs"), "mounts": m.extra.get("mounts", []),
                "etc": etc_files(pod), "devices": m.extra.get("devices") or [], "ready": str(m.dir / "ready")}
        (m.dir / "ready").unlink(missing_ok=True)  # a restart's: exec waits until the new process made its root
        spec_file = m.dir / "launch.json"
        spec_file.write_text(json.dumps(spec), encoding="utf-8")
        os.chmod(spec_file, 0o600)
        cmd = ["unshare", "--net", "--uts", "--mount", "--propagation", "private", "--",
               sys.executable, "-m", "aiconform.labcluster.programs.launch", str(spec_file)]
        if m.group is not None:  # a container of a multi-container pod: the sandbox's network and UTS, own mounts
            assert m.group.sandbox is not None
            sp = m.group.sandbox.pid
            cmd = ["nsenter", f"--net=/proc/{sp}/ns/net", f"--uts=/proc/{sp}/ns/uts", "--", *cmd[:1], *cmd[3:]]
        m.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  cwd=m.dir, preexec_fn=self.preexec)  # noqa: PLW1509 - prctl only
        log = m.dir / f"{container['name']}.log"
        for pipe, stream in ((m.proc.stdout, "stdout"), (m.proc.stderr, "stderr")):
            fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            threading.Thread(target=_pump, args=(pipe, stream, fd), daemon=True,
                             name=f"log-{meta['name']}").start()
        pid = m.proc.pid
        (m.dir / "pid").write_text(f"{pid}\n", encoding="utf-8")  # for `kubectl exec` (programs/podexec.py)
        ip = pod["status"]["podIP"]
        if m.group is None:
            m.veth = self.wire(m.proc, meta["uid"], ip)
        assert m.proc.stdin is not None
        m.proc.stdin.write(b"x")
        m.proc.stdin.close()
        m.started_at = _now()
        m.state = {"running": {"startedAt": m.started_at}}
        self.say(f"{meta['namespace']}/{meta['name']}: started {m.program}"
                 f"{' container ' + container['name'] if m.group is not None else ''} pid {pid} ip {ip} "
                 f"argv {spec['argv']}")
        if self.probe_of(m) is not None:  # Ready only once the container's readiness probe answers
            m.ready, m.probed, m.fails, m.successes = None, 0.0, 0, 0

    def check(self, m: Managed) -> None:
        if m.done or m.proc is None:
            return
        now = time.monotonic()
        # as a kubelet's volume manager: the volumes follow their objects whether the container runs or waits to be
        # restarted (KEDA's metrics server exits at once while the operator's first Secret is still empty; its
        # restart must see the certificates written since)
        if m.volumes and now - m.refreshed >= 1.0:
            m.refreshed = now
            self.refresh_volumes(m)
        if m.proc.poll() is None and not m.restart_after:
            probe = self.probe_of(m)
            spec = m.spec_container.get("readinessProbe") or {}
            # a kubelet's timing: every periodSeconds (until first Ready: every second, to start fast), Ready after
            # successThreshold successes, NotReady only after failureThreshold consecutive failures
            period = float(spec.get("periodSeconds") or 10) if m.ready else 1.0
            if probe is not None and now - m.probed >= period:
                m.probed = now
                if self.probe(m, probe, float(spec.get("timeoutSeconds") or 1)):
                    m.fails, m.successes = 0, m.successes + 1
                    if m.successes >= int(spec.get("successThreshold") or 1):
                        self.set_ready(m, True)
                else:
                    m.successes, m.fails = 0, m.fails + 1
                    if m.ready is None or m.fails >= int(spec.get("failureThreshold") or 3):
                        self.set_ready(m, False)
        if m.restart_after:
            if time.monotonic() >= m.restart_after:
                m.restart_after = 0.0
                container = m.spec_container
                log = m.dir / f"{container['name']}.log"
                if log.exists():
                    log.replace(m.dir / f"{container['name']}.previous.log")
                self.launch(m)
                if m.group is not None:
                    self.group_status(m.group)
                    return
                self.patch_status(m.pod, {"containerStatuses": [{
                    "name": container["name"], "image": container["image"], "imageID": "", "ready": True,
                    "started": True, "restartCount": m.restarts, "lastState": m.extra.get("last", {}),
                    "state": {"running": {"startedAt": m.started_at}}}]})
            return
        code = m.proc.poll()
        if code is None:
            return
        if code < 0:
            code = 128 - code
        meta = m.pod["metadata"]
        self.remove_veth(m)
        policy = m.pod["spec"].get("restartPolicy", "Always")
        container = m.spec_container
        terminated = {"exitCode": code, "reason": "Completed" if code == 0 else "Error",
                      "startedAt": m.started_at, "finishedAt": _now()}
        self.say(f"{meta['namespace']}/{meta['name']}: "
                 f"{'container ' + container['name'] + ' ' if m.group is not None else ''}exited with code {code} "
                 f"(restartPolicy {policy})")
        if policy == "Always" or (policy == "OnFailure" and code != 0):
            m.restarts += 1
            m.extra["last"] = {"terminated": terminated}
            m.restart_after = time.monotonic() + min(10.0, 2.0 ** min(m.restarts, 4) / 2)
            if m.group is not None:
                m.state = {"waiting": {"reason": "CrashLoopBackOff" if code else "Completed"}}
                self.group_status(m.group)
                return
            self.patch_status(m.pod, {"containerStatuses": [{
                "name": container["name"], "image": container["image"], "imageID": "", "ready": False,
                "started": False, "restartCount": m.restarts, "lastState": {"terminated": terminated},
                "state": {"waiting": {"reason": "CrashLoopBackOff" if code else "Completed"}}}]})
            return
        m.done = True
        if m.group is not None:
            m.state, m.exit_code = {"terminated": terminated}, code
            self.group_status(m.group)
            return
        phase = "Succeeded" if code == 0 else "Failed"
        self.patch_status(m.pod, {
            "phase": phase,
            "conditions": [{"type": t, "status": "False", "reason": "PodCompleted", "lastTransitionTime": _now()}
                           for t in ("Ready", "ContainersReady")],
            "containerStatuses": [{"name": container["name"], "image": container["image"], "imageID": "",
                                   "ready": False, "started": False, "restartCount": m.restarts,
                                   "state": {"terminated": terminated}}]})

    def stop(self, uid: str, grace: float | None = None) -> None:
        m = self.managed.pop(uid, None)
        if m is None:
            return
        if grace is None:
            grace = min(10.0, float(m.pod["spec"].get("terminationGracePeriodSeconds", 30)))
        if isinstance(m, Group):
            self.kill_group(m, grace)
        else:
            self.kill(m, grace)
        meta = m.pod["metadata"]
        self.say(f"{meta['namespace']}/{meta['name']}: stopped")
        shutil.rmtree(m.dir, ignore_errors=True)

    def kill(self, m: Managed, grace: float = 0) -> None:
        if m.proc is not None and m.proc.poll() is None:
            m.proc.send_signal(signal.SIGTERM)
            try:
                m.proc.wait(timeout=max(grace, 0.1))
            except subprocess.TimeoutExpired:
                m.proc.kill()
                m.proc.wait(timeout=10)
        self.remove_veth(m)

    def kill_group(self, g: Group, grace: float = 0) -> None:
        """Every container at once (SIGTERM, SIGKILL after ``grace``), then the sandbox and its veth."""
        _terminate([m.proc for m in g.members if m.proc is not None and m.proc.poll() is None], max(grace, 0.1))
        self.kill_sandbox(g)

    def kill_sandbox(self, g: Group) -> None:
        if g.sandbox is not None and g.sandbox.poll() is None:
            g.sandbox.kill()
            g.sandbox.wait(timeout=10)
        if g.veth:
            subprocess.run(["ip", "link", "del", g.veth], capture_output=True, check=False, timeout=20)
            g.veth = ""

    def remove_veth(self, m: Managed) -> None:
        if m.veth:  # gone by itself when the pod's namespace went; else remove it
            subprocess.run(["ip", "link", "del", m.veth], capture_output=True, check=False, timeout=20)

    # -- what a kubelet gives a container ------------------------------------------------------------------
    def prepare(self, pod: dict[str, Any], pod_dir: Path, index: int = 0,
                volumes_out: list[tuple[Path, str, str, str, Any]] | None = None, shared: Path | None = None,
                ) -> tuple[dict[str, str], list[dict[str, str]]]:
        """The container's environment, and the directories (or, for ``subPath``, files) to bind at their paths
        (``mounts``). ``volumes_out`` collects the ConfigMap/Secret volumes to refresh while the pod runs.
        ``shared`` (a multi-container pod): where its emptyDir volumes live, one directory per volume that every
        container mounting it shares."""
        meta, spec = pod["metadata"], pod["spec"]
        ns, root = meta["namespace"], pod_dir / "root"
        mounts: list[dict[str, str]] = []  # bound at their paths in the pod's own mount namespace (launch.py)
        env: dict[str, str] = {"PATH": DEFAULT_PATH, "HOSTNAME": spec.get("hostname") or meta["name"],
                               "KUBERNETES_SERVICE_HOST": self.api_host,
                               "KUBERNETES_SERVICE_PORT": str(self.api_port),
                               "KUBERNETES_SERVICE_PORT_HTTPS": str(self.api_port),
                               "AICONFORM_POD_ROOT": str(root)}
        if spec.get("automountServiceAccountToken", True):
            sa = spec.get("serviceAccountName") or "default"
            status, out = self.api.request("POST", f"/api/v1/namespaces/{ns}/serviceaccounts/{sa}/token", {
                "apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
                "spec": {"expirationSeconds": 86400,
                         "boundObjectRef": {"apiVersion": "v1", "kind": "Pod", "name": meta["name"],
                                            "uid": meta["uid"]}}})
            if status >= 300:
                raise RuntimeError(f"TokenRequest for ServiceAccount {ns}/{sa}: {status}")
            sa_dir = self._dir(root, SA_DIR)
            mounts.append({"path": SA_DIR, "source": str(sa_dir)})
            self._file(sa_dir / "token", out["status"]["token"])
            self._file(sa_dir / "ca.crt", self.ca_cert.read_text(encoding="utf-8"))
            self._file(sa_dir / "namespace", ns)
            kcfg = {"apiVersion": "v1", "kind": "Config", "current-context": "pod",
                    "clusters": [{"name": "lab", "cluster": {
                        "server": f"https://{self.api_host}:{self.api_port}",
                        "certificate-authority": str(sa_dir / "ca.crt")}}],
                    "users": [{"name": sa, "user": {"tokenFile": str(sa_dir / "token")}}],
                    "contexts": [{"name": "pod", "context": {"cluster": "lab", "user": sa, "namespace": ns}}]}
            self._file(pod_dir / "kubeconfig", yaml.safe_dump(kcfg, sort_keys=False))
            env["KUBECONFIG"] = str(pod_dir / "kubeconfig")
        container = spec["containers"][index]
        env.update(IMAGE_ENV.get(IMAGE_KEYS.get(container.get("image", ""), ""), {}))
        for src in container.get("envFrom") or []:
            prefix = src.get("prefix", "")
            for kind in ("configMapRef", "secretRef"):
                if kind in src:
                    data = self._data(ns, kind, src[kind]["name"], optional=src[kind].get("optional", False))
                    env.update({prefix + k: v for k, v in data.items()})
        for var in container.get("env") or []:
            value = self._env_value(pod, var)
            if value is not None:
                env[var["name"]] = value
        volumes = {v["name"]: v for v in spec.get("volumes") or []}
        for n, mount in enumerate(container.get("volumeMounts") or []):
            vol = volumes.get(mount["name"], {})
            sub = mount.get("subPath") or ""
            if sub:  # one file (or directory) of the volume, bound at mountPath; never refreshed (as a kubelet)
                if ".." in Path(sub).parts:
                    raise RuntimeError(f"subPath {sub!r} leaves the volume")
                target = self._dir(pod_dir / "subpath", f"{n}-{mount['name']}")
            elif shared is not None and "emptyDir" in vol:
                target = self._dir(shared, mount["name"])
            else:
                target = self._dir(root, mount["mountPath"])
            for kind in ("configMap", "secret"):
                if kind in vol:
                    src = vol[kind]
                    name = src.get("name") or src.get("secretName")
                    data = self._data(ns, kind + "Ref", name, optional=src.get("optional", False))
                    self._write_volume(target, data, src.get("items"))
                    if not sub and volumes_out is not None:
                        volumes_out.append((target, ns, kind + "Ref", name, src))
            if "hostPath" in vol and not sub:  # the node's own directory under the lab's state (nodes/<node>/)
                target = self._dir(self.state / "nodes" / (spec.get("nodeName") or "_"), vol["hostPath"]["path"])
            # emptyDir (and kinds the lab does not fill): an empty directory
            source = target / sub if sub else target
            if sub and not source.exists():
                source.mkdir(parents=True)
            mounts.append({"path": mount["mountPath"], "source": str(source)})
        return env, mounts

    def accelerator_devices(self, pod: dict[str, Any], index: int = 0, env: dict[str, str] | None = None,
                            ) -> list[str]:
        """The device nodes the pod's DRA allocation gives container ``index`` (``devices.py``; the scheduler
        decided) — and, on a node whose NVIDIA Container Toolkit accepts NVIDIA_VISIBLE_DEVICES from unprivileged
        containers (``devices.TOOLKIT_CONFIG`` under the node's directory in the lab's state), the GPUs its ``env``
        names."""
        node = pod["spec"].get("nodeName") or ""
        config = self.state / "nodes" / node / devices.TOOLKIT_CONFIG
        legacy = (env or {}).get("NVIDIA_VISIBLE_DEVICES") is not None and config.is_file() and \
            devices.toolkit_accepts_envvar(config.read_text(encoding="utf-8", errors="replace"))
        privileged = bool((pod["spec"]["containers"][index].get("securityContext") or {}).get("privileged"))
        if legacy and not privileged:
            code, slices = self.api.request("GET", "/apis/resource.k8s.io/v1/resourceslices")
            found = devices.envvar_devices((env or {}).get("NVIDIA_VISIBLE_DEVICES"), node,
                                           slices.get("items", []) if code == 200 else [])
            if found:
                meta = pod["metadata"]
                self.say(f"{meta['namespace']}/{meta['name']}: node {node}'s NVIDIA Container Toolkit accepts "
                         f"NVIDIA_VISIBLE_DEVICES: container {pod['spec']['containers'][index]['name']} gets "
                         f"{', '.join(found)}")
            return [*(d for d in self.accelerator_devices(pod, index) if d not in found), *found]
        claims = self.pod_claims(pod)
        if claims is None:
            return []
        code, slices = self.api.request("GET", "/apis/resource.k8s.io/v1/resourceslices")
        return devices.container_devices(pod, pod["spec"]["containers"][index], claims,
                                         slices.get("items", []) if code == 200 else [])

    # -- GPUs: the device plugin's allocation and the nodes' device state (labcluster/gpus.py) -------------------
    def _cached(self, path: str, ttl: float = 5.0) -> list[dict[str, Any]]:
        now = time.monotonic()
        hit = self.gpu_cache.get(path)
        if hit is not None and now - hit[0] < ttl:
            return list(hit[1])
        code, out = self.api.request("GET", path)
        items = out.get("items", []) if code == 200 and isinstance(out, dict) else []
        self.gpu_cache[path] = (now, items)
        return list(items)

    def node_gpus(self, node: str) -> list[dict[str, Any]]:
        obj = next((n for n in self._cached("/api/v1/nodes") if n["metadata"]["name"] == node), None)
        return gpus.node_gpus(obj, self._cached("/apis/resource.k8s.io/v1/resourceslices")) if obj else []

    def allocate_gpus(self, pod: dict[str, Any], index: int, env: dict[str, str]) -> list[str]:
        """As the NVIDIA device plugin's Allocate: ``nvidia.com/gpu`` GPUs of the pod's node for container
        ``index``, NVIDIA_VISIBLE_DEVICES set to their UUIDs (in ``env``); their device paths under /dev."""
        container = pod["spec"]["containers"][index]
        count = gpus.gpu_limit(container)
        if count <= 0:
            return []
        node = pod["spec"].get("nodeName") or ""
        self.gpu_cache.pop("/api/v1/nodes", None)
        got = self.plugin.allocate(node, self.node_gpus(node), pod["metadata"]["uid"], container["name"], count)
        env["NVIDIA_VISIBLE_DEVICES"] = ",".join(g["uuid"] for g in got)
        meta = pod["metadata"]
        self.say(f"{meta['namespace']}/{meta['name']}: device plugin: container {container['name']} gets "
                 f"{', '.join('nvidia' + str(g['minor']) for g in got)} of node {node}")
        return gpus.device_paths(got)

    def pod_claims(self, pod: dict[str, Any]) -> dict[str, dict[str, Any]] | None:
        """The pod's ResourceClaims by name (from its spec and status), None when it uses no claim."""
        if not pod["spec"].get("resourceClaims"):
            return None
        ns = pod["metadata"]["namespace"]
        names = {c.get("resourceClaimName") for c in pod["spec"]["resourceClaims"]} | {
            c.get("resourceClaimName") for c in (pod.get("status") or {}).get("resourceClaimStatuses") or []}
        claims = {}
        for name in sorted(n for n in names if n):
            code, claim = self.api.request("GET", f"/apis/resource.k8s.io/v1/namespaces/{ns}/resourceclaims/{name}")
            if code == 200:
                claims[name] = claim
        return claims

    def dra_holdings(self, pod: dict[str, Any], index: int) -> list[dict[str, Any]]:
        """The DRA devices (driver, pool, device, claim) container ``index`` holds, with their GPU minors."""
        spec = pod["spec"]
        claims = self.pod_claims(pod)
        if claims is None:
            return []
        return devices.container_results(pod, spec["containers"][index], claims,
                                         self._cached("/apis/resource.k8s.io/v1/resourceslices"))

    def update_gpu_state(self) -> None:
        """Each GPU node's device state: who holds each GPU (device plugin, DRA) and whether a load runs on it."""
        running: list[Managed] = []
        for m in self.managed.values():
            for c in (m.members if isinstance(m, Group) else [m]):
                if not c.done and c.proc is not None and c.proc.poll() is None and not c.restart_after:
                    running.append(c)
        holders: dict[tuple[str, int], list[dict[str, Any]]] = {}
        hot: set[tuple[str, int]] = set()
        for c in running:
            meta, node = c.pod["metadata"], c.pod["spec"].get("nodeName") or ""
            who = {"pod": meta["name"], "namespace": meta["namespace"], "uid": meta["uid"],
                   "container": c.spec_container["name"]}
            for (n, minor), (uid, cname) in self.plugin.held.items():
                if (uid, cname) == (meta["uid"], who["container"]):
                    holders.setdefault((n, minor), []).append({**who, "via": "device-plugin"})
            if "dra" not in c.extra:
                c.extra["dra"] = self.dra_holdings(c.pod, c.container)
            for r in c.extra["dra"]:
                if r.get("minor") is not None and r.get("driver") == gpus.DRIVER:
                    holders.setdefault((node, r["minor"]), []).append({
                        **who, "via": "dra", "claim": r["claim"], "claim_namespace": meta["namespace"],
                        "dra_driver": r["driver"], "pool": r["pool"], "device": r["device"]})
            for minor in gpus.minors(c.extra.get("devices") or []):
                if gpus.busy(c.proc.pid, minor):  # type: ignore[union-attr]
                    hot.add((node, minor))
        for node in self._cached("/api/v1/nodes"):
            name = node["metadata"]["name"]
            found = self.node_gpus(name)
            if not found:
                continue
            state = gpus.node_state(node, found, {m: h for (n, m), h in holders.items() if n == name},
                                    {m for (n, m) in hot if n == name})
            gpus.write_state(self.state / "nodes" / name / gpus.STATE, state)

    def _write_volume(self, target: Path, data: dict[str, str], items: list[dict[str, Any]] | None) -> bool:
        """The volume's files from the object's data (``items`` picks keys); True when anything changed."""
        files = {i["path"]: data[i["key"]] for i in items if i["key"] in data} if items else dict(data)
        changed = False
        for path, content in files.items():
            if ".." in Path(path).parts:
                raise RuntimeError(f"volume path {path!r} leaves the volume")
            dest = target / path
            if dest.exists() and dest.read_text(encoding="utf-8", errors="replace") == content:
                continue
            dest.parent.mkdir(parents=True, exist_ok=True)
            tmp = dest.with_name(f".{dest.name}.tmp")
            self._file(tmp, content)
            os.replace(tmp, dest)  # atomic, as the kubelet's symlink swap: a reader sees old or new
            changed = True
        return changed

    def missing_volume(self, pod: dict[str, Any], index: int) -> str:
        """The first non-optional ConfigMap/Secret a container's volumes need that does not exist, or ""."""
        spec, ns = pod["spec"], pod["metadata"]["namespace"]
        volumes = {v["name"]: v for v in spec.get("volumes") or []}
        for mount in spec["containers"][index].get("volumeMounts") or []:
            vol = volumes.get(mount["name"], {})
            for kind, plural in (("configMap", "configmaps"), ("secret", "secrets")):
                src = vol.get(kind)
                if src is None or src.get("optional"):
                    continue
                name = src.get("name") or src.get("secretName")
                status, _ = self.api.request("GET", f"/api/v1/namespaces/{ns}/{plural}/{name}")
                if status == 404:
                    return f'{kind} "{name}"'
        return ""

    def refresh_volumes(self, m: Managed) -> None:
        """As a kubelet's sync: a running pod's ConfigMap/Secret volumes follow the objects (Kueue's internal
        cert manager writes its Secret, then waits for the mounted files)."""
        for target, ns, kind, name, src in m.volumes:
            try:
                data = self._data(ns, kind, name, optional=src.get("optional", False))
            except RuntimeError:
                continue  # deleted meanwhile: a kubelet keeps the last content
            if self._write_volume(target, data, src.get("items")):
                meta = m.pod["metadata"]
                self.say(f"{meta['namespace']}/{meta['name']}: volume {kind[:-3]} {name} updated")

    # -- readiness (a kubelet's readinessProbe, httpGet only; other pods keep kwok's Ready) -----------------
    def probe_of(self, m: Managed) -> dict[str, Any] | None:
        if m.program != "controller":
            return None
        probe = (m.spec_container.get("readinessProbe") or {}).get("httpGet")
        return probe if isinstance(probe, dict) else None

    def probe(self, m: Managed, probe: dict[str, Any], timeout: float = 1.0) -> bool:
        import http.client
        import ssl

        port: Any = probe.get("port")
        if isinstance(port, str) and not port.isdigit():
            port = next((p["containerPort"] for p in m.spec_container.get("ports") or [] if p.get("name") == port),
                        None)
            if port is None:
                return False
        ip = m.pod["status"]["podIP"]
        https = str(probe.get("scheme", "HTTP")).upper() == "HTTPS"
        conn: Any = (http.client.HTTPSConnection(ip, int(port), timeout=timeout, context=ssl._create_unverified_context())  # noqa: S323 - a kubelet does not verify probes
                     if https else http.client.HTTPConnection(ip, int(port), timeout=timeout))
        try:
            conn.request("GET", probe.get("path") or "/")
            return 200 <= conn.getresponse().status < 400
        except (OSError, http.client.HTTPException):
            return False
        finally:
            conn.close()

    def set_ready(self, m: Managed, ready: bool) -> None:
        if m.ready is ready:
            return
        m.ready = ready
        c = m.spec_container
        meta = m.pod["metadata"]
        self.say(f"{meta['namespace']}/{meta['name']}: readiness probe {'passed' if ready else 'failing'}")
        status = "True" if ready else "False"
        self.patch_status(m.pod, {
            "conditions": [{"type": t, "status": status, "lastTransitionTime": _now()}
                           for t in ("Ready", "ContainersReady")],
            "containerStatuses": [{"name": c["name"], "image": c["image"], "imageID": "", "ready": ready,
                                   "started": True, "restartCount": m.restarts,
                                   "state": {"running": {"startedAt": m.started_at}}}]})

    def _env_value(self, pod: dict[str, Any], var: dict[str, Any]) -> str | None:
        if "value" in var:
            return str(var["value"])
        if "valueFrom" not in var:  # `value: ""` (the API server stores no value): set and empty, as a kubelet does
            return ""
        src = var.get("valueFrom") or {}
        if "fieldRef" in src:
            cur: Any = pod
            path = src["fieldRef"]["fieldPath"]
            if path.startswith(("metadata.labels['", "metadata.annotations['")):
                kind, key = path.split("['", 1)
                return str(pod["metadata"].get(kind.split(".")[1], {}).get(key.rstrip("']"), ""))
            for part in path.split("."):
                cur = cur.get(part, "") if isinstance(cur, dict) else ""
            return str(cur)
        for kind in ("configMapKeyRef", "secretKeyRef"):
            if kind in src:
                ref = src[kind]
                data = self._data(pod["metadata"]["namespace"], kind.replace("KeyRef", "Ref"), ref["name"],
                                  optional=ref.get("optional", False))
                return data.get(ref["key"])
        return None

    def _data(self, ns: str, kind: str, name: str, optional: bool = False) -> dict[str, str]:
        import base64

        plural = "configmaps" if kind.startswith("configMap") else "secrets"
        status, out = self.api.request("GET", f"/api/v1/namespaces/{ns}/{plural}/{name}")
        if status == 404 and optional:
            return {}
        if status != 200:
            raise RuntimeError(f"{plural[:-1]} {ns}/{name}: {status}")
        if plural == "secrets":
            return {k: base64.b64decode(v).decode(errors="replace") for k, v in (out.get("data") or {}).items()}
        return dict(out.get("data") or {})

    @staticmethod
    def _dir(root: Path, path: str) -> Path:
        d = root / path.lstrip("/")
        if ".." in Path(path).parts:
            raise RuntimeError(f"path {path!r} leaves the pod's directory")
        d.mkdir(parents=True, exist_ok=True)
        return d

    @staticmethod
    def _file(path: Path, content: str) -> None:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(content)

    # -- API writes ------------------------------------------------------------------------------------------
    def logs_object(self, m: Managed | Group) -> None:
        """kwok's Logs for the pod: `kubectl logs [-c NAME] [--previous]` reads the container's program's output."""
        meta = m.pod["metadata"]
        members = m.members if isinstance(m, Group) else [m]
        logs = [{"containers": [name], "logsFile": str(c.dir / f"{name}.log"),
                 "previousLogsFile": str(c.dir / f"{name}.previous.log"), "follow": True}
                for c, name in ((c, c.spec_container["name"]) for c in members)]
        obj = {"apiVersion": "kwok.x-k8s.io/v1alpha1", "kind": "Logs",
               "metadata": {"name": meta["name"], "namespace": meta["namespace"],
                            "ownerReferences": [{"apiVersion": "v1", "kind": "Pod", "name": meta["name"],
                                                 "uid": meta["uid"]}]},
               "spec": {"logs": logs}}
        code, out = self.api.request("POST", f"/apis/kwok.x-k8s.io/v1alpha1/namespaces/{meta['namespace']}/logs",
                                     obj)
        if code == 409:  # a pod of the same name before: its Logs is being garbage-collected
            self.api.request("DELETE", f"/apis/kwok.x-k8s.io/v1alpha1/namespaces/{meta['namespace']}/logs/"
                                       f"{meta['name']}")
            code, out = self.api.request(
                "POST", f"/apis/kwok.x-k8s.io/v1alpha1/namespaces/{meta['namespace']}/logs", obj)
        if code >= 300:
            self.say(f"{meta['namespace']}/{meta['name']}: Logs object failed: {code} {str(out)[:200]}")

    def exec_object(self, m: Managed | Group) -> None:
        """kwok's Exec for the pod: `kubectl exec POD [-c NAME] -- CMD` runs CMD in the container's namespaces
        (podexec.py)."""
        meta = m.pod["metadata"]
        if isinstance(m, Group):
            execs = [{"containers": [c.spec_container["name"]],
                      "local": {"workDir": str(c.dir), "envs": [{"name": "AICONFORM_POD_DIR", "value": str(c.dir)}]}}
                     for c in m.members]
        else:
            execs = [{"local": {"workDir": str(m.dir), "envs": [{"name": "AICONFORM_POD_DIR", "value": str(m.dir)}]}}]
        obj = {"apiVersion": "kwok.x-k8s.io/v1alpha1", "kind": "Exec",
               "metadata": {"name": meta["name"], "namespace": meta["namespace"],
                            "ownerReferences": [{"apiVersion": "v1", "kind": "Pod", "name": meta["name"],
                                                 "uid": meta["uid"]}]},
               "spec": {"execs": execs}}
        path = f"/apis/kwok.x-k8s.io/v1alpha1/namespaces/{meta['namespace']}/execs"
        code, out = self.api.request("POST", path, obj)
        if code == 409:  # a pod of the same name before: its Exec is being garbage-collected
            self.api.request("DELETE", f"{path}/{meta['name']}")
            code, out = self.api.request("POST", path, obj)
        if code not in (200, 201):
            self.say(f"{meta['namespace']}/{meta['name']}: Exec object failed: {code} {str(out)[:200]}")

    def patch_status(self, pod: dict[str, Any], status: dict[str, Any]) -> None:
        meta = pod["metadata"]
        code, out = self.api.request("PATCH", f"/api/v1/namespaces/{meta['namespace']}/pods/{meta['name']}/status",
                                     {"status": status}, content_type="application/strategic-merge-patch+json")
        if code >= 300:
            self.say(f"{meta['namespace']}/{meta['name']}: status patch failed: {code} {str(out)[:300]}")

    def event(self, pod: dict[str, Any], reason: str, message: str, warning: bool = False) -> None:
        meta = pod["metadata"]
        now = _now()
        ev = {"apiVersion": "v1", "kind": "Event",
              "metadata": {"name": f"{meta['name']}.{meta['uid'][:8]}.{reason.lower()}",
                           "namespace": meta["namespace"]},
              "involvedObject": {"apiVersion": "v1", "kind": "Pod", "name": meta["name"],
                                 "namespace": meta["namespace"], "uid": meta["uid"]},
              "reason": reason, "message": message, "type": "Warning" if warning else "Normal",
              "source": {"component": "aiconform-lab"}, "reportingComponent": "aiconform-lab",
              "firstTimestamp": now, "lastTimestamp": now, "count": 1}
        code, out = self.api.request("POST", f"/api/v1/namespaces/{meta['namespace']}/events", ev)
        if code >= 300 and code != 409:
            self.say(f"{meta['namespace']}/{meta['name']}: event {reason} failed: {code} {str(out)[:200]}")
