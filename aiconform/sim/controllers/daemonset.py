"""DaemonSet controller: one pod per eligible node, pinned with node affinity on metadata.name (as upstream)."""
from __future__ import annotations

import copy
from typing import Any

from aiconform.sim.api import Cluster
from aiconform.sim.controllers.common import (
    create_pod,
    delete_pod,
    owned_by,
    pod_active,
    pod_from_template,
    pod_ready,
    template_hash,
)
from aiconform.sim.controllers.scheduler import node_affinity_matches, untolerated_taint

# Tolerations the DaemonSet controller adds to every daemon pod.
DS_TOLERATIONS = [
    {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute"},
    {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute"},
    {"key": "node.kubernetes.io/disk-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/memory-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/pid-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/unschedulable", "operator": "Exists", "effect": "NoSchedule"},
]


def _eligible(node: dict[str, Any], pod_spec: dict[str, Any]) -> bool:
    labels = node["metadata"].get("labels") or {}
    if any(labels.get(k) != v for k, v in (pod_spec.get("nodeSelector") or {}).items()):
        return False
    if not node_affinity_matches(pod_spec, node):
        return False
    return untolerated_taint(node, pod_spec.get("tolerations") or []) is None


def sync(c: Cluster, mgr: Any) -> None:
    rd = c.rd("apps", "daemonsets")
    nodes = c.objects("", "nodes")
    for ds in c.objects("apps", "daemonsets"):
        if ds["metadata"].get("deletionTimestamp"):
            continue
        ns = ds["metadata"]["namespace"]
        template = copy.deepcopy((ds.get("spec") or {}).get("template") or {})
        spec = template.setdefault("spec", {})
        spec["tolerations"] = list(spec.get("tolerations") or []) + [
            t for t in DS_TOLERATIONS if t not in (spec.get("tolerations") or [])]
        h = template_hash(template)
        eligible = [n["metadata"]["name"] for n in nodes if _eligible(n, spec)]
        pods = [p for p in c.objects("", "pods", ns) if owned_by(p, ds) and pod_active(p)]
        by_node: dict[str, dict[str, Any]] = {}
        for p in pods:
            target = _target_node(p)
            if target not in eligible or (p["metadata"].get("labels") or {}).get("controller-revision-hash") != h \
                    or target in by_node:
                delete_pod(c, p, ds)
            else:
                by_node[target] = p
        for node in eligible:
            if node in by_node:
                continue
            pod = pod_from_template(ds, template, None, {"controller-revision-hash": h,
                                                         "pod-template-generation": str(ds["metadata"].get("generation", 1))})
            aff = pod["spec"].setdefault("affinity", {}).setdefault("nodeAffinity", {})
            aff["requiredDuringSchedulingIgnoredDuringExecution"] = {"nodeSelectorTerms": [
                {"matchFields": [{"key": "metadata.name", "operator": "In", "values": [node]}]}]}
            create_pod(c, ns, pod, ds)
        pods = [p for p in c.objects("", "pods", ns) if owned_by(p, ds) and pod_active(p)]
        scheduled = sum(1 for p in pods if (p.get("spec") or {}).get("nodeName"))
        ready = sum(1 for p in pods if pod_ready(p))
        status = {"desiredNumberScheduled": len(eligible), "currentNumberScheduled": scheduled,
                  "numberReady": ready, "updatedNumberScheduled": len(pods), "numberAvailable": ready,
                  "numberMisscheduled": 0, "observedGeneration": ds["metadata"].get("generation", 1)}
        if len(eligible) - ready > 0:
            status["numberUnavailable"] = len(eligible) - ready
        c.update_status(rd, ds, status)


def _target_node(pod: dict[str, Any]) -> str:
    if (pod.get("spec") or {}).get("nodeName"):
        return pod["spec"]["nodeName"]
    terms = (((pod["spec"].get("affinity") or {}).get("nodeAffinity") or {})
             .get("requiredDuringSchedulingIgnoredDuringExecution") or {}).get("nodeSelectorTerms") or []
    for t in terms:
        for f in t.get("matchFields") or []:
            if f.get("key") == "metadata.name" and f.get("values"):
                return f["values"][0]
    return ""
