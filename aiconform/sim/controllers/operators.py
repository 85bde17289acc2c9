"""Status of the operators the install roles wait on, written as the real operators write it.

- NVIDIA GPU Operator (stacks.md §3): while a ``gpu-operator`` Deployment is Available, each ClusterPolicy is
  reconciled: the operand DaemonSets of the enabled components (``driver``, ``toolkit``, ``devicePlugin``,
  ``dcgmExporter``; a component without ``enabled`` is enabled, as ``IsEnabled()`` upstream) are created in the
  operator's namespace when missing (owned by the ClusterPolicy, scheduled on ``nvidia.com/gpu.deploy.<operand>
  =true`` nodes), and ``status.state`` is ``ready`` with ``Ready=True``/``Error=False`` once every operand
  DaemonSet has all its pods ready, else ``notReady`` with ``Ready=False``/``Error=True`` (``OperandNotReady``).
- Prometheus Operator (§10): while a Deployment running the prometheus-operator image is Available, each
  Prometheus CR gets its StatefulSet ``prometheus-<name>`` (created when missing) and conditions ``Available``
  and ``Reconciled``: ``Available=True`` once every replica is ready (``NoPodReady``/``SomePodsNotReady``
  before), with ``replicas``/``availableReplicas``/``unavailableReplicas`` from the StatefulSet.

No operator Deployment, no status: nothing reconciles, as on a cluster where only the CRDs and CRs were applied.
The ``cluster-autoscaler-status`` ConfigMap is written by ``autoscaler.py``. Switch each off with
``POST /_sim/controllers {"gpuoperator": false}`` (or ``prometheusoperator``) or per object with
``sim.aiconform.io/auto-ready: "false"`` to make a component that never becomes ready.
"""
from __future__ import annotations

import copy
from typing import Any

from aiconform.sim.api import ApiError, Cluster, owner_ref
from aiconform.sim.controllers.common import auto_ready, set_condition

Obj = dict[str, Any]
GPU_OPERATOR = "gpu-operator"
# ClusterPolicy component -> (operand DaemonSet, container, deploy label suffix, default image)
GPU_OPERANDS: dict[str, tuple[str, str, str, str]] = {
    "driver": ("nvidia-driver-daemonset", "nvidia-driver-ctr", "driver", "nvcr.io/nvidia/driver:595.91.07"),
    "toolkit": ("nvidia-container-toolkit-daemonset", "nvidia-container-toolkit-ctr", "container-toolkit",
                "nvcr.io/nvidia/k8s/container-toolkit:v1.20.0"),
    "devicePlugin": ("nvidia-device-plugin-daemonset", "nvidia-device-plugin", "device-plugin",
                     "nvcr.io/nvidia/k8s-device-plugin:v0.20.0"),
    "dcgmExporter": ("nvidia-dcgm-exporter", "nvidia-dcgm-exporter", "dcgm-exporter",
                     "nvcr.io/nvidia/k8s/dcgm-exporter:4.6.0-4.8.3-distroless"),
}
PROMETHEUS_IMAGE = "quay.io/prometheus/prometheus"


def _available(dep: Obj) -> bool:
    return any(c.get("type") == "Available" and c.get("status") == "True"
               for c in (dep.get("status") or {}).get("conditions") or [])


def _operator(c: Cluster, match: Any) -> Obj | None:
    return next((d for d in c.objects("apps", "deployments")
                 if match(d) and not d["metadata"].get("deletionTimestamp") and _available(d)), None)


def _create(c: Cluster, group: str, plural: str, ns: str, obj: Obj) -> None:
    try:
        c.create(c.rd(group, plural), ns, obj)
    except ApiError:
        pass  # created meanwhile or the namespace is terminating: next pass


def _daemonset_ready(ds: Obj) -> bool:
    st = ds.get("status") or {}
    if st.get("observedGeneration", 0) < ds["metadata"].get("generation", 1):
        return False
    return int(st.get("numberUnavailable") or 0) == 0 and \
        int(st.get("numberReady") or 0) >= int(st.get("desiredNumberScheduled") or 0)


