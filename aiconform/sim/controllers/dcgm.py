"""NVIDIA DCGM exporter (GPU Operator ``nvidia-dcgm-exporter``): ``GET /metrics`` of an exporter pod.

The answer is built from what real dumps show (kOps v1.35, NVIDIA L4, GPU Operator dcgm-exporter; Linode,
a pod holding the GPU): the default counter set with its HELP/TYPE lines, one series per GPU of the
pod's node labelled ``gpu``, ``UUID``, ``pci_bus_id``, ``device``, ``modelName``, ``Hostname``,
``DCGM_FI_DRIVER_VERSION``, plus ``container``/``namespace``/``pod``/``pod_uid`` while a pod holds the
GPU. Model and driver come from the node's GFD labels, UUIDs are derived from the node name.

Which pod holds a GPU is labelled only where the real exporter (4.x, ``internal/pkg/transformation``) could
know it, from the exporter pod's own configuration: nothing without ``DCGM_EXPORTER_KUBERNETES=true``; a GPU
handed out by the device plugin (kubelet pod-resources) gets ``container``/``namespace``/``pod``/``pod_uid``;
a GPU allocated through DRA only with ``KUBERNETES_ENABLE_DRA=true``, a mounted service-account token
(``automountServiceAccountToken`` not false on the pod or its ServiceAccount) and RBAC that lets that
ServiceAccount list and watch ``resourceslices.resource.k8s.io`` (its ResourceSlice informer), and then with
``container``/``namespace``/``pod`` and the ``dra_claim_name``, ``dra_claim_namespace``, ``dra_driver_name``,
``dra_pool_name``, ``dra_device_name`` labels. The GPU Operator v26.7.0 ClusterPolicy sets none of the DRA
prerequisites by default (install role: roles/gpu_operator, DRA mode).

Emulation, not measurement: a GPU's utilization (and memory use, power) is derived from whether a
running pod holds it (the simulated device manager's assignment: ``nvidia.com/gpu`` limits or a DRA
allocation), since nothing computes in the simulator.

Simulator-only faults: annotation ``sim.aiconform.io/dcgm-exporter`` on a ConfigMap
``dcgm-exporter-sim-faults`` in the exporter's namespace: ``no-gpu-labels`` (series without any
per-GPU label, as an exporter behind a relabelling that drops them), ``aggregate`` (one series per node
labelled ``gpu="all"``, the values of the first GPU, as a summing relabel/recording setup gives) or
``malformed`` (a truncated line).
"""
from __future__ import annotations

from typing import Any

from aiconform import gpumetrics
from aiconform.sim.api import ANNOTATION_PREFIX, Cluster
from aiconform.sim.controllers import devicemanager, proxy
from aiconform.sim.rbac import Attributes, rule_allows

Obj = dict[str, Any]
FAULT = ANNOTATION_PREFIX + "dcgm-exporter"
FAULT_CONFIGMAP = "dcgm-exporter-sim-faults"

METRICS = gpumetrics.METRICS  # one definition for both engines (aiconform/gpumetrics.py)


def holders(c: Cluster, node_name: str) -> dict[int, tuple[Obj, str, dict[str, Any]]]:
    """GPU minor → (running pod, container, device) holding it on this node, from the simulated device manager."""
    out: dict[int, tuple[Obj, str, dict[str, Any]]] = {}
    for p in c.objects("", "pods"):
        if (p.get("spec") or {}).get("nodeName") != node_name:
            continue
        for ctr in (p.get("spec") or {}).get("containers") or []:
            for dev in devicemanager.VISIBLE.get((p["metadata"]["uid"], ctr["name"]), []):
                if not dev.get("vendor"):  # AMD/Intel devices are not DCGM's
                    out.setdefault(int(dev["minor"]), (p, ctr["name"], dev))
    return out


_TRUE = {"1", "t", "T", "TRUE", "true", "True"}  # Go strconv.ParseBool, as urfave/cli reads the env


def _env(exporter: Obj) -> dict[str, str]:
    ctrs = (exporter.get("spec") or {}).get("containers") or []
    ctr = next((x for x in ctrs if "dcgm-exporter" in str(x.get("image", ""))), ctrs[0] if ctrs else {})
    return {e["name"]: str(e.get("value") or "") for e in ctr.get("env") or [] if e.get("name")}


