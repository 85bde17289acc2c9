"""cluster_autoscaling fetch: detect the autoscaler, then TestAcceleratorClusterAutoscaling's flow on the pool."""
from __future__ import annotations

import re
import time
from typing import Any

try:
    from kubernetes import client
except ImportError:  # the module reports the missing library (deps.py)
    client = None

from .. import _accelerator as acc
from .. import _scheduling as s
from ..runtime import ProbeContext, ProbeTimeout, pause, wait_until

STATUS_CM = "cluster-autoscaler-status"
CLAIM_TEMPLATE = "aiconform-accelerator"
# The scheduler's DRA plugin, when no node can satisfy a pod's claims (upstream dynamicresources).
DRA_UNSCHEDULABLE = "cannot allocate all claims"
_CEL_DRIVER = re.compile(r"""device\.driver\s*==\s*["']([^"']+)["']""")
_CEL_TYPE = re.compile(r"""device\.attributes\[["'][^"']+["']\]\.type\s*==\s*["']([^"']+)["']""")
KARPENTER = "karpenter.sh"
CA, KARP = "cluster-autoscaler", "karpenter"
POLL = 2.0
# Pod events that say an autoscaler acted for the pending pod: Cluster Autoscaler (also GKE's managed autoscaler and
# node auto-provisioning) records TriggeredScaleUp; Karpenter (also EKS Auto Mode, AKS node auto-provisioning)
# records Nominated "Pod should schedule on: nodeclaim/<name>".
SCALE_UP_REASONS = {"TriggeredScaleUp": CA, "Nominated": KARP}
# Why an autoscaler did not act: CA's NotTriggerScaleUp; Karpenter's own FailedScheduling warnings (not the scheduler's).
SELECTOR_MISMATCH = "didn't match Pod's node affinity/selector"
# NodeClass API groups of Karpenter's providers: who runs it when no karpenter Deployment is in the cluster.
KARPENTER_PROVIDERS = {"eks.amazonaws.com": "EKS Auto Mode (managed)", "karpenter.azure.com": "Azure (AKS node "
                       "auto-provisioning when managed)", "karpenter.k8s.aws": "AWS", "karpenter.kwok.sh": "kwok"}


def fetch(ctx: ProbeContext) -> dict[str, Any]:
    o = ctx.options
    facts: dict[str, Any] = {"options": {k: o.get(k) for k in (
        "node_pool_label", "autoscaler", "accelerator_resource", "pending_timeout", "scale_up_timeout",
        "scale_down_timeout", "stability_window")}}
    facts["autoscaler"] = _detect(ctx)
    if not o.get("node_pool_label"):
        return facts
    key, _sep, value = str(o["node_pool_label"]).partition("=")
    selector = f"{key}={value}" if value else key
    facts["selector"] = selector
    facts["mechanism"] = _select(facts["autoscaler"], str(o.get("autoscaler") or "auto"), key, value)
    ctx.record("Autoscaler used for the probe", facts["mechanism"], kind="api")
    if facts["mechanism"].get("ambiguous"):
        return facts
    res = o["accelerator_resource"]
    facts["claims"] = _claims_mode(ctx, selector, res, str(o.get("device_class") or ""))
    ctx.record("How probe pods request the accelerator", facts["claims"], kind="api")
    if facts["claims"].get("problem"):
        return facts
    dra = facts["claims"] if facts["claims"].get("mode") == "dra" else None
    facts["baseline"] = _baseline(ctx, selector, res, dra)
    if not facts["baseline"].get("ok"):
        return facts
    base_nodes = facts["baseline"]["nodes"]
    ns = ctx.probe_namespace()
    facts["namespace"] = ns
    if dra:
        tmpl = acc.claim_template(ns, CLAIM_TEMPLATE, "accelerator", dra["device_class"], dra["version"])
        ctx.call(f"create ResourceClaimTemplate {ns}/{CLAIM_TEMPLATE}", ctx.custom.create_namespaced_custom_object,
                 acc.DRA_GROUP, dra["version"], ns, "resourceclaimtemplates", tmpl)
    facts["baseline_pods"] = _baseline_pods(ctx, ns, key, value, len(base_nodes), bool(dra))
    if facts["baseline_pods"].get("timeout"):
        return facts
    facts["trigger"] = _trigger(ctx, ns, key, value, set(base_nodes), bool(dra))
    if facts["trigger"].get("node") and facts["mechanism"].get("name") == KARP:
        facts["trigger"]["nodeclaim"] = _nodeclaim(ctx, facts["autoscaler"], facts["trigger"]["node"])
    if facts["trigger"].get("running_on_new_node"):
        facts["scale_down"] = _scale_down(ctx, ns, selector, len(base_nodes))
    facts["autoscaler_after"] = _status_snapshot(ctx, "after the probe")
    return facts


