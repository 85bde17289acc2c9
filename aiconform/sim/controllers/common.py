"""Helpers shared by the simulated controllers."""
from __future__ import annotations

import copy
import datetime as dt
import hashlib
import json
import re
from typing import Any

from aiconform.sim.api import ApiError, Cluster, now, owner_ref, rand_suffix
from aiconform.sim.store import Obj

AUTO_READY = "sim.aiconform.io/auto-ready"
RUN_SECONDS = "sim.aiconform.io/run-seconds"
START_SECONDS = "sim.aiconform.io/start-seconds"
EXIT_CODE = "sim.aiconform.io/exit-code"

_Q = re.compile(r"^([+-]?[0-9.]+(?:[eE][+-]?[0-9]+)?)([a-zA-Z]*)$")
_SUFFIX = {"": 1, "m": 1e-3, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15, "E": 1e18,
           "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60, "n": 1e-9, "u": 1e-6}


def quantity(v: Any) -> float:
    """A resource.Quantity as a number (cpu in cores, memory in bytes)."""
    if v is None:
        return 0.0
    if isinstance(v, int | float):
        return float(v)
    m = _Q.match(str(v).strip())
    if not m or m.group(2) not in _SUFFIX:
        raise ValueError(f"quantities must match the regular expression: {v!r}")
    return float(m.group(1)) * _SUFFIX[m.group(2)]


def auto_ready(obj: Obj) -> bool:
    return (obj["metadata"].get("annotations") or {}).get(AUTO_READY, "true").lower() != "false"


def ts_age(ts: str | None) -> float:
    if not ts:
        return 0.0
    t = dt.datetime.strptime(ts, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)
    return (dt.datetime.now(dt.UTC) - t).total_seconds()


def template_hash(template: Any, collision: int = 0) -> str:
    """A stable short hash for a pod template, rendered in upstream's safe alphabet."""
    digest = hashlib.sha256(json.dumps(template, sort_keys=True).encode() + str(collision).encode()).digest()
    alphabet = "bcdfghjklmnpqrstvwxz2456789"
    n = int.from_bytes(digest[:8], "big")
    out = ""
    for _ in range(10):
        n, r = divmod(n, len(alphabet))
        out += alphabet[r]
    return out


def owned_by(obj: Obj, owner: Obj) -> bool:
    return any(r.get("uid") == owner["metadata"]["uid"] and r.get("controller")
               for r in obj["metadata"].get("ownerReferences") or [])


def pod_ready(pod: Obj) -> bool:
    return any(c.get("type") == "Ready" and c.get("status") == "True"
               for c in (pod.get("status") or {}).get("conditions") or [])


def pod_active(pod: Obj) -> bool:
    return (not pod["metadata"].get("deletionTimestamp")
            and (pod.get("status") or {}).get("phase") not in ("Succeeded", "Failed"))


def set_condition(conds: list[dict[str, Any]], ctype: str, status: str, reason: str, message: str,
                  update_time: bool = False) -> list[dict[str, Any]]:
    """Upsert a condition, keeping lastTransitionTime unless the status flips (as upstream helpers do)."""
    out = [dict(c) for c in conds]
    for c in out:
        if c.get("type") == ctype:
            if c.get("status") != status:
                c["lastTransitionTime"] = now()
            if update_time and (c.get("reason") != reason or c.get("status") != status):
                c["lastUpdateTime"] = now()
            c.update(status=status, reason=reason, message=message)
            return out
    c = {"type": ctype, "status": status, "reason": reason, "message": message, "lastTransitionTime": now()}
    if update_time:
        c["lastUpdateTime"] = now()
    out.append(c)
    return out


def unschedulable_pods(c: Cluster, handled: set[str]) -> list[Obj]:
    """Pods the scheduler marked Unschedulable, not bound, not being deleted, and not yet ``handled`` (by uid): an
    autoscaler's triggers."""
    out = []
    for pod in c.objects("", "pods"):
        spec, st = pod.get("spec") or {}, pod.get("status") or {}
        if pod["metadata"]["uid"] in handled or spec.get("nodeName") or pod["metadata"].get("deletionTimestamp"):
            continue
        if any(x.get("type") == "PodScheduled" and x.get("reason") == "Unschedulable"
               for x in st.get("conditions") or []):
            out.append(pod)
    return out


def pod_from_template(owner: Obj, template: dict[str, Any], name: str | None = None,
                      extra_labels: dict[str, str] | None = None,
                      extra_annotations: dict[str, str] | None = None) -> Obj:
    tmeta = template.get("metadata") or {}
    labels = {**(tmeta.get("labels") or {}), **(extra_labels or {})}
    annotations = {**(tmeta.get("annotations") or {}), **(extra_annotations or {})}
    if not auto_ready(owner):
        annotations[AUTO_READY] = "false"
    meta: dict[str, Any] = {"labels": labels, "ownerReferences": [owner_ref(owner)]}
    if annotations:
        meta["annotations"] = annotations
    if name:
        meta["name"] = name
    else:
        meta["generateName"] = owner["metadata"]["name"] + "-"
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": copy.deepcopy(template.get("spec") or {})}


def create_pod(c: Cluster, ns: str, pod: Obj, owner: Obj) -> Obj | None:
    try:
        created = c.create(c.rd("", "pods"), ns, pod)
    except ApiError:
        return None
    c.record_event(owner, "Normal", "SuccessfulCreate", f"Created pod: {created['metadata']['name']}",
                   _component(owner))
    return created


def delete_pod(c: Cluster, pod: Obj, owner: Obj) -> None:
    try:
        c.delete(c.rd("", "pods"), pod["metadata"]["namespace"], pod["metadata"]["name"])
    except ApiError:
        return
    c.record_event(owner, "Normal", "SuccessfulDelete", f"Deleted pod: {pod['metadata']['name']}", _component(owner))


def _component(owner: Obj) -> str:
    return {"ReplicaSet": "replicaset-controller", "StatefulSet": "statefulset-controller", "Job": "job-controller",
            "DaemonSet": "daemonset-controller"}.get(owner["kind"], "controller-manager")


def unique_name(prefix: str) -> str:
    return f"{prefix}-{rand_suffix()}"