def _subject_matches(subject: dict[str, Any], ns: str, sa: str) -> bool:
    kind, name = subject.get("kind"), subject.get("name")
    if kind == "ServiceAccount":
        return name == sa and (subject.get("namespace") or "") == ns
    if kind == "Group":
        return name in ("system:serviceaccounts", f"system:serviceaccounts:{ns}", "system:authenticated")
    return kind == "User" and name == f"system:serviceaccount:{ns}:{sa}"


def _sa_can(c: Cluster, ns: str, sa: str, verb: str, group: str, resource: str) -> bool:
    """Cluster-wide RBAC (ClusterRoleBindings to ClusterRoles) for a ServiceAccount, as the real authorizer."""
    attrs = Attributes(verb=verb, path="", resource_request=True, api_group=group, resource=resource)
    for crb in c.objects("rbac.authorization.k8s.io", "clusterrolebindings"):
        if not any(_subject_matches(s, ns, sa) for s in crb.get("subjects") or []):
            continue
        ref = crb.get("roleRef") or {}
        role = c.find("rbac.authorization.k8s.io", "clusterroles", "", ref.get("name") or "") \
            if ref.get("kind") == "ClusterRole" else None
        if role and any(rule_allows(r, attrs) for r in role.get("rules") or []):
            return True
    return False


def pod_mapping(c: Cluster, exporter: Obj | None) -> set[str]:
    """Which holders this exporter can map to pods: {"device-plugin", "dra"} or a subset."""
    if exporter is None:
        return set()
    env = _env(exporter)
    if env.get("DCGM_EXPORTER_KUBERNETES") not in _TRUE:
        return set()
    out = {"device-plugin"}
    if env.get("KUBERNETES_ENABLE_DRA") in _TRUE:
        spec = exporter.get("spec") or {}
        ns = exporter["metadata"].get("namespace", "")
        sa_name = spec.get("serviceAccountName") or "default"
        sa = c.find("", "serviceaccounts", ns, sa_name) or {}
        mount = spec.get("automountServiceAccountToken")
        if mount is None:
            mount = sa.get("automountServiceAccountToken", True)
        if mount is not False and all(_sa_can(c, ns, sa_name, v, "resource.k8s.io", "resourceslices")
                                      for v in ("list", "watch")):
            out.add("dra")
    return out


def exposition(c: Cluster, node: Obj, fault: str = "", mapping: set[str] | None = None) -> str:
    """The exporter's answer; ``mapping``: what it maps to pods (pod_mapping), default both (a configured one).
    A GPU is busy while a running pod holds it (nothing computes in the simulator)."""
    name = node["metadata"]["name"]
    gpus = devicemanager._node_gpus(c, name)  # the same GPUs (minor, UUID) the device manager hands out
    held = {i: {"pod": p["metadata"]["name"], "namespace": p["metadata"].get("namespace", ""), "container": ctr,
                "via": dev.get("via", "device-plugin"), "claim": dev.get("claim", ""),
                "claim_namespace": dev.get("claim_namespace", ""), "dra_driver": dev.get("dra_driver", ""),
                "pool": dev.get("pool", ""), "device": dev.get("device", "")}
            for i, (p, ctr, dev) in holders(c, name).items()}
    return gpumetrics.render(name, node["metadata"].get("labels") or {}, gpus, held, set(held), fault, mapping)


def _fault(c: Cluster, ns: str) -> str:
    cm = c.find("", "configmaps", ns, FAULT_CONFIGMAP)
    return ((cm or {}).get("metadata", {}).get("annotations") or {}).get(FAULT, "") if cm else ""


def _render(c: Cluster, req: proxy.ProxyRequest) -> str | None:
    node = c.find("", "nodes", "", (req.pod.get("spec") or {}).get("nodeName") or "")
    if node is None:
        return None
    return exposition(c, node, _fault(c, req.namespace), pod_mapping(c, req.pod))


backend = proxy.register_exporter("dcgm-exporter", _render)
