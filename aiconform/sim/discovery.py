"""Resource registry of the simulator: built-in kinds, CRDs registered at run time, discovery and OpenAPI v3.

Objects are stored per (group, plural) whatever version they were written in; a resource served at
several versions is presented in the requested one by rewriting ``apiVersion`` (no schema conversion).
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import Any

ALL_VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]
READ_VERBS = ["get", "list"]


@dataclass
class ResourceDef:
    group: str
    versions: list[str]  # served versions, preferred first
    plural: str
    kind: str
    namespaced: bool
    short_names: list[str] = field(default_factory=list)
    subresources: list[str] = field(default_factory=list)  # status, scale, log, ...
    categories: list[str] = field(default_factory=list)
    verbs: list[str] = field(default_factory=lambda: list(ALL_VERBS))
    singular: str = ""
    crd: bool = False
    scale_paths: tuple[str, str, str] = ("spec.replicas", "status.replicas", "status.selector")

    def __post_init__(self) -> None:
        if not self.singular:
            self.singular = self.kind.lower()

    @property
    def key(self) -> tuple[str, str]:
        return (self.group, self.plural)

    def api_version(self, version: str | None = None) -> str:
        v = version or self.versions[0]
        return f"{self.group}/{v}" if self.group else v


# Built-in kinds the project needs: (group, versions, plural, kind, namespaced, shortNames, subresources, categories)
_B = [
    ("", "v1", "namespaces", "Namespace", False, "ns", "status finalize", ""),
    ("", "v1", "pods", "Pod", True, "po",
     "status log binding eviction ephemeralcontainers resize attach exec portforward proxy", "all"),
    ("", "v1", "bindings", "Binding", True, "", "", ""),
    ("", "v1", "componentstatuses", "ComponentStatus", False, "cs", "", ""),
    ("", "v1", "services", "Service", True, "svc", "status proxy", "all"),
    ("", "v1", "configmaps", "ConfigMap", True, "cm", "", ""),
    ("", "v1", "secrets", "Secret", True, "", "", ""),
    ("", "v1", "nodes", "Node", False, "no", "status proxy", ""),
    ("", "v1", "events", "Event", True, "ev", "", ""),
    ("", "v1", "serviceaccounts", "ServiceAccount", True, "sa", "token", ""),
    ("", "v1", "endpoints", "Endpoints", True, "ep", "", ""),
    ("", "v1", "persistentvolumeclaims", "PersistentVolumeClaim", True, "pvc", "status", ""),
    ("", "v1", "persistentvolumes", "PersistentVolume", False, "pv", "status", ""),
    ("", "v1", "resourcequotas", "ResourceQuota", True, "quota", "status", ""),
    ("", "v1", "limitranges", "LimitRange", True, "limits", "", ""),
    ("", "v1", "replicationcontrollers", "ReplicationController", True, "rc", "status scale", "all"),
    ("", "v1", "podtemplates", "PodTemplate", True, "", "", ""),
    ("apps", "v1", "deployments", "Deployment", True, "deploy", "status scale", "all"),
    ("apps", "v1", "replicasets", "ReplicaSet", True, "rs", "status scale", "all"),
    ("apps", "v1", "statefulsets", "StatefulSet", True, "sts", "status scale", "all"),
    ("apps", "v1", "daemonsets", "DaemonSet", True, "ds", "status", "all"),
    ("apps", "v1", "controllerrevisions", "ControllerRevision", True, "", "", ""),
    ("batch", "v1", "jobs", "Job", True, "", "status", "all"),
    ("batch", "v1", "cronjobs", "CronJob", True, "cj", "status", "all"),
    ("autoscaling", "v2 v1", "horizontalpodautoscalers", "HorizontalPodAutoscaler", True, "hpa", "status", "all"),
    ("policy", "v1", "poddisruptionbudgets", "PodDisruptionBudget", True, "pdb", "status", ""),
    ("rbac.authorization.k8s.io", "v1", "roles", "Role", True, "", "", ""),
    ("rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding", True, "", "", ""),
    ("rbac.authorization.k8s.io", "v1", "clusterroles", "ClusterRole", False, "", "", ""),
    ("rbac.authorization.k8s.io", "v1", "clusterrolebindings", "ClusterRoleBinding", False, "", "", ""),
    ("apiextensions.k8s.io", "v1", "customresourcedefinitions", "CustomResourceDefinition", False, "crd crds", "status", "api-extensions"),
    ("admissionregistration.k8s.io", "v1", "validatingwebhookconfigurations", "ValidatingWebhookConfiguration", False, "", "", "api-extensions"),
    ("admissionregistration.k8s.io", "v1", "mutatingwebhookconfigurations", "MutatingWebhookConfiguration", False, "", "", "api-extensions"),
    ("admissionregistration.k8s.io", "v1", "validatingadmissionpolicies", "ValidatingAdmissionPolicy", False, "", "status", "api-extensions"),
    ("admissionregistration.k8s.io", "v1", "validatingadmissionpolicybindings", "ValidatingAdmissionPolicyBinding", False, "", "", "api-extensions"),
    ("apiregistration.k8s.io", "v1", "apiservices", "APIService", False, "", "status", "api-extensions"),
    ("coordination.k8s.io", "v1", "leases", "Lease", True, "", "", ""),
    ("discovery.k8s.io", "v1", "endpointslices", "EndpointSlice", True, "", "", ""),
    ("networking.k8s.io", "v1", "networkpolicies", "NetworkPolicy", True, "netpol", "", ""),
    ("networking.k8s.io", "v1", "ingresses", "Ingress", True, "ing", "status", ""),
    ("networking.k8s.io", "v1", "ingressclasses", "IngressClass", False, "", "", ""),
    ("node.k8s.io", "v1", "runtimeclasses", "RuntimeClass", False, "", "", ""),
    ("scheduling.k8s.io", "v1", "priorityclasses", "PriorityClass", False, "pc", "", ""),
    ("storage.k8s.io", "v1", "storageclasses", "StorageClass", False, "sc", "", ""),
    ("storage.k8s.io", "v1", "csidrivers", "CSIDriver", False, "", "", ""),
    ("storage.k8s.io", "v1", "csinodes", "CSINode", False, "", "", ""),
    ("storage.k8s.io", "v1", "volumeattachments", "VolumeAttachment", False, "", "status", ""),
    ("events.k8s.io", "v1", "events", "Event", True, "ev", "", ""),
    ("authorization.k8s.io", "v1", "selfsubjectaccessreviews", "SelfSubjectAccessReview", False, "", "", ""),
    ("authorization.k8s.io", "v1", "selfsubjectrulesreviews", "SelfSubjectRulesReview", False, "", "", ""),
    ("authorization.k8s.io", "v1", "subjectaccessreviews", "SubjectAccessReview", False, "", "", ""),
    ("authorization.k8s.io", "v1", "localsubjectaccessreviews", "LocalSubjectAccessReview", True, "", "", ""),
    ("authentication.k8s.io", "v1", "selfsubjectreviews", "SelfSubjectReview", False, "", "", ""),
    ("authentication.k8s.io", "v1", "tokenreviews", "TokenReview", False, "", "", ""),
    ("certificates.k8s.io", "v1", "certificatesigningrequests", "CertificateSigningRequest", False, "csr",
     "approval status", ""),
    ("flowcontrol.apiserver.k8s.io", "v1", "flowschemas", "FlowSchema", False, "", "status", ""),
    ("flowcontrol.apiserver.k8s.io", "v1", "prioritylevelconfigurations", "PriorityLevelConfiguration", False, "",
     "status", ""),
    ("networking.k8s.io", "v1", "ipaddresses", "IPAddress", False, "ip", "", ""),
    ("networking.k8s.io", "v1", "servicecidrs", "ServiceCIDR", False, "", "status", ""),
    ("storage.k8s.io", "v1", "csistoragecapacities", "CSIStorageCapacity", True, "", "", ""),
    ("storage.k8s.io", "v1", "volumeattributesclasses", "VolumeAttributesClass", False, "vac", "", ""),
]
CREATE_ONLY = ["create"]
# Resources whose verbs differ from the full set (as kube-apiserver's discovery lists them).
VERBS: dict[tuple[str, str], list[str]] = {
    ("", "namespaces"): ["create", "delete", "get", "list", "patch", "update", "watch"],
    ("", "bindings"): CREATE_ONLY,
    ("", "componentstatuses"): ["get", "list"],
    ("", "events"): ALL_VERBS, ("events.k8s.io", "events"): ALL_VERBS,
    **{("authorization.k8s.io", p): CREATE_ONLY for p in ("selfsubjectaccessreviews", "selfsubjectrulesreviews",
                                                          "subjectaccessreviews", "localsubjectaccessreviews")},
    ("authentication.k8s.io", "selfsubjectreviews"): CREATE_ONLY,
    ("authentication.k8s.io", "tokenreviews"): CREATE_ONLY,
}
PROXY_VERBS = ["create", "delete", "get", "patch", "update"]
# subresource -> (kind, verbs, group/version when not the parent's)
SUBRESOURCES: dict[str, tuple[str | None, list[str], str | None]] = {
    "status": (None, ["get", "patch", "update"], None),
    "scale": ("Scale", ["get", "patch", "update"], "autoscaling/v1"),
    "log": ("Pod", ["get"], None),
    "binding": ("Binding", CREATE_ONLY, None),
    "eviction": ("Eviction", CREATE_ONLY, "policy/v1"),
    "token": ("TokenRequest", CREATE_ONLY, "authentication.k8s.io/v1"),
    "finalize": ("Namespace", ["update"], None),
    "attach": ("PodAttachOptions", ["create", "get"], None),
    "exec": ("PodExecOptions", ["create", "get"], None),
    "portforward": ("PodPortForwardOptions", ["create", "get"], None),
    "proxy": (None, PROXY_VERBS, None),  # <Kind>ProxyOptions
    "approval": (None, ["get", "patch", "update"], None),
}

# resource.k8s.io: which versions a given Kubernetes minor serves by default (preferred first).
_DRA = [
    ("deviceclasses", "DeviceClass", False, "", ""),
    ("resourceclaims", "ResourceClaim", True, "", "status"),
    ("resourceclaimtemplates", "ResourceClaimTemplate", True, "", ""),
    ("resourceslices", "ResourceSlice", False, "", ""),
]


def dra_versions(minor: int) -> list[str]:
    if minor >= 35:  # the betas are off by default from 1.35 (as the lab's kube-apiserver v1.35 serves them)
        return ["v1"]
    if minor == 34:
        return ["v1", "v1beta2", "v1beta1"]
    if minor == 33:
        return ["v1beta2", "v1beta1"]
    if minor == 32:
        return ["v1beta1"]
    return ["v1alpha3"]


AGGREGATED_GROUPS = ("metrics.k8s.io", "custom.metrics.k8s.io", "external.metrics.k8s.io")

_VERSION_RE = re.compile(r"^v(\d+)(?:(alpha|beta)(\d+))?$")


def version_sort_key(v: str) -> tuple[int, int, int]:
    """Kubernetes version priority: GA > beta > alpha, higher numbers first (sort ascending on this key)."""
    m = _VERSION_RE.match(v)
    if not m:
        return (3, 0, 0)
    major, level, minor = int(m.group(1)), m.group(2), int(m.group(3) or 0)
    rank = {None: 0, "beta": 1, "alpha": 2}[level]
    return (rank, -major, -minor)


class Registry:
    """All served resources, indexed for path lookups and discovery."""

    def __init__(self, minor: int, aggregated: list[str] | tuple[str, ...] = ()) -> None:
        self.minor = minor
        self._by_key: dict[tuple[str, str], ResourceDef] = {}
        self.aggregated = list(aggregated)
        for g, vers, plural, kind, ns, short, subs, cats in _B:
            self.add(ResourceDef(g, vers.split(), plural, kind, ns, short.split(), subs.split(), cats.split(),
                                 verbs=list(VERBS.get((g, plural), ALL_VERBS))))
        for plural, kind, ns, short, subs in _DRA:
            self.add(ResourceDef("resource.k8s.io", dra_versions(minor), plural, kind, ns, short.split(), subs.split()))
        if "metrics.k8s.io" in self.aggregated:
            self.add(ResourceDef("metrics.k8s.io", ["v1beta1"], "nodes", "NodeMetrics", False, verbs=list(READ_VERBS)))
            self.add(ResourceDef("metrics.k8s.io", ["v1beta1"], "pods", "PodMetrics", True, verbs=list(READ_VERBS)))

    def add(self, rd: ResourceDef) -> None:
        self._by_key[rd.key] = rd

    def remove(self, group: str, plural: str) -> None:
        self._by_key.pop((group, plural), None)

    def get(self, group: str, plural: str) -> ResourceDef | None:
        return self._by_key.get((group, plural))

    def lookup(self, group: str, version: str, plural: str) -> ResourceDef | None:
        rd = self._by_key.get((group, plural))
        return rd if rd and version in rd.versions else None

    def by_kind(self, api_version: str, kind: str) -> ResourceDef | None:
        group, _, version = api_version.rpartition("/")
        for rd in self._by_key.values():
            if rd.group == group and rd.kind == kind and version in rd.versions:
                return rd
        return None

    def all(self) -> list[ResourceDef]:
        return list(self._by_key.values())

    def groups(self) -> dict[str, list[str]]:
        """group -> served versions, preferred first (custom/external metrics have no stored resources)."""
        out: dict[str, set[str]] = {}
        for rd in self._by_key.values():
            out.setdefault(rd.group, set()).update(rd.versions)
        for g in ("custom.metrics.k8s.io", "external.metrics.k8s.io"):
            if g in self.aggregated:
                out.setdefault(g, set()).add("v1beta1")
        return {g: sorted(vs, key=version_sort_key) for g, vs in out.items()}

    # ---- discovery documents ----
    def api_versions(self) -> dict[str, Any]:
        return {"kind": "APIVersions", "versions": ["v1"],
                "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1:6443"}]}

    def api_group(self, group: str) -> dict[str, Any] | None:
        versions = self.groups().get(group)
        if not versions:
            return None
        gvs = [{"groupVersion": f"{group}/{v}", "version": v} for v in versions]
        return {"kind": "APIGroup", "apiVersion": "v1", "name": group, "versions": gvs, "preferredVersion": gvs[0]}

    def api_group_list(self) -> dict[str, Any]:
        groups = [self.api_group(g) for g in sorted(self.groups()) if g]
        for g in groups:
            if g:
                g.pop("kind")
                g.pop("apiVersion")
        return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}

    def resource_list(self, group: str, version: str) -> dict[str, Any] | None:
        if version not in self.groups().get(group, []):
            return None
        gv = f"{group}/{version}" if group else version
        out: list[dict[str, Any]] = []
        for rd in sorted(self._by_key.values(), key=lambda r: r.plural):
            if rd.group != group or version not in rd.versions:
                continue
            entry: dict[str, Any] = {"name": rd.plural, "singularName": rd.singular, "namespaced": rd.namespaced,
                                     "kind": rd.kind, "verbs": rd.verbs}
            if rd.short_names:
                entry["shortNames"] = rd.short_names
            if rd.categories:
                entry["categories"] = rd.categories
            entry["storageVersionHash"] = hashlib.sha256(f"{gv}/{rd.kind}".encode()).hexdigest()[:12]
            out.append(entry)
            for sub in rd.subresources:
                kind, verbs, sub_gv = SUBRESOURCES.get(sub, (None, ["get", "patch", "update"], None))
                if sub == "proxy":
                    kind = f"{rd.kind}ProxyOptions"
                sub_entry: dict[str, Any] = {"name": f"{rd.plural}/{sub}", "singularName": "",
                                             "namespaced": rd.namespaced, "kind": kind or rd.kind, "verbs": verbs}
                if sub_gv:
                    sub_entry.update(group=sub_gv.split("/")[0], version=sub_gv.split("/")[1])
                out.append(sub_entry)
        if group == "custom.metrics.k8s.io":
            out = [{"name": "pods/*", "singularName": "", "namespaced": True, "kind": "MetricValueList", "verbs": ["get"]},
                   {"name": "namespaces/*", "singularName": "", "namespaced": False, "kind": "MetricValueList",
                    "verbs": ["get"]}]
        if group == "external.metrics.k8s.io":
            out = [{"name": "*", "singularName": "", "namespaced": True, "kind": "ExternalMetricValueList",
                    "verbs": ["get"]}]
        return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": out}

    def aggregated_discovery(self, core: bool) -> dict[str, Any]:
        """Aggregated discovery (apidiscovery.k8s.io/v2 APIGroupDiscoveryList) of ``/api`` or ``/apis``."""
        items = []
        for group, versions in sorted(self.groups().items()):
            if (group == "") != core:
                continue
            vlist = []
            for v in versions:
                doc = self.resource_list(group, v) or {"resources": []}
                entries: dict[str, dict[str, Any]] = {}
                for r in doc["resources"]:
                    plural, _, sub = r["name"].partition("/")
                    kind = {"group": r.get("group", ""), "version": r.get("version", ""), "kind": r["kind"]}
                    if not sub:
                        e: dict[str, Any] = {"resource": plural, "responseKind": kind,
                                             "scope": "Namespaced" if r["namespaced"] else "Cluster",
                                             "singularResource": r.get("singularName", ""), "verbs": r["verbs"]}
                        for k in ("shortNames", "categories"):
                            if r.get(k):
                                e[k] = r[k]
                        entries[plural] = e
                    elif plural in entries:
                        entries[plural].setdefault("subresources", []).append(
                            {"subresource": sub, "responseKind": kind, "verbs": r["verbs"]})
                vlist.append({"version": v, "resources": list(entries.values()), "freshness": "Current"})
            items.append({"metadata": {"name": group} if group else {}, "versions": vlist})
        return {"kind": "APIGroupDiscoveryList", "apiVersion": "apidiscovery.k8s.io/v2", "metadata": {},
                "items": items}

    # ---- OpenAPI v3: permissive schemas that advertise server-side fieldValidation ----
    def openapi_index(self) -> dict[str, Any]:
        paths = {}
        for group, versions in self.groups().items():
            for v in versions:
                key = f"apis/{group}/{v}" if group else "api/v1"
                h = hashlib.sha256(repr(self.resource_list(group, v)).encode()).hexdigest()[:16].upper()
                paths[key] = {"serverRelativeURL": f"/openapi/v3/{key}?hash={h}"}
        return {"paths": paths}

    def openapi_doc(self, group: str, version: str) -> dict[str, Any] | None:
        if version not in self.groups().get(group, []):
            return None
        prefix = f"/apis/{group}/{version}" if group else "/api/v1"
        params = [{"name": n, "in": "query", "schema": {"type": "string", "uniqueItems": True}}
                  for n in ("fieldValidation", "dryRun", "fieldManager", "pretty")]
        paths: dict[str, Any] = {}
        schemas: dict[str, Any] = {}
        for rd in self._by_key.values():
            if rd.group != group or version not in rd.versions:
                continue
            gvk = [{"group": group, "version": version, "kind": rd.kind}]
            schema_name = f"{group or 'core'}.{version}.{rd.kind}"
            ref = {"$ref": f"#/components/schemas/{schema_name}"}
            body = {"content": {"*/*": {"schema": ref}}}
            ok = {"200": {"description": "OK", "content": {"application/json": {"schema": ref}}}}
            base = f"{prefix}/namespaces/{{namespace}}/{rd.plural}" if rd.namespaced else f"{prefix}/{rd.plural}"

            def op(action: str, with_body: bool, gvk: list[dict[str, str]] = gvk, body: dict[str, Any] = body,
                   ok: dict[str, Any] = ok) -> dict[str, Any]:
                o: dict[str, Any] = {"parameters": params, "responses": ok, "x-kubernetes-action": action,
                                     "x-kubernetes-group-version-kind": gvk[0]}
                if with_body:
                    o["requestBody"] = body
                return o
            paths[base] = {"get": op("list", False), "post": op("post", True)}
            paths[base + "/{name}"] = {"get": op("get", False), "put": op("put", True), "patch": op("patch", True),
                                       "delete": op("delete", False)}
            schemas[schema_name] = {"type": "object", "x-kubernetes-preserve-unknown-fields": True,
                                    "x-kubernetes-group-version-kind": gvk}
        return {"openapi": "3.0.0", "info": {"title": "Kubernetes", "version": "simulated"},
                "paths": paths, "components": {"schemas": schemas}}


def crd_to_def(crd: dict[str, Any]) -> ResourceDef | None:
    """ResourceDef for a CustomResourceDefinition (served versions only; storage preference per upstream order)."""
    spec = crd.get("spec") or {}
    names = spec.get("names") or {}
    served = [v for v in spec.get("versions") or [] if v.get("served", True)]
    if not names.get("plural") or not names.get("kind") or not served:
        return None
    subs: list[str] = []
    scale = ("spec.replicas", "status.replicas", "status.selector")
    for v in served:
        sr = v.get("subresources") or {}
        if "status" in sr and "status" not in subs:
            subs.append("status")
        if "scale" in sr and "scale" not in subs:
            subs.append("scale")
            sc = sr["scale"] or {}
            scale = (sc.get("specReplicasPath", ".spec.replicas").lstrip("."),
                     sc.get("statusReplicasPath", ".status.replicas").lstrip("."),
                     (sc.get("labelSelectorPath") or ".status.selector").lstrip("."))
    return ResourceDef(
        group=spec.get("group", ""), versions=sorted((v["name"] for v in served), key=version_sort_key),
        plural=names["plural"], kind=names["kind"], namespaced=spec.get("scope", "Namespaced") == "Namespaced",
        short_names=list(names.get("shortNames") or []), subresources=subs,
        categories=list(names.get("categories") or []), singular=names.get("singular") or names["kind"].lower(),
        crd=True, scale_paths=scale)