# -- detection -----------------------------------------------------------------------------------------------
def _detect(ctx: ProbeContext) -> dict[str, Any]:
    """What the platform runs: Cluster Autoscaler (its Deployment and/or status ConfigMap; a status ConfigMap
    without a Deployment is a managed autoscaler such as GKE's) and Karpenter (karpenter.sh NodePools; without a
    karpenter Deployment it is run by the provider: EKS Auto Mode, AKS node auto-provisioning)."""
    deps = s.plain(ctx.call("list deployments in all namespaces", ctx.apps.list_deployment_for_all_namespaces))
    items = deps.get("items") or []

    def named(d: dict[str, Any], name: str) -> bool:
        labels = d["metadata"].get("labels") or {}
        return name in d["metadata"]["name"] or labels.get("app.kubernetes.io/name") == name

    ca = sorted(f"{d['metadata']['namespace']}/{d['metadata']['name']}" for d in items if named(d, CA))
    karp_deps = sorted(f"{d['metadata']['namespace']}/{d['metadata']['name']}" for d in items
                       if named(d, KARP) and not named(d, CA))
    cms = s.plain(ctx.call(f"list ConfigMaps named {STATUS_CM}", ctx.core.list_config_map_for_all_namespaces,
                           field_selector=f"metadata.name={STATUS_CM}"))
    status_cms = sorted(f"{c['metadata']['namespace']}/{c['metadata']['name']}" for c in cms.get("items") or [])
    versions = s.api_group_versions(ctx, KARPENTER)
    nodepools: list[dict[str, Any]] = []
    if versions:
        data = ctx.call("list Karpenter NodePools", ctx.custom.list_cluster_custom_object, KARPENTER, versions[0],
                        "nodepools")
        for n in data.get("items") or []:
            tmpl = (n.get("spec") or {}).get("template") or {}
            nodepools.append({"name": n["metadata"]["name"],
                              "labels": ((tmpl.get("metadata") or {}).get("labels") or {}),
                              "node_class_group": (((tmpl.get("spec") or {}).get("nodeClassRef")) or {}).get("group", ""),
                              "limits": (n.get("spec") or {}).get("limits") or {}})
        nodepools.sort(key=lambda x: x["name"])
    mechanisms = []
    if ca or status_cms:
        mechanisms.append({"name": CA, "managed": not ca, "deployments": ca, "status_configmaps": status_cms,
                           "how": ("Deployment " + ", ".join(ca)) if ca else
                           f"managed by the provider (ConfigMap {', '.join(status_cms)}, no Deployment in the cluster)"})
    if nodepools:
        groups = sorted({n["node_class_group"] for n in nodepools if n["node_class_group"]})
        providers = [KARPENTER_PROVIDERS.get(g, g) for g in groups]
        mechanisms.append({"name": KARP, "managed": not karp_deps, "deployments": karp_deps,
                           "nodepools": [n["name"] for n in nodepools], "providers": providers,
                           "how": (("Deployment " + ", ".join(karp_deps)) if karp_deps else
                                   "managed by the provider (no karpenter Deployment in the cluster)")
                           + f"; NodePools {', '.join(n['name'] for n in nodepools)}"
                           + (f"; NodeClass {', '.join(providers)}" if providers else "")})
    found = {"deployments": ca, "karpenter_deployments": karp_deps, "status_configmaps": status_cms,
             "karpenter_versions": versions, "karpenter_nodepools": [n["name"] for n in nodepools],
             "karpenter_nodepool_details": nodepools, "mechanisms": mechanisms}
    found["present"] = bool(mechanisms)
    found["looked_for"] = (f"a Deployment named or labelled cluster-autoscaler in any namespace, a ConfigMap "
                           f"{STATUS_CM} in any namespace (Cluster Autoscaler, also managed as on GKE), and "
                           f"{KARPENTER} NodePools (Karpenter, EKS Auto Mode, AKS node auto-provisioning)")
    ctx.record("Autoscaler detection", found, kind="api",
               command=f"kubectl get deploy -A; kubectl get cm -A --field-selector metadata.name={STATUS_CM}; "
                       "kubectl get nodepools.karpenter.sh")
    snap = _status_snapshot(ctx, "before the probe", status_cms)
    if snap:
        found["status"] = snap
    return found


