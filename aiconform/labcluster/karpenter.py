"""The ``karpenter`` stack: Karpenter's kwok provider (``sigs.k8s.io/karpenter/kwok``, lab.controllers.karpenter)
runs for real and decides the lab's autoscaling.

At ``lab up --stack karpenter`` the lab's machine (node.py) applies, through the API server:

- the CRDs controller-gen generated at build time from the module's API packages (``lab_home()/manifests/
  karpenter-<version>/crds``: NodePool, NodeClaim, NodeOverlay, CapacityBuffer, KWOKNodeClass);
- namespace ``karpenter``: ServiceAccount ``karpenter`` (bound to ``cluster-admin``: the lab does not reproduce the
  chart's ClusterRoles), ConfigMap ``karpenter-instance-types`` (``INSTANCE_TYPES_FILE_PATH``: GPU instance types of
  our own, shaped as upstream's kwok example with ``nvidia.com/gpu``), and Deployment ``karpenter`` whose image is
  ``lab.controllers.karpenter.pod_image``: the pod runner (pods.py) backs its pod with the binary built from the
  module, in-cluster config from the pod's ServiceAccount, ``--disable-leader-election``;
- KWOKNodeClass ``default`` (its status marked Ready by the lab: the kwok provider has no NodeClass controller) and
  NodePool ``gpu`` (the GPU instance types, taint ``nvidia.com/gpu=present:NoSchedule``,
  ``limits`` on ``nvidia.com/gpu``, empty nodes consolidated after ``consolidateAfter``).

Karpenter then does everything itself: NodeClaims for pending pods, Nodes created directly (annotated
``kwok.x-k8s.io/node=fake``, so the lab's kwok makes them Ready), registration, consolidation and deletion.
"""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from aiconform.labcluster import stackutil

NAME = "karpenter"
NAMESPACE = "karpenter"
NODEPOOL = "gpu"
NODECLASS = "default"
INSTANCE_TYPES_CM = "karpenter-instance-types"
INSTANCE_TYPES_PATH = "/etc/karpenter/instance-types.json"
GPU_LIMIT = 4  # NodePool limits: at most this many nvidia.com/gpu across the pool's nodes
CONSOLIDATE_AFTER = "5s"
ZONE = "lab-a"


def _offering(price: float) -> dict[str, Any]:
    """An offering as the provider parses it (``KWOKOffering``: cloudprovider.Offering's exported fields and the
    offering's requirements), the shape of its embedded ``kwok/cloudprovider/instance_types.json``. (The
    ``capacityType``/``zone``/``price`` keys of ``kwok/examples/instance_types.json`` are not read: an offering
    without requirements matches no NodePool.)"""
    return {"Price": price, "Available": True, "Requirements": [
        {"key": "karpenter.sh/capacity-type", "operator": "In", "values": ["on-demand"]},
        {"key": "topology.kubernetes.io/zone", "operator": "In", "values": [ZONE]}]}


# Our own instance catalogue (upstream's kwok example lists g5.4xlarge with one nvidia.com/gpu; these are not cloud
# types): the single-GPU type is the cheapest, so a pending one-GPU pod gets a one-GPU node.
INSTANCE_TYPES: list[dict[str, Any]] = [
    {"name": "lab-gpu1.2xlarge", "offerings": [_offering(1.0)], "architecture": "amd64",
     "operatingSystems": ["linux"],
     "resources": {"cpu": "8", "memory": "32Gi", "ephemeral-storage": "200Gi", "nvidia.com/gpu": "1"}},
    {"name": "lab-gpu4.8xlarge", "offerings": [_offering(3.6)], "architecture": "amd64",
     "operatingSystems": ["linux"],
     "resources": {"cpu": "32", "memory": "128Gi", "ephemeral-storage": "800Gi", "nvidia.com/gpu": "4"}},
    {"name": "lab-cpu.xlarge", "offerings": [_offering(0.2)], "architecture": "amd64", "operatingSystems": ["linux"],
     "resources": {"cpu": "4", "memory": "16Gi", "ephemeral-storage": "100Gi"}},
]
GPU_TYPES = [t["name"] for t in INSTANCE_TYPES if "nvidia.com/gpu" in t["resources"]]


def pin() -> dict[str, Any]:
    return stackutil.pin(NAME)


def image() -> str:
    return stackutil.image(NAME)


