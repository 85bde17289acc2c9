"""The ``volcano`` stack: Volcano's scheduler and controller-manager (``volcano.sh/volcano``,
lab.controllers.volcano-scheduler / volcano-controller-manager) run for real and decide the lab's gang scheduling.

At ``lab up --stack volcano`` the lab's machine (node.py) applies, through the API server:

- the CRDs controller-gen generated at build time from volcano.sh/apis (``lab_home()/manifests/
  volcano-scheduler-<version>/crds``, upstream's ``manifests`` list: PodGroup and Queue (scheduling.volcano.sh),
  Job (batch.volcano.sh), Command, Numatopology, HyperNode, NodeShard, ColocationConfiguration);
- namespace ``volcano-system``: ServiceAccount ``volcano`` (bound to ``cluster-admin``: the lab does not reproduce
  the chart's ClusterRoles), ConfigMap ``volcano-scheduler-configmap`` with a scheduler configuration of our own
  (``SCHEDULER_CONF``: actions enqueue, allocate, backfill; plugins priority, gang, conformance / drf, predicates,
  proportion, nodeorder, the plugins of upstream's default), and Deployments ``volcano-scheduler`` and
  ``volcano-controllers`` whose images are upstream's (``pod_image``): the pod runner (pods.py) backs their pods with
  the binaries built from the module, in-cluster config from the pod's ServiceAccount, ``--leader-elect=false``;
- Queue ``default`` (open, weight 1, reclaimable: as the chart's default queue).

Volcano then does everything itself: the scheduler (``schedulerName: volcano``) enqueues PodGroups and binds their
pods only when ``minMember`` of them fit (the ``gang`` plugin); the controller-manager's queue and PodGroup
controllers keep the Queues' state and create PodGroups for volcano pods that name none. The webhook-manager is not
run (it needs serving certificates and a webhook Service): nothing defaults or validates Volcano objects at
admission, so the objects the lab and the verifier write are complete.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from aiconform import versions
from aiconform.labcluster import stackutil

NAMESPACE = "volcano-system"
SERVICE_ACCOUNT = "volcano"
SCHEDULER = "volcano-scheduler"
CONTROLLERS = "volcano-controllers"
SCHEDULER_NAME = "volcano"
QUEUE = "default"
CONFIGMAP = "volcano-scheduler-configmap"
CONF_DIR = "/volcano.scheduler"
CONF_FILE = "volcano-scheduler.conf"
HEALTHZ_PORT = 11251

# Our own configuration, with the actions and plugins of upstream's default (pkg/scheduler DefaultSchedulerConf):
# `gang` makes a PodGroup's pods bound all together (JobReady: minMember of them allocated) or not at all.
SCHEDULER_CONF: dict[str, Any] = {
    "actions": "enqueue, allocate, backfill",
    "tiers": [{"plugins": [{"name": "priority"}, {"name": "gang"}, {"name": "conformance"}]},
              {"plugins": [{"name": "drf"}, {"name": "predicates"}, {"name": "proportion"}, {"name": "nodeorder"}]}],
}


def scheduler_conf(without: tuple[str, ...] = ()) -> str:
    """The configuration file's text; ``without`` drops plugins (a misconfigured scheduler, for the tests)."""
    conf = {"actions": SCHEDULER_CONF["actions"],
            "tiers": [{"plugins": [p for p in t["plugins"] if p["name"] not in without]}
                      for t in SCHEDULER_CONF["tiers"]]}
    return yaml.safe_dump(conf, sort_keys=False)


def pin(name: str = "volcano-scheduler") -> dict[str, Any]:
    return dict(versions.get(f"lab.controllers.{name}"))


def image(name: str) -> str:
    img = versions.get(str(pin(name)["image"]))
    return f"{img['registry']}/{img['repository']}:{img['tag']}"


def _deployment(name: str, controller: str, args: list[str], labels: dict[str, str],
                mounts: list[dict[str, Any]] | None = None, volumes: list[dict[str, Any]] | None = None
                ) -> dict[str, Any]:
    lab = {**labels, "app": name}
    return {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "namespace": NAMESPACE, "labels": lab},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": name}},
                 "template": {"metadata": {"labels": lab}, "spec": {
                     "serviceAccountName": SERVICE_ACCOUNT,
                     "tolerations": [{"operator": "Exists"}],
                     "containers": [{
                         "name": name, "image": image(controller),
                         "args": [*args, "--leader-elect=false", "--enable-healthz=true",
                                  f"--healthz-address=:{HEALTHZ_PORT}", "--logtostderr", "-v=2"],
                         "ports": [{"name": "healthz", "containerPort": HEALTHZ_PORT}],
                         "readinessProbe": {"httpGet": {"path": "/healthz", "port": HEALTHZ_PORT}},
                         "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}},
                         **({"volumeMounts": mounts} if mounts else {})}],
                     **({"volumes": volumes} if volumes else {})}}}}


