"""Deployment controller: one owned ReplicaSet per pod template (pod-template-hash), revisions, rollout status.

Rollouts are instantaneous (old ReplicaSets are scaled to 0 as the new one is scaled up); returning to an
earlier template re-activates its ReplicaSet under the next revision, which ``k8s_rollback`` relies on.
"""
from __future__ import annotations

import copy
from typing import Any

from aiconform.sim.api import ApiError, Cluster, owner_ref
from aiconform.sim.controllers.common import AUTO_READY, auto_ready, owned_by, set_condition, template_hash, ts_age

REVISION = "deployment.kubernetes.io/revision"
HASH = "pod-template-hash"


def _strip_hash(template: dict[str, Any]) -> dict[str, Any]:
    t = copy.deepcopy(template)
    (t.get("metadata") or {}).get("labels", {}).pop(HASH, None)
    return t


def sync(c: Cluster, mgr: Any) -> None:
    rs_rd = c.rd("apps", "replicasets")
    dep_rd = c.rd("apps", "deployments")
    for dep in c.objects("apps", "deployments"):
        if dep["metadata"].get("deletionTimestamp"):
            continue
        ns, name = dep["metadata"]["namespace"], dep["metadata"]["name"]
        spec = dep.get("spec") or {}
        replicas = int(spec.get("replicas", 1))
        template = spec.get("template") or {}
        owned = [rs for rs in c.objects("apps", "replicasets", ns) if owned_by(rs, dep)]
        max_rev = max((int((rs["metadata"].get("annotations") or {}).get(REVISION, "0")) for rs in owned), default=0)
        new_rs = next((rs for rs in owned if _strip_hash((rs.get("spec") or {}).get("template") or {}) == template), None)
        if spec.get("paused"):
            continue
        if new_rs is None:
            h = template_hash(template)
            tpl = copy.deepcopy(template)
            tpl.setdefault("metadata", {}).setdefault("labels", {})[HASH] = h
            selector = copy.deepcopy(spec.get("selector") or {})
            selector.setdefault("matchLabels", {})[HASH] = h
            ann = {REVISION: str(max_rev + 1), "deployment.kubernetes.io/desired-replicas": str(replicas),
                   "deployment.kubernetes.io/max-replicas": str(replicas + 1)}
            if not auto_ready(dep):
                ann[AUTO_READY] = "false"
            body = {"apiVersion": "apps/v1", "kind": "ReplicaSet",
                    "metadata": {"name": f"{name}-{h}", "namespace": ns, "labels": dict(tpl["metadata"]["labels"]),
                                 "annotations": ann, "ownerReferences": [owner_ref(dep)]},
                    "spec": {"replicas": replicas, "selector": selector, "template": tpl,
                             **({"minReadySeconds": spec["minReadySeconds"]} if "minReadySeconds" in spec else {})}}
            try:
                new_rs = c.create(rs_rd, ns, body)
            except ApiError:
                continue
            c.record_event(dep, "Normal", "ScalingReplicaSet",
                           f"Scaled up replica set {new_rs['metadata']['name']} from 0 to {replicas}",
                           "deployment-controller")
            owned.append(new_rs)
            max_rev += 1
        new_name = new_rs["metadata"]["name"]
        rev = int((new_rs["metadata"].get("annotations") or {}).get(REVISION, "0"))
        if rev < max_rev and (new_rs.get("spec") or {}).get("replicas", 0) == 0:
            rs2 = copy.deepcopy(new_rs)
            rs2["metadata"]["annotations"][REVISION] = str(max_rev + 1)
            new_rs = c.write(rs_rd, rs2)
            rev = max_rev + 1
        for rs in owned:
            want = replicas if rs["metadata"]["name"] == new_name else 0
            cur = next((o for o in c.objects("apps", "replicasets", ns) if o["metadata"]["uid"] == rs["metadata"]["uid"]), None)
            if cur is None:
                continue
            have = (cur.get("spec") or {}).get("replicas", 1)
            if have != want:
                rs2 = copy.deepcopy(cur)
                rs2["spec"]["replicas"] = want
                rs2["metadata"].setdefault("annotations", {})["deployment.kubernetes.io/desired-replicas"] = str(replicas)
                c.write(rs_rd, rs2)
                verb = "up" if want > have else "down"
                c.record_event(dep, "Normal", "ScalingReplicaSet",
                               f"Scaled {verb} replica set {cur['metadata']['name']} from {have} to {want}",
                               "deployment-controller")
        dep = c.get(dep_rd, ns, name)
        if (dep["metadata"].get("annotations") or {}).get(REVISION) != str(rev):
            d2 = copy.deepcopy(dep)
            d2["metadata"].setdefault("annotations", {})[REVISION] = str(rev)
            dep = c.write(dep_rd, d2)
        _status(c, dep_rd, dep, new_name, replicas)


def _status(c: Cluster, rd: Any, dep: dict[str, Any], new_name: str, replicas: int) -> None:
    ns = dep["metadata"]["namespace"]
    owned = [rs for rs in c.objects("apps", "replicasets", ns) if owned_by(rs, dep)]
    st = lambda rs, k: int((rs.get("status") or {}).get(k, 0))  # noqa: E731
    total = sum(st(rs, "replicas") for rs in owned)
    ready = sum(st(rs, "readyReplicas") for rs in owned)
    available = sum(st(rs, "availableReplicas") for rs in owned)
    new_rs = next((rs for rs in owned if rs["metadata"]["name"] == new_name), None)
    updated = st(new_rs, "replicas") if new_rs else 0
    old = dep.get("status") or {}
    status: dict[str, Any] = {"observedGeneration": dep["metadata"].get("generation", 1), "replicas": total,
                              "updatedReplicas": updated, "readyReplicas": ready, "availableReplicas": available}
    if replicas - available > 0:
        status["unavailableReplicas"] = replicas - available
    status = {k: v for k, v in status.items() if v or k == "observedGeneration"}
    conds = old.get("conditions") or []
    if available >= replicas:
        conds = set_condition(conds, "Available", "True", "MinimumReplicasAvailable",
                              "Deployment has minimum availability.", True)
    else:
        conds = set_condition(conds, "Available", "False", "MinimumReplicasUnavailable",
                              "Deployment does not have minimum availability.", True)
    done = updated == replicas and available >= replicas and total == replicas
    prog = next((x for x in conds if x["type"] == "Progressing"), None)
    deadline = int((dep.get("spec") or {}).get("progressDeadlineSeconds", 600))
    if done:
        conds = set_condition(conds, "Progressing", "True", "NewReplicaSetAvailable",
                              f'ReplicaSet "{new_name}" has successfully progressed.', True)
    elif prog and prog.get("reason") == "ProgressDeadlineExceeded":
        pass
    elif prog and ts_age(prog.get("lastUpdateTime")) > deadline and prog.get("reason") != "NewReplicaSetAvailable":
        conds = set_condition(conds, "Progressing", "False", "ProgressDeadlineExceeded",
                              f'ReplicaSet "{new_name}" has timed out progressing.', True)
    else:
        conds = set_condition(conds, "Progressing", "True", "ReplicaSetUpdated",
                              f'ReplicaSet "{new_name}" is progressing.', True)
    # keep upstream's order: Available first, then Progressing
    status["conditions"] = sorted(conds, key=lambda x: {"Available": 0, "Progressing": 1}.get(x["type"], 2))
    c.update_status(rd, dep, status)
