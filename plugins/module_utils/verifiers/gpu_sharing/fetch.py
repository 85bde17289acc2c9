"""Fetch for gpu_sharing: sharing configuration of the GPU nodes, then physical + 1 pods on one shared node."""
from __future__ import annotations

import time
from typing import Any

try:
    import yaml
except ImportError:  # the module reports the missing library (deps.py)
    yaml = None

from .. import _accelerator as acc
from ..runtime import ProbeContext, ProbeTimeout, pause
from . import rules

TEMPLATE = "shared-accelerator-claim"
REQUEST = "shared-accelerator"
POD_PREFIX = "share-pod-"


def _device_plugin_config(ctx: ProbeContext) -> dict[str, Any]:
    """Evidence of how sharing was configured: the GPU Operator ClusterPolicy's devicePlugin.config and the
    sharing section of the ConfigMap it names (absent CRD or ConfigMap: empty)."""
    policies = ctx.optional("list clusterpolicies.nvidia.com", ctx.custom.list_cluster_custom_object,
                            "nvidia.com", "v1", "clusterpolicies")
    out: dict[str, Any] = {"cluster_policy": None, "config_map": None, "sharing": {}}
    for pol in (policies or {}).get("items") or []:
        cfg = (((pol.get("spec") or {}).get("devicePlugin") or {}).get("config") or {})
        out["cluster_policy"] = {"name": pol["metadata"]["name"], "config": cfg.get("name"), "default": cfg.get("default")}
        if not cfg.get("name"):
            continue
        ns = ((pol.get("spec") or {}).get("operator") or {}).get("namespace") or "gpu-operator"
        cm = ctx.optional(f"read configmap {ns}/{cfg['name']}", ctx.core.read_namespaced_config_map, cfg["name"], ns)
        if cm is None:
            continue
        out["config_map"] = f"{ns}/{cfg['name']}"
        for key, text in (cm.data or {}).items():
            try:
                doc = yaml.safe_load(text) or {}
            except yaml.YAMLError:
                continue
            sharing = doc.get("sharing") if isinstance(doc, dict) else None
            if sharing:
                out["sharing"][key] = sharing
    return out


def fetch(ctx: ProbeContext) -> dict[str, Any]:
    opts = ctx.options
    facts, cfg = acc.accelerator_type_facts(opts)
    if cfg is None:
        return facts
    nodes = acc.list_nodes(ctx)
    usable = acc.usable_nodes(nodes)
    disc = acc.dra_discovery(ctx)
    version = acc.client_version(disc)
    slices = [acc.slice_summary(o) for o in acc.list_dra(ctx, version, "resourceslices")] if version else []
    candidates = [rules.node_sharing(n) for n in usable if rules.is_gpu_node(n)]
    candidates += rules.dra_mig(slices, [n["name"] for n in usable])
    facts.update(dra_version=version, nodes=candidates, config=_device_plugin_config(ctx))
    ctx.record("GPU sharing as the nodes advertise it", {"nodes": candidates, "device_plugin_config": facts["config"]},
               command="kubectl get nodes -o yaml; kubectl get clusterpolicies,resourceslices -o yaml")
    target = rules.pick(candidates)
    if target is None:
        return facts
    n = rules.pod_count(target, int(opts.get("max_probe_pods", 9)))
    facts["plan"] = {"node": target["node"], "mechanism": target["mechanism"], "resource": target["resource"],
                     "pods": n, "physical": target["physical"]}
    if n < 2:
        return facts
    facts["probe"] = _run(ctx, cfg, target, n, version, slices)
    return facts


