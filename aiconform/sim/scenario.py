"""Scenarios: the simulated cluster's initial state and behaviour, as YAML data under ``scenarios/``.

Keys (all optional)::

    description: text
    includes: [other-scenario, ...]      # merged first, in order (lists concatenate, maps merge)
    kubernetes_version: v1.33.9
    controllers: {scheduler: true, kubelet: false, ...}
    aggregated_apis: [metrics.k8s.io, custom.metrics.k8s.io, external.metrics.k8s.io]
    node_pools: [{name, count, role, labels, taints, capacity, allocatable, instance_type}]
    resource_slices: [{node_labels, driver, devices_per_node | devices_from_label, attributes, capacity}]
    objects: [<any Kubernetes object>]    # created in order (status kept as written); an object with the
                                          # kind/namespace/name of an included one replaces it in place
    remove_objects: [{kind, name, namespace}]  # drop included objects (regular expressions; unset: any)
    logs: [<log rule, see aiconform.sim.logs>]
    custom_metrics / external_metrics: [{metric, namespace, name, resource, value, labels}]
    faults: [<fault rule, see aiconform.sim.faults>]
"""
from __future__ import annotations

import copy
import hashlib
import re
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from aiconform.sim.api import ApiError, Cluster, owner_ref

SCENARIO_DIR = Path(__file__).resolve().parent / "scenarios"
SYSTEM_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")


@dataclass
class Scenario:
    name: str
    description: str = ""
    kubernetes_version: str = "v1.33.9"
    controllers: dict[str, bool] = field(default_factory=dict)
    aggregated_apis: list[str] = field(default_factory=list)
    node_pools: list[dict[str, Any]] = field(default_factory=list)
    resource_slices: list[dict[str, Any]] = field(default_factory=list)
    objects: list[dict[str, Any]] = field(default_factory=list)
    logs: list[dict[str, Any]] = field(default_factory=list)
    custom_metrics: list[dict[str, Any]] = field(default_factory=list)
    external_metrics: list[dict[str, Any]] = field(default_factory=list)
    faults: list[dict[str, Any]] = field(default_factory=list)
    remove_objects: list[dict[str, Any]] = field(default_factory=list)


def available() -> list[str]:
    return sorted(p.stem for p in SCENARIO_DIR.glob("*.yaml"))


def _raw(name: str, seen: tuple[str, ...] = ()) -> dict[str, Any]:
    path = Path(name) if name.endswith((".yaml", ".yml")) else SCENARIO_DIR / f"{name}.yaml"
    if not path.exists():
        raise ValueError(f"unknown scenario {name!r}; available: {', '.join(available())}")
    if name in seen:
        raise ValueError(f"scenario include cycle: {' -> '.join((*seen, name))}")
    data = yaml.safe_load(path.read_text()) or {}
    merged: dict[str, Any] = {}
    for inc in data.get("includes") or []:
        merged = _merge(merged, _raw(inc, (*seen, name)))
    return _merge(merged, {k: v for k, v in data.items() if k != "includes"})


