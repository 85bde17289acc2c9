"""Karpenter (``karpenter.sh/v1``) with the kwok provider, as its docs, its NodePool/NodeClaim CRDs and the events
users see show it (stacks.md §16; AICR's kwok NodePool and instance types in the fixtures). What clients observe:

- Karpenter acts on pods the scheduler marked ``PodScheduled=False/Unschedulable``. A NodePool is compatible when
  the pod's nodeSelector and required node affinity match the labels its nodes would get (``template.metadata.labels``,
  single-valued ``In`` requirements, ``karpenter.sh/nodepool``, ``node.kubernetes.io/instance-type``,
  ``karpenter.sh/capacity-type``), the pod tolerates ``template.spec.taints``, an instance type fits its requests
  and ``spec.limits`` still allow that instance type. Instance types come from a ConfigMap holding
  ``instance-types.json`` (the kwok provider's instance-types file format: name, resources, offerings); the
  cheapest compatible on-demand offering wins.
- Provisioning creates a cluster-scoped NodeClaim ``<nodepool>-<5 chars>`` (label ``karpenter.sh/nodepool``,
  ``spec.requirements``, ``nodeClassRef``, ``resources.requests``) and records ``Nominated`` on the pod,
  "Pod should schedule on: nodeclaim/<name>"; after a short launch delay the Node, named like the NodeClaim
  (providerID ``kwok://<name>``), registers with the NodePool's labels and taints, and the NodeClaim gets
  ``status.{nodeName,providerID,capacity,allocatable}`` and ``Launched``/``Registered``/``Initialized``/``Ready``.
  When the limits leave no room, the pod gets a ``FailedScheduling`` warning from karpenter: 'Failed to schedule
  pod, incompatible with nodepool "<np>", all available instance types exceed limits for nodepool: "<np>"'.
- Consolidation (``disruption.consolidateAfter``, ``Never`` disables it): a node with no running non-DaemonSet pod
  for that long gets ``DisruptionTerminating`` "Disrupting Node: Empty/Delete" (Node and NodeClaim), then NodeClaim
  and Node are deleted.
- Events come from component ``karpenter``, or ``eks-auto-mode/compute`` when the NodePool's ``nodeClassRef.group``
  is ``eks.amazonaws.com`` (EKS Auto Mode runs Karpenter off-cluster: no karpenter Deployment is visible).

Runs when the ``karpenter.sh`` NodePool kind is served. Not emulated: drift, expiry, budgets, multi-pod bin packing
(one NodeClaim per pending pod), spot, weights.
"""
from __future__ import annotations

import copy
import json
import re
import time
from typing import Any

from aiconform.sim.api import ApiError, Cluster, now, rand_suffix
from aiconform.sim.controllers.common import quantity, set_condition, unschedulable_pods
from aiconform.sim.controllers.scheduler import node_affinity_matches, pod_requests, untolerated_taint
from aiconform.sim.scenario import node_objects

Obj = dict[str, Any]
GROUP = "karpenter.sh"
LAUNCH_SECONDS = 1.0
SCAN_SECONDS = 0.5
_DUR = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h)")
# handled pod uids, NodeClaims waiting to launch (name -> due), empty-since per node, last scan
_STATE: dict[str, Any] = {"handled": set(), "launch": {}, "empty": {}, "last": 0.0}


def _duration(text: Any, default: float | None) -> float | None:
    if str(text) == "Never":
        return None
    parts = _DUR.findall(str(text or ""))
    if not parts:
        return default
    scale = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}
    return sum(float(v) * scale[u] for v, u in parts)


def _component(np: Obj) -> str:
    ref = ((np.get("spec") or {}).get("template") or {}).get("spec", {}).get("nodeClassRef") or {}
    return "eks-auto-mode/compute" if ref.get("group") == "eks.amazonaws.com" else "karpenter"


def _instance_types(c: Cluster) -> list[dict[str, Any]]:
    for cm in c.objects("", "configmaps"):
        text = (cm.get("data") or {}).get("instance-types.json")
        if text:
            try:
                return [t for t in json.loads(text) if isinstance(t, dict)]
            except ValueError:
                return []
    return []


def _requirements(np: Obj) -> list[dict[str, Any]]:
    return (((np.get("spec") or {}).get("template") or {}).get("spec") or {}).get("requirements") or []


def _node_labels(np: Obj, itype: dict[str, Any]) -> dict[str, str]:
    labels = {k: str(v) for k, v in ((((np.get("spec") or {}).get("template") or {}).get("metadata") or {})
                                     .get("labels") or {}).items()}
    for r in _requirements(np):
        if r.get("operator") == "In" and len(r.get("values") or []) == 1:
            labels[r["key"]] = str(r["values"][0])
    labels.update({"karpenter.sh/nodepool": np["metadata"]["name"], "node.kubernetes.io/instance-type": itype["name"],
                   "kubernetes.io/arch": str(itype.get("architecture", "amd64")), "kubernetes.io/os": "linux",
                   "karpenter.sh/capacity-type": "on-demand"})
    return labels