def _select(found: dict[str, Any], wanted: str, key: str, value: str) -> dict[str, Any]:
    """The autoscaler the probe expects to act: the inventory's choice, else the only one present, else the one
    whose NodePool template carries the pool's label; several and no way to tell → ambiguous (judged Unknown)."""
    mechs = {m["name"]: m for m in found.get("mechanisms") or []}
    if wanted != "auto":
        return {"name": wanted, "source": "inventory (aiconform_cluster_autoscaling_autoscaler)",
                "detected": wanted in mechs, **({"how": mechs[wanted]["how"]} if wanted in mechs else {})}
    if len(mechs) == 1:
        m = next(iter(mechs.values()))
        return {"name": m["name"], "source": "detected", "detected": True, "how": m["how"]}
    if not mechs:
        return {"name": None, "source": "none detected", "detected": False}

    def owns(n: dict[str, Any]) -> bool:
        if key == "karpenter.sh/nodepool":
            return n["name"] == value
        labels = n.get("labels") or {}
        return key in labels and (not value or str(labels[key]) == value)

    owners = [n["name"] for n in found.get("karpenter_nodepool_details") or [] if owns(n)]
    if owners:
        return {"name": KARP, "source": f"NodePool {', '.join(owners)} labels its nodes {key}={value}",
                "detected": True, "how": mechs[KARP]["how"]}
    return {"name": None, "ambiguous": True, "candidates": [f"{m['name']} ({m['how']})" for m in mechs.values()],
            "source": "several detected"}


def _nodeclaim(ctx: ProbeContext, found: dict[str, Any], node: str) -> dict[str, Any] | None:
    """The Karpenter NodeClaim behind the trigger's node (evidence that Karpenter provisioned it)."""
    versions = found.get("karpenter_versions") or []
    if not versions:
        return None
    data = ctx.call("list Karpenter NodeClaims", ctx.custom.list_cluster_custom_object, KARPENTER, versions[0],
                    "nodeclaims")
    for nc in data.get("items") or []:
        st = nc.get("status") or {}
        if st.get("nodeName") == node:
            nodepool = (nc["metadata"].get("labels") or {}).get("karpenter.sh/nodepool")
            out = {"name": nc["metadata"]["name"], "nodepool": nodepool, "nodeName": node,
                   "providerID": st.get("providerID"),
                   "conditions": {c.get("type"): c.get("status") for c in st.get("conditions") or []}}
            ctx.record(f"NodeClaim {out['name']} (the trigger's node)", nc, kind="object",
                       command=f"kubectl get nodeclaims.karpenter.sh {out['name']} -o yaml")
            return out
    return None


