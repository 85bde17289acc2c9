"""kubelet: starts bound pods (Running, Ready) and finishes pods that run to completion.

A pod whose ``restartPolicy`` is ``Never``/``OnFailure`` is a finite run: it ends after
``sim.aiconform.io/run-seconds`` (default 0) with ``sim.aiconform.io/exit-code`` (default 0) → Succeeded, or
Failed for a non-zero code. ``restartPolicy: Always`` pods keep running. ``sim.aiconform.io/start-seconds``
delays the start; ``sim.aiconform.io/auto-ready: "false"`` keeps the pod Pending (ContainerCreating).
"""
from __future__ import annotations

import copy
import hashlib
from typing import Any

from aiconform.sim.api import Cluster, now
from aiconform.sim.controllers.common import EXIT_CODE, RUN_SECONDS, START_SECONDS, auto_ready, set_condition, ts_age

Obj = dict[str, Any]


def _pod_ip(pod: Obj) -> str:
    h = hashlib.sha256(pod["metadata"]["uid"].encode()).digest()
    return f"10.244.{h[0]}.{max(h[1], 2)}"


def _node_ip(c: Cluster, node: str) -> str:
    n = c.find("", "nodes", "", node) or {}
    for a in (n.get("status") or {}).get("addresses") or []:
        if a.get("type") == "InternalIP":
            return a["address"]
    return "10.0.0.1"


def _container_status(ctr: dict[str, Any], state: dict[str, Any], ready: bool, uid: str) -> dict[str, Any]:
    image = ctr.get("image", "")
    return {"name": ctr["name"], "image": image, "imageID": f"{image.split(':')[0]}@sha256:" +
            hashlib.sha256(image.encode()).hexdigest(), "containerID": "containerd://" +
            hashlib.sha256((uid + ctr["name"]).encode()).hexdigest(), "ready": ready, "started": "running" in state,
            "restartCount": 0, "state": state}


def sync(c: Cluster, mgr: Any) -> None:
    rd = c.rd("", "pods")
    for pod in c.objects("", "pods"):
        spec = pod.get("spec") or {}
        st = pod.get("status") or {}
        if not spec.get("nodeName") or pod["metadata"].get("deletionTimestamp") or not auto_ready(pod):
            continue
        ann = pod["metadata"].get("annotations") or {}
        phase = st.get("phase", "Pending")
        if phase == "Pending":
            sched = next((x for x in st.get("conditions") or [] if x.get("type") == "PodScheduled"), {})
            if ts_age(sched.get("lastTransitionTime")) < float(ann.get(START_SECONDS, 0)):
                continue
            if not _claims_ready(c, pod):
                continue
            _start(c, rd, pod)
        elif phase == "Running" and spec.get("restartPolicy", "Always") != "Always":
            run = ann.get(RUN_SECONDS, "0")
            if float(run) >= 0 and ts_age(st.get("startTime")) >= float(run):
                _finish(c, rd, pod, int(ann.get(EXIT_CODE, "0")))


def _claims_ready(c: Cluster, pod: Obj) -> bool:
    for name in _claim_names(pod):
        claim = c.find("resource.k8s.io", "resourceclaims", pod["metadata"]["namespace"], name)
        if claim is None or not (claim.get("status") or {}).get("allocation"):
            return False
    return True


def _claim_names(pod: Obj) -> list[str]:
    statuses = {s["name"]: s.get("resourceClaimName") for s in (pod.get("status") or {}).get("resourceClaimStatuses") or []}
    out = []
    for rc in (pod.get("spec") or {}).get("resourceClaims") or []:
        name = rc.get("resourceClaimName") or statuses.get(rc.get("name"))
        if name:
            out.append(name)
    return out


def _start(c: Cluster, rd: Any, pod: Obj) -> None:
    new = copy.deepcopy(pod)
    st = new.setdefault("status", {})
    t = now()
    conds = st.get("conditions") or []
    for ctype in ("PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady", "PodScheduled"):
        conds = set_condition(conds, ctype, "True", "", "")
    for x in conds:
        if x.get("status") == "True":
            x.pop("reason", None)
            x.pop("message", None)
        x.setdefault("lastProbeTime", None)
    st.update(phase="Running", conditions=conds, hostIP=_node_ip(c, new["spec"]["nodeName"]), podIP=_pod_ip(new),
              startTime=t)
    st["hostIPs"] = [{"ip": st["hostIP"]}]
    st["podIPs"] = [{"ip": st["podIP"]}]
    uid = new["metadata"]["uid"]
    st["containerStatuses"] = [_container_status(ctr, {"running": {"startedAt": t}}, True, uid)
                               for ctr in new["spec"].get("containers") or []]
    if new["spec"].get("initContainers"):
        st["initContainerStatuses"] = [
            _container_status(ctr, {"terminated": {"exitCode": 0, "reason": "Completed", "startedAt": t,
                                                   "finishedAt": t}}, True, uid)
            for ctr in new["spec"]["initContainers"]]
    c.write(rd, new)
    for ctr in new["spec"].get("containers") or []:
        c.record_event(new, "Normal", "Started", f"Started container {ctr['name']}", "kubelet")


def _finish(c: Cluster, rd: Any, pod: Obj, exit_code: int) -> None:
    new = copy.deepcopy(pod)
    st = new["status"]
    t = now()
    reason = "Completed" if exit_code == 0 else "Error"
    st["phase"] = "Succeeded" if exit_code == 0 else "Failed"
    conds = st.get("conditions") or []
    for ctype in ("Ready", "ContainersReady"):
        conds = set_condition(conds, ctype, "False", "PodCompleted" if exit_code == 0 else "PodFailed", "")
    for x in conds:
        if not x.get("message"):
            x.pop("message", None)
    st["conditions"] = conds
    for cs in st.get("containerStatuses") or []:
        started = (cs.get("state") or {}).get("running", {}).get("startedAt", t)
        cs.update(ready=False, started=False, state={"terminated": {
            "exitCode": exit_code, "reason": reason, "startedAt": started, "finishedAt": t}})
    c.write(rd, new)
