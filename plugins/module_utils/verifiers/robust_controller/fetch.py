"""Fetch for robust_controller: operator pods, CRDs, webhook registration, invalid and valid custom resources."""
from __future__ import annotations

import copy
import json
import re
from typing import Any

try:
    from kubernetes import client
    from kubernetes.client.exceptions import ApiException
except ImportError:  # the module reports the missing library (deps.py)
    client = ApiException = None

from ...kube import describe_error
from .. import k8s
from ..runtime import ProbeContext, ProbeTimeout, wait_until
from .profiles import (
    BUILT_IN,
    OTHER_OPERATOR_CRDS,
    PROFILES,
    READY_CONDITIONS,
    READY_STATES,
    Profile,
    ProfileError,
    check_generic_options,
    generic_profile,
)

# How kube-apiserver names the webhook in a denial or a failed call (admission/plugin/webhook/errors).
WEBHOOK_NAMED = re.compile(r'(?:admission webhook|failed calling webhook) "([^"]+)"')
GPU_TOLERATION = {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}


def manifest(name: str) -> dict[str, Any]:
    return k8s.manifest(__file__, name)


def _body(prof: Profile, which: str) -> dict[str, Any]:
    """A fresh copy of the probe object: the inventory's for the generic profile, else the manifest file."""
    given = prof.valid_body if which == "valid" else prof.invalid_body
    if given:
        return copy.deepcopy(given)
    return manifest(prof.valid_manifest if which == "valid" else prof.invalid_manifest)


def fetch(ctx: ProbeContext) -> dict[str, Any]:
    opts = ctx.options
    requested = opts.get("operator") or "auto"
    facts: dict[str, Any] = {"requested": requested}
    if requested == "generic":
        check_generic_options(opts)
        prof = generic(ctx, opts, facts)
    elif requested == "auto":
        facts["detection"] = detect(ctx, opts)
        if not facts["detection"].get("chosen"):
            return facts
        prof = PROFILES[facts["detection"]["chosen"]]
    elif requested in PROFILES:
        prof = PROFILES[requested]
    else:
        raise ProfileError(f"aiconform_robust_controller_operator: {requested!r} is not one of auto, "
                           f"{', '.join(PROFILES)}, generic")
    key = requested if requested != "auto" else facts["detection"]["chosen"]
    ns = opts.get("operator_namespace") or prof.namespace
    selector = opts.get("operator_selector") or prof.selector
    facts.update({"operator": key, "operator_name": prof.name, "namespace": ns, "selector": selector,
                  "install_hint": prof.install_hint})
    facts["pods"] = operator_pods(ctx, ns, selector, float(opts.get("operator_ready_timeout") or 300), facts)
    deployments = operator_deployments(ctx, facts.get("namespace") or ns, selector)
    facts["operator_conditions"] = [c for d in deployments for c in d["conditions"]]
    label_sets = [p["labels"] for p in facts["pods"]] + [d["labels"] for d in deployments]
    if "crds" not in facts:
        facts["crds"] = crds(ctx, prof)
    facts["webhooks"] = webhooks(ctx, prof, facts.get("namespace") or ns, label_sets) if prof.plural else []
    if not facts["crds"] or not all(c["established"] for c in facts["crds"]):
        return facts
    probe_ns = ctx.probe_namespace()
    facts["invalid"] = invalid_cr(ctx, prof, probe_ns)
    facts["valid"] = valid_cr(ctx, prof, probe_ns, float(opts.get("operator_reconcile_timeout") or 180))
    events = ctx.optional(f"list events in {probe_ns}", ctx.core.list_namespaced_event, probe_ns)
    if events is not None and events.items:
        ctx.record(f"events in {probe_ns}", "\n".join(
            f"{e.type} {e.reason} {e.involved_object.kind}/{e.involved_object.name}: {e.message}" for e in events.items),
            kind="log", command=f"kubectl get events -n {probe_ns}")
    return facts


# -- which operator ------------------------------------------------------------------------------
def _crd(ctx: ProbeContext, name: str) -> Any:
    return ctx.optional(f"get crd {name}", client.ApiextensionsV1Api(ctx.conn.api).read_custom_resource_definition,
                        name)