def _status_snapshot(ctx: ProbeContext, when: str, where: list[str] | None = None) -> dict[str, Any] | None:
    """cluster-autoscaler-status data.status (YAML since CA 1.30), node groups summarised."""
    import yaml

    if where is None:
        cms = s.plain(ctx.call(f"list ConfigMaps named {STATUS_CM}", ctx.core.list_config_map_for_all_namespaces,
                               field_selector=f"metadata.name={STATUS_CM}"))
        where = [f"{c['metadata']['namespace']}/{c['metadata']['name']}" for c in cms.get("items") or []]
    if not where:
        return None
    ns, name = where[0].split("/", 1)
    cm = s.plain(ctx.optional(f"get ConfigMap {ns}/{name}", ctx.core.read_namespaced_config_map, name, ns))
    text = ((cm or {}).get("data") or {}).get("status", "")
    ctx.record(f"{STATUS_CM} ({when})", text or "(empty)", kind="text",
               command=f"kubectl get configmap -n {ns} {name} -o jsonpath='{{.data.status}}'")
    try:
        doc = yaml.safe_load(text) if text else None
    except yaml.YAMLError:
        doc = None
    if not isinstance(doc, dict):
        return {"raw": bool(text)}
    keys = ("status", "minSize", "maxSize", "cloudProviderTarget")
    groups = [{"name": g.get("name"), **{k: (g.get("health") or {}).get(k) for k in keys}}
              for g in doc.get("nodeGroups") or []]
    return {"autoscalerStatus": doc.get("autoscalerStatus"),
            "health": ((doc.get("clusterWide") or {}).get("health") or {}).get("status"), "nodeGroups": groups}


