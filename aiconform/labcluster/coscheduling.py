"""The ``coscheduling`` stack: the scheduler-plugins kube-scheduler and controller (``sigs.k8s.io/scheduler-plugins``,
lab.controllers.scheduler-plugins-scheduler / scheduler-plugins-controller) run for real and decide the lab's gang
scheduling, as a second scheduler beside the lab's kube-scheduler.

At ``lab up --stack coscheduling`` the lab's machine (node.py) applies, through the API server:

- the CRDs controller-gen generated at build time from ``sigs.k8s.io/scheduler-plugins/apis/scheduling/v1alpha1``
  (``lab_home()/manifests/scheduler-plugins-scheduler-<version>/crds``: PodGroup and ElasticQuota,
  scheduling.x-k8s.io; the controller watches both);
- namespace ``scheduler-plugins``: ServiceAccounts ``scheduler-plugins-scheduler`` and
  ``scheduler-plugins-controller`` (bound to ``cluster-admin``: the lab does not reproduce the chart's ClusterRoles),
  ConfigMap ``scheduler-config`` with a KubeSchedulerConfiguration of our own written from upstream's
  ``manifests/install/charts/as-a-second-scheduler`` and ``manifests/coscheduling/scheduler-config.yaml``: one
  profile, ``schedulerName: scheduler-plugins-scheduler``, the Coscheduling plugin enabled at every extension point
  it implements (multiPoint: QueueSort, PreFilter, PostFilter, Permit, Reserve) and PrioritySort disabled (one
  QueueSort), ``permitWaitingTimeSeconds`` 10 as the chart's values; Deployments ``scheduler-plugins-scheduler``
  (``--config``, HTTPS readiness on /healthz:10259 as the chart) and ``scheduler-plugins-controller`` (readiness on
  /readyz:8081) whose images are upstream's (``pod_image``): the pod runner (pods.py) backs their pods with the
  binaries built from the module, in-cluster config from the pod's ServiceAccount, no leader election (as the
  chart's default).

The scheduler then binds a PodGroup's pods (label ``scheduling.x-k8s.io/pod-group``, ``schedulerName:
scheduler-plugins-scheduler``) only when ``minMember`` of them can be placed together (Permit holds the ones that
fit until the quorum is reached; a member that fits nowhere rejects the whole group in PostFilter); the controller
writes the PodGroups' status (phase Pending, Scheduling, Running, Finished or Failed; running/succeeded/failed).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from aiconform.labcluster import stackutil

NAMESPACE = "scheduler-plugins"
SCHEDULER = "scheduler-plugins-scheduler"  # the Deployment, its ServiceAccount and the profile's schedulerName
CONTROLLER = "scheduler-plugins-controller"
SCHEDULER_NAME = SCHEDULER
CONFIGMAP = "scheduler-config"
CONF_DIR = "/etc/kubernetes"
CONF_FILE = "scheduler-config.yaml"
SECURE_PORT = 10259  # kube-scheduler's default secure port (its /healthz)
PROBE_PORT = 8081  # the controller's --probeAddr default
PERMIT_WAITING_SECONDS = 10  # the chart's pluginConfig (the plugin's default is 60)
GANG_PLUGIN = "Coscheduling"


def scheduler_config(without: tuple[str, ...] = ()) -> str:
    """The KubeSchedulerConfiguration's text; ``without`` drops plugins (a misconfigured scheduler, for the tests).
    Without Coscheduling the profile keeps the default PrioritySort (a profile needs exactly one QueueSort)."""
    enabled = [p for p in (GANG_PLUGIN,) if p not in without]
    multipoint: dict[str, Any] = {"enabled": [{"name": p} for p in enabled]}
    if GANG_PLUGIN in enabled:
        multipoint["disabled"] = [{"name": "PrioritySort"}]
    profile: dict[str, Any] = {"schedulerName": SCHEDULER_NAME, "plugins": {"multiPoint": multipoint}}
    if GANG_PLUGIN in enabled:
        profile["pluginConfig"] = [{"name": GANG_PLUGIN,
                                    "args": {"permitWaitingTimeSeconds": PERMIT_WAITING_SECONDS}}]
    conf = {"apiVersion": "kubescheduler.config.k8s.io/v1", "kind": "KubeSchedulerConfiguration",
            "leaderElection": {"leaderElect": False}, "profiles": [profile]}
    return yaml.safe_dump(conf, sort_keys=False)


def pin(name: str = "scheduler-plugins-scheduler") -> dict[str, Any]:
    return stackutil.pin(name)


image = stackutil.image


def _deployment(name: str, controller: str, container: dict[str, Any], labels: dict[str, str],
                volumes: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "namespace": NAMESPACE, "labels": labels},
        "spec": {"replicas": 1, "selector": {"matchLabels": labels},
                 "template": {"metadata": {"labels": labels}, "spec": {
                     "serviceAccountName": name,
                     "tolerations": [{"operator": "Exists"}],
                     "containers": [{"name": name, "image": image(controller),
                                     "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}}, **container}],
                     **({"volumes": volumes} if volumes else {})}}}}


def objects() -> list[tuple[str, dict[str, Any]]]:
    """(collection path, object) for everything but the CRDs, in creation order."""
    ns = NAMESPACE
    common = {"app.kubernetes.io/part-of": "scheduler-plugins", "app.kubernetes.io/version": str(pin()["version"]),
              "app.kubernetes.io/managed-by": "aiconform-lab"}
    scheduler = _deployment(SCHEDULER, "scheduler-plugins-scheduler", {
        "command": ["/bin/kube-scheduler"],
        "args": [f"--config={CONF_DIR}/{CONF_FILE}", "-v=3"],
        "readinessProbe": {"httpGet": {"path": "/healthz", "port": SECURE_PORT, "scheme": "HTTPS"}},
        "volumeMounts": [{"name": "scheduler-config", "mountPath": CONF_DIR, "readOnly": True}]},
        {**common, "component": "scheduler"},
        volumes=[{"name": "scheduler-config", "configMap": {"name": CONFIGMAP}}])
    controller = _deployment(CONTROLLER, "scheduler-plugins-controller", {
        "args": [f"--probeAddr=:{PROBE_PORT}"],
        "readinessProbe": {"httpGet": {"path": "/readyz", "port": PROBE_PORT}}},
        {**common, "app": CONTROLLER})
    out: list[tuple[str, dict[str, Any]]] = [
        ("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})]
    for sa in (SCHEDULER, CONTROLLER):
        out.append((f"/api/v1/namespaces/{ns}/serviceaccounts",
                    {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": sa, "namespace": ns}}))
    out += [
        ("/apis/rbac.authorization.k8s.io/v1/clusterrolebindings",
         {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
          "metadata": {"name": "aiconform-lab-scheduler-plugins"},
          "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
          "subjects": [{"kind": "ServiceAccount", "name": sa, "namespace": ns} for sa in (SCHEDULER, CONTROLLER)]}),
        (f"/api/v1/namespaces/{ns}/configmaps",
         {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": CONFIGMAP, "namespace": ns},
          "data": {CONF_FILE: scheduler_config()}}),
        (f"/apis/apps/v1/namespaces/{ns}/deployments", controller),
        (f"/apis/apps/v1/namespaces/{ns}/deployments", scheduler),
    ]
    return out


def crds(manifests: Path) -> list[dict[str, Any]]:
    return stackutil.read_crds(manifests, "coscheduling")


def install(api: Any, manifests: Path, timeout: float = 60) -> dict[str, Any]:
    """Apply the stack (see the module's doc); returns what ``lab.json`` says about it."""
    names = stackutil.apply_crds(api, crds(manifests), "scheduler-plugins", timeout)
    for path, obj in objects():
        api.create(path, obj)
    p = pin()
    return {"coscheduling": {
        "version": p["version"], "deviation": " ".join(str(p.get("deviation", "")).split()),
        "module": f"{p['module']} (packages {p['package']}, {pin('scheduler-plugins-controller')['package']})",
        "runs_as": f"Deployments {NAMESPACE}/{SCHEDULER} (image {image('scheduler-plugins-scheduler')}) and "
                   f"{NAMESPACE}/{CONTROLLER} (image {image('scheduler-plugins-controller')}): the pod runner runs "
                   "the binaries built from the module, in-cluster config, no leader election",
        "scheduler_name": SCHEDULER_NAME,
        "scheduler_config": f"ConfigMap {NAMESPACE}/{CONFIGMAP} (profile {SCHEDULER_NAME}: multiPoint "
                            f"{GANG_PLUGIN}, PrioritySort disabled; permitWaitingTimeSeconds {PERMIT_WAITING_SECONDS})",
        "crds": sorted(names)}}


def ready(api: Any) -> str | None:
    """None once both Deployments have a Ready pod."""
    return stackutil.deployment_unready(api, NAMESPACE, CONTROLLER, SCHEDULER)