def detect(ctx: ProbeContext, opts: dict[str, Any]) -> dict[str, Any]:
    """Which built-in operators are installed (any of their CRDs, their operator pods), and which to test."""
    candidates = []
    for key in BUILT_IN:
        prof = PROFILES[key]
        selector = opts.get("operator_selector") or prof.selector
        present = [n for n in prof.crds if _crd(ctx, n) is not None]
        pods = ctx.call(f"list pods -A -l {selector}", ctx.core.list_pod_for_all_namespaces,
                        label_selector=selector).items
        if present or pods:
            candidates.append({"operator": key, "name": prof.name, "crds": present, "selector": selector,
                               "pods": [f"{p.metadata.namespace}/{p.metadata.name}" for p in pods]})
    out: dict[str, Any] = {"candidates": candidates, "looked_for": {
        PROFILES[k].name: {"crds": list(PROFILES[k].crds), "selector": opts.get("operator_selector") or
                           PROFILES[k].selector} for k in BUILT_IN}}
    complete = [c for c in candidates if c["crds"] and c["pods"]]
    if len(candidates) == 1:
        out["chosen"] = candidates[0]["operator"]
    elif len(complete) == 1:
        out["chosen"] = complete[0]["operator"]
    elif not candidates:
        out["other_operators"] = [{"crd": n, "name": what} for n, what in OTHER_OPERATOR_CRDS.items()
                                  if _crd(ctx, n) is not None]
    ctx.record("operator detection", out, command="kubectl get crd; kubectl get pods -A -l <operator selector>")
    return out


def generic(ctx: ProbeContext, opts: dict[str, Any], facts: dict[str, Any]) -> Profile:
    name = opts["operator_crd"]
    crd = _crd(ctx, name)
    if crd is None:
        facts["crds"] = [{"name": name, "present": False, "established": False}]
        return Profile(name=name, namespace=opts.get("operator_namespace") or "", selector=opts["operator_selector"],
                       crds=(name,), group="", version="", plural="", kind="", valid_manifest="", invalid_manifest="",
                       install_hint=f"install the operator that defines {name}")
    prof = generic_profile(opts, ctx.conn.api.sanitize_for_serialization(crd))
    established = any(c.type == "Established" and c.status == "True" for c in crd.status.conditions or [])
    facts["crds"] = [{"name": name, "present": True, "established": established,
                      "versions": [v.name for v in crd.spec.versions if v.served]}]
    ctx.record("CRDs", facts["crds"], command=f"kubectl get crd {name}")
    return prof


# -- setup checks --------------------------------------------------------------------------------
def _pod_facts(p: Any) -> dict[str, Any]:
    ready = any(c.type == "Ready" and c.status == "True" for c in p.status.conditions or [])
    return {"name": p.metadata.name, "namespace": p.metadata.namespace, "phase": p.status.phase, "ready": ready,
            "restarts": sum(cs.restart_count or 0 for cs in p.status.container_statuses or []),
            "labels": dict(p.metadata.labels or {})}