def nodepool(limit: int = GPU_LIMIT) -> dict[str, Any]:
    return {"apiVersion": "karpenter.sh/v1", "kind": "NodePool", "metadata": {"name": NODEPOOL},
            "spec": {
                "template": {
                    "metadata": {"labels": {"nvidia.com/gpu.present": "true", "aiconform.io/pool": "karpenter-gpu"}},
                    "spec": {
                        "requirements": [
                            {"key": "node.kubernetes.io/instance-type", "operator": "In", "values": GPU_TYPES},
                            {"key": "kubernetes.io/arch", "operator": "In", "values": ["amd64"]},
                            {"key": "kubernetes.io/os", "operator": "In", "values": ["linux"]},
                            {"key": "karpenter.sh/capacity-type", "operator": "In", "values": ["on-demand"]}],
                        "nodeClassRef": {"group": "karpenter.kwok.sh", "kind": "KWOKNodeClass", "name": NODECLASS},
                        "taints": [{"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}],
                        "expireAfter": "Never"}},
                "limits": {"nvidia.com/gpu": str(limit)},
                "disruption": {"consolidationPolicy": "WhenEmpty", "consolidateAfter": CONSOLIDATE_AFTER,
                               "budgets": [{"nodes": "100%"}]}}}


def objects() -> list[tuple[str, dict[str, Any]]]:
    """(collection path, object) for everything but the CRDs, in creation order."""
    ns = NAMESPACE
    labels = {"app.kubernetes.io/name": NAME, "app.kubernetes.io/instance": NAME,
              "app.kubernetes.io/version": str(pin()["version"]), "app.kubernetes.io/managed-by": "aiconform-lab"}
    deployment = {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": NAME, "namespace": ns, "labels": labels},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app.kubernetes.io/name": NAME}},
                 "template": {"metadata": {"labels": labels}, "spec": {
                     "serviceAccountName": NAME,
                     # wherever the scheduler puts it (the lab's control-plane node included), never on its own nodes
                     "tolerations": [{"operator": "Exists"}],
                     "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
                         "nodeSelectorTerms": [{"matchExpressions": [
                             {"key": "karpenter.sh/nodepool", "operator": "DoesNotExist"}]}]}}},
                     "containers": [{
                         "name": "controller", "image": image(),
                         "args": ["--disable-leader-election"],
                         "env": [{"name": "SYSTEM_NAMESPACE", "valueFrom": {"fieldRef": {
                                     "fieldPath": "metadata.namespace"}}},
                                 {"name": "KARPENTER_SERVICE", "value": NAME},
                                 {"name": "KUBERNETES_MIN_VERSION", "value": "1.19.0-0"},
                                 {"name": "INSTANCE_TYPES_FILE_PATH", "value": INSTANCE_TYPES_PATH},
                                 {"name": "METRICS_PORT", "value": "8080"},
                                 {"name": "HEALTH_PROBE_PORT", "value": "8081"},
                                 # the lab's scale-up answers in seconds: a short batching window
                                 {"name": "BATCH_IDLE_DURATION", "value": "1s"},
                                 {"name": "BATCH_MAX_DURATION", "value": "3s"}],
                         "ports": [{"name": "http-metrics", "containerPort": 8080},
                                   {"name": "http", "containerPort": 8081}],
                         "readinessProbe": {"httpGet": {"path": "/readyz", "port": 8081}},
                         "resources": {"requests": {"cpu": "100m", "memory": "256Mi"}},
                         "volumeMounts": [{"name": "instance-types", "mountPath": str(Path(INSTANCE_TYPES_PATH).parent),
                                           "readOnly": True}]}],
                     "volumes": [{"name": "instance-types", "configMap": {"name": INSTANCE_TYPES_CM}}]}}}}
    return [
        *stackutil.controller_identity(ns, NAME, "aiconform-lab-karpenter"),
        (f"/api/v1/namespaces/{ns}/configmaps",
         {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": INSTANCE_TYPES_CM, "namespace": ns},
          "data": {Path(INSTANCE_TYPES_PATH).name: json.dumps(INSTANCE_TYPES, indent=1)}}),
        ("/apis/karpenter.kwok.sh/v1alpha1/kwoknodeclasses",
         {"apiVersion": "karpenter.kwok.sh/v1alpha1", "kind": "KWOKNodeClass", "metadata": {"name": NODECLASS}}),
        ("/apis/karpenter.sh/v1/nodepools", nodepool()),
        (f"/apis/apps/v1/namespaces/{ns}/deployments", deployment),
    ]


def crds(manifests: Path) -> list[dict[str, Any]]:
    """controller-gen's CRDs with upstream's post-generation edits (``upstream_fixups``)."""
    return stackutil.read_crds(manifests, "karpenter", upstream_fixups)


# Upstream does not ship controller-gen's output as is: `make verify` runs hack/validation/{requirements,taint,
# status}.sh (yq edits) over pkg/apis/crds. These are the edits that *widen* the schema, without which valid objects
# are refused: the requirement operators of corev1 unioned into the field's own Gte/Lte enum (controller-gen keeps only
# the field's), the taint effects, and NodeClaim conditions whose reason and message may be empty (Karpenter writes
# such conditions). Upstream's narrowing edits (label/taint key patterns, restricted label domains) are not repeated.
_OPERATORS = ["In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt"]
_EFFECTS = ["NoSchedule", "PreferNoSchedule", "NoExecute"]
_REQUIREMENTS = {"nodeclaims.karpenter.sh": ("spec", "requirements"),
                 "nodepools.karpenter.sh": ("spec", "template", "spec", "requirements"),
                 "nodeoverlays.karpenter.sh": ("spec", "requirements")}
