"""API semantics of the simulator (what kube-apiserver's registry and strategies do), shared by the HTTP
layer and the simulated controllers: create/replace/patch/delete with resourceVersion, generation,
conflicts, finalizers, namespace and ownerReference cascades, and CRD registration.
"""
from __future__ import annotations

import base64
import copy
import datetime as dt
import ipaddress
import random
import uuid
from collections.abc import Callable
from typing import Any

from aiconform.sim import patch as patchlib
from aiconform.sim import validation
from aiconform.sim.discovery import Registry, ResourceDef, crd_to_def
from aiconform.sim.selectors import parse_field_selector, parse_label_selector
from aiconform.sim.store import Obj, Store

ANNOTATION_PREFIX = "sim.aiconform.io/"
# Kinds whose objects carry no metadata.generation upstream.
NO_GENERATION = {("", "configmaps"), ("", "secrets"), ("", "events"), ("", "endpoints"), ("coordination.k8s.io", "leases"),
                 ("events.k8s.io", "events"), ("", "serviceaccounts")}
# Kinds whose status the apiserver resets on create (status subresource owned by controllers).
STATUS_RESET_ON_CREATE = {("apps", "deployments"), ("apps", "replicasets"), ("apps", "statefulsets"),
                          ("apps", "daemonsets"), ("batch", "jobs"), ("", "persistentvolumeclaims"), ("", "services"),
                          ("apiextensions.k8s.io", "customresourcedefinitions"), ("resource.k8s.io", "resourceclaims")}


ROOT_CA_DESCRIPTION = ("Contains a CA bundle that can be used to verify the kube-apiserver when using internal "
                       "endpoints such as the internal service IP or kubernetes.default.svc. No other usage is "
                       "guaranteed across distributions of Kubernetes clusters.")
SIMULATED_CA = "-----BEGIN CERTIFICATE-----\n(simulated cluster: no certificate authority)\n-----END CERTIFICATE-----\n"

# A reset status as the API server serialises it: the status fields without omitempty.
EMPTY_STATUS: dict[tuple[str, str], dict[str, Any]] = {
    ("apps", "statefulsets"): {"replicas": 0, "availableReplicas": 0},
    ("apps", "replicasets"): {"replicas": 0},
    ("apps", "daemonsets"): {"currentNumberScheduled": 0, "numberMisscheduled": 0, "desiredNumberScheduled": 0,
                             "numberReady": 0},
}


def now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def rand_suffix(n: int = 5) -> str:
    # Upstream's utilrand alphabet (no vowels, no ambiguous characters).
    return "".join(random.choice("bcdfghjklmnpqrstvwxz2456789") for _ in range(n))


class ApiError(Exception):
    def __init__(self, code: int, reason: str, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.code, self.reason, self.message, self.details = code, reason, message, details or {}

    def status(self) -> dict[str, Any]:
        body: dict[str, Any] = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                                "message": self.message, "reason": self.reason, "code": self.code}
        if not self.reason:
            body.pop("reason")
        if self.details:
            body["details"] = {k: v for k, v in self.details.items() if not (k == "group" and v == "")}
        return body


def resource_name(rd: ResourceDef) -> str:
    """How upstream names a resource in messages: ``configmaps`` or ``deployments.apps``."""
    return f"{rd.plural}.{rd.group}" if rd.group else rd.plural


def not_found(rd: ResourceDef, name: str) -> ApiError:
    return ApiError(404, "NotFound", f'{resource_name(rd)} "{name}" not found',
                    {"name": name, "group": rd.group, "kind": rd.plural})


def conflict(rd: ResourceDef, name: str) -> ApiError:
    return ApiError(409, "Conflict", f'Operation cannot be fulfilled on {resource_name(rd)} "{name}": the object has '
                    "been modified; please apply your changes to the latest version and try again",
                    {"name": name, "group": rd.group, "kind": rd.plural})


def invalid(rd: ResourceDef, name: str, field: str, msg: str) -> ApiError:
    return ApiError(422, "Invalid", f'{rd.kind}{"." + rd.group if rd.group else ""} "{name}" is invalid: {field}: {msg}',
                    {"name": name, "group": rd.group, "kind": rd.kind,
                     "causes": [{"reason": "FieldValueRequired", "message": msg, "field": field}]})


