"""KubeRay (ray.io/v1): the operator's RayCluster validating webhook and its RayCluster reconcile.

Webhook (``vraycluster.kb.io``, KubeRay ``raycluster_webhook.go`` + ``ValidateRayClusterSpec``): applied
only when a ValidatingWebhookConfiguration registers a webhook for ``ray.io`` ``rayclusters``, as the
API server calls only registered webhooks (the KubeRay Helm chart registers none). Like the real call:
an empty ``caBundle`` fails TLS verification and a webhook Service without ready endpoints cannot be
reached; with ``failurePolicy: Fail`` both reject with 500 ``failed calling webhook``. A reachable webhook whose
Service's endpoints are not KubeRay operator pods (Kueue's own ``vraycluster.kb.io``) allows. Otherwise the
KubeRay rules deny with 422 ``admission webhook "vraycluster.kb.io" denied the request: RayCluster.ray.io
"<name>" is invalid: <field>: Invalid value: ...: <reason>``: worker group names must be unique (the Ray
docs' example), the head group needs a container, a name must be a DNS-1035 label, minReplicas must
not exceed maxReplicas.

Controller (runs while a ``kuberay-operator`` pod is Ready): head Pod ``<name>-head-<rand>`` and Service
``<name>-head-svc``, worker Pods ``<name>-<group>-worker-<rand>`` with the ``ray.io/*`` labels, then the
status the real operator writes (``kubectl get rayclusters`` of the VKS v1.36 transcript in
../shared/fixtures/stacks: desired/available workers, CPUs, memory, GPUs, ``state: ready``) with the
conditions ``HeadPodReady``/``RayClusterProvisioned`` and endpoints named in stacks.md §13.
"""
from __future__ import annotations

import re
from typing import Any

from aiconform.sim.api import ApiError, Cluster, now
from aiconform.sim.controllers import admission, proxy
from aiconform.sim.controllers.common import create_pod, pod_from_template, pod_ready, quantity, set_condition
from aiconform.sim.discovery import ResourceDef

Obj = dict[str, Any]
GROUP = "ray.io"
_DNS1035 = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
MAX_NAME = 63
ENDPOINTS = {"client": "10001", "dashboard": "8265", "gcs-server": "6379", "metrics": "8080"}


# -- webhook ------------------------------------------------------------------------------------
@admission.register
def validate(c: Cluster, rd: ResourceDef, ns: str, obj: Obj, operation: str) -> None:
    if rd.group != GROUP or rd.plural != "rayclusters":
        return
    for wh in admission.registered_webhooks(c, rd, operation):
        _call(c, wh, obj)


def _call(c: Cluster, wh: Obj, obj: Obj) -> None:
    name = wh.get("name", "")
    cfg = wh.get("clientConfig") or {}
    svc_ref = cfg.get("service") or {}
    url = (f"https://{svc_ref.get('name')}.{svc_ref.get('namespace')}.svc:{svc_ref.get('port', 443)}"
           f"{svc_ref.get('path', '')}?timeout=10s")
    failure: str | None = None
    served: list[Obj] = []
    if not cfg.get("caBundle"):
        failure = f'Post "{url}": tls: failed to verify certificate: x509: certificate signed by unknown authority'
    else:
        svc = c.find("", "services", svc_ref.get("namespace", ""), svc_ref.get("name", ""))
        if svc is None:
            failure = f'Post "{url}": service "{svc_ref.get("name")}" not found'
        elif not (served := proxy.endpoints(c, svc)):
            failure = f'Post "{url}": no endpoints available for service "{svc_ref.get("name")}"'
    if failure:
        if wh.get("failurePolicy", "Fail") == "Ignore":
            return
        raise ApiError(500, "InternalError", f'Internal error occurred: failed calling webhook "{name}": '
                                             f"failed to call webhook: {failure}")
    if not any(_is_kuberay(p) for p in served):
        return  # another component's webhook (Kueue's vraycluster.kb.io): its server, not emulated, allows
    errors = raycluster_errors(obj)
    if errors:
        cname = (obj.get("metadata") or {}).get("name", "")
        detail = "; ".join(f"{f}: Invalid value: {v}: {m}" for f, v, m in errors)
        raise ApiError(422, "Invalid", f'admission webhook "{name}" denied the request: RayCluster.ray.io "{cname}" '
                                       f"is invalid: {detail}",
                       {"name": cname, "group": GROUP, "kind": "RayCluster",
                        "causes": [{"reason": "FieldValueInvalid", "message": m, "field": f} for f, _, m in errors]})