def _merge(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(a)
    for k, v in b.items():
        if isinstance(v, list) and isinstance(out.get(k), list):
            out[k] = out[k] + copy.deepcopy(v)
        elif isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = {**out[k], **copy.deepcopy(v)}
        else:
            out[k] = copy.deepcopy(v)
    return out


def _dedupe_objects(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A scenario overrides an included object by declaring one with the same kind, namespace and name."""
    index: dict[tuple[str, str, str], int] = {}
    out: list[dict[str, Any]] = []
    for obj in objects:
        meta = obj.get("metadata") or {}
        key = (str(obj.get("kind")), str(meta.get("namespace") or ""), str(meta.get("name") or ""))
        if meta.get("name") and key in index:
            out[index[key]] = obj
        else:
            index[key] = len(out)
            out.append(obj)
    return out


def _removed(obj: dict[str, Any], rules: list[dict[str, Any]]) -> bool:
    meta = obj.get("metadata") or {}
    return any(re.fullmatch(str(r.get("kind", ".*")), str(obj.get("kind")))
               and re.fullmatch(str(r.get("name", ".*")), str(meta.get("name") or ""))
               and re.fullmatch(str(r.get("namespace", ".*")), str(meta.get("namespace") or ""))
               for r in rules)


def load_scenario(name: str) -> Scenario:
    data = _raw(name)
    if isinstance(data.get("objects"), list):
        data["objects"] = _dedupe_objects(data["objects"])
        if data.get("remove_objects"):
            data["objects"] = [o for o in data["objects"] if not _removed(o, data["remove_objects"])]
    known = set(Scenario.__dataclass_fields__) - {"name"}
    unknown = set(data) - known
    if unknown:
        raise ValueError(f"scenario {name!r}: unknown keys {sorted(unknown)}")
    return Scenario(name=Path(name).stem, **data)


def _stable_uid(*parts: str) -> str:
    return str(uuid.UUID(hashlib.sha256("/".join(parts).encode()).hexdigest()[:32]))


def node_objects(pool: dict[str, Any], kubelet_version: str) -> list[dict[str, Any]]:
    nodes = []
    cap = {"cpu": "8", "memory": "32Gi", "pods": "110", "ephemeral-storage": "100Gi", **(pool.get("capacity") or {})}
    cap = {k: str(v) for k, v in cap.items()}
    alloc = {**cap, **{k: str(v) for k, v in (pool.get("allocatable") or {}).items()}}
    for i in range(1, int(pool.get("count", 1)) + 1):
        name = f"{pool['name']}-{i}" if int(pool.get("count", 1)) > 1 or pool.get("numbered", True) else pool["name"]
        labels = {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64",
                  "beta.kubernetes.io/os": "linux", "beta.kubernetes.io/arch": "amd64"}
        if pool.get("instance_type"):
            labels["node.kubernetes.io/instance-type"] = pool["instance_type"]
        if pool.get("role") == "control-plane":
            labels["node-role.kubernetes.io/control-plane"] = ""
        labels.update({k: str(v) for k, v in (pool.get("labels") or {}).items()})
        ip = f"10.0.{len(nodes) + int(pool.get('subnet', 0))}.{10 + i}"
        now_ts = "2025-01-01T00:00:00Z"
        conds = [(t, "False", r, m) for t, r, m in (
            ("MemoryPressure", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
            ("DiskPressure", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
            ("PIDPressure", "KubeletHasSufficientPID", "kubelet has sufficient PID available"))]
        conds.append(("Ready", "True", "KubeletReady", "kubelet is posting ready status"))
        nodes.append({
            "apiVersion": "v1", "kind": "Node",
            "metadata": {"name": name, "labels": labels, "uid": _stable_uid("node", name),
                         "annotations": {"node.alpha.kubernetes.io/ttl": "0"}},
            "spec": {"podCIDR": f"10.244.{len(nodes)}.0/24", "providerID": f"sim://{name}",
                     **({"taints": copy.deepcopy(pool["taints"])} if pool.get("taints") else {})},
            "status": {
                "capacity": cap, "allocatable": alloc,
                "conditions": [{"type": t, "status": s, "reason": r, "message": m, "lastHeartbeatTime": now_ts,
                                "lastTransitionTime": now_ts} for t, s, r, m in conds],
                "addresses": [{"type": "InternalIP", "address": ip}, {"type": "Hostname", "address": name}],
                "nodeInfo": {"kubeletVersion": kubelet_version, "kubeProxyVersion": kubelet_version,
                             "containerRuntimeVersion": "containerd://1.7.27", "osImage": "Ubuntu 22.04.5 LTS",
                             "kernelVersion": "5.15.0-139-generic", "operatingSystem": "linux",
                             "architecture": "amd64", "machineID": _stable_uid("m", name).replace("-", ""),
                             "systemUUID": _stable_uid("s", name), "bootID": _stable_uid("b", name)},
            },
        })
    return nodes


def slice_objects(spec: dict[str, Any], nodes: list[dict[str, Any]], api_version: str) -> list[dict[str, Any]]:
    """One ResourceSlice per matching node, as a DRA kubelet plugin publishes it."""
    out = []
    driver = spec["driver"]
    flat = not api_version.endswith("v1beta1")  # v1beta1 nests attributes/capacity under "basic"
    for node in nodes:
        labels = node["metadata"].get("labels") or {}
        if any(labels.get(k) != str(v) for k, v in (spec.get("node_labels") or {}).items()):
            continue
        n = int(labels.get(spec["devices_from_label"], 0)) if spec.get("devices_from_label") else \
            int(spec.get("devices_per_node", 1))
        name = node["metadata"]["name"]
        devices = []
        for i in range(n):
            attrs = copy.deepcopy(spec.get("attributes") or {})
            if driver not in ("gpu.amd.com", "gpu.intel.com"):  # their DRA drivers publish no uuid attribute
                attrs["uuid"] = {"string": "GPU-" + _stable_uid("gpu", name, str(i))}
            attrs.setdefault("index", {"int": i})
            body = {"attributes": attrs, "capacity": copy.deepcopy(spec.get("capacity") or {})}
            devices.append({"name": f"{spec.get('device_prefix', 'gpu')}-{i}", **(body if flat else {"basic": body})})
        out.append({"apiVersion": api_version, "kind": "ResourceSlice",
                    "metadata": {"name": f"{name}-{driver}-{_stable_uid('s', name, driver)[:5]}",
                                 "ownerReferences": [{**owner_ref(node), "blockOwnerDeletion": None}]},
                    "spec": {"driver": driver, "nodeName": name, "devices": devices,
                             "pool": {"name": name, "generation": 1, "resourceSliceCount": 1}}})
        out[-1]["metadata"]["ownerReferences"][0].pop("blockOwnerDeletion")
    return out


def seed_cluster(c: Cluster, sc: Scenario, kubernetes_version: str) -> None:
    reg = c.registry
    ns_rd = c.rd("", "namespaces")
    for ns in SYSTEM_NAMESPACES:
        c.create(ns_rd, "", {"metadata": {"name": ns}}, seed=True)
    nodes: list[dict[str, Any]] = []
    for pool in sc.node_pools:
        for n in node_objects(pool, kubernetes_version):
            nodes.append(c.create(c.rd("", "nodes"), "", n, seed=True))
    dra_rd = reg.get("resource.k8s.io", "resourceslices")
    c.slice_specs = list(sc.resource_slices)  # the DRA drivers' kubelet plugins also publish for nodes that join later
    for spec in sc.resource_slices:
        if dra_rd is None:
            break
        for s in slice_objects(spec, nodes, dra_rd.api_version()):
            c.create(dra_rd, "", s, seed=True)
    for obj in sc.objects:
        rd = reg.by_kind(obj.get("apiVersion", ""), obj.get("kind", ""))
        if rd is None:
            group = obj.get("apiVersion", "").rpartition("/")[0]
            rd = next((r for r in reg.all() if r.group == group and r.kind == obj.get("kind")), None)
        if rd is None:
            raise ValueError(f"scenario {sc.name!r}: no served resource for {obj.get('apiVersion')}/{obj.get('kind')}")
        ns = (obj.get("metadata") or {}).get("namespace") or ("default" if rd.namespaced else "")
        if rd.namespaced and c.find("", "namespaces", "", ns) is None:
            c.create(ns_rd, "", {"metadata": {"name": ns}}, seed=True)
        try:
            c.create(rd, ns, obj, seed=True)
        except ApiError as e:
            raise ValueError(f"scenario {sc.name!r}: {e.message}") from e
