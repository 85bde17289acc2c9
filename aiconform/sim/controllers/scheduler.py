"""kube-scheduler: binds pending pods to Ready nodes that pass upstream's default filters, in upstream's
order (NodeUnschedulable, NodeName, TaintToleration, NodeAffinity, NodeResourcesFit, DynamicResources),
and otherwise leaves the pod Pending with ``PodScheduled=False/Unschedulable`` and a ``FailedScheduling``
event whose message has upstream's shape (``0/3 nodes are available: 3 Insufficient nvidia.com/gpu. …``).
"""
from __future__ import annotations

import copy
from collections import Counter
from typing import Any

from aiconform.sim.api import Cluster, now
from aiconform.sim.controllers import dra
from aiconform.sim.controllers.common import quantity, set_condition
from aiconform.sim.selectors import match_expression

Obj = dict[str, Any]
# Filter failures for which evicting lower-priority pods could help (the rest are "not helpful").
_RESOLVABLE_BY_PREEMPTION = ("Insufficient ", "Too many pods")


def tolerates(tolerations: list[dict[str, Any]], taint: dict[str, Any]) -> bool:
    for t in tolerations:
        if t.get("effect") and t["effect"] != taint.get("effect"):
            continue
        op = t.get("operator", "Equal")
        if not t.get("key") and op == "Exists":
            return True
        if t.get("key") != taint.get("key"):
            continue
        if op == "Exists" or t.get("value", "") == taint.get("value", ""):
            return True
    return False


def untolerated_taint(node: Obj, tolerations: list[dict[str, Any]]) -> dict[str, Any] | None:
    for taint in (node.get("spec") or {}).get("taints") or []:
        if taint.get("effect") in ("NoSchedule", "NoExecute") and not tolerates(tolerations, taint):
            return taint
    return None


def node_affinity_matches(pod_spec: dict[str, Any], node: Obj) -> bool:
    labels = node["metadata"].get("labels") or {}
    req = (((pod_spec.get("affinity") or {}).get("nodeAffinity") or {})
           .get("requiredDuringSchedulingIgnoredDuringExecution") or {})
    terms = req.get("nodeSelectorTerms") or []
    if not terms:
        return True
    for term in terms:
        ok = all(match_expression(e, labels.get(e.get("key", "")), e.get("key", "") in labels)
                 for e in term.get("matchExpressions") or [])
        fields = {"metadata.name": node["metadata"]["name"]}
        ok = ok and all(match_expression(e, fields.get(e.get("key", "")), e.get("key", "") in fields)
                        for e in term.get("matchFields") or [])
        if ok and (term.get("matchExpressions") or term.get("matchFields")):
            return True
    return False


def pod_requests(spec: dict[str, Any]) -> dict[str, float]:
    """Effective requests: sum over containers, at least the largest init container, plus overhead."""
    def req(c: dict[str, Any]) -> dict[str, Any]:
        r = c.get("resources") or {}
        return {**(r.get("limits") or {}), **(r.get("requests") or {})}  # requests default to limits
    total: Counter[str] = Counter()
    for c in spec.get("containers") or []:
        for k, v in req(c).items():
            total[k] += quantity(v)
    for c in spec.get("initContainers") or []:
        for k, v in req(c).items():
            total[k] = max(total[k], quantity(v))
    for k, v in (spec.get("overhead") or {}).items():
        total[k] += quantity(v)
    return dict(total)


def node_ready(node: Obj) -> bool:
    return any(c.get("type") == "Ready" and c.get("status") == "True"
               for c in (node.get("status") or {}).get("conditions") or [])


