"""HTTP layer of the Kubernetes API simulator (aiohttp): path parsing, content types, watch streams,
discovery/OpenAPI/version endpoints, pod logs, metrics APIs, and the simulator-only ``/_sim`` admin API.
"""
from __future__ import annotations

import asyncio
import base64
import json
import os
import re
import resource
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

import yaml
from aiohttp import web

from aiconform.sim import protobuf
from aiconform.sim.api import ApiError, Cluster, now
from aiconform.sim.controllers import ControllerManager, admission, hpa, keda, proxy
from aiconform.sim.discovery import Registry, ResourceDef
from aiconform.sim.faults import Faults
from aiconform.sim.logs import LogProducers
from aiconform.sim.rbac import Authorizer, store_rules
from aiconform.sim.scenario import Scenario, load_scenario, seed_cluster
from aiconform.sim.selectors import SelectorError, check_field_selector, parse_field_selector, parse_label_selector
from aiconform.sim.store import Event, Watcher, labels_of

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
MAX_BODY = 64 * 1024 * 1024
REVIEWS = {("authorization.k8s.io", p) for p in ("selfsubjectaccessreviews", "subjectaccessreviews",
                                                 "localsubjectaccessreviews")}
AGGREGATED_DISCOVERY = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
# Kinds whose DELETE answers the deleted object (registry ReturnDeletedObject); the others answer a Success Status
# once the object is gone (an object held by finalizers is answered as it now is, on every kind).
RETURN_DELETED_OBJECT = {("", "pods"), ("", "services"), ("", "namespaces"), ("", "serviceaccounts"),
                         ("", "persistentvolumes"), ("", "persistentvolumeclaims"), ("", "resourcequotas"),
                         ("", "podtemplates"), *(("resource.k8s.io", p) for p in (
                             "resourceclaims", "resourceclaimtemplates", "resourceslices", "deviceclasses",
                             "devicetaintrules")),
                         *(("storage.k8s.io", p) for p in ("csidrivers", "storageclasses", "volumeattachments",
                                                           "csinodes", "volumeattributesclasses"))}


@dataclass
class Target:
    """A parsed resource request path."""
    group: str
    version: str
    rd: ResourceDef
    namespace: str | None
    name: str | None
    subresource: str | None
    watch_path: bool = False


def _json(data: Any, status: int = 200) -> web.Response:
    return web.Response(body=json.dumps(data, separators=(",", ":")).encode(), status=status,
                        content_type="application/json")


def _error(err: ApiError) -> web.Response:
    return _json(err.status(), err.code)


def present(obj: dict[str, Any], rd: ResourceDef, version: str) -> dict[str, Any]:
    """The stored object as seen through the requested group-version."""
    av = rd.api_version(version)
    if obj.get("apiVersion") == av:
        return obj
    return {**obj, "apiVersion": av, "kind": rd.kind}