def operator_pods(ctx: ProbeContext, ns: str, selector: str, timeout: float, facts: dict[str, Any]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []

    def listed() -> list[dict[str, Any]]:
        items = ctx.call(f"list pods -n {ns} -l {selector}", ctx.core.list_namespaced_pod, ns,
                         label_selector=selector).items
        if not items:  # installed elsewhere (e.g. the kustomize overlay's ray-system)
            items = ctx.call(f"list pods -A -l {selector}", ctx.core.list_pod_for_all_namespaces,
                             label_selector=selector).items
        # Completed pods (a Helm hook's webhook-cert-gen Job, as Dynamo's chart runs) are not operator replicas.
        return [_pod_facts(p) for p in items if p.status.phase != "Succeeded"]

    found = listed()
    if not found:
        return found
    facts["namespace"] = found[0]["namespace"]

    def all_running() -> bool:
        found[:] = listed()
        return bool(found) and all(p["phase"] == "Running" and p["ready"] for p in found)

    try:
        wait_until(all_running, timeout=timeout, interval=2.0, what=f"operator pods ({selector}) to be Running and Ready",
                   missing=lambda: ", ".join(f"{p['name']} {p['phase']}{'' if p['ready'] else ' not ready'}"
                                             for p in found))
    except ProbeTimeout as exc:
        facts["pods_timeout"] = str(exc)
    ctx.record(f"operator pods ({selector})", found, command=f"kubectl get pods -A -l {selector}")
    return found


def operator_deployments(ctx: ProbeContext, ns: str, selector: str) -> list[dict[str, Any]]:
    """The operator's Deployments (pod template matching the selector): template labels and conditions."""
    deps = ctx.optional(f"list deployments -n {ns}", ctx.apps.list_namespaced_deployment, ns)
    want = dict(part.split("=", 1) for part in selector.split(",") if "=" in part)
    out = []
    for d in deps.items if deps else []:
        labels = d.spec.template.metadata.labels or {}
        if want and all(labels.get(k) == v for k, v in want.items()):
            out.append({"name": d.metadata.name, "labels": dict(labels), "conditions": [
                {"deployment": d.metadata.name, "type": c.type, "status": c.status, "reason": c.reason,
                 "message": c.message} for c in d.status.conditions or []]})
    conds = [c for d in out for c in d["conditions"]]
    if conds:
        ctx.record("operator Deployment conditions", conds, command=f"kubectl get deployment -n {ns} -o yaml")
    return out


def crds(ctx: ProbeContext, prof: Profile) -> list[dict[str, Any]]:
    ext = client.ApiextensionsV1Api(ctx.conn.api)
    out = []
    for name in prof.crds:
        crd = ctx.optional(f"get crd {name}", ext.read_custom_resource_definition, name)
        if crd is None:
            out.append({"name": name, "present": False, "established": False})
            continue
        established = any(c.type == "Established" and c.status == "True" for c in crd.status.conditions or [])
        out.append({"name": name, "present": True, "established": established,
                    "versions": [v.name for v in crd.spec.versions if v.served]})
    ctx.record("CRDs", out, command=f"kubectl get crd {' '.join(prof.crds)}")
    return out


def webhooks(ctx: ProbeContext, prof: Profile, ns: str, label_sets: list[dict[str, str]]) -> list[dict[str, Any]]:
    """Validating webhooks for the CRD's group/resource on CREATE, each marked ``owned`` when its Service is the
    operator's own: in the operator's namespace, with a selector that selects the operator's pods (their labels,
    or its Deployments' pod template labels when no pod runs). A Gatekeeper ``*/*`` webhook or Kueue's
    ``vraycluster.kb.io`` (served by kueue-webhook-service) matches the rules but is not the operator's."""
    adm = client.AdmissionregistrationV1Api(ctx.conn.api)
    cfgs = ctx.call("list validatingwebhookconfigurations", adm.list_validating_webhook_configuration).items
    out = []
    selectors: dict[tuple[str, str], dict[str, str] | None] = {}
    for cfg in cfgs:
        for wh in cfg.webhooks or []:
            rules = [r for r in wh.rules or []
                     if ("*" in (r.api_groups or []) or prof.group in (r.api_groups or []))
                     and ("*" in (r.resources or []) or prof.plural in (r.resources or []))
                     and ("*" in (r.operations or []) or "CREATE" in (r.operations or []))]
            if not rules:
                continue
            svc = wh.client_config.service
            entry = {"configuration": cfg.metadata.name, "name": wh.name,
                     "ca_bundle": bool(wh.client_config.ca_bundle), "failure_policy": wh.failure_policy,
                     "service": f"{svc.namespace}/{svc.name}{svc.path or ''}" if svc else "",
                     "url": wh.client_config.url or "", "owned": False, "same_namespace": False,
                     "wildcard": any("*" in (r.api_groups or []) for r in rules)}
            if svc:
                key = (svc.namespace, svc.name)
                if key not in selectors:
                    found = ctx.optional(f"get service {svc.namespace}/{svc.name}", ctx.core.read_namespaced_service,
                                         svc.name, svc.namespace)
                    selectors[key] = dict(found.spec.selector or {}) if found is not None and found.spec else None
                sel = selectors[key]
                entry["service_selector"] = sel
                entry["same_namespace"] = svc.namespace == ns
                entry["owned"] = bool(sel) and svc.namespace == ns and any(
                    all(labels.get(k) == v for k, v in sel.items()) for labels in label_sets)
            out.append(entry)
    ctx.record(f"ValidatingWebhookConfigurations for {prof.group}/{prof.plural}", out,
               command="kubectl get validatingwebhookconfigurations -o yaml")
    return out


# -- probes --------------------------------------------------------------------------------------
def _fill(ctx: ProbeContext, prof: Profile, body: dict[str, Any], ns: str) -> dict[str, Any]:
    body["metadata"]["namespace"] = ns
    if prof.builtin == "RayCluster":
        image = ctx.options.get("ray_image") or "rayproject/ray:2.41.0"
        specs = [body["spec"]["headGroupSpec"]["template"]["spec"],
                 *[g["template"]["spec"] for g in body["spec"].get("workerGroupSpecs") or []]]
        for spec in specs:
            spec["tolerations"] = [dict(GPU_TOLERATION)]
            for ctr in spec["containers"]:
                ctr["image"] = image
    elif not prof.builtin:
        body.setdefault("apiVersion", f"{prof.group}/{prof.version}")
        body.setdefault("kind", prof.kind)
    elif prof.builtin == "TrainJob":
        if body["spec"]["runtimeRef"]["name"] != "does-not-exist-runtime":
            body["spec"]["runtimeRef"]["name"] = ctx.options.get("operator_runtime_name") or "torch-distributed"
    return body


def _create(ctx: ProbeContext, prof: Profile, ns: str, body: dict[str, Any], dry_run: bool) -> dict[str, Any]:
    """Create the object; a rejection is returned as data, RBAC failures and server errors raise."""
    what = f"create {prof.kind} {ns}/{body['metadata']['name']}" + (" (dry run)" if dry_run else "")
    kwargs: dict[str, Any] = {"_request_timeout": ctx.conn.request_timeout}
    if dry_run:
        kwargs["dry_run"] = "All"
    try:
        obj = ctx.custom.create_namespaced_custom_object(prof.group, prof.version, ns, prof.plural, body, **kwargs)
        return {"accepted": True, "object": obj}
    except ApiException as exc:
        message = _message(exc)
        by_webhook = "denied the request" in message or "admission webhook" in message
        calling = "failed calling webhook" in message
        if by_webhook or calling or exc.status in (400, 409, 422):
            named = WEBHOOK_NAMED.search(message)
            return {"accepted": False, "status": exc.status, "message": message, "by_webhook": by_webhook,
                    "webhook_unreachable": calling, "webhook": named.group(1) if named else ""}
        raise describe_error(exc, what, ctx.conn.host) from exc
    except Exception as exc:  # noqa: BLE001 - translated, names the call
        raise describe_error(exc, what, ctx.conn.host) from exc


def _message(exc: ApiException) -> str:
    try:
        return str(json.loads(exc.body or "{}").get("message") or exc.reason)
    except (ValueError, TypeError, AttributeError):
        return str(exc.body or exc.reason)


def invalid_cr(ctx: ProbeContext, prof: Profile, ns: str) -> dict[str, Any]:
    body = _fill(ctx, prof, _body(prof, "invalid"), ns)
    res = _create(ctx, prof, ns, body, dry_run=True)
    out = {k: v for k, v in res.items() if k != "object"}
    ctx.record(f"invalid {prof.kind} (dry run): {'accepted' if res['accepted'] else 'rejected'}",
               res.get("message") or "accepted by the API server", kind="api",
               command=f"kubectl create --dry-run=server -f {prof.invalid_manifest}")
    return out


def valid_cr(ctx: ProbeContext, prof: Profile, ns: str, timeout: float) -> dict[str, Any]:
    body = _fill(ctx, prof, _body(prof, "valid"), ns)
    name = body["metadata"]["name"]
    res = _create(ctx, prof, ns, body, dry_run=False)
    out: dict[str, Any] = {"name": name, "created": res["accepted"]}
    if not res["accepted"]:
        out.update(message=res.get("message", ""), status=res.get("status"))
        return out
    ctx.record(f"{prof.kind} {name} (as created)", res["object"], command=f"kubectl create -f {prof.valid_manifest}")
    seen: dict[str, Any] = {}

    def observe() -> bool:
        obj = ctx.call(f"get {prof.kind} {ns}/{name}", ctx.custom.get_namespaced_custom_object,
                       prof.group, prof.version, ns, prof.plural, name)
        seen["status"] = obj.get("status") or {}
        seen["children"] = children(ctx, prof, ns, name)
        return _reconciled(prof, seen)

    try:
        wait_until(observe, timeout=timeout, interval=2.0, what=f"{prof.kind} {name} to be reconciled",
                   missing=lambda: _missing(prof, seen))
        out["ready"] = True
    except ProbeTimeout as exc:
        out["ready"] = False
        out["timeout"] = str(exc)
    out["status"] = seen.get("status", {})
    out["children"] = seen.get("children", {})
    ctx.record(f"{prof.kind} {name} status", out["status"], command=f"kubectl get {prof.plural} -n {ns} {name} -o yaml")
    ctx.record(f"children of {prof.kind} {name}", out["children"], command=f"kubectl get pods,svc -n {ns}")
    return out


def children(ctx: ProbeContext, prof: Profile, ns: str, name: str) -> dict[str, Any]:
    if prof.builtin == "RayCluster":
        pods = ctx.call(f"list pods -n {ns}", ctx.core.list_namespaced_pod, ns,
                        label_selector=f"ray.io/cluster={name}").items
        svcs = ctx.call(f"list services -n {ns}", ctx.core.list_namespaced_service, ns,
                        label_selector=f"ray.io/cluster={name}").items
        return {"pods": [{"name": p.metadata.name, "node_type": (p.metadata.labels or {}).get("ray.io/node-type"),
                          "phase": p.status.phase} for p in pods],
                "services": [s.metadata.name for s in svcs]}
    if prof.builtin != "TrainJob":  # generic: the pods the operator made in the probe namespace
        pods = ctx.call(f"list pods -n {ns}", ctx.core.list_namespaced_pod, ns).items
        return {"pods": [{"name": p.metadata.name, "phase": p.status.phase} for p in pods]}
    jobsets = ctx.optional(f"list jobsets -n {ns}", ctx.custom.list_namespaced_custom_object, "jobset.x-k8s.io",
                           "v1alpha2", ns, "jobsets")
    pods = ctx.call(f"list pods -n {ns}", ctx.core.list_namespaced_pod, ns).items
    return {"jobsets": [j["metadata"]["name"] for j in (jobsets or {}).get("items", [])],
            "pods": [{"name": p.metadata.name, "phase": p.status.phase} for p in pods]}


def _reconciled(prof: Profile, seen: dict[str, Any]) -> bool:
    st, ch = seen.get("status") or {}, seen.get("children") or {}
    if prof.builtin == "RayCluster":
        return (st.get("state") == "ready" and any(p["node_type"] == "head" for p in ch.get("pods", []))
                and any(s.endswith("-head-svc") for s in ch.get("services", [])))
    conds = {c.get("type"): c.get("status") for c in st.get("conditions") or []}
    if conds.get("Failed") == "True":
        raise ProbeTimeout(f"{prof.kind} failed: {st.get('conditions')}")
    if prof.builtin == "TrainJob":
        return conds.get("Complete") == "True"
    return generic_ready(st)


def generic_ready(st: dict[str, Any]) -> bool:
    """A generic resource is reconciled when its status says so: a ready-like condition True, or state/phase."""
    conds = {c.get("type"): c.get("status") for c in st.get("conditions") or [] if isinstance(c, dict)}
    if any(conds.get(t) == "True" for t in READY_CONDITIONS):
        return True
    return any(str(st.get(k) or "").lower() in READY_STATES for k in ("state", "phase"))


def _missing(prof: Profile, seen: dict[str, Any]) -> str:
    st, ch = seen.get("status") or {}, seen.get("children") or {}
    if prof.builtin == "RayCluster":
        pods = ", ".join(f"{p['name']} {p['phase']}" for p in ch.get("pods", [])) or "no pods"
        return f"state {st.get('state') or 'unset'}; pods: {pods}; services: {', '.join(ch.get('services', [])) or 'none'}"
    words = "; ".join(f"{k} {st[k]}" for k in ("state", "phase") if st.get(k))
    return f"conditions {st.get('conditions') or 'none'}" + (f"; {words}" if words else "")