def invalid_causes(rd: ResourceDef, name: str, causes: list[tuple[str, str, str]]) -> ApiError:
    """422 Invalid as kube-apiserver words it (``<Kind>.<group> "<name>" is invalid: <field>: <msg>, ...``)."""
    listed = [f"{f}: {m}" for _, f, m in causes]
    text = listed[0] if len(listed) == 1 else "[" + ", ".join(listed) + "]"
    return ApiError(422, "Invalid", f'{rd.kind}{"." + rd.group if rd.group else ""} "{name}" is invalid: {text}',
                    {"name": name, "group": rd.group, "kind": rd.kind,
                     "causes": [{"reason": r, "message": m, "field": f} for r, f, m in causes]})


def owner_ref(obj: Obj, controller: bool = True) -> dict[str, Any]:
    return {"apiVersion": obj["apiVersion"], "kind": obj["kind"], "name": obj["metadata"]["name"],
            "uid": obj["metadata"]["uid"], "controller": controller, "blockOwnerDeletion": True}


class Cluster:
    """The simulated control plane's state and write semantics."""

    def __init__(self, registry: Registry, store: Store | None = None) -> None:
        self.registry = registry
        self.store = store or Store()
        self.on_write: Callable[[], None] = lambda: None
        self._next_ip = 10
        self.service_cidr = ipaddress.ip_network("10.96.0.0/12")
        self.slice_specs: list[dict[str, Any]] = []  # scenario resource_slices, for nodes that join later

    # ---- helpers ----
    def rd(self, group: str, plural: str) -> ResourceDef:
        rd = self.registry.get(group, plural)
        if rd is None:
            raise ApiError(404, "NotFound", f"the server could not find the requested resource ({plural}.{group})")
        return rd

    def get(self, rd: ResourceDef, ns: str, name: str) -> Obj:
        obj = self.store.get(rd.key, ns if rd.namespaced else "", name)
        if obj is None:
            raise not_found(rd, name)
        return obj

    def find(self, group: str, plural: str, ns: str, name: str) -> Obj | None:
        return self.store.get((group, plural), ns, name)

    def list(self, rd: ResourceDef, ns: str | None, label_selector: str | None = None,
             field_selector: str | None = None) -> list[Obj]:
        items = list(self.store.items(rd.key, ns if rd.namespaced else None))
        if label_selector:
            lmatch = parse_label_selector(label_selector)
            items = [o for o in items if lmatch(o["metadata"].get("labels") or {})]
        if field_selector:
            fmatch = parse_field_selector(field_selector)
            items = [o for o in items if fmatch(o)]
        items.sort(key=lambda o: (o["metadata"].get("namespace", ""), o["metadata"]["name"]))
        return items

    def objects(self, group: str, plural: str, ns: str | None = None) -> list[Obj]:
        return list(self.store.items((group, plural), ns))

    def _check_namespace(self, rd: ResourceDef, ns: str) -> None:
        if not rd.namespaced:
            return
        nso = self.store.get(("", "namespaces"), "", ns)
        if nso is None:
            raise ApiError(404, "NotFound", f'namespaces "{ns}" not found', {"name": ns, "kind": "namespaces"})
        if nso["metadata"].get("deletionTimestamp"):
            raise ApiError(403, "Forbidden", f"{resource_name(rd)} is forbidden: unable to create new content in "
                           f"namespace {ns} because it is being terminated",
                           {"name": ns, "kind": "namespaces",
                            "causes": [{"reason": "NamespaceTerminating", "field": "metadata.namespace"}]})

    # ---- create ----
    def create(self, rd: ResourceDef, ns: str, body: Obj, dry_run: bool = False, seed: bool = False) -> Obj:
        obj = copy.deepcopy(body)
        meta = obj.setdefault("metadata", {}) or {}
        obj["metadata"] = meta
        if not meta.get("name"):
            if meta.get("generateName"):
                meta["name"] = meta["generateName"] + rand_suffix()
            else:
                raise invalid(rd, "", "metadata.name", "Required value: name or generateName is required")
        if rd.namespaced:
            meta["namespace"] = ns
            if not seed:
                self._check_namespace(rd, ns)
        else:
            meta.pop("namespace", None)
        name = meta["name"]
        if self.store.get(rd.key, ns if rd.namespaced else "", name) is not None:
            raise ApiError(409, "AlreadyExists", f'{resource_name(rd)} "{name}" already exists',
                           {"name": name, "group": rd.group, "kind": rd.plural})
        obj["apiVersion"] = rd.api_version(obj.get("apiVersion", "").rpartition("/")[2] or None
                                           if obj.get("apiVersion", "").rpartition("/")[2] in rd.versions else None)
        obj["kind"] = rd.kind
        meta["uid"] = meta.get("uid") if seed and meta.get("uid") else str(uuid.uuid4())
        meta["creationTimestamp"] = meta.get("creationTimestamp") if seed and meta.get("creationTimestamp") else now()
        for k in ("deletionTimestamp", "deletionGracePeriodSeconds", "selfLink", "managedFields"):
            meta.pop(k, None)
        _drop_empty_meta(meta)
        if rd.key not in NO_GENERATION:
            meta["generation"] = 1
        if not seed and (rd.key in STATUS_RESET_ON_CREATE or (rd.crd and "status" in rd.subresources)):
            obj.pop("status", None)
            if not rd.crd:  # what the API server answers for a reset status (fields JSON always writes)
                obj["status"] = copy.deepcopy(EMPTY_STATUS.get(rd.key, {}))
        if seed:
            validation.apply_defaults(rd.key, obj)
        else:
            self._validate(rd, obj)
        self._prepare_create(rd, obj, seed)
        if dry_run:
            meta["resourceVersion"] = ""
            return obj
        meta["resourceVersion"] = str(self.store.next_rv())
        self.store.put(rd.key, obj)
        self._after_write(rd, obj, None)
        if rd.key == ("", "namespaces"):
            self._namespace_defaults(name)
        return obj

    def _validate(self, rd: ResourceDef, obj: Obj) -> None:
        """Defaulting, then the validation clients observe most (see validation.py)."""
        validation.apply_defaults(rd.key, obj)
        found = validation.causes(rd.key, obj, self._crd_schema(rd, obj) if rd.crd else None)
        if found:
            raise invalid_causes(rd, obj["metadata"].get("name") or "", found)

    def _crd_schema(self, rd: ResourceDef, obj: Obj) -> Any:
        crd = self.store.get(("apiextensions.k8s.io", "customresourcedefinitions"), "", f"{rd.plural}.{rd.group}")
        version = str(obj.get("apiVersion", "")).rpartition("/")[2]
        for v in ((crd or {}).get("spec") or {}).get("versions") or []:
            if v.get("name") == version:
                return (v.get("schema") or {}).get("openAPIV3Schema")
        return None

    def _namespace_defaults(self, ns: str) -> None:
        """What kube-controller-manager puts in every new namespace: the ``default`` ServiceAccount
        (serviceaccount controller) and the ``kube-root-ca.crt`` ConfigMap (root-ca-cert-publisher)."""
        for key, body in ((("", "serviceaccounts"), {"apiVersion": "v1", "kind": "ServiceAccount",
                                                     "metadata": {"name": "default"}}),
                          (("", "configmaps"), {"apiVersion": "v1", "kind": "ConfigMap",
                                                "metadata": {"name": "kube-root-ca.crt", "annotations": {
                                                    "kubernetes.io/description": ROOT_CA_DESCRIPTION}},
                                                "data": {"ca.crt": SIMULATED_CA}})):
            rd = self.registry.get(*key)
            if rd is not None and self.store.get(key, ns, body["metadata"]["name"]) is None:
                self.create(rd, ns, body, seed=True)

    def _prepare_create(self, rd: ResourceDef, obj: Obj, seed: bool) -> None:
        """Per-kind create strategy (the parts of upstream's PrepareForCreate clients observe)."""
        key = rd.key
        if key == ("", "namespaces"):
            obj["metadata"].setdefault("labels", {})["kubernetes.io/metadata.name"] = obj["metadata"]["name"]
            obj.setdefault("spec", {}).setdefault("finalizers", ["kubernetes"])
            obj["status"] = {"phase": "Active"}
        elif key == ("", "secrets"):
            string_data = obj.pop("stringData", None) or {}
            for k, v in string_data.items():
                obj.setdefault("data", {})[k] = base64.b64encode(str(v).encode()).decode()
            obj.setdefault("type", "Opaque")
        elif key == ("", "services"):
            spec = obj.setdefault("spec", {})
            spec.setdefault("type", "ClusterIP")
            if spec["type"] != "ExternalName" and not spec.get("clusterIP"):
                spec["clusterIP"] = self._allocate_ip()
            if spec.get("clusterIP") and not spec.get("clusterIPs"):
                spec["clusterIPs"] = [spec["clusterIP"]]
            spec.setdefault("sessionAffinity", "None")
            for p in spec.get("ports") or []:
                p.setdefault("protocol", "TCP")
                p.setdefault("targetPort", p.get("port"))
            obj.setdefault("status", {"loadBalancer": {}})
        elif key == ("", "pods") and not seed:
            obj.setdefault("spec", {}).setdefault("schedulerName", "default-scheduler")
            obj["spec"].setdefault("restartPolicy", "Always")
            obj["status"] = {"phase": "Pending", "qosClass": _qos_class(obj["spec"])}
        elif key == ("", "persistentvolumeclaims"):
            obj["status"] = {"phase": "Pending"}
        elif key == ("batch", "jobs") and not seed:
            spec = obj.setdefault("spec", {})
            if not spec.get("manualSelector"):
                uid, name = obj["metadata"]["uid"], obj["metadata"]["name"]
                labels = {"batch.kubernetes.io/controller-uid": uid, "batch.kubernetes.io/job-name": name,
                          "controller-uid": uid, "job-name": name}
                spec["selector"] = {"matchLabels": {"batch.kubernetes.io/controller-uid": uid}}
                tmeta = spec.setdefault("template", {}).setdefault("metadata", {})
                tmeta["labels"] = {**(tmeta.get("labels") or {}), **labels}
            if spec.get("completions") is None and spec.get("parallelism") is None:
                spec["completions"] = 1
            spec.setdefault("parallelism", 1)
            spec.setdefault("backoffLimit", 6)
            spec.setdefault("completionMode", "NonIndexed")
            spec.setdefault("suspend", False)
        elif key == ("apiextensions.k8s.io", "customresourcedefinitions"):
            self._register_crd(obj)

    def _allocate_ip(self) -> str:
        self._next_ip += 1
        return str(self.service_cidr.network_address + self._next_ip)

    def _register_crd(self, crd: Obj) -> None:
        """The apiextensions controllers: names accepted, established, served in discovery at once."""
        rdef = crd_to_def(crd)
        if rdef is None:
            raise ApiError(422, "Invalid", f'CustomResourceDefinition.apiextensions.k8s.io "{crd["metadata"]["name"]}" '
                           "is invalid: spec: Required value: names.plural, names.kind and a served version are required")
        names = dict(crd["spec"]["names"])
        names.setdefault("singular", rdef.singular)
        names.setdefault("listKind", rdef.kind + "List")
        t = now()
        crd["status"] = {
            "acceptedNames": names,
            "storedVersions": [v["name"] for v in crd["spec"]["versions"] if v.get("storage")] or [rdef.versions[0]],
            "conditions": [
                {"type": "NamesAccepted", "status": "True", "reason": "NoConflicts",
                 "message": "no conflicts found", "lastTransitionTime": t},
                {"type": "Established", "status": "True", "reason": "InitialNamesAccepted",
                 "message": "the initial names have been accepted", "lastTransitionTime": t},
            ],
        }
        self.registry.add(rdef)

    # ---- update ----
    def replace(self, rd: ResourceDef, ns: str, name: str, body: Obj, subresource: str | None = None,
                dry_run: bool = False, check_rv: bool = True) -> Obj:
        old = self.get(rd, ns, name)
        new = copy.deepcopy(body)
        new_meta = new.get("metadata") or {}
        if new_meta.get("name") and new_meta["name"] != name:
            raise ApiError(400, "BadRequest", f"the name of the object ({new_meta['name']}) does not match the name on "
                           f"the URL ({name})")
        rv = new_meta.get("resourceVersion")
        if check_rv and rv and rv != old["metadata"]["resourceVersion"]:
            raise conflict(rd, name)
        return self._update(rd, old, new, subresource, dry_run)

    def _update(self, rd: ResourceDef, old: Obj, new: Obj, subresource: str | None, dry_run: bool) -> Obj:
        if subresource == "status":
            new = {**copy.deepcopy(old), "status": new.get("status")}
            if new["status"] is None:
                new.pop("status")
        elif "status" in rd.subresources and subresource is None:
            if "status" in old:
                new["status"] = copy.deepcopy(old["status"])
            else:
                new.pop("status", None)
        meta = new.setdefault("metadata", {}) or {}
        new["metadata"] = meta
        om = old["metadata"]
        for k in ("uid", "creationTimestamp", "name", "namespace", "deletionTimestamp", "deletionGracePeriodSeconds"):
            if k in om:
                meta[k] = om[k]
            else:
                meta.pop(k, None)
        new["apiVersion"], new["kind"] = old["apiVersion"], old["kind"]
        if rd.key not in NO_GENERATION:
            meta["generation"] = om.get("generation", 1)
            if _spec_of(new) != _spec_of(old):
                meta["generation"] = om.get("generation", 1) + 1
        if rd.key == ("", "secrets"):
            for k, v in (new.pop("stringData", None) or {}).items():
                new.setdefault("data", {})[k] = base64.b64encode(str(v).encode()).decode()
        if rd.key == ("", "services"):
            spec = new.setdefault("spec", {})
            if not spec.get("clusterIP") and (old.get("spec") or {}).get("clusterIP"):
                spec["clusterIP"] = old["spec"]["clusterIP"]
                spec["clusterIPs"] = old["spec"].get("clusterIPs", [spec["clusterIP"]])
        meta["resourceVersion"] = om["resourceVersion"]
        _drop_empty_meta(meta)
        if subresource is None:
            self._validate(rd, new)
        if new == old:
            return old  # no-op writes keep the resourceVersion (idempotent re-runs report unchanged)
        if rd.key == ("apiextensions.k8s.io", "customresourcedefinitions") and subresource is None:
            self._register_crd(new)
        if dry_run:
            return new
        if meta.get("deletionTimestamp") and not meta.get("finalizers") and not _ns_finalizers(rd, new):
            self._remove(rd, old)
            return new
        meta["resourceVersion"] = str(self.store.next_rv())
        self.store.put(rd.key, new)
        self._after_write(rd, new, old)
        return new

    def patch(self, rd: ResourceDef, ns: str, name: str, content_type: str, body: Any,
              subresource: str | None = None, dry_run: bool = False) -> tuple[Obj, bool]:
        """Returns (object, created)."""
        existing = self.store.get(rd.key, ns if rd.namespaced else "", name)
        ctype = content_type.split(";")[0].strip()
        if existing is None:
            if ctype == "application/apply-patch+yaml" and subresource is None:
                obj = dict(body)
                obj.setdefault("metadata", {})["name"] = name
                return self.create(rd, ns, obj, dry_run), True
            raise not_found(rd, name)
        base = copy.deepcopy(existing)
        if ctype == "application/json-patch+json":
            try:
                new = patchlib.json_patch(base, body)
            except patchlib.PatchError as e:
                raise ApiError(422, "Invalid", f"the server rejected our request due to an error in our request: {e}") from e
        elif ctype == "application/merge-patch+json":
            new = patchlib.merge_patch(base, body)
        elif ctype == "application/strategic-merge-patch+json":
            if rd.crd:
                raise ApiError(415, "UnsupportedMediaType", "strategic merge patch is not supported for custom resources")
            new = patchlib.strategic_merge(base, body)
        elif ctype == "application/apply-patch+yaml":
            new = patchlib.apply_patch(base, body)
        else:
            raise ApiError(415, "UnsupportedMediaType", "the body of the request was in an unknown format - "
                           "accepted media types include: application/json-patch+json, application/merge-patch+json, "
                           "application/apply-patch+yaml")
        if not isinstance(new, dict):
            raise ApiError(422, "Invalid", "patch result is not an object")
        rv = (body.get("metadata") or {}).get("resourceVersion") if isinstance(body, dict) else None
        if rv and rv != existing["metadata"]["resourceVersion"]:
            raise conflict(rd, name)
        new.setdefault("metadata", {})["resourceVersion"] = existing["metadata"]["resourceVersion"]
        return self._update(rd, existing, new, subresource, dry_run), False

    def update_status(self, rd: ResourceDef, obj: Obj, status: dict[str, Any]) -> Obj:
        """Controller helper: write status only when it changed."""
        if obj.get("status") == status:
            return obj
        return self._update(rd, obj, {**obj, "status": status}, "status", False)

    def write(self, rd: ResourceDef, obj: Obj) -> Obj:
        """Controller helper: write a modified copy of a stored object (no conflict check)."""
        cur = self.store.get(rd.key, obj["metadata"].get("namespace", ""), obj["metadata"]["name"])
        if cur is None:
            return obj
        return self._update(rd, cur, obj, "all", False)

    # ---- delete ----
    def delete(self, rd: ResourceDef, ns: str, name: str, dry_run: bool = False,
               propagation: str | None = None, preconditions: dict[str, Any] | None = None) -> Obj:
        obj = self.get(rd, ns, name)
        pre = preconditions or {}
        if pre.get("uid") and pre["uid"] != obj["metadata"]["uid"]:
            raise ApiError(409, "Conflict", f"Precondition failed: UID in precondition: {pre['uid']}, UID in object "
                           f"meta: {obj['metadata']['uid']}")
        if pre.get("resourceVersion") and pre["resourceVersion"] != obj["metadata"]["resourceVersion"]:
            raise conflict(rd, name)
        if dry_run:
            return obj
        if obj["metadata"].get("finalizers") or _ns_finalizers(rd, obj):
            if obj["metadata"].get("deletionTimestamp"):
                return obj
            new = copy.deepcopy(obj)
            new["metadata"]["deletionTimestamp"] = now()
            new["metadata"]["deletionGracePeriodSeconds"] = 0
            if rd.key == ("", "namespaces"):
                new["status"] = {"phase": "Terminating"}
            new["metadata"]["resourceVersion"] = str(self.store.next_rv())
            self.store.put(rd.key, new)
            self._after_write(rd, new, obj)
            return new
        self._remove(rd, obj, orphan=propagation == "Orphan")
        return obj

    def _remove(self, rd: ResourceDef, obj: Obj, orphan: bool = False) -> None:
        ev = self.store.remove(rd.key, obj)
        if ev is None:
            return
        if rd.key == ("apiextensions.k8s.io", "customresourcedefinitions"):
            cdef = crd_to_def(obj)
            if cdef:
                self.registry.remove(cdef.group, cdef.plural)
                self.store.drop_key(cdef.key)
        self._collect_garbage(obj["metadata"]["uid"], orphan)
        self.on_write()

    def _collect_garbage(self, owner_uid: str, orphan: bool) -> None:
        """ownerReference garbage collection, done at once (background propagation)."""
        for key in self.store.keys():
            rd = self.registry.get(*key)
            if rd is None:
                continue
            for o in list(self.store.items(key)):
                refs = o["metadata"].get("ownerReferences") or []
                if not any(r.get("uid") == owner_uid for r in refs):
                    continue
                remaining = [r for r in refs if r.get("uid") != owner_uid]
                if remaining or orphan:
                    new = copy.deepcopy(o)
                    new["metadata"]["ownerReferences"] = remaining
                    if not remaining:
                        new["metadata"].pop("ownerReferences")
                    self._update(rd, o, new, "all", False)
                else:
                    try:
                        self.delete(rd, o["metadata"].get("namespace", ""), o["metadata"]["name"])
                    except ApiError:
                        pass

    def finalize_namespaces(self) -> None:
        """The namespace controller: empty a terminating namespace, then drop its `kubernetes` finalizer."""
        for ns in self.objects("", "namespaces"):
            if not ns["metadata"].get("deletionTimestamp"):
                continue
            name = ns["metadata"]["name"]
            for key in self.store.keys():
                rd = self.registry.get(*key)
                if rd is None or not rd.namespaced:
                    continue
                for o in list(self.store.items(key, name)):
                    if not o["metadata"].get("deletionTimestamp"):
                        self.delete(rd, name, o["metadata"]["name"])
            if not any(True for k in self.store.keys() if (r := self.registry.get(*k)) and r.namespaced
                       for _ in self.store.items(k, name)):
                new = copy.deepcopy(ns)
                new["spec"]["finalizers"] = []
                rd = self.rd("", "namespaces")
                self._update(rd, ns, new, "all", False)

    def _after_write(self, rd: ResourceDef, new: Obj, old: Obj | None) -> None:
        self.on_write()

    # ---- events (core/v1 Event, as components record them) ----
    def record_event(self, obj: Obj, etype: str, reason: str, message: str, component: str) -> None:
        ns = obj["metadata"].get("namespace") or "default"
        if self.store.get(("", "namespaces"), "", ns) is None:
            return
        t = now()
        name = f"{obj['metadata']['name']}.{uuid.uuid4().hex[:16]}"
        for ev in self.store.items(("", "events"), ns):
            io = ev.get("involvedObject") or {}
            if io.get("uid") == obj["metadata"].get("uid") and ev.get("reason") == reason and ev.get("message") == message:
                new = copy.deepcopy(ev)
                new["count"] = ev.get("count", 1) + 1
                new["lastTimestamp"] = t
                self._update(self.rd("", "events"), ev, new, None, False)
                return
        self.create(self.rd("", "events"), ns, {
            "apiVersion": "v1", "kind": "Event",
            "metadata": {"name": name, "namespace": ns},
            "involvedObject": {"apiVersion": obj["apiVersion"], "kind": obj["kind"], "name": obj["metadata"]["name"],
                               "namespace": obj["metadata"].get("namespace"), "uid": obj["metadata"].get("uid"),
                               "resourceVersion": obj["metadata"].get("resourceVersion")},
            "reason": reason, "message": message, "type": etype, "count": 1,
            "source": {"component": component}, "firstTimestamp": t, "lastTimestamp": t,
            "reportingComponent": component, "reportingInstance": "", "eventTime": None,
        }, seed=True)


