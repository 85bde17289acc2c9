"""The lab's GPUs at work: the NVIDIA device plugin's allocation, each node's device state, and the DCGM exporter.

EMULATED, as the rest of the lab's NVIDIA stack (no GPUs): what is real is who asks and who decides. The real
kube-scheduler places a pod that limits ``nvidia.com/gpu: N`` on a node with N unallocated GPUs (the node objects'
capacity); the pod runner then does what the NVIDIA device plugin's ``Allocate`` does on that node
(``DevicePlugin``): it picks N of the node's GPUs that no running container of another pod holds through the device
plugin (lowest minor first: deterministic), injects their ``/dev/nvidia<minor>`` and control nodes as the DRA path
does (``devices.py``) and sets ``NVIDIA_VISIBLE_DEVICES`` to their UUIDs. The GPUs stay the container's while the
pod runs (a restarted container keeps them) and are released when the pod ends or is deleted, as the kubelet's
device manager does. The device plugin does not know the DRA driver's allocations (nor does the real one: a node
whose GPUs both publish is double-booked unless the operator picks one; ``verifiers/holdings.py``).

The device state of a node (``STATE`` under the node's directory in the lab's state, ``nodes/<node>/``) is what the
lab's stand-in for the GPU driver and the kubelet's pod-resources API knows: per GPU (minor, UUID, DRA device name)
which running pod/container holds it (``via`` device-plugin or dra, with the claim for DRA) and whether a load runs
on it (``busy``). "Busy" is not a flag anyone sets by name: a load program (the stand-ins of the ``dcgm`` image's
dcgmproftester12 and of the ``cuda_devel`` load program, ``programs/gpu.py``) holds a lock (``flock``) on its own
``/dev/nvidia<minor>`` while its kernel runs, as a CUDA context holds the device; the runner tests that lock through
the container's root (``/proc/<pid>/root/dev/nvidia<minor>``) every half second. The lock dies with the process.

The exporter (``exporter_objects``): what the GPU Operator creates for dcgm-exporter (namespace ``gpu-operator``,
ServiceAccount/Role/RoleBinding, DaemonSet ``nvidia-dcgm-exporter`` on the nodes labelled
``nvidia.com/gpu.deploy.dcgm-exporter=true``, Service ``nvidia-dcgm-exporter`` port 9400 ``gpu-metrics``), applied by
the lab at start; the real kube-controller-manager's DaemonSet controller creates its pods, the runner runs them
as the stand-in ``programs/gpu.py`` ``dcgm-exporter``, which reads its node's device state through the DaemonSet's
hostPath volume (``/var/lib/kubelet/pod-resources``, as the real exporter reads pod-resources there).
"""
from __future__ import annotations

import fcntl
import json
import os
import re
from pathlib import Path
from typing import Any

from aiconform import gpumetrics, versions
from aiconform.labcluster import devices

Obj = dict[str, Any]
RESOURCE = "nvidia.com/gpu"
DRIVER = "gpu.nvidia.com"
POD_RESOURCES = "/var/lib/kubelet/pod-resources"
STATE = POD_RESOURCES.lstrip("/") + "/aiconform-gpus.json"  # under nodes/<node>/ of the lab's state
NODE_LABELS = ("nvidia.com/gpu.product", "nvidia.com/cuda.driver-version.full", "nvidia.com/gpu.memory")
NAMESPACE = "gpu-operator"
EXPORTER = "nvidia-dcgm-exporter"
EXPORTER_PORT = 9400
# The exporter's collection interval (ms; the real one's default 30000): shorter on the lab so a verification
# sees a change within seconds; a larger DCGM_EXPORTER_INTERVAL on the DaemonSet is honoured (a stale exporter)
LAB_INTERVAL_MS = 2000


def node_gpus(node: Obj, slices: list[Obj]) -> list[Obj]:
    """The node's GPUs ({minor, uuid, device}): from its gpu.nvidia.com ResourceSlice when one exists (the same
    devices the DRA driver publishes), else its ``nvidia.com/gpu`` capacity (UUIDs derived from the node name)."""
    name = node["metadata"]["name"]
    out: list[Obj] = []
    for s in slices:
        spec = s.get("spec") or {}
        if spec.get("nodeName") != name or spec.get("driver") != DRIVER:
            continue
        for d in spec.get("devices") or []:
            kind = devices._attr(d, "type") or "gpu"
            if kind == "gpu":
                minor = devices._index(d)
                out.append({"minor": minor, "uuid": devices._attr(d, "uuid") or gpumetrics.gpu_uuid(name, minor),
                            "device": d.get("name", ""), "pool": (spec.get("pool") or {}).get("name", "")})
    if out:
        return sorted(out, key=lambda g: g["minor"])
    try:
        count = int(str(((node.get("status") or {}).get("capacity") or {}).get(RESOURCE) or 0))
    except ValueError:
        count = 0
    return [{"minor": i, "uuid": gpumetrics.gpu_uuid(name, i), "device": "", "pool": ""} for i in range(count)]


