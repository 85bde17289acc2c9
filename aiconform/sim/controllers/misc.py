"""Small controllers: PVC binding, LoadBalancer addresses, APIService availability."""
from __future__ import annotations

import copy
from typing import Any

from aiconform.sim.api import Cluster
from aiconform.sim.controllers.common import auto_ready, set_condition


def pvc(c: Cluster, mgr: Any) -> None:
    rd = c.rd("", "persistentvolumeclaims")
    for claim in c.objects("", "persistentvolumeclaims"):
        if (claim.get("status") or {}).get("phase") == "Bound" or not auto_ready(claim):
            continue
        new = copy.deepcopy(claim)
        new.setdefault("spec", {}).setdefault("volumeName", f"pvc-{claim['metadata']['uid']}")
        new["metadata"].setdefault("annotations", {})["pv.kubernetes.io/bind-completed"] = "yes"
        storage = (((claim.get("spec") or {}).get("resources") or {}).get("requests") or {}).get("storage", "1Gi")
        new["status"] = {"phase": "Bound", "accessModes": claim["spec"].get("accessModes", ["ReadWriteOnce"]),
                         "capacity": {"storage": storage}}
        c.write(rd, new)


def loadbalancer(c: Cluster, mgr: Any) -> None:
    rd = c.rd("", "services")
    for n, svc in enumerate(sorted(c.objects("", "services"), key=lambda s: s["metadata"]["creationTimestamp"])):
        if (svc.get("spec") or {}).get("type") != "LoadBalancer" or not auto_ready(svc):
            continue
        if ((svc.get("status") or {}).get("loadBalancer") or {}).get("ingress"):
            continue
        c.update_status(rd, svc, {"loadBalancer": {"ingress": [{"ip": f"172.18.255.{200 + n % 50}", "ipMode": "VIP"}]}})


def apiservice(c: Cluster, mgr: Any) -> None:
    rd = c.rd("apiregistration.k8s.io", "apiservices")
    for svc in c.objects("apiregistration.k8s.io", "apiservices"):
        if not auto_ready(svc):
            continue
        local = not (svc.get("spec") or {}).get("service")
        conds = set_condition((svc.get("status") or {}).get("conditions") or [], "Available", "True",
                              "Local" if local else "Passed", "Local APIServices are always available" if local
                              else "all checks passed")
        c.update_status(rd, svc, {"conditions": conds})
