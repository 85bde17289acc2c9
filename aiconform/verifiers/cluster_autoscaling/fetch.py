"""cluster_autoscaling fetch: detect the autoscaler, then TestAcceleratorClusterAutoscaling's flow on the pool."""
from __future__ import annotations

import time
from typing import Any

from kubernetes import client

from aiconform.verifiers import _scheduling as s
from aiconform.verifiers.base import ProbeContext, ProbeTimeout, pause, wait_until

STATUS_CM = "cluster-autoscaler-status"
KARPENTER = "karpenter.sh"
POLL = 2.0


def fetch(ctx: ProbeContext) -> dict[str, Any]:
    o = ctx.options
    facts: dict[str, Any] = {"options": {k: o.get(k) for k in (
        "node_pool_label", "accelerator_resource", "pending_timeout", "scale_up_timeout", "scale_down_timeout",
        "stability_window")}}
    facts["autoscaler"] = _detect(ctx)
    if not o.get("node_pool_label"):
        return facts
    key, _, value = str(o["node_pool_label"]).partition("=")
    selector = f"{key}={value}" if value else key
    facts["selector"] = selector
    res = o["accelerator_resource"]
    facts["baseline"] = _baseline(ctx, selector, res)
    if not facts["baseline"].get("ok"):
        return facts
    base_nodes = facts["baseline"]["nodes"]
    ns = ctx.probe_namespace()
    facts["namespace"] = ns
    facts["baseline_pods"] = _baseline_pods(ctx, ns, key, value, len(base_nodes))
    if facts["baseline_pods"].get("timeout"):
        return facts
    facts["trigger"] = _trigger(ctx, ns, key, value, set(base_nodes))
    if facts["trigger"].get("running_on_new_node"):
        facts["scale_down"] = _scale_down(ctx, ns, selector, len(base_nodes))
    facts["autoscaler_after"] = _status_snapshot(ctx, "after the probe")
    return facts


# -- detection -----------------------------------------------------------------------------------------------
def _detect(ctx: ProbeContext) -> dict[str, Any]:
    """What the platform runs: a cluster-autoscaler Deployment, its status ConfigMap, Karpenter NodePools."""
    deps = s.plain(ctx, ctx.call("list deployments in all namespaces", ctx.apps.list_deployment_for_all_namespaces))
    ca = sorted(f"{d['metadata']['namespace']}/{d['metadata']['name']}" for d in deps.get("items") or []
                if "cluster-autoscaler" in d["metadata"]["name"]
                or (d["metadata"].get("labels") or {}).get("app.kubernetes.io/name") == "cluster-autoscaler")
    cms = s.plain(ctx, ctx.call(f"list ConfigMaps named {STATUS_CM}", ctx.core.list_config_map_for_all_namespaces,
                                field_selector=f"metadata.name={STATUS_CM}"))
    status_cms = sorted(f"{c['metadata']['namespace']}/{c['metadata']['name']}" for c in cms.get("items") or [])
    versions = s.api_group_versions(ctx, KARPENTER)
    nodepools: list[str] = []
    if versions:
        data = ctx.call("list Karpenter NodePools", ctx.custom.list_cluster_custom_object, KARPENTER, versions[0],
                        "nodepools")
        nodepools = sorted(n["metadata"]["name"] for n in data.get("items") or [])
    found = {"deployments": ca, "status_configmaps": status_cms, "karpenter_versions": versions,
             "karpenter_nodepools": nodepools}
    found["present"] = bool(ca or status_cms or nodepools)
    found["looked_for"] = (f"a Deployment named or labelled cluster-autoscaler in any namespace, a ConfigMap "
                           f"{STATUS_CM} in any namespace, and {KARPENTER} NodePools")
    ctx.record("Autoscaler detection", found, kind="api",
               command=f"kubectl get deploy -A; kubectl get cm -A --field-selector metadata.name={STATUS_CM}; "
                       "kubectl get nodepools.karpenter.sh")
    snap = _status_snapshot(ctx, "before the probe", status_cms)
    if snap:
        found["status"] = snap
    return found


def _status_snapshot(ctx: ProbeContext, when: str, where: list[str] | None = None) -> dict[str, Any] | None:
    """cluster-autoscaler-status data.status (YAML since CA 1.30), node groups summarised."""
    import yaml

    if where is None:
        cms = s.plain(ctx, ctx.call(f"list ConfigMaps named {STATUS_CM}", ctx.core.list_config_map_for_all_namespaces,
                                    field_selector=f"metadata.name={STATUS_CM}"))
        where = [f"{c['metadata']['namespace']}/{c['metadata']['name']}" for c in cms.get("items") or []]
    if not where:
        return None
    ns, name = where[0].split("/", 1)
    cm = s.plain(ctx, ctx.optional(f"get ConfigMap {ns}/{name}", ctx.core.read_namespaced_config_map, name, ns))
    text = ((cm or {}).get("data") or {}).get("status", "")
    ctx.record(f"{STATUS_CM} ({when})", text or "(empty)", kind="text",
               command=f"kubectl get configmap -n {ns} {name} -o jsonpath='{{.data.status}}'")
    try:
        doc = yaml.safe_load(text) if text else None
    except yaml.YAMLError:
        doc = None
    if not isinstance(doc, dict):
        return {"raw": bool(text)}
    groups = [{"name": g.get("name"), **{k: (g.get("health") or {}).get(k) for k in
                                          ("status", "minSize", "maxSize", "cloudProviderTarget")}}
              for g in doc.get("nodeGroups") or []]
    return {"autoscalerStatus": doc.get("autoscalerStatus"),
            "health": ((doc.get("clusterWide") or {}).get("health") or {}).get("status"), "nodeGroups": groups}


