"""GPU Operator device-plugin sharing config: time-slicing/MPS replicas applied to the GPU nodes.

Real semantics emulated (GPU Operator "GPU sharing" docs, k8s-device-plugin ``sharing`` config):
- ClusterPolicy ``spec.devicePlugin.config.{name,default}`` names a ConfigMap in the operator namespace; each key
  holds a device-plugin config. A node uses the key of its label ``nvidia.com/device-plugin.config``, else
  ``default``.
- ``sharing.timeSlicing.resources[]`` (or ``sharing.mps.resources[]``) with ``name: nvidia.com/gpu`` and
  ``replicas: N`` makes the plugin advertise count x N units. With ``rename`` (or ``renameByDefault``) they are
  advertised as ``nvidia.com/gpu.shared`` instead; otherwise GFD appends ``-SHARED`` to
  ``nvidia.com/gpu.product``. GFD labels ``nvidia.com/gpu.replicas=N`` and
  ``nvidia.com/gpu.sharing-strategy=time-slicing|mps`` (``1``/``none`` without sharing);
  ``nvidia.com/gpu.count`` stays the physical count.
- Without a ClusterPolicy carrying ``devicePlugin.config`` nothing is touched (the scenario's labels stand).
What a container holding a replica sees is the device manager's part (controllers/devicemanager.py).
"""
from __future__ import annotations

import copy
from typing import Any

import yaml

from aiconform.sim.api import Cluster

GPU = "nvidia.com/gpu"
SHARED = "nvidia.com/gpu.shared"
CONFIG_LABEL = "nvidia.com/device-plugin.config"


def _policy_config(c: Cluster) -> tuple[dict[str, str], str] | None:
    """(ConfigMap data, default key) of the first ClusterPolicy with a device-plugin config."""
    if c.registry.get("nvidia.com", "clusterpolicies") is None:
        return None
    for pol in c.objects("nvidia.com", "clusterpolicies"):
        spec = pol.get("spec") or {}
        cfg = (spec.get("devicePlugin") or {}).get("config") or {}
        if not cfg.get("name"):
            continue
        ns = (spec.get("operator") or {}).get("namespace") or "gpu-operator"
        cm = c.find("", "configmaps", ns, cfg["name"])
        return ((cm or {}).get("data") or {}), str(cfg.get("default") or "")
    return None


def _sharing(text: str | None) -> tuple[int, str, bool]:
    """(replicas, strategy, renamed) for nvidia.com/gpu in one device-plugin config document."""
    try:
        doc = yaml.safe_load(text or "") or {}
    except yaml.YAMLError:
        return 1, "none", False
    sharing = (doc.get("sharing") or {}) if isinstance(doc, dict) else {}
    for key, strategy in (("timeSlicing", "time-slicing"), ("mps", "mps")):
        sect = sharing.get(key) or {}
        for r in sect.get("resources") or []:
            if r.get("name") == GPU and int(r.get("replicas") or 1) > 1:
                return int(r["replicas"]), strategy, bool(r.get("rename") or sect.get("renameByDefault"))
    return 1, "none", False


def sync(c: Cluster, mgr: Any) -> None:
    found = _policy_config(c)
    if found is None:
        return
    data, default = found
    rd = c.rd("", "nodes")
    for node in c.objects("", "nodes"):
        labels = node["metadata"].get("labels") or {}
        if labels.get("nvidia.com/gpu.present") != "true":
            continue
        replicas, strategy, renamed = _sharing(data.get(labels.get(CONFIG_LABEL) or default))
        try:
            physical = int(labels.get("nvidia.com/gpu.count", "0"))
        except ValueError:
            continue
        new = copy.deepcopy(node)
        nl = new["metadata"]["labels"]
        base = nl.get("nvidia.com/gpu.product", "").removesuffix("-SHARED")
        nl["nvidia.com/gpu.replicas"] = str(replicas)
        nl["nvidia.com/gpu.sharing-strategy"] = strategy
        nl["nvidia.com/gpu.product"] = base + ("-SHARED" if replicas > 1 and not renamed else "")
        st = new.setdefault("status", {})
        for field in ("capacity", "allocatable"):
            res = st.setdefault(field, {})
            res.pop(SHARED, None)
            res.pop(GPU, None)
            res[SHARED if replicas > 1 and renamed else GPU] = str(physical * replicas)
        if new != node:
            c.write(rd, new)