def _drop_empty_meta(meta: dict[str, Any]) -> None:
    """Empty maps and lists of ObjectMeta are omitted (omitempty), as a patch deleting the last key leaves them."""
    for k in ("labels", "annotations", "finalizers", "ownerReferences"):
        if k in meta and not meta[k]:
            meta.pop(k)


def _spec_of(obj: Obj) -> Any:
    """What bumps metadata.generation: everything but metadata and status."""
    return {k: v for k, v in obj.items() if k not in ("metadata", "status", "apiVersion", "kind")}


def _ns_finalizers(rd: ResourceDef, obj: Obj) -> bool:
    return rd.key == ("", "namespaces") and bool((obj.get("spec") or {}).get("finalizers"))


def _qos_class(spec: dict[str, Any]) -> str:
    containers = spec.get("containers") or []
    reqs = [(c.get("resources") or {}) for c in containers]
    if not any(r.get("requests") or r.get("limits") for r in reqs):
        return "BestEffort"
    guaranteed = all(
        (r.get("limits") or {}).get(res) and (r.get("requests") or {}).get(res, (r.get("limits") or {}).get(res))
        == (r.get("limits") or {}).get(res) for r in reqs for res in ("cpu", "memory"))
    return "Guaranteed" if guaranteed else "Burstable"