def _pod(ctx: ProbeContext, cfg: acc.AcceleratorConfig, ns: str, name: str, target: dict[str, Any]) -> dict[str, Any]:
    image = ctx.options.get("probe_image") or "ubuntu:22.04"
    container = acc.probe_container("prober", image, cfg, sleep=False)
    container["args"] = [container["args"][0] + "\n" + rules.HEALTH_SCRIPT + "sleep 3600"]
    if target["grant"] == "dra":
        pod = acc.probe_pod(ns, name, [container], cfg, grant="dra", claim_template=TEMPLATE)
    else:
        pod = acc.probe_pod(ns, name, [container], cfg)
        container.setdefault("resources", {}).setdefault("limits", {})[target["resource"]] = "1"
    # nodeSelector, not nodeName: the scheduler must count the shared resource against the node's allocatable.
    pod["spec"]["nodeSelector"] = {"kubernetes.io/hostname": target["node"]}
    return pod


def _poll(ctx: ProbeContext, ns: str, name: str, timeout: float) -> dict[str, Any]:
    """Poll the log every 2 s until the health line (printed last) is there; the count line alone is early."""
    deadline = time.monotonic() + timeout
    while True:
        text = acc.read_log(ctx, ns, name, "prober")
        parsed = rules.parse(text)
        if parsed["health"] is not None or time.monotonic() >= deadline:
            missing = "" if parsed["health"] is not None else \
                f"timed out after {timeout:g}s waiting for the RESULT: HEALTH_CHECK line in the log of {name}"
            return {**parsed, "log": acc.trim(text), "log_timeout": missing}
        pause(min(2.0, max(0.05, deadline - time.monotonic())))


def _run(ctx: ProbeContext, cfg: acc.AcceleratorConfig, target: dict[str, Any], n: int, version: str | None,
         slices: list[dict[str, Any]]) -> dict[str, Any]:
    opts = ctx.options
    ns = ctx.probe_namespace()
    out: dict[str, Any] = {"namespace": ns, "pods": {}, "timeout": "", "cleanup": []}
    if target["grant"] == "dra":
        body = acc.claim_template(ns, TEMPLATE, REQUEST, rules.MIG_DEVICE_CLASS, version or "v1")
        ctx.call(f"create resourceclaimtemplate {ns}/{TEMPLATE}", ctx.custom.create_namespaced_custom_object,
                 acc.DRA_GROUP, version, ns, "resourceclaimtemplates", body)
    names = [f"{POD_PREFIX}{i}" for i in range(n)]
    for name in names:
        body = _pod(ctx, cfg, ns, name, target)
        ctx.call(f"create pod {ns}/{name}", ctx.core.create_namespaced_pod, ns, body)
        out["pods"][name] = {}
    ctx.record(f"{n} probe pods each requesting one {target['resource']} on node {target['node']}",
               _pod(ctx, cfg, ns, names[0], target), command=f"kubectl create -n {ns} -f {POD_PREFIX}<i>.yaml")
    deadline = time.monotonic() + float(opts.get("pod_running_timeout", 120))
    current = ""
    try:
        for name in names:
            current = name
            pod = acc.wait_running(ctx, ns, name, max(1.0, deadline - time.monotonic()))
            res = _poll(ctx, ns, name, float(opts.get("log_timeout", 90)))
            out["pods"][name] = {"node": (pod.get("spec") or {}).get("nodeName"), **res}
            if target["grant"] == "dra" and version:
                claims = acc.claims_of_pod(ctx, ns, pod, version)
                for c in claims:
                    for d in c["devices"]:
                        found = acc.find_device(slices, d["driver"], d["pool"], d["device"]) or {}
                        d["parent_uuid"] = (found.get("attributes") or {}).get("parentUUID")
                out["pods"][name]["claims"] = claims
            ctx.record(f"log of {name}", res["log"] or "(empty)", kind="log", command=f"kubectl logs -n {ns} {name}")
    except ProbeTimeout as exc:
        out["timeout"] = str(exc)
        pod = acc.pod_dict(ctx, ns, current)
        if pod:
            ctx.record(f"status of {current}", pod.get("status") or {}, command=f"kubectl get pod -n {ns} {current} -o yaml")
    for name in names:
        left = acc.delete_pod_and_wait(ctx, ns, name, version if target["grant"] == "dra" else None,
                                       float(opts.get("release_timeout", 120)))
        if left:
            out["cleanup"].append(left)
    return out