def objects() -> list[tuple[str, dict[str, Any]]]:
    """(collection path, object) for everything but the CRDs, in creation order."""
    ns = NAMESPACE
    labels = {"app.kubernetes.io/part-of": "volcano", "app.kubernetes.io/version": str(pin()["version"]),
              "app.kubernetes.io/managed-by": "aiconform-lab"}
    scheduler = _deployment(
        SCHEDULER, "volcano-scheduler",
        [f"--scheduler-conf={CONF_DIR}/{CONF_FILE}", f"--scheduler-name={SCHEDULER_NAME}", "--schedule-period=1s",
         f"--default-queue={QUEUE}"], labels,
        mounts=[{"name": "scheduler-config", "mountPath": CONF_DIR}],
        volumes=[{"name": "scheduler-config", "configMap": {"name": CONFIGMAP}}])
    controllers = _deployment(CONTROLLERS, "volcano-controller-manager",
                              ["--controllers=queue-controller,pg-controller", f"--scheduler-name={SCHEDULER_NAME}"],
                              labels)
    return [
        *stackutil.controller_identity(ns, SERVICE_ACCOUNT, "aiconform-lab-volcano"),
        (f"/api/v1/namespaces/{ns}/configmaps",
         {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": CONFIGMAP, "namespace": ns},
          "data": {CONF_FILE: scheduler_conf()}}),
        ("/apis/scheduling.volcano.sh/v1beta1/queues",
         {"apiVersion": "scheduling.volcano.sh/v1beta1", "kind": "Queue", "metadata": {"name": QUEUE},
          "spec": {"reclaimable": True, "weight": 1}}),
        (f"/apis/apps/v1/namespaces/{ns}/deployments", controllers),
        (f"/apis/apps/v1/namespaces/{ns}/deployments", scheduler),
    ]


def crds(manifests: Path) -> list[dict[str, Any]]:
    return stackutil.read_crds(manifests, "volcano")


def install(api: Any, manifests: Path, timeout: float = 60) -> dict[str, Any]:
    """Apply the stack (see the module's doc); returns what ``lab.json`` says about it."""
    names = stackutil.apply_crds(api, crds(manifests), "Volcano", timeout)
    for path, obj in objects():
        api.create(path, obj)
    p = pin()
    return {"volcano": {
        "version": p["version"], "reference_version": p.get("reference_version"),
        "module": f"{p['module']} (packages {p['package']}, {pin('volcano-controller-manager')['package']})",
        "runs_as": f"Deployments {NAMESPACE}/{SCHEDULER} (image {image('volcano-scheduler')}) and "
                   f"{NAMESPACE}/{CONTROLLERS} (image {image('volcano-controller-manager')}): the pod runner runs "
                   "the binaries built from the module, in-cluster config, --leader-elect=false",
        "scheduler_name": SCHEDULER_NAME,
        "scheduler_conf": f"ConfigMap {NAMESPACE}/{CONFIGMAP} (actions {SCHEDULER_CONF['actions']}; plugins "
                          + ", ".join(pl["name"] for t in SCHEDULER_CONF["tiers"] for pl in t["plugins"]) + ")",
        "queue": f"Queue {QUEUE}", "crds": sorted(names),
        "not_run": "webhook-manager (admission webhooks: serving certificates and a Service the lab does not give)"}}


def ready(api: Any) -> str | None:
    """None once both Deployments have a Ready pod and the controller-manager has opened Queue ``default``."""
    for name in (CONTROLLERS, SCHEDULER):
        unready = stackutil.deployment_unready(api, NAMESPACE, name)
        if unready:
            return unready
    status, q = api.request("GET", f"/apis/scheduling.volcano.sh/v1beta1/queues/{QUEUE}")
    state = ((q or {}).get("status") or {}).get("state") if status == 200 else None
    if state != "Open":
        return f"Queue {QUEUE} is not Open (state {state!r})"
    return None