_TAINTS = {"nodeclaims.karpenter.sh": ("spec",), "nodepools.karpenter.sh": ("spec", "template", "spec")}


def _at(schema: dict[str, Any], path: tuple[str, ...]) -> dict[str, Any] | None:
    for key in path:
        schema = (schema.get("properties") or {}).get(key) or {}
        if schema.get("type") == "array":
            schema = schema.get("items") or {}
    return schema or None


def upstream_fixups(crd: dict[str, Any]) -> dict[str, Any]:
    name = (crd.get("metadata") or {}).get("name")
    for version in (crd.get("spec") or {}).get("versions") or []:
        root = (version.get("schema") or {}).get("openAPIV3Schema") or {}
        req = _at(root, _REQUIREMENTS.get(name, ("-",)))
        op = _at(req, ("operator",)) if req else None
        if op is not None and "enum" in op:
            op["enum"] = [*op["enum"], *(o for o in _OPERATORS if o not in op["enum"])]
        for field in ("taints", "startupTaints"):
            base = _TAINTS.get(name)
            effect = _at(root, (*base, field, "effect")) if base else None
            if effect is not None and "enum" not in effect:
                effect["enum"] = list(_EFFECTS)
        if name == "nodeclaims.karpenter.sh":
            cond = _at(root, ("status", "conditions"))
            if cond:
                reason = (cond.get("properties") or {}).get("reason") or {}
                reason.pop("minLength", None)
                reason["pattern"] = "^([A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?|)$"
                cond["required"] = ["lastTransitionTime", "status", "type"]
    return crd


def nodeclass_ready(api: Any, nodeclass: dict[str, Any]) -> None:
    """Mark the KWOKNodeClass Ready, as a provider's NodeClass controller would (AWS's checks subnets, images...):
    v1.14.1's kwok provider has none (nothing under kwok/ writes the status). Until it is Ready, Karpenter's NodePool
    readiness controller keeps the NodePool NotReady (NodeClassReadinessUnknown) and provisions nothing."""
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    gen = int(nodeclass.get("metadata", {}).get("generation") or 1)
    body = {"status": {"conditions": [{"type": "Ready", "status": "True", "reason": "Ready", "message": "",
                                       "lastTransitionTime": now, "observedGeneration": gen}]}}
    status, out = api.request("PATCH", f"/apis/karpenter.kwok.sh/v1alpha1/kwoknodeclasses/{NODECLASS}/status", body,
                              content_type="application/merge-patch+json")
    if status >= 300:
        raise RuntimeError(f"cannot mark KWOKNodeClass {NODECLASS} Ready: {status} {out}")


def install(api: Any, manifests: Path, timeout: float = 60) -> dict[str, Any]:
    """Apply the stack (see the module's doc); returns what ``lab.json`` says about it."""
    names = stackutil.apply_crds(api, crds(manifests), "Karpenter", timeout)
    for path, obj in objects():
        created = api.create(path, obj)
        if obj["kind"] == "KWOKNodeClass":
            nodeclass_ready(api, created)
    p = pin()
    return {"karpenter": {
        "version": p["version"], "module": f"{p['module']} (package {p['package']})",
        "runs_as": f"Deployment {NAMESPACE}/{NAME} (image {image()}): the pod runner runs the binary built from "
                   "the module, in-cluster config, --disable-leader-election",
        "crds": sorted(names), "nodeclass": f"KWOKNodeClass {NODECLASS}",
        "nodepool": f"NodePool {NODEPOOL}: {', '.join(GPU_TYPES)}; limits nvidia.com/gpu={GPU_LIMIT}; "
                    f"consolidateAfter {CONSOLIDATE_AFTER}",
        "instance_types": f"ConfigMap {NAMESPACE}/{INSTANCE_TYPES_CM} ({', '.join(t['name'] for t in INSTANCE_TYPES)})"}}


def ready(api: Any) -> str | None:
    """None once Karpenter's pod is Ready and it has judged NodePool ``gpu`` Ready; else what is missing."""
    unready = stackutil.deployment_unready(api, NAMESPACE, NAME)
    if unready:
        return unready
    status, np = api.request("GET", f"/apis/karpenter.sh/v1/nodepools/{NODEPOOL}")
    conds = {c.get("type"): c for c in ((np or {}).get("status") or {}).get("conditions") or []} if status == 200 else {}
    if (conds.get("Ready") or {}).get("status") != "True":
        why = "; ".join(f"{t}={c.get('status')} {c.get('reason', '')}" for t, c in conds.items()) or "no conditions yet"
        return f"NodePool {NODEPOOL} not Ready ({why})"
    return None
