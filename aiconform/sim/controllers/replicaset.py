"""ReplicaSet controller: keeps spec.replicas owned pods and reports their counts."""
from __future__ import annotations

from typing import Any

from aiconform.sim.api import Cluster
from aiconform.sim.controllers.common import create_pod, delete_pod, owned_by, pod_active, pod_from_template, pod_ready


def sync(c: Cluster, mgr: Any) -> None:
    rd = c.rd("apps", "replicasets")
    for rs in c.objects("apps", "replicasets"):
        if rs["metadata"].get("deletionTimestamp"):
            continue
        ns = rs["metadata"]["namespace"]
        spec = rs.get("spec") or {}
        want = int(spec.get("replicas", 1))
        pods = [p for p in c.objects("", "pods", ns) if owned_by(p, rs) and pod_active(p)]
        for _ in range(want - len(pods)):
            create_pod(c, ns, pod_from_template(rs, spec.get("template") or {}), rs)
        if len(pods) > want:
            # upstream prefers deleting unscheduled, then not-ready, then newest pods
            victims = sorted(pods, key=lambda p: (bool((p.get("spec") or {}).get("nodeName")), pod_ready(p),
                                                  p["metadata"]["creationTimestamp"]))
            for p in victims[: len(pods) - want]:
                delete_pod(c, p, rs)
        pods = [p for p in c.objects("", "pods", ns) if owned_by(p, rs) and pod_active(p)]
        ready = sum(1 for p in pods if pod_ready(p))
        status: dict[str, Any] = {"replicas": len(pods), "fullyLabeledReplicas": len(pods), "readyReplicas": ready,
                                  "availableReplicas": ready, "observedGeneration": rs["metadata"].get("generation", 1)}
        status = {k: v for k, v in status.items() if v or k in ("replicas", "observedGeneration")}
        c.update_status(rd, rs, status)
