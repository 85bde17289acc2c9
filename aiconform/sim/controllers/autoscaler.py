"""Cluster Autoscaler with the kwok cloud provider (CA 1.36 semantics, as stacks.md §14 describes them).

As the real provider (``cloudprovider/kwok``, ``BuildKwokProvider`` at cluster-autoscaler-1.35.2), it reads its
configuration ONCE, when the autoscaler starts: "starts" is a Running pod of the ``cluster-autoscaler``
Deployment that the simulator has not seen before (a rollout, a restart, a scale from 0); with no Running pod
nothing autoscales. At start it reads the ConfigMap named by the container's ``KWOK_PROVIDER_CONFIGMAP`` env
(default ``kwok-provider-config``, key ``config``) in the pod's namespace, validated as ``LoadConfigFile`` does,
and, for ``readNodesFrom: configmap``, the node templates in the ConfigMap ``configmap.name`` (key
``templates``: a v1 List of Node objects; ``readNodesFrom: cluster`` takes the cluster's nodes). A template
belongs to the group named by its ``nodegroups.fromNodeLabelKey`` label (or ``fromNodeAnnotationKey``
annotation); sizes come from its ``cluster-autoscaler.kwok.nodegroup/{min-count,max-count}`` annotations; every
template gets the taint ``kwok-provider=true:NoSchedule`` unless ``nodes.skipTaint`` is true. Changing either
ConfigMap later changes nothing until the next start. A configuration the real provider rejects (klog.Fatal:
the container crash-loops) gives a Warning ``KwokProviderConfigError`` event on the pod with upstream's message
and no autoscaling; it is read again each scan interval, as a restarting container would. What clients observe:

- min size enforced; created nodes named ``kwok-fake-<group>-<suffix>`` with annotation
  ``kwok.x-k8s.io/node=fake``, ``cluster-autoscaler.kwok.nodegroup/name`` and providerID ``kwok:<node>``;
- a pending pod (``PodScheduled=False/Unschedulable``) that a group's template would fit (nodeSelector,
  taints, requests) gets ``TriggeredScaleUp`` ("pod triggered scale-up: [{<group> 1->2 (max: 3)}]") and the
  status ConfigMap a ``ScaledUpGroup`` event; the Node registers after a short delay; when the group is at
  max size the pod gets ``NotTriggerScaleUp`` ("pod didn't trigger scale-up: 1 max node group size reached");
- a node above min size with no running non-DaemonSet pods for ``--scale-down-unneeded-time`` (and
  ``--scale-down-delay-after-add`` after the last scale-up) gets a ``ScaleDown`` event and is removed;
- ``cluster-autoscaler-status`` (``data.status``, the YAML format of CA >= 1.30, as in the AICR GKE sample).

A provider-run autoscaler (GKE's, node auto-provisioning) has no Deployment in the cluster: the simulator runs it
when the ``cluster-autoscaler-status`` ConfigMap carries the annotation ``sim.aiconform.io/managed-cluster-autoscaler``
(value: its flags), started once from that ConfigMap's namespace (provider config ``kwok-provider-config``). Flags are read from the Deployment's container args (``--scan-interval``, ``--scale-down-unneeded-time``,
``--scale-down-delay-after-add``). Simulator-only fault: annotation
``sim.aiconform.io/cluster-autoscaler: max-size-reached`` on a ConfigMap in that namespace: the autoscaler never
adds a node (every pending pod gets NotTriggerScaleUp), as when a group cannot grow.
"""
from __future__ import annotations

import copy
import re
import time
from typing import Any

import yaml

from aiconform.sim.api import ANNOTATION_PREFIX, ApiError, Cluster, now, rand_suffix
from aiconform.sim.controllers.common import pod_active, quantity, unschedulable_pods
from aiconform.sim.controllers.scheduler import pod_requests, untolerated_taint
from aiconform.sim.scenario import node_objects