def _allowed(np: Obj, itype: dict[str, Any]) -> bool:
    for r in _requirements(np):
        if r.get("key") == "node.kubernetes.io/instance-type" and r.get("operator") == "In" \
                and itype["name"] not in (r.get("values") or []):
            return False
        if r.get("key") == "karpenter.sh/capacity-type" and r.get("operator") == "In" \
                and "on-demand" not in (r.get("values") or []):
            return False
    return True


def _price(itype: dict[str, Any]) -> float:
    return min((float(o.get("Price", 0)) for o in itype.get("offerings") or [] if o.get("Available", True)),
               default=float("inf"))


def _claims(c: Cluster, np_name: str | None = None) -> list[Obj]:
    return [n for n in c.objects(GROUP, "nodeclaims")
            if np_name is None or (n["metadata"].get("labels") or {}).get("karpenter.sh/nodepool") == np_name]


def _used(c: Cluster, np_name: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for nc in _claims(c, np_name):
        if nc["metadata"].get("deletionTimestamp"):
            continue
        for k, v in (((nc.get("status") or {}).get("capacity")) or ((nc.get("spec") or {}).get("resources") or {})
                     .get("requests") or {}).items():
            out[k] = out.get(k, 0.0) + quantity(v)
    return out


def _within_limits(c: Cluster, np: Obj, itype: dict[str, Any]) -> bool:
    limits = (np.get("spec") or {}).get("limits") or {}
    used = _used(c, np["metadata"]["name"])
    res = itype.get("resources") or {}
    return all(used.get(k, 0.0) + quantity(res.get(k, 0)) <= quantity(v) + 1e-9 for k, v in limits.items())


def _candidate(c: Cluster, pod: Obj, np: Obj, types: list[dict[str, Any]]) -> tuple[str, dict[str, Any] | None]:
    """("fit", type) | ("limits", None) | ("incompatible", None) for this pod and NodePool."""
    spec = pod.get("spec") or {}
    tmpl_spec = ((np.get("spec") or {}).get("template") or {}).get("spec") or {}
    if untolerated_taint({"spec": {"taints": tmpl_spec.get("taints") or []}}, spec.get("tolerations") or []):
        return "incompatible", None
    requests = {k: v for k, v in pod_requests(spec).items() if v > 0}
    fitting = []
    for t in types:
        if not _allowed(np, t):
            continue
        labels = _node_labels(np, t)
        if any(labels.get(k) != v for k, v in (spec.get("nodeSelector") or {}).items()):
            continue
        if not node_affinity_matches(spec, {"metadata": {"name": "", "labels": labels}}):
            continue
        res = t.get("resources") or {}
        if all(amount <= quantity(res.get(k, 0)) + 1e-9 for k, amount in requests.items() if k != "pods"):
            fitting.append(t)
    if not fitting:
        return "incompatible", None
    fitting.sort(key=_price)
    for t in fitting:
        if _within_limits(c, np, t):
            return "fit", t
    return "limits", None


def _create_claim(c: Cluster, pod: Obj, np: Obj, itype: dict[str, Any]) -> Obj | None:
    tmpl = (np.get("spec") or {}).get("template") or {}
    name = f"{np['metadata']['name']}-{rand_suffix()}"
    labels = _node_labels(np, itype)
    body = {"apiVersion": f"{GROUP}/v1", "kind": "NodeClaim",
            "metadata": {"name": name, "labels": labels,
                         "annotations": {"karpenter.sh/nodepool-hash": "1"},
                         "ownerReferences": [{"apiVersion": f"{GROUP}/v1", "kind": "NodePool",
                                              "name": np["metadata"]["name"], "uid": np["metadata"]["uid"],
                                              "blockOwnerDeletion": True}]},
            "spec": {"requirements": copy.deepcopy(_requirements(np)) + [
                {"key": "node.kubernetes.io/instance-type", "operator": "In", "values": [itype["name"]]}],
                     "nodeClassRef": copy.deepcopy((tmpl.get("spec") or {}).get("nodeClassRef") or {}),
                     "taints": copy.deepcopy((tmpl.get("spec") or {}).get("taints") or []),
                     "resources": {"requests": {k: str(v) for k, v in (itype.get("resources") or {}).items()}}}}
    try:
        return c.create(c.rd(GROUP, "nodeclaims"), "", body)
    except ApiError:
        return None


def _launch(c: Cluster, nc: Obj, mgr: Any) -> None:
    name = nc["metadata"]["name"]
    spec = nc.get("spec") or {}
    res = (spec.get("resources") or {}).get("requests") or {}
    pool = {"name": name, "numbered": False, "count": 1, "labels": {
        **(nc["metadata"].get("labels") or {}), "karpenter.sh/registered": "true", "karpenter.sh/initialized": "true"},
            "taints": spec.get("taints") or [], "capacity": res, "allocatable": res}
    node = node_objects(pool, f"v1.{getattr(mgr, 'minor', 33)}.0")[0]
    node["metadata"].pop("uid", None)
    node["metadata"]["annotations"]["kwok.x-k8s.io/node"] = "fake"
    node["spec"]["providerID"] = f"kwok://{name}"
    node["metadata"]["ownerReferences"] = [{"apiVersion": f"{GROUP}/v1", "kind": "NodeClaim", "name": name,
                                            "uid": nc["metadata"]["uid"], "blockOwnerDeletion": True}]
    try:
        c.create(c.rd("", "nodes"), "", node)
    except ApiError:
        pass
    conds: list[dict[str, Any]] = []
    for ctype in ("Launched", "Registered", "Initialized", "Ready"):
        conds = set_condition(conds, ctype, "True", ctype, "")
    c.update_status(c.rd(GROUP, "nodeclaims"), nc, {
        "nodeName": name, "providerID": f"kwok://{name}", "capacity": res, "allocatable": res,
        "imageID": "kwok", "conditions": conds, "lastPodEventTime": now()})


def sync(c: Cluster, mgr: Any) -> None:
    if c.registry.get(GROUP, "nodepools") is None or c.registry.get(GROUP, "nodeclaims") is None:
        return
    t = time.monotonic()
    if t - _STATE["last"] < SCAN_SECONDS:
        return
    _STATE["last"] = t
    pools = [np for np in c.objects(GROUP, "nodepools") if not np["metadata"].get("deletionTimestamp")]
    for np in pools:
        c.update_status(c.rd(GROUP, "nodepools"), np, {**(np.get("status") or {}), "conditions": set_condition(
            (np.get("status") or {}).get("conditions") or [], "Ready", "True", "Ready", ""),
            "resources": {k: str(v) for k, v in _used(c, np["metadata"]["name"]).items()}})
    for name, due in list(_STATE["launch"].items()):
        if due <= t:
            _STATE["launch"].pop(name)
            nc = c.find(GROUP, "nodeclaims", "", name)
            if nc is not None and not nc["metadata"].get("deletionTimestamp"):
                _launch(c, nc, mgr)
    types = _instance_types(c)
    for pod in unschedulable_pods(c, _STATE["handled"]):
        uid = pod["metadata"]["uid"]
        results = [(np, *_candidate(c, pod, np, types)) for np in pools]
        fit = next(((np, it) for np, what, it in results if what == "fit"), None)
        if fit is not None:
            np, itype = fit
            nc = _create_claim(c, pod, np, itype)
            if nc is None:
                continue
            _STATE["handled"].add(uid)
            _STATE["launch"][nc["metadata"]["name"]] = t + LAUNCH_SECONDS
            c.record_event(pod, "Normal", "Nominated", f"Pod should schedule on: nodeclaim/{nc['metadata']['name']}",
                           _component(np))
            continue
        limited = next((np for np, what, _ in results if what == "limits"), None)
        if limited is not None:
            n = limited["metadata"]["name"]
            c.record_event(pod, "Warning", "FailedScheduling", f'Failed to schedule pod, incompatible with nodepool '
                           f'"{n}", all available instance types exceed limits for nodepool: "{n}"', _component(limited))
    _consolidate(c, pools, t)


def _consolidate(c: Cluster, pools: list[Obj], t: float) -> None:
    busy = {(p.get("spec") or {}).get("nodeName") for p in c.objects("", "pods")
            if (p.get("status") or {}).get("phase") not in ("Succeeded", "Failed")
            and not any(r.get("kind") == "DaemonSet" for r in p["metadata"].get("ownerReferences") or [])}
    by_name = {np["metadata"]["name"]: np for np in pools}
    for nc in _claims(c):
        node_name = (nc.get("status") or {}).get("nodeName")
        np = by_name.get((nc["metadata"].get("labels") or {}).get("karpenter.sh/nodepool", ""))
        if not node_name or np is None or nc["metadata"].get("deletionTimestamp"):
            continue
        after = _duration(((np.get("spec") or {}).get("disruption") or {}).get("consolidateAfter", "0s"), 0.0)
        if node_name in busy or after is None:
            _STATE["empty"].pop(node_name, None)
            continue
        since = _STATE["empty"].setdefault(node_name, t)
        if t - since < after:
            continue
        node = c.find("", "nodes", "", node_name)
        for obj in (node, nc):
            if obj is not None:
                c.record_event(obj, "Normal", "DisruptionTerminating", "Disrupting Node: Empty/Delete", _component(np))
        for rd, name in ((c.rd(GROUP, "nodeclaims"), nc["metadata"]["name"]), (c.rd("", "nodes"), node_name)):
            try:
                c.delete(rd, "", name)
            except ApiError:
                pass
        _STATE["empty"].pop(node_name, None)
