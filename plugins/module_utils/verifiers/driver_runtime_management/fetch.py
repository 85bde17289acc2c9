"""Fetch for driver_runtime_management: platform metadata for the accelerator node, then the driver probe."""
from __future__ import annotations

from typing import Any

from .. import _accelerator as acc
from ..runtime import ProbeContext, ProbeTimeout
from . import rules

TEMPLATE = "accelerator-claim-template"
REQUEST = "single-accelerator"
POD = "driver-runtime-probe-pod"


def _node_devices(slices: list[dict[str, Any]], nodes: list[dict[str, Any]], node: str,
                  cfg: acc.AcceleratorConfig) -> list[dict[str, Any]]:
    """Allocatable devices of complete current-generation pools of the driver, eligible on ``node``."""
    target = [n for n in nodes if n["name"] == node]
    out = []
    for s in slices:
        if s.get("driver") != cfg.dra_driver:
            continue
        if acc.dra_usable(cfg, [{"name": cfg.device_class}], [s], target)["usable"]:
            out += acc.allocatable_devices(s)
    return out


def _runtime_class(ctx: ProbeContext) -> str:
    from kubernetes import client
    api = client.NodeV1Api(ctx.conn.api)
    for name in rules.RUNTIME_CLASSES:
        if ctx.optional(f"read runtimeclass {name}", api.read_runtime_class, name) is not None:
            return name
    return ""


def fetch(ctx: ProbeContext) -> dict[str, Any]:
    opts = ctx.options
    facts, cfg = acc.accelerator_type_facts(opts)
    if cfg is None:
        return facts
    _disc, version, classes, slices = acc.dra_inventory(ctx)
    nodes = acc.list_nodes(ctx)
    env = acc.detect_allocation_mode(opts.get("allocation_mode", "auto"), cfg, classes, slices, nodes)
    facts.update(dra_version=version, environment=env)
    if env["error"]:
        return facts
    runtime_class = _runtime_class(ctx)

    def info_for(node: str) -> dict[str, Any]:
        summary = next(n for n in nodes if n["name"] == node)
        return rules.platform_info(summary, _node_devices(slices, nodes, node, cfg), runtime_class, env["mode"])

    facts["platform"] = info_for(env["node"])
    ctx.record("What the platform advertises", facts["platform"],
               command="kubectl get resourceslices -o yaml; kubectl get node -o yaml; kubectl get runtimeclass")

    ns = ctx.probe_namespace()
    if env["mode"] == "dra":
        body = acc.claim_template(ns, TEMPLATE, REQUEST, cfg.device_class, version)
        ctx.call(f"create resourceclaimtemplate {ns}/{TEMPLATE}", ctx.custom.create_namespaced_custom_object,
                 acc.DRA_GROUP, version, ns, "resourceclaimtemplates", body)
    container = acc.probe_container("prober", opts.get("probe_image") or "ubuntu:22.04", cfg, sleep=False)
    container["args"] = [container["args"][0] + "\n" + rules.DRIVER_SCRIPT + "sleep 3600"]
    pod = acc.probe_pod(ns, POD, [container], cfg, grant=env["mode"], claim_template=TEMPLATE)
    ctx.call(f"create pod {ns}/{POD}", ctx.core.create_namespaced_pod, ns, pod)
    ctx.record("Driver/runtime probe pod", pod, command=f"kubectl create -n {ns} -f {POD}.yaml")
    result: dict[str, Any] = {"timeout": ""}
    facts["probe"] = result
    try:
        running = acc.wait_running(ctx, ns, POD, float(opts.get("pod_running_timeout", 60)))
    except ProbeTimeout as exc:
        result["timeout"] = str(exc)
        return facts
    node = (running.get("spec") or {}).get("nodeName") or env["node"]
    if node != facts["platform"]["node"]:
        facts["platform"] = info_for(node)  # upstream re-resolves on the node the pod landed on
    text, _rest = acc.wait_for_log(ctx, ns, POD, "prober", float(opts.get("log_timeout", 90)),
                                   lambda t: bool(rules.parse(t)["complete"]))
    parsed = rules.parse(text)
    result.update(parsed, log=acc.trim(text))
    if not parsed["complete"]:
        result["timeout"] = (f"timed out after {float(opts.get('log_timeout', 90)):g}s waiting for complete "
                             "driver/runtime probe logs")
    ctx.record("Driver/runtime probe log", text or "(empty)", kind="log", command=f"kubectl logs -n {ns} {POD}")
    return facts