# -- flow ----------------------------------------------------------------------------------------------------
def _pool(ctx: ProbeContext, selector: str, res: str, dra: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """The pool's nodes; accelerators = allocatable extended resource, or with DRA the devices of the DeviceClass's
    driver (and type) the node's ResourceSlices publish."""
    nodes = s.plain(ctx.call(f"list nodes {selector}", ctx.core.list_node, label_selector=selector))
    devices: dict[str, int] = {}
    if dra:
        for sl in acc.list_dra(ctx, dra["version"], "resourceslices"):
            sm = acc.slice_summary(sl)
            if sm["driver"] != dra["driver"] or not sm["node_name"]:
                continue
            n = sum(1 for d in acc.allocatable_devices(sm)
                    if not dra.get("type") or d["attributes"].get("type") == dra["type"])
            devices[sm["node_name"]] = devices.get(sm["node_name"], 0) + n
    out = []
    for n in nodes.get("items") or []:
        st = n.get("status") or {}
        name = n["metadata"]["name"]
        out.append({"name": name,
                    "ready": any(c.get("type") == "Ready" and c.get("status") == "True" for c in st.get("conditions") or []),
                    "accelerators": float(devices.get(name, 0)) if dra else
                    float(s.quantity((st.get("allocatable") or {}).get(res, 0))),
                    "deleting": bool(n["metadata"].get("deletionTimestamp"))})
    return sorted(out, key=lambda x: x["name"])


def _claims_mode(ctx: ProbeContext, selector: str, res: str, wanted_class: str) -> dict[str, Any]:
    """Extended resource (device plugin) or a DRA claim of a DeviceClass: the inventory's DeviceClass, else DRA when
    the pool's nodes (an empty pool: all nodes) advertise no allocatable extended resource and DRA is served."""
    if not wanted_class:
        nodes = _pool(ctx, selector, res)
        scope = nodes or [{"accelerators": float(s.quantity(((n.get("status") or {}).get("allocatable") or {}).get(
            res, 0)))} for n in s.plain(ctx.call("list nodes", ctx.core.list_node)).get("items") or []]
        if any(n["accelerators"] > 0 for n in scope):
            return {"mode": "extended", "resource": res}
    _disc, version, classes, _slices = acc.dra_inventory(ctx)
    if not version:
        if wanted_class:
            return {"mode": "dra", "problem": f"DeviceClass {wanted_class} was set, but the server serves no "
                    "resource.k8s.io version aiconform speaks"}
        return {"mode": "extended", "resource": res}
    name = wanted_class or next((c.device_class for c in acc.ACCELERATORS.values() if c.extended_resource == res), "")
    cls = next((c for c in classes if c["name"] == name), None)
    if cls is None:
        return {"mode": "dra", "problem": f"no allocatable {res} on the pool's nodes, and DeviceClass {name or '?'} is "
                f"not there (DeviceClasses: {', '.join(c['name'] for c in classes) or 'none'}): set "
                "aiconform_cluster_autoscaling_device_class to the accelerator's DeviceClass"}
    cel = " ".join(x for x in cls.get("selectors") or [] if x)
    driver = (m.group(1) if (m := _CEL_DRIVER.search(cel)) else "")
    typ = (m.group(1) if (m := _CEL_TYPE.search(cel)) else "")
    if not driver:
        return {"mode": "dra", "problem": f"DeviceClass {name} names no driver aiconform can read ({cel or 'no CEL'}): "
                "its devices cannot be counted per node"}
    return {"mode": "dra", "device_class": name, "driver": driver, "type": typ, "version": version,
            "source": "inventory" if wanted_class else f"no allocatable {res}: DRA"}


def _baseline(ctx: ProbeContext, selector: str, res: str, dra: dict[str, Any] | None) -> dict[str, Any]:
    """Upstream step 1: a stable pool of N Ready nodes, each with exactly one allocatable accelerator."""
    window = float(ctx.options["stability_window"])
    first = _pool(ctx, selector, res, dra)
    what = f"{dra['device_class']} device(s)" if dra else res
    names = [n["name"] for n in first]
    ctx.record(f"Node pool {selector} (baseline)", first, kind="object", command=f"kubectl get nodes -l {selector}")
    bad = [f"{n['name']} has {n['accelerators']:g} allocatable {what}" for n in first if n["accelerators"] != 1]
    bad += [f"{n['name']} is not Ready" for n in first if not n["ready"]]
    if bad:
        return {"ok": False, "nodes": names, "problem": "; ".join(bad)}
    started = time.monotonic()
    while time.monotonic() - started < window:
        pause(min(POLL, max(0.05, window - (time.monotonic() - started))))
        now = [n["name"] for n in _pool(ctx, selector, res, dra)]
        if now != names:
            return {"ok": False, "nodes": names, "problem": f"the pool changed from {names} to {now} during the "
                    f"{window:g}s stability window (is it idle?)"}
    return {"ok": True, "nodes": names}


def _pod(ctx: ProbeContext, ns: str, name: str, key: str, value: str, role: str, dra: bool) -> dict[str, Any]:
    o = ctx.options
    pod = s.manifest(__file__, "pod.yaml")
    pod["metadata"].update(name=name, namespace=ns)
    pod["metadata"]["labels"]["aiconform.io/role"] = role
    spec = pod["spec"]
    # the pool is selected like a user would (its label), not by pinning nodes: no "cheating" affinities
    spec["nodeSelector"] = {key: value}
    spec["tolerations"] = spec["tolerations"] + list(o.get("tolerations") or [])
    ctr = spec["containers"][0]
    ctr["image"] = o["image"]
    if dra:  # one device through the probe's ResourceClaimTemplate instead of the extended resource
        ctr["resources"].pop("limits", None)
        ctr["resources"]["claims"] = [{"name": "accelerator"}]
        spec["resourceClaims"] = [{"name": "accelerator", "resourceClaimTemplateName": CLAIM_TEMPLATE}]
    else:
        ctr["resources"]["limits"] = {o["accelerator_resource"]: "1"}
    return s.plain(ctx.call(f"create Pod {ns}/{name}", ctx.core.create_namespaced_pod, ns, pod))


def _pods(ctx: ProbeContext, ns: str, role: str) -> list[dict[str, Any]]:
    got = s.plain(ctx.call(f"list pods in {ns}", ctx.core.list_namespaced_pod, ns,
                           label_selector=f"aiconform.io/role={role}"))
    return [s.pod_summary(p) for p in got.get("items") or []]


def _baseline_pods(ctx: ProbeContext, ns: str, key: str, value: str, n: int, dra: bool) -> dict[str, Any]:
    pdb = s.manifest(__file__, "pdb.yaml")
    pdb["metadata"]["namespace"] = ns
    ctx.call(f"create PodDisruptionBudget {ns}/aiconform-baseline",
             client.PolicyV1Api(ctx.conn.api).create_namespaced_pod_disruption_budget, ns, pdb)
    for i in range(n):
        _pod(ctx, ns, f"baseline-{i}", key, value, "baseline", dra)
    try:
        pods = wait_until(lambda: (p := _pods(ctx, ns, "baseline")) and all(x["phase"] == "Running" for x in p) and p
                          or (n == 0 and [None]),
                          timeout=float(ctx.options["pending_timeout"]), interval=POLL,
                          what=f"{n} baseline pod(s) Running, one per pool node",
                          missing=lambda: ", ".join(f"{x['name']} {x['phase']}" for x in _pods(ctx, ns, "baseline")))
        return {"count": n, "pods": [p for p in pods if p]}
    except ProbeTimeout as exc:
        return {"count": n, "timeout": str(exc), "pods": _pods(ctx, ns, "baseline")}


def _trigger(ctx: ProbeContext, ns: str, key: str, value: str, base: set[str], dra: bool) -> dict[str, Any]:
    o = ctx.options
    _pod(ctx, ns, "trigger", key, value, "trigger", dra)
    out: dict[str, Any] = {}
    started = time.monotonic()

    def unschedulable() -> dict[str, Any] | None:
        p = _pods(ctx, ns, "trigger")
        return p[0] if p and (p[0].get("unschedulable") or p[0]["node"]) else None

    try:
        pod = wait_until(unschedulable, timeout=float(o["pending_timeout"]), interval=1.0,
                         what="the trigger pod to be reported Unschedulable")
        out["pending"] = bool(pod.get("unschedulable"))
        out["unschedulable_message"] = (pod.get("unschedulable") or {}).get("message", "")
        out["bound_at_once_to"] = pod["node"] if pod["node"] else ""
    except ProbeTimeout as exc:
        out.update(pending=False, pending_timeout=str(exc))
    msg = out.get("unschedulable_message", "")
    out["names_resource"] = (DRA_UNSCHEDULABLE if dra else o["accelerator_resource"]) in msg
    out["claims"] = "dra" if dra else "extended"
    out["names_selector"] = SELECTOR_MISMATCH in msg
    out["pool_was_empty"] = not base

    def on_new_node() -> dict[str, Any] | None:
        p = _pods(ctx, ns, "trigger")
        return p[0] if p and p[0]["phase"] == "Running" and p[0]["node"] else None

    try:
        pod = wait_until(on_new_node, timeout=float(o["scale_up_timeout"]), interval=POLL,
                         what="the trigger pod to run on a new node",
                         missing=lambda: _trigger_missing(ctx, ns))
        out["node"] = pod["node"]
        out["running_on_new_node"] = pod["node"] not in base
    except ProbeTimeout as exc:
        out.update(running_on_new_node=False, timeout=str(exc))
    out["duration_s"] = round(time.monotonic() - started, 3)
    out["events"] = _pod_events(ctx, ns, "trigger")
    ctx.record("Trigger pod events (TriggeredScaleUp / Nominated / NotTriggerScaleUp / FailedScheduling)",
               "\n".join(f"{e['type'] or '':<9} {e['reason'] or '':<18} {e['source']:<22} {e['message'] or ''}"
                         for e in out["events"]) or "(no events)",
               command=f"kubectl get events -n {ns} --field-selector involvedObject.name=trigger")
    out["scale_up_events"] = [{"reason": e["reason"], "source": e["source"], "message": e["message"],
                               "autoscaler": SCALE_UP_REASONS[e["reason"]]}
                              for e in out["events"] if e["reason"] in SCALE_UP_REASONS]
    out["triggered_scale_up"] = [e["message"] for e in out["events"] if e["reason"] == "TriggeredScaleUp"]
    out["not_triggered"] = [e["message"] for e in out["events"] if e["reason"] == "NotTriggerScaleUp"
                            or (e["reason"] == "FailedScheduling" and e["source"] not in ("default-scheduler", "")
                                and "scheduler" not in e["source"])]
    return out


def _pod_events(ctx: ProbeContext, ns: str, name: str) -> list[dict[str, Any]]:
    """core/v1 Events about one pod, with the component that recorded them, oldest first."""
    data = s.plain(ctx.call(f"list events in {ns}", ctx.core.list_namespaced_event, ns))
    out = []
    for ev in data.get("items") or []:
        if (ev.get("involvedObject") or {}).get("name") != name:
            continue
        out.append({"type": ev.get("type"), "reason": ev.get("reason"), "message": ev.get("message") or "",
                    "source": (ev.get("source") or {}).get("component") or ev.get("reportingComponent") or "",
                    "time": ev.get("lastTimestamp") or ev.get("eventTime") or ""})
    out.sort(key=lambda e: str(e["time"]))
    return out


def _trigger_missing(ctx: ProbeContext, ns: str) -> str:
    p = (_pods(ctx, ns, "trigger") or [{}])[0]
    evs = [e for e in _pod_events(ctx, ns, "trigger") if e["reason"] in ("NotTriggerScaleUp", *SCALE_UP_REASONS)
           or (e["reason"] == "FailedScheduling" and "scheduler" not in e["source"])]
    last = f"; last autoscaler event: {evs[-1]['reason']}: {evs[-1]['message']}" if evs else \
        "; no scale-up event (TriggeredScaleUp, Nominated) on the pod"
    return f"trigger {p.get('phase')} on {p.get('node') or '<no node>'}{last}"


def _scale_down(ctx: ProbeContext, ns: str, selector: str, n: int) -> dict[str, Any]:
    o = ctx.options
    res = o["accelerator_resource"]
    ctx.call(f"delete Pod {ns}/trigger", ctx.core.delete_namespaced_pod, "trigger", ns, grace_period_seconds=0)
    started = time.monotonic()
    out: dict[str, Any] = {"baseline": n}

    def live() -> list[dict[str, Any]]:
        return [x for x in _pool(ctx, selector, res) if not x["deleting"]]
    try:
        wait_until(lambda: len(live()) <= n, timeout=float(o["scale_down_timeout"]), interval=POLL,
                   what=f"the pool {selector} to return to {n} node(s)",
                   missing=lambda: f"{len(live())} nodes: {', '.join(x['name'] for x in live())}")
    except ProbeTimeout as exc:
        out.update(returned=False, timeout=str(exc), duration_s=round(time.monotonic() - started, 3))
        return out
    out["returned_after_s"] = round(time.monotonic() - started, 3)
    window = float(o["stability_window"])
    t0 = time.monotonic()
    while time.monotonic() - t0 < window:
        count = len(live())
        if count != n:
            out.update(returned=True, stable=False, problem=f"the pool went to {count} nodes during the "
                       f"{window:g}s stability window")
            return out
        pause(min(POLL, max(0.05, window - (time.monotonic() - t0))))
    out.update(returned=True, stable=True, duration_s=round(time.monotonic() - started, 3))
    ctx.record(f"Node pool {selector} (after scale-down)", _pool(ctx, selector, res), kind="object")
    return out