def _operand_daemonset(policy: Obj, ns: str, component: str) -> Obj:
    name, container, deploy, image = GPU_OPERANDS[component]
    spec = (policy.get("spec") or {}).get(component) or {}
    if spec.get("repository") and spec.get("image") and spec.get("version"):
        image = f"{spec['repository']}/{spec['image']}:{spec['version']}"
    tolerations = ((policy.get("spec") or {}).get("daemonsets") or {}).get("tolerations") or [
        {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]
    labels = {"app": name, "app.kubernetes.io/managed-by": GPU_OPERATOR}
    pod_spec: Obj = {"nodeSelector": {f"nvidia.com/gpu.deploy.{deploy}": "true"},
                     "tolerations": copy.deepcopy(tolerations), "priorityClassName": "system-node-critical",
                     "containers": [{"name": container, "image": image}]}
    if component == "dcgmExporter":
        env, mount = _dcgm_exporter_env(spec)
        pod_spec["containers"][0]["env"] = env
        pod_spec.update(serviceAccountName="nvidia-dcgm-exporter", automountServiceAccountToken=mount)
    return {"apiVersion": "apps/v1", "kind": "DaemonSet",
            "metadata": {"name": name, "namespace": ns, "labels": labels, "ownerReferences": [owner_ref(policy)]},
            "spec": {"selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": labels}, "spec": pod_spec}}}


def _dcgm_exporter_env(spec: Obj) -> tuple[list[Obj], bool]:
    """v26.7.0 assets/state-dcgm-exporter/0800_daemonset.yaml + TransformDCGMExporter: the asset's env, the
    ClusterPolicy's env on top (by name), enablePodLabels/enablePodUID as env, and the service-account token
    mounted only when one of those (or DCGM_EXPORTER_CONFIGMAP_DATA) needs the API."""
    env = {"DCGM_EXPORTER_LISTEN": ":9400", "DCGM_EXPORTER_KUBERNETES": "true",
           "DCGM_EXPORTER_COLLECTORS": "/etc/dcgm-exporter/dcp-metrics-included.csv"}
    for e in spec.get("env") or []:
        if isinstance(e, dict) and e.get("name"):
            env[str(e["name"])] = str(e.get("value") or "")
    flags = {"enablePodLabels": "DCGM_EXPORTER_KUBERNETES_ENABLE_POD_LABELS",
             "enablePodUID": "DCGM_EXPORTER_KUBERNETES_ENABLE_POD_UID"}
    for key, var in flags.items():
        if spec.get(key) in (True, "true"):
            env[var] = "true"
    api = any(env.get(v, "").lower() == "true" for v in flags.values()) or \
        env.get("DCGM_EXPORTER_CONFIGMAP_DATA", "none") not in ("", "none")
    return [{"name": k, "value": v} for k, v in env.items()], api


def gpu_operator(c: Cluster, mgr: Any) -> None:
    if c.registry.get("nvidia.com", "clusterpolicies") is None:
        return
    op = _operator(c, lambda d: d["metadata"]["name"] == GPU_OPERATOR)
    if op is None:
        return
    ns = op["metadata"]["namespace"]
    for policy in c.objects("nvidia.com", "clusterpolicies"):
        if policy["metadata"].get("deletionTimestamp") or not auto_ready(policy):
            continue
        spec = policy.get("spec") or {}
        not_ready = []
        for component, (ds_name, *_rest) in GPU_OPERANDS.items():
            if ((spec.get(component) or {}).get("enabled", True)) in (False, "false"):
                continue
            ds = c.find("apps", "daemonsets", ns, ds_name)
            if ds is None:
                _create(c, "apps", "daemonsets", ns, _operand_daemonset(policy, ns, component))
                ds = c.find("apps", "daemonsets", ns, ds_name)
            if ds is None or not _daemonset_ready(ds):
                not_ready.append(f"state-{GPU_OPERANDS[component][2]}")
        conds = (policy.get("status") or {}).get("conditions") or []
        if not_ready:
            state = "notReady"
            msg = f"ClusterPolicy is not ready, states not ready: {not_ready}"
            conds = set_condition(conds, "Ready", "False", "OperandNotReady", msg)
            conds = set_condition(conds, "Error", "True", "OperandNotReady", msg)
        else:
            state = "ready"
            conds = set_condition(conds, "Ready", "True", "Reconciled",
                                  "ClusterPolicy is ready as all resources have been successfully reconciled")
            conds = set_condition(conds, "Error", "False", "Ready", "")
        status = {"namespace": ns, "state": state, "conditions": conds}
        c.update_status(c.rd("nvidia.com", "clusterpolicies"), policy, status)