def gpu_limit(container: Obj) -> int:
    res = container.get("resources") or {}
    value = (res.get("limits") or {}).get(RESOURCE) or (res.get("requests") or {}).get(RESOURCE) or 0
    try:
        return int(str(value))
    except ValueError:
        return 0


class DevicePlugin:
    """The NVIDIA device plugin's Allocate on every lab node: (node, minor) -> (pod uid, container name)."""

    def __init__(self) -> None:
        self.held: dict[tuple[str, int], tuple[str, str]] = {}

    def allocate(self, node: str, gpus: list[Obj], uid: str, container: str, count: int) -> list[Obj]:
        """``count`` free GPUs of ``node`` for the container (the ones it holds already, on a restart)."""
        mine = [g for g in gpus if self.held.get((node, g["minor"])) == (uid, container)]
        if len(mine) >= count:
            return mine[:count]
        free = [g for g in gpus if (node, g["minor"]) not in self.held]
        if len(free) < count - len(mine):
            taken = sorted(f"nvidia{m} ({u[:8]})" for (n, m), (u, _c) in self.held.items() if n == node)
            raise RuntimeError(f"UnexpectedAdmissionError: {count} {RESOURCE} requested, {len(free)} free on node "
                               f"{node} (held: {', '.join(taken) or 'none'})")
        got = [*mine, *free[:count - len(mine)]]
        for g in got:
            self.held[(node, g["minor"])] = (uid, container)
        return got

    def release(self, keep: set[str]) -> None:
        """Devices of pods that ended or are gone go back (the kubelet's device manager)."""
        for key, (uid, _c) in list(self.held.items()):
            if uid not in keep:
                del self.held[key]


def device_paths(gpus: list[Obj]) -> list[str]:
    out: list[str] = []
    for g in gpus:
        out += [n for n in devices._nvidia({"name": f"gpu-{g['minor']}", "attributes": {"minor": g["minor"]}})
                if n not in out]
    return out


_NVIDIA = re.compile(r"^nvidia(\d+)$")


def minors(paths: list[str]) -> list[int]:
    """The GPU minors among a container's device paths (``nvidia0`` ...)."""
    return [int(m.group(1)) for p in paths if (m := _NVIDIA.match(p))]


def busy(pid: int, minor: int) -> bool:
    """Whether a load holds its lock on /dev/nvidia<minor> in the container whose process is ``pid``."""
    try:
        fd = os.open(f"/proc/{pid}/root/dev/nvidia{minor}", os.O_RDONLY | os.O_NOCTTY | os.O_NONBLOCK)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    except OSError:
        return False
    finally:
        os.close(fd)  # closing drops our own lock, if we got it
    return False


def node_state(node: Obj, gpus: list[Obj], holders: dict[int, list[Obj]], hot: set[int]) -> Obj:
    labels = node["metadata"].get("labels") or {}
    return {"node": node["metadata"]["name"], "labels": {k: labels[k] for k in NODE_LABELS if k in labels},
            "gpus": [{**g, "busy": g["minor"] in hot, "holders": holders.get(g["minor"], [])} for g in gpus]}


def write_state(path: Path, state: Obj) -> bool:
    """Write the node's device state (atomically, only when it changed); True when written."""
    text = json.dumps(state, indent=1, sort_keys=True)
    if path.is_file() and path.read_text(encoding="utf-8", errors="replace") == text:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
    return True


def exposition(state: Obj, mapping: set[str], hostname: str = "") -> str:
    """The exporter's answer from a node's device state (``gpumetrics.render``): utilization from ``busy``; the
    holder's labels when ``mapping`` covers how it holds the GPU (the first holder, as DCGM names one process)."""
    gpus = state.get("gpus") or []
    held = {int(g["minor"]): g["holders"][0] for g in gpus if g.get("holders")}
    hot = {int(g["minor"]) for g in gpus if g.get("busy")}
    return gpumetrics.render(hostname or state.get("node", ""), state.get("labels") or {}, gpus, held, hot,
                             mapping=mapping)