# -- flow ----------------------------------------------------------------------------------------------------
def _pool(ctx: ProbeContext, selector: str, res: str) -> list[dict[str, Any]]:
    nodes = s.plain(ctx, ctx.call(f"list nodes {selector}", ctx.core.list_node, label_selector=selector))
    out = []
    for n in nodes.get("items") or []:
        st = n.get("status") or {}
        out.append({"name": n["metadata"]["name"],
                    "ready": any(c.get("type") == "Ready" and c.get("status") == "True" for c in st.get("conditions") or []),
                    "accelerators": float(s.quantity((st.get("allocatable") or {}).get(res, 0))),
                    "deleting": bool(n["metadata"].get("deletionTimestamp"))})
    return sorted(out, key=lambda x: x["name"])


def _baseline(ctx: ProbeContext, selector: str, res: str) -> dict[str, Any]:
    """Upstream step 1: a stable pool of N Ready nodes, each with exactly one allocatable accelerator."""
    window = float(ctx.options["stability_window"])
    first = _pool(ctx, selector, res)
    names = [n["name"] for n in first]
    ctx.record(f"Node pool {selector} (baseline)", first, kind="object", command=f"kubectl get nodes -l {selector}")
    bad = [f"{n['name']} has {n['accelerators']:g} allocatable {res}" for n in first if n["accelerators"] != 1]
    bad += [f"{n['name']} is not Ready" for n in first if not n["ready"]]
    if bad:
        return {"ok": False, "nodes": names, "problem": "; ".join(bad)}
    started = time.monotonic()
    while time.monotonic() - started < window:
        pause(min(POLL, max(0.05, window - (time.monotonic() - started))))
        now = [n["name"] for n in _pool(ctx, selector, res)]
        if now != names:
            return {"ok": False, "nodes": names, "problem": f"the pool changed from {names} to {now} during the "
                    f"{window:g}s stability window (is it idle?)"}
    return {"ok": True, "nodes": names}


def _pod(ctx: ProbeContext, ns: str, name: str, key: str, value: str, role: str) -> dict[str, Any]:
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
    ctr["resources"]["limits"] = {o["accelerator_resource"]: "1"}
    return s.plain(ctx, ctx.call(f"create Pod {ns}/{name}", ctx.core.create_namespaced_pod, ns, pod))


def _pods(ctx: ProbeContext, ns: str, role: str) -> list[dict[str, Any]]:
    got = s.plain(ctx, ctx.call(f"list pods in {ns}", ctx.core.list_namespaced_pod, ns,
                                label_selector=f"aiconform.io/role={role}"))
    return [s.pod_summary(p) for p in got.get("items") or []]


def _baseline_pods(ctx: ProbeContext, ns: str, key: str, value: str, n: int) -> dict[str, Any]:
    pdb = s.manifest(__file__, "pdb.yaml")
    pdb["metadata"]["namespace"] = ns
    ctx.call(f"create PodDisruptionBudget {ns}/aiconform-baseline",
             client.PolicyV1Api(ctx.conn.api).create_namespaced_pod_disruption_budget, ns, pdb)
    for i in range(n):
        _pod(ctx, ns, f"baseline-{i}", key, value, "baseline")
    try:
        pods = wait_until(lambda: (p := _pods(ctx, ns, "baseline")) and all(x["phase"] == "Running" for x in p) and p
                          or (n == 0 and [None]),
                          timeout=float(ctx.options["pending_timeout"]), interval=POLL,
                          what=f"{n} baseline pod(s) Running, one per pool node",
                          missing=lambda: ", ".join(f"{x['name']} {x['phase']}" for x in _pods(ctx, ns, "baseline")))
        return {"count": n, "pods": [p for p in pods if p]}
    except ProbeTimeout as exc:
        return {"count": n, "timeout": str(exc), "pods": _pods(ctx, ns, "baseline")}


def _trigger(ctx: ProbeContext, ns: str, key: str, value: str, base: set[str]) -> dict[str, Any]:
    o = ctx.options
    _pod(ctx, ns, "trigger", key, value, "trigger")
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
    out["names_resource"] = o["accelerator_resource"] in out.get("unschedulable_message", "")

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
    out["events"] = s.events(ctx, ns, {"trigger"})
    ctx.record("Trigger pod events (TriggeredScaleUp / NotTriggerScaleUp / FailedScheduling)",
               s.events_table(out["events"]), command=f"kubectl get events -n {ns} --field-selector involvedObject.name=trigger")
    out["triggered_scale_up"] = [e["message"] for e in out["events"] if e["reason"] == "TriggeredScaleUp"]
    out["not_triggered"] = [e["message"] for e in out["events"] if e["reason"] == "NotTriggerScaleUp"]
    return out


def _trigger_missing(ctx: ProbeContext, ns: str) -> str:
    p = (_pods(ctx, ns, "trigger") or [{}])[0]
    evs = [e for e in s.events(ctx, ns, {"trigger"}) if e["reason"] in ("NotTriggerScaleUp", "TriggeredScaleUp")]
    last = f"; last autoscaler event: {evs[-1]['reason']}: {evs[-1]['message']}" if evs else \
        "; no TriggeredScaleUp event on the pod"
    return f"trigger {p.get('phase')} on {p.get('node') or '<no node>'}{last}"


def _scale_down(ctx: ProbeContext, ns: str, selector: str, n: int) -> dict[str, Any]:
    o = ctx.options
    res = o["accelerator_resource"]
    ctx.call(f"delete Pod {ns}/trigger", ctx.core.delete_namespaced_pod, "trigger", ns, grace_period_seconds=0)
    started = time.monotonic()
    out: dict[str, Any] = {"baseline": n}
    live = lambda: [x for x in _pool(ctx, selector, res) if not x["deleting"]]  # noqa: E731
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