Obj = dict[str, Any]
ANN = "cluster-autoscaler.kwok.nodegroup/"
FAULT = ANNOTATION_PREFIX + "cluster-autoscaler"
MANAGED = ANNOTATION_PREFIX + "managed-cluster-autoscaler"
NG_NAME = ANN + "name"  # the provider's own annotation on the nodes it creates (its node-group lister filter)
CONFIG_ENV = "KWOK_PROVIDER_CONFIGMAP"
DEFAULT_CONFIG = "kwok-provider-config"
KWOK_TAINT = {"key": "kwok-provider", "value": "true", "effect": "NoSchedule"}  # kwokProviderTaint()
PROVISION_SECONDS = 1.0  # kwok: a requested node registers almost at once
# "instance": what the running autoscaler read at its start ({"uid", "groups", "by", "key"}), None before.
_STATE: dict[str, Any] = {"last": 0.0, "handled": set(), "pending": {}, "last_add": 0.0, "unneeded": {},
                          "status": "", "instance": None, "errors": set()}


class ConfigError(Exception):
    """What the real provider would klog.Fatal with (the message is upstream's)."""
_DUR = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h)")


def _duration(text: str, default: float) -> float:
    parts = _DUR.findall(text or "")
    if not parts:
        return default
    scale = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}
    return sum(float(v) * scale[u] for v, u in parts)


def _autoscaler(c: Cluster) -> tuple[Obj | None, dict[str, str]]:
    # A provider-run autoscaler (GKE): no Deployment in the cluster, only its status ConfigMap, which the simulator
    # marks with MANAGED (its value: the flags the provider runs it with).
    for cm in c.objects("", "configmaps"):
        flags = ((cm["metadata"].get("annotations") or {}).get(MANAGED))
        if cm["metadata"]["name"] == "cluster-autoscaler-status" and flags is not None:
            args = dict(str(a)[2:].partition("=")[::2] for a in str(flags).split() if str(a).startswith("--"))
            return {"metadata": {"name": "cluster-autoscaler", "namespace": cm["metadata"]["namespace"]},
                    "managed": cm}, args
    for dep in c.objects("apps", "deployments"):
        if dep["metadata"]["name"] == "cluster-autoscaler" and not dep["metadata"].get("deletionTimestamp"):
            args: dict[str, str] = {}
            for ctr in (((dep.get("spec") or {}).get("template") or {}).get("spec") or {}).get("containers") or []:
                for a in [*(ctr.get("command") or []), *(ctr.get("args") or [])]:
                    if str(a).startswith("--") and "=" in str(a):
                        k, _, v = str(a)[2:].partition("=")
                        args[k] = v
            return dep, args
    return None, {}


