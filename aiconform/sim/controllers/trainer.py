"""Kubeflow Trainer (trainer.kubeflow.org/v1alpha1): its TrainJob validating webhook and a TrainJob reconcile.

Webhook (``validator.trainjob.trainer.kubeflow.org``, served by the manager's Service
``kubeflow-trainer-controller-manager`` in upstream's manifests/base/manager): called, like every admission
webhook, only when a ValidatingWebhookConfiguration registers it for ``trainjobs``; an empty ``caBundle`` or a
Service without ready endpoints fails the call (``failurePolicy: Fail`` rejects, 500). Served by the Trainer
manager, it denies a TrainJob whose ``spec.runtimeRef`` names no existing (Cluster)TrainingRuntime with the
message AICR's evidence shows (403 Forbidden, ``admission webhook "validator.trainjob.trainer.kubeflow.org"
denied the request: spec.RuntimeRef: Invalid value: ...: ClusterTrainingRuntime.trainer.kubeflow.org "<name>"
not found: specified clusterTrainingRuntime must be created before the TrainJob is created``). Another
component's webhook registered for trainjobs allows.

Controller (while a Ready pod runs the ``trainer-controller-manager`` image): a TrainJob on an existing runtime
gets one Job per node, ``<name>-node-0`` (what its JobSet's replicated job ``node`` creates; JobSet itself is not
emulated), whose pod runs the trainer command to completion (a finite pod, see kubelet.py); when the Job is
Complete the TrainJob gets ``Complete=True`` (reason ``JobsCompleted``), a Failed Job gives ``Failed=True``.
"""
from __future__ import annotations

import copy
from typing import Any

from aiconform.sim.api import ApiError, Cluster, owner_ref
from aiconform.sim.controllers import admission, proxy
from aiconform.sim.controllers.common import pod_ready, set_condition
from aiconform.sim.discovery import ResourceDef

Obj = dict[str, Any]
GROUP = "trainer.kubeflow.org"
MANAGER_IMAGE = "trainer-controller-manager"


def _is_manager(pod: Obj) -> bool:
    return any(MANAGER_IMAGE in img for img in proxy.container_images(pod))


# -- webhook ------------------------------------------------------------------------------------
@admission.register
def validate(c: Cluster, rd: ResourceDef, ns: str, obj: Obj, operation: str) -> None:
    if rd.group != GROUP or rd.plural != "trainjobs":
        return
    for wh in admission.registered_webhooks(c, rd, operation):
        name = wh.get("name", "")
        failure, served = admission.reach(c, wh)
        if failure:
            if wh.get("failurePolicy", "Fail") == "Ignore":
                continue
            raise ApiError(500, "InternalError", f'Internal error occurred: failed calling webhook "{name}": '
                                                 f"failed to call webhook: {failure}")
        if not any(_is_manager(p) for p in served):
            continue  # another component's webhook: its server, not emulated, allows
        ref = (obj.get("spec") or {}).get("runtimeRef") or {}
        kind = ref.get("kind") or "ClusterTrainingRuntime"
        plural = "clustertrainingruntimes" if kind == "ClusterTrainingRuntime" else "trainingruntimes"
        found = c.find(GROUP, plural, "" if kind == "ClusterTrainingRuntime" else ns, ref.get("name") or "") \
            if c.registry.get(GROUP, plural) is not None else None
        if found is None:
            value = ('{"name":"' + str(ref.get("name") or "") + '","apiGroup":"' + GROUP + '","kind":"' + kind + '"}')
            raise ApiError(403, "Forbidden", f'admission webhook "{name}" denied the request: spec.RuntimeRef: '
                                             f"Invalid value: {value}: {kind}.{GROUP} \"{ref.get('name')}\" not "
                                             f"found: specified {kind[0].lower() + kind[1:]} must be created "
                                             "before the TrainJob is created")


# -- controller ---------------------------------------------------------------------------------
def operator_running(c: Cluster) -> bool:
    return any(pod_ready(p) and _is_manager(p) for p in c.objects("", "pods"))


def sync(c: Cluster, mgr: Any) -> None:
    rd = c.registry.get(GROUP, "trainjobs")
    if rd is None or not operator_running(c):
        return
    for tj in c.objects(GROUP, "trainjobs"):
        if tj["metadata"].get("deletionTimestamp"):
            continue
        _reconcile(c, rd, tj)


def _reconcile(c: Cluster, rd: ResourceDef, tj: Obj) -> None:
    ns, name = tj["metadata"]["namespace"], tj["metadata"]["name"]
    conds = (tj.get("status") or {}).get("conditions") or []
    if any(x.get("type") in ("Complete", "Failed") and x.get("status") == "True" for x in conds):
        return
    job_name = f"{name}-node-0"
    job = c.find("batch", "jobs", ns, job_name)
    if job is None:
        trainer = (tj.get("spec") or {}).get("trainer") or {}
        container = {"name": "node", "image": trainer.get("image") or "docker.io/pytorch/pytorch:2.7.1-cuda12.8-cudnn9-runtime",
                     "command": trainer.get("command") or ["torchrun", "train.py"],
                     "resources": copy.deepcopy(trainer.get("resourcesPerNode") or {})}
        body = {"apiVersion": "batch/v1", "kind": "Job",
                "metadata": {"name": job_name, "namespace": ns, "ownerReferences": [owner_ref(tj)],
                             "labels": {"jobset.sigs.k8s.io/jobset-name": name,
                                        "jobset.sigs.k8s.io/replicatedjob-name": "node"}},
                "spec": {"completions": 1, "parallelism": 1, "backoffLimit": 0,
                         "template": {"metadata": {"labels": {"jobset.sigs.k8s.io/jobset-name": name}},
                                      "spec": {"restartPolicy": "Never", "containers": [container]}}}}
        c.create(c.rd("batch", "jobs"), ns, body)
        return
    jconds = {x.get("type"): x.get("status") for x in (job.get("status") or {}).get("conditions") or []}
    if jconds.get("Complete") == "True":
        new = set_condition(conds, "Complete", "True", "JobsCompleted", "TrainJob is completed")
    elif jconds.get("Failed") == "True":
        new = set_condition(conds, "Failed", "True", "JobsFailed", "TrainJob is failed")
    else:
        return
    c.update_status(rd, tj, {**(tj.get("status") or {}), "conditions": new})