class SimServer:
    def __init__(self, scenario: Scenario, kubernetes_version: str | None = None,
                 controllers: bool = True) -> None:
        self.scenario = scenario
        self.git_version = kubernetes_version or scenario.kubernetes_version
        m = re.match(r"v?(\d+)\.(\d+)(?:\.(\d+))?", self.git_version)
        if not m:
            raise ValueError(f"bad Kubernetes version {self.git_version!r}; expected e.g. v1.33.9")
        self.major, self.minor = int(m.group(1)), int(m.group(2))
        if not m.group(3):
            self.git_version = f"v{self.major}.{self.minor}.0"
        if not self.git_version.startswith("v"):
            self.git_version = "v" + self.git_version
        self.controllers_on = controllers
        self.faults = Faults()
        self.rbac = Authorizer()  # tokens from /_sim/tokens and impersonated users are RBAC-authorized; request log
        self.rbac.bound_rules = self._bound_rules
        self.requests: Counter[str] = Counter()
        self.by_verb: Counter[str] = Counter()
        self.total_requests = 0
        self.started = time.time()
        self._build()

    def _build(self) -> None:
        sc = self.scenario
        self.cluster = Cluster(Registry(self.minor, sc.aggregated_apis))
        self.logs = LogProducers(sc.logs)
        settings = dict(sc.controllers)
        if not self.controllers_on:
            settings = {k: False for k in ControllerManager.NAMES}
        self.manager = ControllerManager(self.cluster, settings, self.git_version)
        self.custom_metrics: list[dict[str, Any]] = list(sc.custom_metrics)
        self.external_metrics: list[dict[str, Any]] = list(sc.external_metrics)
        self.faults.set(sc.faults, replace=True)
        seed_cluster(self.cluster, sc, self.git_version)
        self.manager.run_once()

    # ---- app ----
    def app(self) -> web.Application:
        app = web.Application(client_max_size=MAX_BODY)
        app.router.add_route("*", "/{tail:.*}", self.handle)
        app.on_startup.append(self._on_startup)
        app.on_shutdown.append(self._on_shutdown)
        app.on_cleanup.append(self._on_cleanup)
        return app

    async def _on_startup(self, app: web.Application) -> None:
        self.manager.start()

    async def _on_shutdown(self, app: web.Application) -> None:
        self.cluster.store.close_watchers()

    async def _on_cleanup(self, app: web.Application) -> None:
        await self.manager.stop()

    async def handle(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        if path.startswith("/_sim/"):
            return await self.admin(request)
        verb = self._verb(request)
        self.total_requests += 1
        self.by_verb[verb] += 1
        self.requests[f"{verb} {path}"] += 1
        denied = self.rbac.admit(request.method, path, request.query, request.headers)
        if denied is not None:
            return _json(denied, 403)
        rule = self.faults.match(verb, request.method, path)
        if rule:
            if rule.delay:
                await asyncio.sleep(rule.delay)
            if rule.drop:
                if request.transport:
                    request.transport.abort()
                raise ConnectionResetError("simulated dropped connection")
            if rule.raw is not None:  # garbage answers (non-JSON, wrong content type)
                return web.Response(body=rule.raw.encode(), status=rule.status or 200, content_type=rule.content_type)
            if rule.status:
                resp = _json(rule.body(), rule.status)
                if rule.status == 429 or rule.retry_after:
                    resp.headers["Retry-After"] = str(rule.retry_after or 1)
                return resp
        try:
            return await self.route(request)
        except ApiError as e:
            return _error(e)
        except SelectorError as e:
            return _error(ApiError(400, "BadRequest", str(e)))

    def _bound_rules(self, user: str, groups: list[str], namespace: str) -> list[dict[str, Any]]:
        c = self.cluster
        return store_rules(lambda plural, ns, name: c.find("rbac.authorization.k8s.io", plural, ns, name),
                           lambda plural, ns: c.objects("rbac.authorization.k8s.io", plural, ns),
                           user, groups, namespace)

    @staticmethod
    def _verb(request: web.Request) -> str:
        m = request.method
        q = request.query
        if m == "GET":
            if q.get("watch") in ("true", "1") or "/watch/" in request.path:
                return "watch"
            segs = [s for s in request.path.split("/") if s]
            start = 2 if segs[:1] == ["api"] else 3
            rest = segs[start:]
            if rest[:1] == ["namespaces"] and len(rest) >= 3:
                rest = rest[2:]
            return "list" if len(rest) == 1 else "get"
        return {"POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}.get(m, m.lower())

    # ---- routing ----
    async def route(self, request: web.Request) -> web.StreamResponse:
        path = request.path.rstrip("/") or "/"
        reg = self.cluster.registry
        if path in ("/healthz", "/readyz", "/livez") or path.startswith(("/healthz/", "/readyz/", "/livez/")):
            return web.Response(text="ok")
        if path == "/version":
            return _json(self.version())
        if path in ("/api", "/apis") and "as=APIGroupDiscoveryList" in request.headers.get("Accept", ""):
            resp = _json(reg.aggregated_discovery(core=path == "/api"))
            resp.headers["Content-Type"] = AGGREGATED_DISCOVERY
            return resp
        if path == "/api":
            return _json(reg.api_versions())
        if path == "/apis":
            return _json(reg.api_group_list())
        if path == "/openapi/v3":
            return _json(reg.openapi_index())
        if path.startswith("/openapi/v3/"):
            rest = path[len("/openapi/v3/"):].split("/")
            doc = reg.openapi_doc("", "v1") if rest == ["api", "v1"] else (
                reg.openapi_doc(rest[1], rest[2]) if len(rest) == 3 and rest[0] == "apis" else None)
            if doc is None:
                raise ApiError(404, "NotFound", "the server could not find the requested resource")
            return _json(doc)
        if path == "/":
            return _json({"paths": ["/api", "/api/v1", "/apis", "/healthz", "/openapi/v3", "/version"]})
        segs = path.split("/")[1:]
        if segs[0] == "api":
            if len(segs) == 1:
                return _json(reg.api_versions())
            group, version, rest = "", segs[1], segs[2:]
        elif segs[0] == "apis" and len(segs) >= 2:
            group = segs[1]
            if group not in reg.groups():  # no handler at all for the path: the mux's plain-text 404
                return web.Response(status=404, text="404 page not found\n")
            if len(segs) == 2:
                doc = reg.api_group(group)
                if doc is None:
                    raise ApiError(404, "NotFound", "the server could not find the requested resource")
                return _json(doc)
            version, rest = segs[2], segs[3:]
        else:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        if not rest:
            doc = reg.resource_list(group, version)
            if doc is None:
                raise ApiError(404, "NotFound", "the server could not find the requested resource")
            return _json(doc)
        if group == "custom.metrics.k8s.io" and "custom.metrics.k8s.io" in reg.aggregated:
            return self.custom_metrics_get(rest, request)
        if group == "external.metrics.k8s.io" and "external.metrics.k8s.io" in reg.aggregated:
            return self.external_metrics_get(rest, request)
        if proxy.is_proxy_path(group, rest):  # services/pods proxy, answered by simulated workloads
            return self.proxy(request, rest, await request.read())
        target = self._parse(group, version, rest)
        return await self.dispatch(request, target)

    def proxy(self, request: web.Request, rest: list[str], body: bytes) -> web.Response:
        r = proxy.serve(self.cluster, request.method, rest, dict(request.query), body, dict(request.headers))
        return web.Response(body=r.body, status=r.status, content_type=r.content_type.split(";")[0],
                            charset="utf-8" if "charset" in r.content_type else None)

    def _parse(self, group: str, version: str, rest: list[str]) -> Target:
        reg = self.cluster.registry
        watch_path = False
        if rest[0] == "watch":
            watch_path, rest = True, rest[1:]
        ns: str | None = None
        # /namespaces/<ns>/<plural>... unless it addresses the Namespace object itself (or its subresources)
        if (rest[0] == "namespaces" and len(rest) >= 3 and group == "" and version == "v1"
                and not (len(rest) == 3 and rest[2] in ("status", "finalize"))):
            ns, rest = rest[1], rest[2:]
        elif rest[0] == "namespaces" and len(rest) >= 3 and group != "":
            ns, rest = rest[1], rest[2:]
        plural = rest[0]
        rd = reg.lookup(group, version, plural)
        if rd is None:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        if rd.namespaced is False and ns is not None:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        name = rest[1] if len(rest) > 1 else None
        sub = rest[2] if len(rest) > 2 else None
        if sub and sub not in rd.subresources:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        return Target(group, version, rd, ns, name, sub, watch_path)

    async def _body(self, request: web.Request) -> Any:
        raw = await request.read()
        if not raw:
            return None
        ctype = request.content_type
        try:
            if ctype == "application/vnd.kubernetes.protobuf":
                return protobuf.decode(raw)
            if ctype.endswith("yaml"):
                return yaml.load(raw, Loader=_Loader)
            return json.loads(raw)
        except protobuf.ProtobufError as e:
            raise ApiError(415, "UnsupportedMediaType", str(e)) from e
        except (ValueError, yaml.YAMLError) as e:
            raise ApiError(400, "BadRequest", f"the body of the request could not be decoded: {e}") from e

    async def dispatch(self, request: web.Request, t: Target) -> web.StreamResponse:
        c = self.cluster
        q = request.query
        rd = t.rd
        ns = t.namespace or ""
        if rd.namespaced and t.name is not None and t.namespace is None and request.method != "GET":
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        m = request.method
        options = {"POST": "CreateOptions", "PUT": "UpdateOptions", "PATCH": "PatchOptions",
                   "DELETE": "DeleteOptions"}.get(m)
        dry_values = q.getall("dryRun", [])
        if options and any(v != "All" for v in dry_values):
            raise ApiError(422, "Invalid", f'{options}.meta.k8s.io "" is invalid: dryRun: Unsupported value: '
                           f'{json.dumps(dry_values)}: supported values: "All"',
                           {"group": "meta.k8s.io", "kind": options, "causes": [{
                               "reason": "FieldValueNotSupported", "field": "dryRun",
                               "message": f'Unsupported value: {json.dumps(dry_values)}: supported values: "All"'}]})
        dry_run = "All" in dry_values
        if (m == "PATCH" and request.headers.get("Content-Type", "").split(";")[0].strip()
                == "application/apply-patch+yaml" and not q.get("fieldManager")):
            raise ApiError(422, "Invalid", 'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: '
                           "is required for apply patch",
                           {"group": "meta.k8s.io", "kind": "PatchOptions", "causes": [{
                               "reason": "FieldValueRequired", "message": "Required value: is required for apply patch",
                               "field": "fieldManager"}]})
        if m == "GET":
            if t.watch_path or q.get("watch") in ("true", "1"):
                fs = q.get("fieldSelector")
                if t.name:
                    fs = ",".join(filter(None, [fs, f"metadata.name={t.name}"]))
                return await self.watch(request, t, fs)
            if t.name is None:
                return self._list(t, q)
            if t.subresource == "log":
                return self.pod_log(t, q)
            obj = c.get(rd, ns, t.name)
            if t.subresource == "scale":
                return _json(self._scale(rd, obj))
            return _json(present(obj, rd, t.version))
        if m == "POST":
            body = await self._body(request)
            if not isinstance(body, dict):
                raise ApiError(400, "BadRequest", "the body of the request was empty or not an object")
            if t.name is not None:
                return self._post_subresource(t, body)
            if rd.key in REVIEWS:  # answered, never stored
                review = {**body, "apiVersion": rd.api_version(t.version), "kind": rd.kind,
                          "metadata": {**(body.get("metadata") or {})},
                          "status": self.rbac.review(self.rbac.requester(request.headers), rd.kind,
                                                     body.get("spec") or {})}
                if rd.kind == "LocalSubjectAccessReview":
                    review["spec"] = {**(body.get("spec") or {})}
                return _json(review, 201)
            bns = (body.get("metadata") or {}).get("namespace")
            if rd.namespaced and bns and bns != ns:
                raise ApiError(400, "BadRequest", "the namespace of the provided object does not match the namespace "
                               "sent on the request")
            if rd.namespaced and t.namespace is None:
                raise ApiError(404, "NotFound", "the server could not find the requested resource")
            admission.admit(c, rd, ns, body, "CREATE")  # emulated validating webhooks, when registered
            obj = c.create(rd, ns, body, dry_run)
            return _json(present(obj, rd, t.version), 201)
        if t.name is None:
            if m == "DELETE":
                return await self._delete_collection(request, t, dry_run)
            raise ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")
        if m == "PUT":
            body = await self._body(request)
            if not isinstance(body, dict):
                raise ApiError(400, "BadRequest", "the body of the request was empty or not an object")
            if t.subresource == "scale":
                return _json(self._set_scale(rd, ns, t.name, body, dry_run))
            if t.subresource == "finalize" and rd.key == ("", "namespaces"):
                obj = c.get(rd, "", t.name)
                new = {**obj, "spec": {**(obj.get("spec") or {}), "finalizers": (body.get("spec") or {}).get("finalizers", [])}}
                return _json(c.write(rd, new))
            obj = c.replace(rd, ns, t.name, body, t.subresource, dry_run)
            return _json(present(obj, rd, t.version))
        if m == "PATCH":
            body = await self._body(request)
            if body is None:
                raise ApiError(400, "BadRequest", "the body of the request was empty")
            if t.subresource == "scale":
                cur = self._scale(rd, c.get(rd, ns, t.name))
                from aiconform.sim.patch import merge_patch
                return _json(self._set_scale(rd, ns, t.name, merge_patch(cur, body), dry_run))
            obj, created = c.patch(rd, ns, t.name, request.headers.get("Content-Type", ""), body, t.subresource, dry_run)
            return _json(present(obj, rd, t.version), 201 if created else 200)
        if m == "DELETE":
            opts = {}
            if request.can_read_body:
                opts = await self._body(request) or {}
            obj = c.delete(rd, ns, t.name, dry_run or "All" in (opts.get("dryRun") or []),
                           q.get("propagationPolicy") or opts.get("propagationPolicy"), opts.get("preconditions"))
            if rd.key in RETURN_DELETED_OBJECT or obj["metadata"].get("deletionTimestamp"):
                return _json(present(obj, rd, t.version))
            return _json({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
                          "details": {"name": t.name, "group": rd.group, "kind": rd.plural,
                                      "uid": obj["metadata"].get("uid")}})
        raise ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")

    def _list(self, t: Target, q: Any) -> web.Response:
        rd = t.rd
        check_field_selector(rd.key, q.get("fieldSelector"), self._selectable(rd))
        items = self.cluster.list(rd, t.namespace, q.get("labelSelector"), q.get("fieldSelector"))
        meta: dict[str, Any] = {"resourceVersion": str(self.cluster.store.rv)}
        limit = int(q.get("limit") or 0)
        start = 0
        if q.get("continue"):
            try:
                start = int(json.loads(base64.urlsafe_b64decode(q["continue"]))["start"])
            except (ValueError, KeyError, TypeError) as e:
                raise ApiError(400, "BadRequest", "continue key is not valid") from e
        if limit and start + limit < len(items):
            meta["continue"] = base64.urlsafe_b64encode(json.dumps({"start": start + limit}).encode()).decode()
            if not q.get("labelSelector") and not q.get("fieldSelector"):  # unknown to the server when filtered
                meta["remainingItemCount"] = len(items) - start - limit
            items = items[start:start + limit]
        elif start:
            items = items[start:]
        return _json({"kind": rd.kind + "List", "apiVersion": rd.api_version(t.version), "metadata": meta,
                      "items": [present(o, rd, t.version) for o in items]})

    def _selectable(self, rd: ResourceDef) -> tuple[str, ...]:
        """A custom resource's ``selectableFields`` (jsonPath without the dot)."""
        if not rd.crd:
            return ()
        crd = self.cluster.find("apiextensions.k8s.io", "customresourcedefinitions", "", f"{rd.plural}.{rd.group}")
        return tuple(str(f.get("jsonPath", "")).lstrip(".") for v in ((crd or {}).get("spec") or {}).get("versions")
                     or [] for f in v.get("selectableFields") or [])

    async def _delete_collection(self, request: web.Request, t: Target, dry_run: bool) -> web.Response:
        c = self.cluster
        items = c.list(t.rd, t.namespace, request.query.get("labelSelector"), request.query.get("fieldSelector"))
        deleted = []
        if not dry_run:
            for o in items:
                try:
                    deleted.append(c.delete(t.rd, o["metadata"].get("namespace", ""), o["metadata"]["name"]))
                except ApiError:
                    pass
        return _json({"kind": t.rd.kind + "List", "apiVersion": t.rd.api_version(t.version),
                      "metadata": {"resourceVersion": str(c.store.rv)},
                      "items": [present(o, t.rd, t.version) for o in deleted]})

    def _post_subresource(self, t: Target, body: dict[str, Any]) -> web.Response:
        c = self.cluster
        if t.rd.key == ("", "pods") and t.subresource == "binding":
            pod = c.get(t.rd, t.namespace or "", t.name or "")
            node = (body.get("target") or {}).get("name")
            self.manager.bind(pod, node)
            return _json({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201}, 201)
        if t.rd.key == ("", "pods") and t.subresource == "eviction":
            c.delete(t.rd, t.namespace or "", t.name or "")
            return _json({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201}, 201)
        if t.subresource == "token":
            return _json({"kind": "TokenRequest", "apiVersion": "authentication.k8s.io/v1", "metadata": {},
                          "spec": body.get("spec", {}), "status": {"token": "simulated-token",
                                                                  "expirationTimestamp": now()}}, 201)
        raise ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")

    # ---- scale subresource ----
    def _scale(self, rd: ResourceDef, obj: dict[str, Any]) -> dict[str, Any]:
        spec_p, status_p, sel_p = rd.scale_paths

        def dig(o: Any, p: str) -> Any:
            for part in p.split("."):
                o = o.get(part) if isinstance(o, dict) else None
            return o
        from aiconform.sim.selectors import selector_to_string
        sel = dig(obj, sel_p) if rd.crd else selector_to_string((obj.get("spec") or {}).get("selector"))
        m = obj["metadata"]
        return {"kind": "Scale", "apiVersion": "autoscaling/v1",
                "metadata": {"name": m["name"], "namespace": m.get("namespace"), "uid": m["uid"],
                             "resourceVersion": m["resourceVersion"], "creationTimestamp": m["creationTimestamp"]},
                "spec": {"replicas": dig(obj, spec_p) or 0},
                "status": {"replicas": dig(obj, status_p) or 0, "selector": sel or ""}}

    def _set_scale(self, rd: ResourceDef, ns: str, name: str, body: dict[str, Any], dry_run: bool) -> dict[str, Any]:
        c = self.cluster
        obj = c.get(rd, ns, name)
        rv = (body.get("metadata") or {}).get("resourceVersion")
        if rv and rv != obj["metadata"]["resourceVersion"]:
            from aiconform.sim.api import conflict
            raise conflict(rd, name)
        import copy
        new = copy.deepcopy(obj)
        cur: dict[str, Any] = new
        parts = rd.scale_paths[0].split(".")
        for part in parts[:-1]:
            cur = cur.setdefault(part, {})
        cur[parts[-1]] = int((body.get("spec") or {}).get("replicas", 0))
        new.pop("status", None)
        saved = c.replace(rd, ns, name, new, None, dry_run, check_rv=False)
        return self._scale(rd, saved)

    # ---- watch ----
    async def watch(self, request: web.Request, t: Target, field_selector: str | None) -> web.StreamResponse:
        q = request.query
        check_field_selector(t.rd.key, q.get("fieldSelector"), self._selectable(t.rd))
        lmatch = parse_label_selector(q.get("labelSelector"))
        fmatch = parse_field_selector(field_selector)
        store = self.cluster.store
        w = Watcher(t.rd.key, t.namespace if t.rd.namespaced else None,
                    lambda o: lmatch(labels_of(o)) and fmatch(o))
        rv_param = q.get("resourceVersion") or ""
        send_initial = q.get("sendInitialEvents") == "true"
        bookmarks = q.get("allowWatchBookmarks") == "true"
        timeout = float(q.get("timeoutSeconds") or 1800)
        initial: list[tuple[str, dict[str, Any]]] = []
        store.subscribe(w)  # subscribe before reading state: nothing written in between is missed (no awaits)
        try:
            if send_initial or rv_param in ("", "0"):
                for o in self.cluster.list(t.rd, t.namespace, q.get("labelSelector"), field_selector):
                    initial.append(("ADDED", o))
            else:
                try:
                    since = int(rv_param)
                except ValueError as e:  # kube-apiserver answers this one with a bare 500
                    raise ApiError(500, "", f'resourceVersion: Invalid value: "{rv_param}": strconv.ParseUint: '
                                   f'parsing "{rv_param}": invalid syntax') from e
                replayed = store.replay(w, since)
                if replayed is None:
                    initial.append(("ERROR", ApiError(410, "Expired", f"too old resource version: {since} "
                                                      f"({store.history[0].rv - 1})").status()))
                else:
                    initial.extend((e.type, e.obj) for e in replayed)
            resp = web.StreamResponse(status=200, headers={"Content-Type": "application/json",
                                                           "Transfer-Encoding": "chunked"})
            await resp.prepare(request)

            def line(etype: str, obj: dict[str, Any]) -> bytes:
                o = obj if etype in ("ERROR", "BOOKMARK") else present(obj, t.rd, t.version)
                return json.dumps({"type": etype, "object": o}, separators=(",", ":")).encode() + b"\n"
            av = t.rd.api_version(t.version)

            def event_line(ev: Event) -> bytes:
                cached = ev.lines.get((ev.type, av))
                if cached is None:
                    cached = ev.lines[(ev.type, av)] = line(ev.type, ev.obj)
                return cached
            await resp.write(b"".join(line(e, o) for e, o in initial) if initial else b"")
            if any(e == "ERROR" for e, _ in initial):
                return resp
            if send_initial and bookmarks:
                await resp.write(line("BOOKMARK", {
                    "kind": t.rd.kind, "apiVersion": t.rd.api_version(t.version),
                    "metadata": {"resourceVersion": str(store.rv), "annotations": {"k8s.io/initial-events-end": "true"}}}))
            deadline = time.monotonic() + timeout
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                try:
                    ev: Event | None = await asyncio.wait_for(w.queue.get(), timeout=min(remaining, 30.0))
                except TimeoutError:
                    if bookmarks and time.monotonic() < deadline:
                        await resp.write(line("BOOKMARK", {"kind": t.rd.kind, "apiVersion": t.rd.api_version(t.version),
                                                           "metadata": {"resourceVersion": str(store.rv)}}))
                    continue
                if ev is None:
                    break
                chunk = [event_line(ev)]
                while not w.queue.empty():  # drain bursts into one write
                    nxt = w.queue.get_nowait()
                    if nxt is None:
                        break
                    chunk.append(event_line(nxt))
                await resp.write(b"".join(chunk))
            return resp
        except ConnectionResetError:  # the client went away (aiohttp's ClientConnectionResetError included)
            return web.StreamResponse()
        finally:
            store.unsubscribe(w)

    # ---- pod logs ----
    def pod_log(self, t: Target, q: Any) -> web.Response:
        pod = self.cluster.get(t.rd, t.namespace or "", t.name or "")
        containers = [c["name"] for c in (pod.get("spec") or {}).get("containers") or []]
        container = q.get("container") or (containers[0] if len(containers) == 1 else None)
        if container is None:
            raise ApiError(400, "BadRequest", f"a container name must be specified for pod {t.name}, "
                           f"choose one of: [{' '.join(containers)}]")
        if container not in containers and container not in [
                c["name"] for c in (pod.get("spec") or {}).get("initContainers") or []]:
            raise ApiError(400, "BadRequest", f"container {container} is not valid for pod {t.name}")
        phase = (pod.get("status") or {}).get("phase")
        statuses = {s["name"]: s for s in (pod.get("status") or {}).get("containerStatuses") or []}
        if phase == "Pending" and "running" not in (statuses.get(container, {}).get("state") or {}):
            raise ApiError(400, "BadRequest", f'container "{container}" in pod "{t.name}" is waiting to start: '
                           "ContainerCreating")
        text = self.logs.produce(pod, container)
        lines = text.splitlines(keepends=True)
        if q.get("tailLines"):
            lines = lines[-int(q["tailLines"]):] if int(q["tailLines"]) > 0 else []
        return web.Response(text="".join(lines), content_type="text/plain")

    # ---- custom / external metrics (prometheus-adapter style, from scenario data) ----
    def custom_metrics_get(self, rest: list[str], request: web.Request) -> web.Response:
        # namespaces/<ns>/<resource>/<name|*>/<metric>  or  <resource>/<name|*>/<metric> (cluster-scoped)
        ns = None
        if rest[0] == "namespaces" and len(rest) == 5:
            ns, rest = rest[1], rest[2:]
        if len(rest) != 3:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        resource_, name, metric = rest
        lmatch = parse_label_selector(request.query.get("labelSelector"))
        items = []
        for m in [*self.custom_metrics, *hpa.custom_metric_items(self.cluster)]:  # + emulated adapter rules
            if m.get("metric") != metric or m.get("resource", "pods") != resource_.split(".")[0]:
                continue
            if ns is not None and m.get("namespace") != ns:
                continue
            if name != "*" and m.get("name") != name:
                continue
            if not lmatch(m.get("labels") or {}):
                continue
            items.append({"describedObject": {"kind": m.get("kind", "Pod"), "namespace": m.get("namespace"),
                                              "name": m.get("name"), "apiVersion": "/v1"},
                          "metricName": metric, "timestamp": now(), "value": str(m.get("value", "0")),
                          "selector": None})
        if not items and name != "*":
            raise ApiError(404, "NotFound", f'the server could not find the metric {metric} for {resource_} {name}')
        return _json({"kind": "MetricValueList", "apiVersion": "custom.metrics.k8s.io/v1beta1",
                      "metadata": {}, "items": items})

    def external_metrics_get(self, rest: list[str], request: web.Request) -> web.Response:
        if len(rest) != 3 or rest[0] != "namespaces":
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        ns, metric = rest[1], rest[2]
        lmatch = parse_label_selector(request.query.get("labelSelector"))
        items = [{"metricName": metric, "metricLabels": m.get("labels") or {}, "timestamp": now(),
                  "value": str(m.get("value", "0"))}
                 for m in [*self.external_metrics, *keda.external_metric_items(self.cluster)]  # + KEDA's scalers
                 if m.get("metric") == metric and m.get("namespace", ns) == ns and lmatch(m.get("labels") or {})]
        return _json({"kind": "ExternalMetricValueList", "apiVersion": "external.metrics.k8s.io/v1beta1",
                      "metadata": {}, "items": items})

    def version(self) -> dict[str, str]:
        return {"major": str(self.major), "minor": str(self.minor), "emulationMajor": str(self.major),
                "emulationMinor": str(self.minor), "gitVersion": self.git_version,
                "gitCommit": "0000000000000000000000000000000000000000", "gitTreeState": "clean",
                "buildDate": "2025-01-01T00:00:00Z", "goVersion": "go1.24.0", "compiler": "gc",
                "platform": "linux/amd64"}

    # ---- simulator-only admin API ----
    async def admin(self, request: web.Request) -> web.Response:
        path, m = request.path, request.method
        body = await request.json() if m == "POST" and request.can_read_body else None
        handled = self.rbac.admin(m, path, request.query, body)  # /_sim/tokens, /_sim/requests?log=1
        if handled is not None:
            return _json(handled)
        if path == "/_sim/faults":
            if m == "POST":
                rules = body if isinstance(body, list) else (body or {}).get("rules", [body] if body else [])
                self.faults.set(rules, replace=isinstance(body, dict) and body.get("replace", False))
            elif m == "DELETE":
                self.faults.clear()
            return _json({"rules": [r.to_dict() for r in self.faults.rules]})
        if path == "/_sim/requests":
            if m == "DELETE":
                self.requests.clear()
                self.by_verb.clear()
                self.total_requests = 0
            return _json({"total": self.total_requests, "by_verb": dict(self.by_verb), "by_path": dict(self.requests)})
        if path == "/_sim/reset":
            self.faults.clear()
            self.requests.clear()
            self.by_verb.clear()
            self.total_requests = 0
            if body and body.get("scenario"):
                self.scenario = load_scenario(body["scenario"])
            await self.manager.stop()
            self.cluster.store.close_watchers()
            self._build()
            self.manager.start()
            return _json({"status": "reset", "scenario": self.scenario.name})
        if path == "/_sim/controllers":
            if m == "POST":
                for k, v in (body or {}).items():
                    self.manager.set(k, bool(v))
            return _json(self.manager.settings())
        if path == "/_sim/metrics" and m == "POST":
            self.custom_metrics.extend((body or {}).get("custom", []))
            self.external_metrics.extend((body or {}).get("external", []))
            return _json({"custom": len(self.custom_metrics), "external": len(self.external_metrics)})
        if path == "/_sim/logs" and m == "POST":
            self.logs.add_rules((body or {}).get("rules", []))
            return _json({"rules": len(self.logs.rules)})
        if path == "/_sim/stats":
            rss = _rss_bytes()
            return _json({"objects": self.cluster.store.count(), "watchers": self.cluster.store.watcher_count(),
                          "resourceVersion": self.cluster.store.rv, "rss_bytes": rss,
                          "uptime_seconds": time.time() - self.started, "scenario": self.scenario.name,
                          "kubernetes_version": self.git_version})
        raise ApiError(404, "NotFound", f"unknown simulator admin endpoint {path}")


def _rss_bytes() -> int:
    try:
        with open(f"/proc/{os.getpid()}/status") as fh:
            for line_ in fh:
                if line_.startswith("VmRSS:"):
                    return int(line_.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