def _usage(c: Cluster) -> dict[str, Counter[str]]:
    used: dict[str, Counter[str]] = {}
    for p in c.objects("", "pods"):
        node = (p.get("spec") or {}).get("nodeName")
        if not node or (p.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
            continue
        u = used.setdefault(node, Counter())
        for k, v in pod_requests(p["spec"]).items():
            u[k] += v
        u["pods"] += 1
    return used


def filter_node(pod: Obj, node: Obj, used: Counter[str]) -> list[str]:
    """Reasons this node cannot take the pod (empty when it fits)."""
    spec = pod.get("spec") or {}
    if (node.get("spec") or {}).get("unschedulable") and not tolerates(
            spec.get("tolerations") or [], {"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"}):
        return ["node(s) were unschedulable"]
    if not node_ready(node) and not tolerates(spec.get("tolerations") or [],
                                              {"key": "node.kubernetes.io/not-ready", "effect": "NoSchedule"}):
        return ["node(s) had untolerated taint {node.kubernetes.io/not-ready: }"]
    taint = untolerated_taint(node, spec.get("tolerations") or [])
    if taint:
        return [f"node(s) had untolerated taint {{{taint.get('key')}: {taint.get('value', '')}}}"]
    labels = node["metadata"].get("labels") or {}
    if any(labels.get(k) != v for k, v in (spec.get("nodeSelector") or {}).items()) or \
            not node_affinity_matches(spec, node):
        return ["node(s) didn't match Pod's node affinity/selector"]
    alloc = (node.get("status") or {}).get("allocatable") or {}
    reasons = []
    if used["pods"] + 1 > quantity(alloc.get("pods", 110)):
        reasons.append("Too many pods")
    for res, amount in sorted(pod_requests(spec).items()):
        if amount <= 0:
            continue
        if used[res] + amount > quantity(alloc.get(res, 0)) + 1e-9:
            reasons.append(f"Insufficient {res}")
    return reasons


def fit_error(n_nodes: int, histogram: Counter[str]) -> str:
    if n_nodes == 0:
        return "no nodes available to schedule pods"
    msg = f"0/{n_nodes} nodes are available: " + ", ".join(sorted(f"{v} {k}" for k, v in histogram.items())) + "."
    pre: Counter[str] = Counter()
    for reason, count in histogram.items():
        if reason.startswith(_RESOLVABLE_BY_PREEMPTION):
            pre["No preemption victims found for incoming pod"] += count
        else:
            pre["Preemption is not helpful for scheduling"] += count
    return msg + f" preemption: 0/{n_nodes} nodes are available: " + ", ".join(
        sorted(f"{v} {k}" for k, v in pre.items())) + "."


def sync(c: Cluster, mgr: Any) -> None:
    nodes = sorted(c.objects("", "nodes"), key=lambda n: n["metadata"]["name"])
    pending = [p for p in c.objects("", "pods")
               if not (p.get("spec") or {}).get("nodeName") and not p["metadata"].get("deletionTimestamp")
               and (p.get("spec") or {}).get("schedulerName", "default-scheduler") == "default-scheduler"
               and (p.get("status") or {}).get("phase", "Pending") == "Pending"]
    if not pending:
        return
    used = _usage(c)
    for pod in sorted(pending, key=lambda p: p["metadata"]["creationTimestamp"]):
        if pod["spec"].get("schedulingGates"):
            continue
        histogram: Counter[str] = Counter()
        chosen = None
        claims_plan = None
        candidates = []
        for node in nodes:
            reasons = filter_node(pod, node, used.get(node["metadata"]["name"], Counter()))
            if reasons:
                for r in reasons:
                    histogram[r] += 1
                continue
            candidates.append(node)
        # spread: prefer the least loaded feasible node (a stand-in for upstream's scoring)
        candidates.sort(key=lambda n: used.get(n["metadata"]["name"], Counter())["pods"])
        for node in candidates:
            plan = dra.plan_for_pod(c, pod, node)
            if plan is None:
                histogram["cannot allocate all claims"] += 1
                continue
            chosen, claims_plan = node, plan
            break
        if chosen is None:
            unschedulable(c, pod, fit_error(len(nodes), histogram))
            continue
        dra.commit(c, pod, claims_plan or [])
        bind(c, pod, chosen["metadata"]["name"])
        u = used.setdefault(chosen["metadata"]["name"], Counter())
        for k, v in pod_requests(pod["spec"]).items():
            u[k] += v
        u["pods"] += 1


def bind(c: Cluster, pod: Obj, node: str, scheduler: str = "default-scheduler") -> None:
    cur = c.find("", "pods", pod["metadata"]["namespace"], pod["metadata"]["name"])
    if cur is None:
        return
    new = copy.deepcopy(cur)
    new["spec"]["nodeName"] = node
    st = new.setdefault("status", {})
    st["conditions"] = set_condition(st.get("conditions") or [], "PodScheduled", "True", "", "")
    for cond in st["conditions"]:
        if cond["type"] == "PodScheduled":
            cond.pop("reason", None)
            cond.pop("message", None)
            cond["lastProbeTime"] = None
    c.write(c.rd("", "pods"), new)
    c.record_event(new, "Normal", "Scheduled",
                   f"Successfully assigned {new['metadata']['namespace']}/{new['metadata']['name']} to {node}",
                   scheduler)


def unschedulable(c: Cluster, pod: Obj, message: str, scheduler: str = "default-scheduler",
                  reason: str = "FailedScheduling") -> None:
    """Mark the pod PodScheduled=False/Unschedulable with ``message`` and record the scheduler's Event (once per
    message)."""
    st = pod.get("status") or {}
    cond = next((x for x in st.get("conditions") or [] if x.get("type") == "PodScheduled"), None)
    if cond and cond.get("status") == "False" and cond.get("message") == message:
        return
    new = copy.deepcopy(pod)
    nst = new.setdefault("status", {})
    nst["conditions"] = set_condition(nst.get("conditions") or [], "PodScheduled", "False", "Unschedulable", message)
    for x in nst["conditions"]:
        if x["type"] == "PodScheduled":
            x["lastProbeTime"] = None
    saved = c.write(c.rd("", "pods"), new)
    c.record_event(saved, "Warning", reason, message, scheduler)


_ = now