def _is_kuberay(pod: Obj) -> bool:
    """A pod running the KubeRay operator (the webhook server is the operator binary with ENABLE_WEBHOOKS)."""
    return any("kuberay/operator" in (ctr.get("image") or "") for ctr in (pod.get("spec") or {}).get("containers") or [])


def raycluster_errors(obj: Obj) -> list[tuple[str, str, str]]:
    """(field, value, message) for each rule of KubeRay's webhook the object breaks."""
    out: list[tuple[str, str, str]] = []
    name = (obj.get("metadata") or {}).get("name", "")
    if len(name) > MAX_NAME:
        out.append(("metadata.name", f'"{name}"', f"must be no more than {MAX_NAME} characters"))
    elif name and not _DNS1035.match(name):
        out.append(("metadata.name", f'"{name}"', "a DNS-1035 label must consist of lower case alphanumeric "
                    "characters or '-', start with an alphabetic character, and end with an alphanumeric character"))
    spec = obj.get("spec") or {}
    head = ((spec.get("headGroupSpec") or {}).get("template") or {}).get("spec") or {}
    if not head.get("containers"):
        out.append(("spec.headGroupSpec.template.spec.containers", "null",
                    "headGroupSpec should have at least one container"))
    seen: set[str] = set()
    for i, wg in enumerate(spec.get("workerGroupSpecs") or []):
        gname = wg.get("groupName", "")
        if gname in seen:
            out.append((f"spec.workerGroupSpecs[{i}]", f'"{gname}"', "worker group names must be unique"))
        seen.add(gname)
        lo, hi = wg.get("minReplicas"), wg.get("maxReplicas")
        if isinstance(lo, int) and isinstance(hi, int) and lo > hi:
            out.append((f"spec.workerGroupSpecs[{i}].minReplicas", str(lo),
                        f"minReplicas ({lo}) is greater than maxReplicas ({hi})"))
    return out


# -- controller ---------------------------------------------------------------------------------
def operator_running(c: Cluster) -> bool:
    return any(pod_ready(p) and (p["metadata"].get("labels") or {}).get("app.kubernetes.io/name") == "kuberay-operator"
               for p in c.objects("", "pods"))


def sync(c: Cluster, mgr: Any) -> None:
    rd = c.registry.get(GROUP, "rayclusters")
    if rd is None or not operator_running(c):
        return
    for rc in c.objects(GROUP, "rayclusters"):
        if not rc["metadata"].get("deletionTimestamp"):
            _reconcile(c, rd, rc)


def _children(c: Cluster, rc: Obj) -> list[Obj]:
    ns, name = rc["metadata"]["namespace"], rc["metadata"]["name"]
    return [p for p in c.objects("", "pods", ns) if (p["metadata"].get("labels") or {}).get("ray.io/cluster") == name
            and not p["metadata"].get("deletionTimestamp")]


def _labels(name: str, node_type: str, group: str) -> dict[str, str]:
    return {"ray.io/cluster": name, "ray.io/node-type": node_type, "ray.io/group": group, "ray.io/is-ray-node": "yes",
            "app.kubernetes.io/name": "kuberay", "app.kubernetes.io/created-by": "kuberay-operator"}