def _running_pod(c: Cluster, dep: Obj) -> Obj | None:
    """The autoscaler process: the newest Running pod of the Deployment (None: nothing runs)."""
    sel = ((dep.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
    if not sel:
        return None
    pods = [p for p in c.objects("", "pods", dep["metadata"]["namespace"])
            if all((p["metadata"].get("labels") or {}).get(k) == v for k, v in sel.items())
            and pod_active(p) and (p.get("status") or {}).get("phase") == "Running"]
    return max(pods, key=lambda p: (p["metadata"].get("creationTimestamp", ""), p["metadata"]["name"]), default=None)


def _env(pod: Obj) -> dict[str, str]:
    ctrs = (pod.get("spec") or {}).get("containers") or []
    ctr = next((x for x in ctrs if x.get("name") == "cluster-autoscaler"), ctrs[0] if ctrs else {})
    return {e["name"]: str(e.get("value") or "") for e in ctr.get("env") or [] if e.get("name")}


def _config(c: Cluster, ns: str, pod: Obj) -> dict[str, Any]:
    """LoadConfigFile: the provider config, validated with upstream's messages."""
    name = _env(pod).get(CONFIG_ENV, "").strip() or DEFAULT_CONFIG
    pre = "failed to load kwok provider config: "
    cm = c.find("", "configmaps", ns, name)
    if cm is None:
        raise ConfigError(f"{pre}failed to get configmap '{name}': configmaps \"{name}\" not found")
    try:
        cfg = yaml.safe_load(((cm.get("data") or {}).get("config")) or "") or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{pre}failed to decode kwok config: {exc}") from None
    if not isinstance(cfg, dict):
        raise ConfigError(f"{pre}failed to decode kwok config: not a mapping")
    read = cfg.get("readNodesFrom")
    if read == "configmap":
        if not isinstance(cfg.get("configmap"), dict):
            raise ConfigError(pre + "please specify a value for 'configmap' in kwok config (currently empty or undefined)")
        if not str(cfg["configmap"].get("name") or "").strip():
            raise ConfigError(pre + "please specify 'configmap.name' in kwok config (currently empty or undefined)")
    elif read != "cluster":
        raise ConfigError(f"{pre}'readNodesFrom' in kwok config is invalid (expected: 'label' or 'annotation'): "
                          f"{read or ''}")  # sic: upstream names the grouping modes here
    groups = cfg.get("nodegroups")
    if not isinstance(groups, dict):
        raise ConfigError(pre + "please specify a value for 'nodegroups' in kwok config (currently empty or undefined)")
    label, annotation = (str(groups.get(k) or "").strip() for k in ("fromNodeLabelKey", "fromNodeAnnotationKey"))
    if not label and not annotation:
        raise ConfigError(pre + "please specify either 'nodegroups.fromNodeLabelKey' or 'nodegroups.fromNodeAnnotationKey'"
                          " in kwok provider config (currently empty or undefined)")
    if label and annotation:
        raise ConfigError(pre + "please specify either 'nodegroups.fromNodeLabelKey' or 'nodegroups.fromNodeAnnotationKey'"
                          " in kwok provider config (you can't use both)")
    nodes = cfg.get("nodes") if isinstance(cfg.get("nodes"), dict) else {}
    gpu = nodes.get("gpuConfig")
    if gpu is not None and not (isinstance(gpu, dict) and gpu.get("gpuLabelKey") and gpu.get("availableGPUTypes") is not None):
        raise ConfigError(pre + "nodes.gpuConfig.gpuLabelKey or file.nodes.gpuConfig.availableGPUTypes is empty")
    return {"read": read, "templates": str((cfg.get("configmap") or {}).get("name") or "").strip(),
            "by": "label" if label else "annotation", "key": label or annotation,
            "skip_taint": nodes.get("skipTaint") is True}


def _templates(c: Cluster, ns: str, cfg: dict[str, Any]) -> list[Obj]:
    """LoadNodeTemplatesFromConfigMap / loadNodeTemplatesFromCluster."""
    if cfg["read"] == "cluster":
        return [copy.deepcopy(n) for n in c.objects("", "nodes")]
    name = cfg["templates"]
    cm = c.find("", "configmaps", ns, name)
    if cm is None:
        raise ConfigError(f"failed to get configmap '{name}': configmaps \"{name}\" not found")
    text = ((cm.get("data") or {}).get("templates")) or ""
    if not text:
        raise ConfigError(f"configmap '{name}' doesn't have 'templates' key")
    try:
        docs = [d for d in yaml.safe_load_all(text) if d is not None]
    except yaml.YAMLError as exc:
        raise ConfigError(str(exc)) from None
    if len(docs) > 1:
        return [d for d in docs if isinstance(d, dict) and d.get("kind") == "Node"]
    if docs and isinstance(docs[0], dict) and docs[0].get("kind") == "List":
        return [i for i in docs[0].get("items") or [] if isinstance(i, dict) and i.get("kind") == "Node"]
    raise ConfigError("invalid templates file (found something other than nodes in the file)")


def _group_name(node: Obj, by: str, key: str) -> str:
    meta = node.get("metadata") or {}
    ann = meta.get("annotations") or {}
    return str(ann.get(NG_NAME) or ((ann if by == "annotation" else meta.get("labels") or {}).get(key)) or "")


def _start(c: Cluster, ns: str, pod: Obj) -> dict[str, Any]:
    """BuildKwokProvider: config and templates read once; the kwok-provider taint unless nodes.skipTaint."""
    cfg = _config(c, ns, pod)
    groups: dict[str, dict[str, Any]] = {}
    for node in _templates(c, ns, cfg):
        meta = node.get("metadata") or {}
        name = _group_name(node, cfg["by"], cfg["key"])
        if not name or name in groups:
            continue
        tmpl = copy.deepcopy(node)
        if not cfg["skip_taint"]:
            spec = tmpl.setdefault("spec", {}) or {}
            tmpl["spec"] = spec
            spec["taints"] = [*(spec.get("taints") or []), dict(KWOK_TAINT)]
        ann = meta.get("annotations") or {}
        try:
            lo, hi = int(ann.get(ANN + "min-count", 0)), int(ann.get(ANN + "max-count", 200))
        except (TypeError, ValueError):
            lo, hi = 0, 200
        groups[name] = {"name": name, "template": tmpl, "min": lo, "max": hi}
    return {"uid": pod["metadata"]["uid"], "groups": list(groups.values()), "by": cfg["by"], "key": cfg["key"]}


def _members(c: Cluster, group: str) -> list[Obj]:
    return [n for n in c.objects("", "nodes") if (n["metadata"].get("annotations") or {}).get(NG_NAME) == group
            and not n["metadata"].get("deletionTimestamp")]


def _fits(pod: Obj, tmpl: Obj) -> bool:
    spec = pod.get("spec") or {}
    labels = (tmpl.get("metadata") or {}).get("labels") or {}
    if any(labels.get(k) != v for k, v in (spec.get("nodeSelector") or {}).items()):
        return False
    if untolerated_taint(tmpl, spec.get("tolerations") or []):
        return False
    alloc = ((tmpl.get("status") or {}).get("allocatable") or (tmpl.get("status") or {}).get("capacity") or {})
    return all(amount <= quantity(alloc.get(res, 0)) + 1e-9 for res, amount in pod_requests(spec).items() if amount > 0)


def _add_node(c: Cluster, g: dict[str, Any], mgr: Any) -> None:
    tmpl = g["template"]
    name = f"kwok-fake-{g['name']}-{rand_suffix()}"
    st = tmpl.get("status") or {}
    pool = {"name": name, "numbered": False, "count": 1, "labels": (tmpl.get("metadata") or {}).get("labels") or {},
            "taints": (tmpl.get("spec") or {}).get("taints") or [], "capacity": st.get("capacity") or {},
            "allocatable": st.get("allocatable") or {}}
    node = node_objects(pool, f"v1.{getattr(mgr, 'minor', 33)}.0")[0]
    node["metadata"]["annotations"].update({"kwok.x-k8s.io/node": "fake", NG_NAME: g["name"]})
    node["spec"]["providerID"] = f"kwok:{name}"
    node["metadata"].pop("uid", None)
    try:
        c.create(c.rd("", "nodes"), "", node)
    except ApiError:
        pass


def sync(c: Cluster, mgr: Any) -> None:
    dep, args = _autoscaler(c)
    if dep is None:
        return
    t = time.monotonic()
    if t - _STATE["last"] < _duration(args.get("scan-interval", ""), 10.0):
        return
    _STATE["last"] = t
    ns = dep["metadata"]["namespace"]
    pod = dep["managed"] if "managed" in dep else _running_pod(c, dep)  # a provider-run one: always running
    if pod is None:
        _STATE["instance"] = None
        return
    inst = _STATE["instance"]
    if inst is None or inst["uid"] != pod["metadata"]["uid"]:
        try:
            inst = _STATE["instance"] = _start(c, ns, pod)
        except ConfigError as exc:
            _STATE["instance"] = None
            if (pod["metadata"]["uid"], str(exc)) not in _STATE["errors"]:
                _STATE["errors"].add((pod["metadata"]["uid"], str(exc)))
                c.record_event(pod, "Warning", "KwokProviderConfigError", str(exc), "cluster-autoscaler")
            return
    fault = next((str(v) for cm in c.objects("", "configmaps", ns)
                  for k, v in ((cm["metadata"].get("annotations") or {}).items()) if k == FAULT), "")
    groups = inst["groups"]
    status_cm = _status_obj(c, ns)
    for g in groups:
        pending = _STATE["pending"].setdefault(g["name"], [])
        for due in [d for d in pending if d <= t]:
            pending.remove(due)
            _add_node(c, g, mgr)
        size = len(_members(c, g["name"])) + len(pending)
        for _ in range(max(0, g["min"] - size)):
            pending.append(t)
    # scale-up for unschedulable pods
    for pod in unschedulable_pods(c, _STATE["handled"]):
        uid = pod["metadata"]["uid"]
        g = next((g for g in groups if _fits(pod, g["template"])), None)
        if g is None:
            continue
        _STATE["handled"].add(uid)
        pending = _STATE["pending"].setdefault(g["name"], [])
        cur = len(_members(c, g["name"])) + len(pending)
        if fault == "max-size-reached" or cur >= g["max"]:
            c.record_event(pod, "Normal", "NotTriggerScaleUp",
                           "pod didn't trigger scale-up: 1 max node group size reached", "cluster-autoscaler")
            continue
        pending.append(t + PROVISION_SECONDS)
        _STATE["last_add"] = t
        c.record_event(pod, "Normal", "TriggeredScaleUp",
                       f"pod triggered scale-up: [{{{g['name']} {cur}->{cur + 1} (max: {g['max']})}}]",
                       "cluster-autoscaler")
        if status_cm is not None:
            c.record_event(status_cm, "Normal", "ScaledUpGroup", f"Scale-up: setting group {g['name']} size to "
                           f"{cur + 1} instead of {cur} (max: {g['max']})", "cluster-autoscaler")
    _scale_down(c, groups, args, t)
    _write_status(c, ns, groups)


def _scale_down(c: Cluster, groups: list[dict[str, Any]], args: dict[str, str], t: float) -> None:
    unneeded_time = _duration(args.get("scale-down-unneeded-time", ""), 600.0)
    delay_after_add = _duration(args.get("scale-down-delay-after-add", ""), 600.0)
    busy = {(p.get("spec") or {}).get("nodeName") for p in c.objects("", "pods")
            if (p.get("status") or {}).get("phase") not in ("Succeeded", "Failed")
            and not any(r.get("kind") == "DaemonSet" for r in p["metadata"].get("ownerReferences") or [])}
    for g in groups:
        members = sorted(_members(c, g["name"]), key=lambda n: n["metadata"]["creationTimestamp"], reverse=True)
        removable = len(members) - g["min"]
        for node in members:
            name = node["metadata"]["name"]
            if name in busy:
                _STATE["unneeded"].pop(name, None)
                continue
            since = _STATE["unneeded"].setdefault(name, t)
            if removable > 0 and t - since >= unneeded_time and t - _STATE["last_add"] >= delay_after_add:
                c.record_event(node, "Normal", "ScaleDown", "marked the node as toBeDeleted/unschedulable",
                               "cluster-autoscaler")
                try:
                    c.delete(c.rd("", "nodes"), "", name)
                except ApiError:
                    continue
                _STATE["unneeded"].pop(name, None)
                removable -= 1


def _status_obj(c: Cluster, ns: str) -> Obj | None:
    cm = c.find("", "configmaps", ns, "cluster-autoscaler-status")
    if cm is None:
        try:
            cm = c.create(c.rd("", "configmaps"), ns, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {
                "name": "cluster-autoscaler-status", "namespace": ns,
                "annotations": {"cluster-autoscaler.kubernetes.io/last-updated": now()}}, "data": {"status": ""}})
        except ApiError:
            return None
    return cm


def _write_status(c: Cluster, ns: str, groups: list[dict[str, Any]]) -> None:
    nodes = c.objects("", "nodes")
    ready = sum(1 for n in nodes if any(x.get("type") == "Ready" and x.get("status") == "True"
                                        for x in (n.get("status") or {}).get("conditions") or []))
    scaling_up = any(_STATE["pending"].get(g["name"]) for g in groups)
    doc = {"autoscalerStatus": "Running", "clusterWide": {
        "health": {"nodeCounts": {"registered": {"ready": ready, "total": len(nodes)}}, "status": "Healthy"},
        "scaleDown": {"status": "CandidatesPresent" if _STATE["unneeded"] else "NoCandidates"},
        "scaleUp": {"status": "InProgress" if scaling_up else "NoActivity"}},
        "nodeGroups": [{"health": {"cloudProviderTarget": len(_members(c, g["name"])) + len(
            _STATE["pending"].get(g["name"], [])), "maxSize": g["max"], "minSize": g["min"], "status": "Healthy"},
            "name": g["name"]} for g in groups]}
    text = yaml.safe_dump(doc, sort_keys=False)
    if text == _STATE["status"]:
        return
    _STATE["status"] = text
    cm = _status_obj(c, ns)
    if cm is None:
        return
    new = copy.deepcopy(cm)
    new["data"] = {"status": text}
    new["metadata"].setdefault("annotations", {})["cluster-autoscaler.kubernetes.io/last-updated"] = now()
    c.write(c.rd("", "configmaps"), new)
