"""The ``volcano`` stack: Volcano's scheduler, controller-manager and webhook-manager (``volcano.sh/volcano``,
lab.controllers.volcano-scheduler / volcano-controller-manager / volcano-webhook-manager) run for real and decide the
lab's gang scheduling, and Volcano's own admission webhooks validate and mutate what is written.

At ``lab up --stack volcano`` the lab's machine (node.py) applies, through the API server:

- the CRDs controller-gen generated at build time from volcano.sh/apis (``lab_home()/manifests/
  volcano-scheduler-<version>/crds``, upstream's ``manifests`` list: PodGroup and Queue (scheduling.volcano.sh),
  Job and CronJob (batch.volcano.sh), Command, Numatopology, HyperNode, NodeShard, ColocationConfiguration);
- namespace ``volcano-system``: ServiceAccount ``volcano`` (bound to ``cluster-admin``: the lab does not reproduce
  the chart's ClusterRoles), ConfigMap ``volcano-scheduler-configmap`` with a scheduler configuration of our own
  (``SCHEDULER_CONF``: actions enqueue, allocate, backfill; plugins priority, gang, conformance / drf, predicates,
  proportion, nodeorder, the plugins of upstream's default), and Deployments ``volcano-scheduler`` and
  ``volcano-controllers`` whose images are upstream's (``pod_image``): the pod runner (pods.py) backs their pods with
  the binaries built from the module, in-cluster config from the pod's ServiceAccount, ``--leader-elect=false``;
- the admission webhooks, as upstream's Helm chart (installer/helm/chart/volcano, templates admission.yaml,
  admission-init.yaml, webhooks.yaml) lays them out, written here from what it shows: Secret
  ``volcano-admission-secret`` (``ca.crt``, ``tls.crt``, ``tls.key``: a CA of its own and the serving certificate
  of ``volcano-admission-service.volcano-system.svc``, as the chart's admission-init job's gen-admission-secret.sh
  makes them; issued by the lab's PKI, pki.webhook_serving), ConfigMap ``volcano-admission-configmap`` (an empty
  admission configuration, as the chart's default), Service ``volcano-admission-service`` (443 → 8443), the
  chart's webhook configurations for its default ``enabled_admissions`` (``ENABLED_ADMISSIONS``: jobs mutate and
  validate, podgroups validate, queues mutate and validate, hypernodes and cronjobs validate; ``failurePolicy:
  Fail``, the namespaces volcano-system and kube-system left out) without a ``caBundle``, and Deployment
  ``volcano-admission`` (image ``volcanosh/vc-webhook-manager``) with the chart's arguments. The webhook-manager
  does not register the configurations itself (v1.14.1 cmd/webhook-manager/app/util.go): at start it waits for
  ``volcano-admission-service-<path>`` of each enabled admission and writes its ``--ca-cert-file`` into their
  ``caBundle``, then serves. The API server calls it at the Service's endpoint (the pod's address; no kube-proxy).

The lab creates no Queue: the real scheduler creates Queues ``root`` and ``default`` at start (retrying for a
minute, pkg/scheduler/cache newDefaultAndRootQueue), through the real queue webhooks, and the controller-manager's
queue controller opens them. Volcano then does everything itself: the scheduler (``schedulerName: volcano``)
enqueues PodGroups and binds their pods only when ``minMember`` of them fit (the ``gang`` plugin); the
controller-manager's queue and PodGroup controllers keep the Queues' state and create PodGroups for volcano pods that
name none; the webhook-manager rejects a PodGroup or vcjob whose queue does not exist or is not Open, a vcjob whose
``minAvailable`` exceeds its replicas, and defaults vcjobs (queue, scheduler name, minAvailable).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from aiconform.labcluster import pki, stackutil

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

# The admission webhooks, named as upstream's chart names them (release ``volcano``)
ADMISSION = "volcano-admission"
ADMISSION_SERVICE = "volcano-admission-service"
ADMISSION_SECRET = "volcano-admission-secret"
ADMISSION_CONFIGMAP = "volcano-admission-configmap"
ADMISSION_CONF_FILE = "volcano-admission.conf"
ADMISSION_PORT = 8443
ADMISSION_CERTS = "/admission.local.config/certificates"
ADMISSION_CONF_DIR = "/admission.local.config/configmap"
# the chart's default custom.enabled_admissions (v1.14.1 values.yaml): also its webhook configurations
ENABLED_ADMISSIONS = ("/jobs/mutate", "/jobs/validate", "/podgroups/validate", "/queues/mutate", "/queues/validate",
                      "/hypernodes/validate", "/cronjobs/validate")
# path -> (webhook name, API group, version, resource, operations), as the chart's webhooks.yaml registers them
WEBHOOKS: dict[str, tuple[str, str, str, str, tuple[str, ...]]] = {
    "/jobs/mutate": ("mutatejob.volcano.sh", "batch.volcano.sh", "v1alpha1", "jobs", ("CREATE",)),
    "/jobs/validate": ("validatejob.volcano.sh", "batch.volcano.sh", "v1alpha1", "jobs", ("CREATE", "UPDATE")),
    "/podgroups/validate": ("validatepodgroup.volcano.sh", "scheduling.volcano.sh", "v1beta1", "podgroups",
                            ("CREATE",)),
    "/queues/mutate": ("mutatequeue.volcano.sh", "scheduling.volcano.sh", "v1beta1", "queues", ("CREATE",)),
    "/queues/validate": ("validatequeue.volcano.sh", "scheduling.volcano.sh", "v1beta1", "queues",
                         ("CREATE", "UPDATE", "DELETE")),
    "/hypernodes/validate": ("validatehypernodes.volcano.sh", "topology.volcano.sh", "v1alpha1", "hypernodes",
                             ("CREATE", "UPDATE")),
    "/cronjobs/validate": ("validatecronjob.volcano.sh", "batch.volcano.sh", "v1alpha1", "cronjobs",
                           ("CREATE", "UPDATE")),
}

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
    return stackutil.pin(name)


image = stackutil.image


def _deployment(name: str, controller: str, args: list[str], labels: dict[str, str],
                mounts: list[dict[str, Any]] | None = None, volumes: list[dict[str, Any]] | None = None,
                *, common: bool = True, scheme: str = "HTTP", ports: tuple[tuple[str, int], ...] = ()
                ) -> dict[str, Any]:
    """``common``: the scheduler's and controller-manager's flags (the webhook-manager has no leader election)."""
    lab = {**labels, "app": name}
    flags = ["--leader-elect=false", "--enable-healthz=true", f"--healthz-address=:{HEALTHZ_PORT}", "--logtostderr",
             "-v=2"] if common else []
    return {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "namespace": NAMESPACE, "labels": lab},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": name}},
                 "template": {"metadata": {"labels": lab}, "spec": {
                     "serviceAccountName": SERVICE_ACCOUNT,
                     "tolerations": [{"operator": "Exists"}],
                     "containers": [{
                         "name": name, "image": image(controller),
                         "args": [*args, *flags],
                         "ports": [*({"name": n, "containerPort": p} for n, p in ports),
                                   {"name": "healthz", "containerPort": HEALTHZ_PORT}],
                         "readinessProbe": {"httpGet": {"path": "/healthz", "port": HEALTHZ_PORT,
                                                        **({"scheme": scheme} if scheme != "HTTP" else {})}},
                         "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}},
                         **({"volumeMounts": mounts} if mounts else {})}],
                     **({"volumes": volumes} if volumes else {})}}}}


def admission_tls(pki_dir: Path) -> dict[str, bytes]:
    """The admission Secret's data (``ca.crt``, ``tls.crt``, ``tls.key``), from the lab's PKI."""
    return pki.webhook_serving(pki_dir, "volcano-admission", ADMISSION_SERVICE, NAMESPACE)


def webhook_configurations() -> list[tuple[str, dict[str, Any]]]:
    """(collection path, object): the chart's webhook configuration per enabled admission, ``volcano-admission-
    service-<path>`` (the name the webhook-manager looks for), no ``caBundle`` (the webhook-manager writes it)."""
    out = []
    for path in ENABLED_ADMISSIONS:
        name, group, version, resource, ops = WEBHOOKS[path]
        mutating = path.endswith("/mutate")
        kind = "MutatingWebhookConfiguration" if mutating else "ValidatingWebhookConfiguration"
        namespaced = resource != "hypernodes"  # the chart's hypernodes webhook has no namespaceSelector
        hook: dict[str, Any] = {
            "name": name, "admissionReviewVersions": ["v1"],
            "clientConfig": {"service": {"name": ADMISSION_SERVICE, "namespace": NAMESPACE, "path": path,
                                         "port": 443}},
            "failurePolicy": "Fail", "matchPolicy": "Equivalent",
            "rules": [{"apiGroups": [group], "apiVersions": [version], "operations": list(ops),
                       "resources": [resource], **({"scope": "*"} if namespaced else {})}],
            "sideEffects": "NoneOnDryRun" if namespaced else "None", "timeoutSeconds": 10}
        if namespaced:
            hook["namespaceSelector"] = {"matchExpressions": [{"key": "kubernetes.io/metadata.name",
                                                               "operator": "NotIn",
                                                               "values": [NAMESPACE, "kube-system"]}]}
            hook["objectSelector"] = {}
        if mutating:
            hook["reinvocationPolicy"] = "Never"
        out.append((f"/apis/admissionregistration.k8s.io/v1/{kind.lower()}s",
                    {"apiVersion": "admissionregistration.k8s.io/v1", "kind": kind,
                     "metadata": {"name": "volcano-admission-service" + path.replace("/", "-")},
                     "webhooks": [hook]}))
    return out


def objects(tls: dict[str, bytes]) -> list[tuple[str, dict[str, Any]]]:
    """(collection path, object) for everything but the CRDs, in creation order; ``tls``: the admission Secret's
    data (``admission_tls``). The webhook configurations come before the Deployments, so that what Volcano writes
    at start (the scheduler's Queues) goes through the webhooks too."""
    import base64

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
    # the chart's admission container arguments (admission.yaml; admission_log_level 4), and a readiness probe of
    # the lab's own on the webhook-manager's health endpoint (HTTPS with the serving certificate, port 11251)
    admission = _deployment(
        ADMISSION, "volcano-webhook-manager",
        [f"--enabled-admission={','.join(ENABLED_ADMISSIONS)}", f"--tls-cert-file={ADMISSION_CERTS}/tls.crt",
         f"--tls-private-key-file={ADMISSION_CERTS}/tls.key", f"--ca-cert-file={ADMISSION_CERTS}/ca.crt",
         f"--admission-conf={ADMISSION_CONF_DIR}/{ADMISSION_CONF_FILE}", f"--webhook-namespace={ns}",
         f"--webhook-service-name={ADMISSION_SERVICE}", "--enable-healthz=true", "--logtostderr",
         f"--port={ADMISSION_PORT}", "-v=4"], labels,
        mounts=[{"name": "admission-certs", "mountPath": ADMISSION_CERTS, "readOnly": True},
                {"name": "admission-config", "mountPath": ADMISSION_CONF_DIR}],
        volumes=[{"name": "admission-certs", "secret": {"defaultMode": 420, "secretName": ADMISSION_SECRET}},
                 {"name": "admission-config", "configMap": {"name": ADMISSION_CONFIGMAP}}],
        common=False, scheme="HTTPS", ports=(("https", ADMISSION_PORT),))
    return [
        *stackutil.controller_identity(ns, SERVICE_ACCOUNT, "aiconform-lab-volcano"),
        (f"/api/v1/namespaces/{ns}/configmaps",
         {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": CONFIGMAP, "namespace": ns},
          "data": {CONF_FILE: scheduler_conf()}}),
        (f"/api/v1/namespaces/{ns}/configmaps",
         {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": ADMISSION_CONFIGMAP, "namespace": ns},
          "data": {ADMISSION_CONF_FILE: "# no resourceGroups (the chart's default admission configuration)\n"}}),
        (f"/api/v1/namespaces/{ns}/secrets",
         {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": ADMISSION_SECRET, "namespace": ns},
          "type": "Opaque", "data": {k: base64.b64encode(v).decode() for k, v in sorted(tls.items())}}),
        (f"/api/v1/namespaces/{ns}/services",
         {"apiVersion": "v1", "kind": "Service",
          "metadata": {"name": ADMISSION_SERVICE, "namespace": ns, "labels": {"app": ADMISSION}},
          "spec": {"selector": {"app": ADMISSION}, "sessionAffinity": "None",
                   "ports": [{"port": 443, "protocol": "TCP", "targetPort": ADMISSION_PORT}]}}),
        *webhook_configurations(),
        (f"/apis/apps/v1/namespaces/{ns}/deployments", admission),
        (f"/apis/apps/v1/namespaces/{ns}/deployments", controllers),
        (f"/apis/apps/v1/namespaces/{ns}/deployments", scheduler),
    ]


def crds(manifests: Path) -> list[dict[str, Any]]:
    return stackutil.read_crds(manifests, "volcano")


def install(api: Any, manifests: Path, pki_dir: Path, timeout: float = 60) -> dict[str, Any]:
    """Apply the stack (see the module's doc); returns what ``lab.json`` says about it. ``pki_dir``: the lab's PKI
    directory, where the admission Secret's certificates are issued."""
    names = stackutil.apply_crds(api, crds(manifests), "Volcano", timeout)
    for path, obj in objects(admission_tls(pki_dir)):
        api.create(path, obj)
    p = pin()
    return {"volcano": {
        "version": p["version"], "reference_version": p.get("reference_version"),
        "module": f"{p['module']} (packages {p['package']}, {pin('volcano-controller-manager')['package']}, "
                  f"{pin('volcano-webhook-manager')['package']})",
        "runs_as": f"Deployments {NAMESPACE}/{SCHEDULER} (image {image('volcano-scheduler')}), "
                   f"{NAMESPACE}/{CONTROLLERS} (image {image('volcano-controller-manager')}) and "
                   f"{NAMESPACE}/{ADMISSION} (image {image('volcano-webhook-manager')}): the pod runner runs "
                   "the binaries built from the module, in-cluster config, --leader-elect=false (scheduler, "
                   "controller-manager)",
        "scheduler_name": SCHEDULER_NAME,
        "scheduler_conf": f"ConfigMap {NAMESPACE}/{CONFIGMAP} (actions {SCHEDULER_CONF['actions']}; plugins "
                          + ", ".join(pl["name"] for t in SCHEDULER_CONF["tiers"] for pl in t["plugins"]) + ")",
        "queue": f"Queue {QUEUE} (created by the scheduler, opened by the controller-manager)",
        "admission": {"enabled": list(ENABLED_ADMISSIONS), "service": f"{NAMESPACE}/{ADMISSION_SERVICE}",
                      "secret": f"{NAMESPACE}/{ADMISSION_SECRET} (the lab's PKI: a CA of its own and the serving "
                                f"certificate of {ADMISSION_SERVICE}.{NAMESPACE}.svc)",
                      "configurations": [obj["metadata"]["name"] for _p, obj in webhook_configurations()]},
        "crds": sorted(names)}}


def ready(api: Any) -> str | None:
    """None once the three Deployments have a Ready pod, the webhook-manager has written its CA into every webhook
    configuration, and Queue ``default`` (created by the scheduler through the queue webhooks) is Open."""
    unready = stackutil.deployment_unready(api, NAMESPACE, ADMISSION, CONTROLLERS, SCHEDULER)
    if unready:
        return unready
    for path, obj in webhook_configurations():
        name = obj["metadata"]["name"]
        status, cfg = api.request("GET", f"{path}/{name}")
        hooks = ((cfg or {}).get("webhooks") or []) if status == 200 else []
        if not hooks or not all((h.get("clientConfig") or {}).get("caBundle") for h in hooks):
            return f"{obj['kind']} {name} has no caBundle yet (the webhook-manager writes it at start)"
    status, q = api.request("GET", f"/apis/scheduling.volcano.sh/v1beta1/queues/{QUEUE}")
    state = ((q or {}).get("status") or {}).get("state") if status == 200 else None
    if state != "Open":
        return f"Queue {QUEUE} is not Open (state {state!r})"
    return None