def exporter_objects() -> list[Obj]:
    """What the GPU Operator's ClusterPolicy (dcgmExporter.enabled, its default) creates for dcgm-exporter, with the
    lab's collection interval. The project's own stand-in of those objects, written from what they show."""
    img = versions.get("gpu_operator.images.dcgm_exporter")
    image = f"{img['registry']}/{img['repository']}:{img['tag']}"
    labels = {"app": EXPORTER}
    meta = {"namespace": NAMESPACE, "labels": dict(labels)}
    return [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}},
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": EXPORTER, **meta}},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": {"name": EXPORTER, **meta},
         "rules": [{"apiGroups": ["security.openshift.io"], "resources": ["securitycontextconstraints"],
                    "resourceNames": ["privileged"], "verbs": ["use"]}]},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": {"name": EXPORTER, **meta},
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": EXPORTER},
         "subjects": [{"kind": "ServiceAccount", "name": EXPORTER, "namespace": NAMESPACE}]},
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": EXPORTER, **meta,
                                                           "annotations": {"prometheus.io/scrape": "true"}},
         "spec": {"type": "ClusterIP", "selector": dict(labels),
                  "ports": [{"name": "gpu-metrics", "port": EXPORTER_PORT, "protocol": "TCP",
                             "targetPort": EXPORTER_PORT}]}},
        {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": EXPORTER, **meta},
         "spec": {"selector": {"matchLabels": dict(labels)},
                  "template": {
                      "metadata": {"labels": dict(labels)},
                      "spec": {
                          "serviceAccountName": EXPORTER, "priorityClassName": "system-node-critical",
                          "nodeSelector": {"nvidia.com/gpu.deploy.dcgm-exporter": "true"},
                          "tolerations": [{"key": RESOURCE, "operator": "Exists", "effect": "NoSchedule"}],
                          "containers": [{
                              "name": EXPORTER, "image": image,
                              "env": [{"name": "DCGM_EXPORTER_LISTEN", "value": f":{EXPORTER_PORT}"},
                                      {"name": "DCGM_EXPORTER_KUBERNETES", "value": "true"},
                                      {"name": "DCGM_EXPORTER_COLLECTORS",
                                       "value": "/etc/dcgm-exporter/dcp-metrics-included.csv"},
                                      {"name": "DCGM_EXPORTER_INTERVAL", "value": str(LAB_INTERVAL_MS)},
                                      {"name": "NODE_NAME", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}}],
                              "ports": [{"name": "metrics", "containerPort": EXPORTER_PORT}],
                              "volumeMounts": [{"name": "pod-gpu-resources", "mountPath": POD_RESOURCES,
                                                "readOnly": True}]}],
                          "volumes": [{"name": "pod-gpu-resources",
                                       "hostPath": {"path": POD_RESOURCES, "type": "Directory"}}]}}}},
    ]


PATHS = {"Namespace": "/api/v1/namespaces", "ServiceAccount": "/api/v1/namespaces/{ns}/serviceaccounts",
         "Role": "/apis/rbac.authorization.k8s.io/v1/namespaces/{ns}/roles",
         "RoleBinding": "/apis/rbac.authorization.k8s.io/v1/namespaces/{ns}/rolebindings",
         "Service": "/api/v1/namespaces/{ns}/services", "DaemonSet": "/apis/apps/v1/namespaces/{ns}/daemonsets"}


def exporter_rolled_out(api: Any) -> bool:
    """The exporter's DaemonSet has a Ready pod on every GPU node (its pods and their logs/exec objects exist):
    the lab is ready only then, so what a test sees at start stays as it is (teardown tests compare object sets)."""
    code, ds = api.request("GET", f"/apis/apps/v1/namespaces/{NAMESPACE}/daemonsets/{EXPORTER}")
    st = (ds or {}).get("status") or {} if code == 200 else {}
    want = int(st.get("desiredNumberScheduled") or 0)
    if not (want > 0 and int(st.get("numberReady") or 0) == want and int(st.get("updatedNumberScheduled") or 0) == want):
        return False
    code, pods = api.request("GET", f"/api/v1/namespaces/{NAMESPACE}/pods?labelSelector=app%3D{EXPORTER}")
    names = {p["metadata"]["name"] for p in (pods or {}).get("items", [])} if code == 200 else set()
    for kind in ("logs", "execs"):
        code, objs = api.request("GET", f"/apis/kwok.x-k8s.io/v1alpha1/namespaces/{NAMESPACE}/{kind}")
        if code != 200 or not names <= {o["metadata"]["name"] for o in (objs or {}).get("items", [])}:
            return False
    return len(names) == want


def install_exporter(api: Any) -> None:
    """Apply the exporter's objects (the lab's emulated GPU Operator, at start)."""
    for obj in exporter_objects():
        api.create(PATHS[obj["kind"]].format(ns=obj["metadata"].get("namespace", "")), obj)
