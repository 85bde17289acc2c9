"""StatefulSet controller: ordinal pods ``<name>-<i>``, revision hashes, replica counts."""
from __future__ import annotations

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

REV = "controller-revision-hash"


def sync(c: Cluster, mgr: Any) -> None:
    rd = c.rd("apps", "statefulsets")
    for sts in c.objects("apps", "statefulsets"):
        if sts["metadata"].get("deletionTimestamp"):
            continue
        ns, name = sts["metadata"]["namespace"], sts["metadata"]["name"]
        spec = sts.get("spec") or {}
        want = int(spec.get("replicas", 1))
        revision = f"{name}-{template_hash(spec.get('template'))}"
        pods = {p["metadata"]["name"]: p for p in c.objects("", "pods", ns) if owned_by(p, sts)}
        for pname, p in list(pods.items()):
            idx = pname.rsplit("-", 1)[-1]
            outdated = (p["metadata"].get("labels") or {}).get(REV) != revision
            if (idx.isdigit() and int(idx) >= want) or outdated or (p.get("status") or {}).get("phase") == "Failed":
                delete_pod(c, p, sts)
                pods.pop(pname)
        for i in range(want):
            pname = f"{name}-{i}"
            if pname in pods:
                continue
            pod = pod_from_template(sts, spec.get("template") or {}, pname,
                                    {REV: revision, "statefulset.kubernetes.io/pod-name": pname,
                                     "apps.kubernetes.io/pod-index": str(i)})
            pod["spec"]["hostname"] = pname
            if spec.get("serviceName"):
                pod["spec"]["subdomain"] = spec["serviceName"]
            create_pod(c, ns, pod, sts)
        pods_l = [p for p in c.objects("", "pods", ns) if owned_by(p, sts) and pod_active(p)]
        ready = sum(1 for p in pods_l if pod_ready(p))
        status = {"observedGeneration": sts["metadata"].get("generation", 1), "replicas": len(pods_l),
                  "readyReplicas": ready, "currentReplicas": len(pods_l), "updatedReplicas": len(pods_l),
                  "availableReplicas": ready, "currentRevision": revision, "updateRevision": revision,
                  "collisionCount": 0}
        c.update_status(rd, sts, status)
