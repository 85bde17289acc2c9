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

import uuid
from typing import Any

from aiconform.sim.api import ANNOTATION_PREFIX, Cluster
from aiconform.sim.controllers import devicemanager, proxy
from aiconform.sim.rbac import Attributes, rule_allows

Obj = dict[str, Any]
FAULT = ANNOTATION_PREFIX + "dcgm-exporter"
FAULT_CONFIGMAP = "dcgm-exporter-sim-faults"

# (name, type, HELP, idle value, value while a pod holds the GPU) — names, types and HELP texts as the
# exporter prints them; idle values as the idle L4 showed (FB_FREE/RESERVED scaled by the node's memory).
METRICS: list[tuple[str, str, str, float, float]] = [
    ("DCGM_FI_DEV_SM_CLOCK", "gauge", "SM clock frequency (in MHz).", 210, 2040),
    ("DCGM_FI_DEV_MEM_CLOCK", "gauge", "Memory clock frequency (in MHz).", 405, 6250),
    ("DCGM_FI_DEV_MEMORY_TEMP", "gauge", "Memory temperature (in C).", 0, 0),
    ("DCGM_FI_DEV_GPU_TEMP", "gauge", "GPU temperature (in C).", 31, 58),
    ("DCGM_FI_DEV_POWER_USAGE", "gauge", "Power draw (in W).", 16.365, 70.5),
    ("DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION", "counter", "Total energy consumption since boot (in mJ).", 4742776, 4842776),
    ("DCGM_FI_DEV_PCIE_REPLAY_COUNTER", "counter", "Total number of PCIe retries.", 0, 0),
    ("DCGM_FI_DEV_GPU_UTIL", "gauge", "GPU utilization (in %).", 0, 100),
    ("DCGM_FI_DEV_MEM_COPY_UTIL", "gauge", "Memory utilization (in %).", 0, 35),
    ("DCGM_FI_DEV_ENC_UTIL", "gauge", "Encoder utilization (in %).", 0, 0),
    ("DCGM_FI_DEV_DEC_UTIL", "gauge", "Decoder utilization (in %).", 0, 0),
    ("DCGM_FI_DEV_FB_FREE", "gauge", "Framebuffer memory free (in MiB).", -1, -1),
    ("DCGM_FI_DEV_FB_USED", "gauge", "Framebuffer memory used (in MiB).", 0, 1024),
    ("DCGM_FI_DEV_FB_RESERVED", "gauge", "Framebuffer memory reserved (in MiB).", 470, 470),
    ("DCGM_FI_PROF_GR_ENGINE_ACTIVE", "gauge", "Ratio of time the graphics engine is active.", 0, 0.98),
    ("DCGM_FI_PROF_PIPE_TENSOR_ACTIVE", "gauge", "Ratio of cycles the tensor (HMMA) pipe is active.", 0, 0.9),
    ("DCGM_FI_PROF_DRAM_ACTIVE", "gauge", "Ratio of cycles the device memory interface is active sending or receiving data.", 0, 0.3),
    ("DCGM_FI_PROF_PCIE_TX_BYTES", "gauge", "The rate of data transmitted over the PCIe bus - including both protocol headers and data payloads - in bytes per second.", 0, 1048576),
    ("DCGM_FI_PROF_PCIE_RX_BYTES", "gauge", "The rate of data received over the PCIe bus - including both protocol headers and data payloads - in bytes per second.", 0, 1048576),
]


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
    """The exporter's answer; ``mapping``: what it maps to pods (pod_mapping), default both (a configured one)."""
    mapping = {"device-plugin", "dra"} if mapping is None else mapping
    labels_ = node["metadata"].get("labels") or {}
    name = node["metadata"]["name"]
    model = "NVIDIA " + labels_.get("nvidia.com/gpu.product", "GPU").replace("-", " ")
    driver = labels_.get("nvidia.com/cuda.driver-version.full", "580.105.08")
    mem_mib = int(labels_.get("nvidia.com/gpu.memory", "23034") or 23034)
    gpus = devicemanager._node_gpus(c, name)  # the same GPUs (minor, UUID) the device manager hands out
    held = holders(c, name)
    lines: list[str] = []
    for metric, mtype, help_, idle, busy in METRICS:
        lines += [f"# HELP {metric} {help_}", f"# TYPE {metric} {mtype}"]
        for gpu in gpus[:1] if fault == "aggregate" else gpus:
            i = int(gpu["minor"])
            pod, ctr, dev = held.get(i, (None, "", {}))
            value = busy if pod else idle
            if metric == "DCGM_FI_DEV_FB_FREE":
                value = mem_mib - 470 - (1024 if pod else 0)
            if fault == "no-gpu-labels":
                lab = {"modelName": model, "Hostname": name, "DCGM_FI_DRIVER_VERSION": driver}
            elif fault == "aggregate":
                lab = {"gpu": "all", "modelName": model, "Hostname": name, "DCGM_FI_DRIVER_VERSION": driver}
            else:
                lab = {"gpu": str(i), "UUID": gpu.get("uuid") or f"GPU-{uuid.uuid5(uuid.NAMESPACE_DNS, f'{name}/{i}')}",
                       "pci_bus_id": f"00000000:{0x31 + i:02X}:00.0", "device": f"nvidia{i}", "modelName": model,
                       "Hostname": name, "DCGM_FI_DRIVER_VERSION": driver}
            via = dev.get("via", "device-plugin")
            if pod and via in mapping and via == "dra":
                lab.update(pod=pod["metadata"]["name"], namespace=pod["metadata"].get("namespace", ""), container=ctr,
                           dra_claim_name=dev.get("claim", ""), dra_claim_namespace=dev.get("claim_namespace", ""),
                           dra_driver_name=dev.get("dra_driver", ""), dra_pool_name=dev.get("pool", ""),
                           dra_device_name=dev.get("device", ""))
            elif pod and via in mapping:
                lab.update(container=ctr, namespace=pod["metadata"].get("namespace", ""),
                           pod=pod["metadata"]["name"], pod_uid="")
            body = ",".join(f'{k}="{v}"' for k, v in lab.items())
            lines.append(f"{metric}{{{body}}} {value:g}" if isinstance(value, float) else f"{metric}{{{body}}} {value}")
    if fault == "malformed" and lines:
        lines.insert(len(lines) // 2, 'DCGM_FI_DEV_GPU_UTIL{gpu="0",UUID="GPU-')
    return "\n".join(lines) + "\n"


def _fault(c: Cluster, ns: str) -> str:
    cm = c.find("", "configmaps", ns, FAULT_CONFIGMAP)
    return ((cm or {}).get("metadata", {}).get("annotations") or {}).get(FAULT, "") if cm else ""


def _render(c: Cluster, req: proxy.ProxyRequest) -> str | None:
    node = c.find("", "nodes", "", (req.pod.get("spec") or {}).get("nodeName") or "")
    if node is None:
        return None
    return exposition(c, node, _fault(c, req.namespace), pod_mapping(c, req.pod))


backend = proxy.register_exporter("dcgm-exporter", _render)