def _is_prometheus_operator(dep: Obj) -> bool:
    containers = (((dep.get("spec") or {}).get("template") or {}).get("spec") or {}).get("containers") or []
    return any("prometheus-operator/prometheus-operator" in str(ct.get("image", "")) for ct in containers)


def _prometheus_statefulset(prom: Obj) -> Obj:
    name, ns = prom["metadata"]["name"], prom["metadata"]["namespace"]
    spec = prom.get("spec") or {}
    image = spec.get("image") or f"{PROMETHEUS_IMAGE}:{spec.get('version') or 'v3.14.0'}"
    selector = {"app.kubernetes.io/name": "prometheus", "operator.prometheus.io/name": name}
    return {"apiVersion": "apps/v1", "kind": "StatefulSet",
            "metadata": {"name": f"prometheus-{name}", "namespace": ns,
                         "labels": {**selector, "app.kubernetes.io/managed-by": "prometheus-operator"},
                         "ownerReferences": [owner_ref(prom)]},
            "spec": {"replicas": int(spec.get("replicas", 1)), "serviceName": "prometheus-operated",
                     "selector": {"matchLabels": selector},
                     "template": {"metadata": {"labels": {**selector, "prometheus": name}},
                                  "spec": {"containers": [{"name": "prometheus", "image": image,
                                                           "ports": [{"name": "web", "containerPort": 9090}]}]}}}}


def prometheus_operator(c: Cluster, mgr: Any) -> None:
    if c.registry.get("monitoring.coreos.com", "prometheuses") is None:
        return
    if _operator(c, _is_prometheus_operator) is None:
        return
    for prom in c.objects("monitoring.coreos.com", "prometheuses"):
        if prom["metadata"].get("deletionTimestamp") or not auto_ready(prom):
            continue
        ns, name = prom["metadata"]["namespace"], prom["metadata"]["name"]
        sts = c.find("apps", "statefulsets", ns, f"prometheus-{name}")
        if sts is None:
            _create(c, "apps", "statefulsets", ns, _prometheus_statefulset(prom))
            sts = c.find("apps", "statefulsets", ns, f"prometheus-{name}")
        want = int((prom.get("spec") or {}).get("replicas", 1))
        ready = int(((sts or {}).get("status") or {}).get("readyReplicas") or 0)
        gen = prom["metadata"].get("generation", 1)
        conds = (prom.get("status") or {}).get("conditions") or []
        if ready >= want:
            conds = set_condition(conds, "Available", "True", "", "")
        elif ready == 0:
            conds = set_condition(conds, "Available", "False", "NoPodReady",
                                  f"shard 0: pod prometheus-{name}-0: containers with incomplete status")
        else:
            conds = set_condition(conds, "Available", "Degraded", "SomePodsNotReady", f"{want - ready} pods not ready")
        conds = set_condition(conds, "Reconciled", "True", "", "")
        conds = [{**x, "observedGeneration": gen} for x in conds]
        counts = {"availableReplicas": ready, "replicas": want, "updatedReplicas": want,
                  "unavailableReplicas": max(0, want - ready)}
        status = {**counts, "paused": False, "shardStatuses": [{"shardID": "0", **counts}], "conditions": conds}
        c.update_status(c.rd("monitoring.coreos.com", "prometheuses"), prom, status)