def _reconcile(c: Cluster, rd: ResourceDef, rc: Obj) -> None:
    ns, name = rc["metadata"]["namespace"], rc["metadata"]["name"]
    spec = rc.get("spec") or {}
    pods = _children(c, rc)
    head_tpl = (spec.get("headGroupSpec") or {}).get("template") or {}
    if not [p for p in pods if p["metadata"]["labels"].get("ray.io/node-type") == "head"]:
        pod = pod_from_template(rc, head_tpl, extra_labels=_labels(name, "head", "headgroup"))
        pod["metadata"]["generateName"] = f"{name}-head-"
        create_pod(c, ns, pod, rc)
    svc_name = f"{name}-head-svc"
    if c.find("", "services", ns, svc_name) is None:
        c.create(c.rd("", "services"), ns, {
            "apiVersion": "v1", "kind": "Service",
            "metadata": {"name": svc_name, "labels": _labels(name, "head", "headgroup"),
                         "ownerReferences": [{"apiVersion": rc["apiVersion"], "kind": "RayCluster", "name": name,
                                              "uid": rc["metadata"]["uid"], "controller": True,
                                              "blockOwnerDeletion": True}]},
            "spec": {"selector": {"ray.io/cluster": name, "ray.io/node-type": "head"},
                     "ports": [{"name": k, "port": int(v), "targetPort": int(v)} for k, v in ENDPOINTS.items()]}})
    desired = 0
    for wg in spec.get("workerGroupSpecs") or []:
        group = wg.get("groupName", "")
        want = int(wg.get("replicas", wg.get("minReplicas", 0)) or 0)
        desired += want
        have = [p for p in pods if p["metadata"]["labels"].get("ray.io/group") == group
                and p["metadata"]["labels"].get("ray.io/node-type") == "worker"]
        for _ in range(want - len(have)):
            pod = pod_from_template(rc, wg.get("template") or {}, extra_labels=_labels(name, "worker", group))
            pod["metadata"]["generateName"] = f"{name}-{group}-worker-"
            create_pod(c, ns, pod, rc)
    _status(c, rd, rc, desired)


def _status(c: Cluster, rd: ResourceDef, rc: Obj, desired: int) -> None:
    ns, name = rc["metadata"]["namespace"], rc["metadata"]["name"]
    pods = _children(c, rc)
    head = next((p for p in pods if p["metadata"]["labels"].get("ray.io/node-type") == "head"), None)
    workers = [p for p in pods if p["metadata"]["labels"].get("ray.io/node-type") == "worker"]
    ready_workers = [p for p in workers if pod_ready(p)]
    cpu = mem = gpu = 0.0
    for p in pods:
        for ctr in (p.get("spec") or {}).get("containers") or []:
            res = ctr.get("resources") or {}
            vals = {**(res.get("requests") or {}), **(res.get("limits") or {})}
            cpu += quantity(vals.get("cpu"))
            mem += quantity(vals.get("memory"))
            gpu += quantity(vals.get("nvidia.com/gpu"))
    old = rc.get("status") or {}
    st: dict[str, Any] = {k: v for k, v in old.items() if k not in ("conditions",)}
    conds = list(old.get("conditions") or [])
    head_ready = head is not None and pod_ready(head)
    conds = set_condition(conds, "HeadPodReady", "True" if head_ready else "False",
                          "HeadPodRunningAndReady" if head_ready else "HeadPodNotFound" if head is None else "HeadPodNotReady",
                          "" if head_ready else "the head pod is not ready")
    all_ready = head_ready and len(ready_workers) >= desired
    provisioned = any(cond.get("type") == "RayClusterProvisioned" and cond.get("status") == "True" for cond in conds)
    if all_ready or provisioned:
        conds = set_condition(conds, "RayClusterProvisioned", "True", "AllPodRunningAndReadyFirstTime",
                              "All Ray Pods are ready for the first time")
    else:
        conds = set_condition(conds, "RayClusterProvisioned", "False", "RayClusterPodsProvisioning",
                              "RayCluster Pods are being provisioned for first time")
    svc = c.find("", "services", ns, f"{name}-head-svc")
    st.update(conditions=conds, desiredWorkerReplicas=desired, availableWorkerReplicas=len(ready_workers),
              readyWorkerReplicas=len(ready_workers), desiredCPU=_fmt(cpu), desiredMemory=_fmt_mem(mem),
              desiredGPU=_fmt(gpu), desiredTPU="0", observedGeneration=rc["metadata"].get("generation", 1))
    if all_ready:
        st.update(state="ready", endpoints=dict(ENDPOINTS),
                  head={"podIP": (head.get("status") or {}).get("podIP", ""), "podName": head["metadata"]["name"],
                        "serviceIP": ((svc or {}).get("spec") or {}).get("clusterIP", ""),
                        "serviceName": f"{name}-head-svc"})
        if old.get("state") != "ready":
            st["stateTransitionTimes"] = {**(old.get("stateTransitionTimes") or {}), "ready": now()}
    if st != old:
        st["lastUpdateTime"] = now()
        c.update_status(rd, rc, st)


def _fmt(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{int(value * 1000)}m"


def _fmt_mem(value: float) -> str:
    return f"{int(value / 2**30)}Gi" if value and value % 2**30 == 0 else str(int(value))
