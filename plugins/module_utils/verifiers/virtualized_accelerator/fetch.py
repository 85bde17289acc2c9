"""Fetch for virtualized_accelerator: classify the GPU nodes, then allocate one vGPU like any GPU and probe it."""
from __future__ import annotations

from typing import Any

from .. import _accelerator as acc
from ..gpu_sharing import rules as sharing
from ..runtime import ProbeContext, ProbeTimeout
from . import rules

TEMPLATE = "accelerator-claim-template"
REQUEST = "single-accelerator"
POD = "vgpu-probe-pod"


def fetch(ctx: ProbeContext) -> dict[str, Any]:
    opts = ctx.options
    facts, cfg = acc.accelerator_type_facts(opts)
    if cfg is None:
        return facts
    _disc, version, classes, slices = acc.dra_inventory(ctx)
    nodes = acc.usable_nodes(acc.list_nodes(ctx))
    gpu_nodes = [n for n in nodes if sharing.is_gpu_node(n) or rules.node_devices(slices, n["name"])]
    facts["nodes"] = [rules.classify_node(n, rules.node_devices(slices, n["name"])) for n in gpu_nodes]
    ctx.record("Virtual or physical accelerators, per GPU node", facts["nodes"],
               command="kubectl get nodes --show-labels; kubectl get resourceslices -o yaml")
    virtual = {c["node"] for c in facts["nodes"] if c["kind"] == "virtual"}
    if not virtual:
        return facts
    # The same allocation path physical GPUs use (upstream detectAllocationMode), restricted to vGPU nodes.
    env = acc.detect_allocation_mode(opts.get("allocation_mode", "auto"), cfg, classes, slices,
                                     [n for n in nodes if n["name"] in virtual])
    facts.update(dra_version=version, environment=env)
    if env["error"]:
        return facts
    facts["probe"] = _probe(ctx, cfg, env, version, slices)
    return facts


def _probe(ctx: ProbeContext, cfg: acc.AcceleratorConfig, env: dict[str, Any], version: str | None,
           slices: list[dict[str, Any]]) -> dict[str, Any]:
    opts = ctx.options
    ns = ctx.probe_namespace()
    out: dict[str, Any] = {"mode": env["mode"], "node": env["node"], "timeout": "", "cleanup": [], "claims": []}
    if env["mode"] == "dra":
        body = acc.claim_template(ns, TEMPLATE, REQUEST, cfg.device_class, version or "v1")
        ctx.call(f"create resourceclaimtemplate {ns}/{TEMPLATE}", ctx.custom.create_namespaced_custom_object,
                 acc.DRA_GROUP, version, ns, "resourceclaimtemplates", body)
    container = acc.probe_container("prober", opts.get("probe_image") or "ubuntu:22.04", cfg, sleep=False)
    container["args"] = [container["args"][0] + "\n" + sharing.HEALTH_SCRIPT + "sleep 3600"]
    pod = acc.probe_pod(ns, POD, [container], cfg, grant=env["mode"], claim_template=TEMPLATE)
    pod["spec"]["nodeSelector"] = {"kubernetes.io/hostname": env["node"]}  # the vGPU node, via the scheduler
    ctx.call(f"create pod {ns}/{POD}", ctx.core.create_namespaced_pod, ns, pod)
    ctx.record("vGPU probe pod", pod, command=f"kubectl create -n {ns} -f {POD}.yaml")
    try:
        running = acc.wait_running(ctx, ns, POD, float(opts.get("pod_running_timeout", 60)))
        out["node"] = (running.get("spec") or {}).get("nodeName") or env["node"]
        if env["mode"] == "dra" and version:
            out["claims"] = acc.claims_of_pod(ctx, ns, running, version)
            for c in out["claims"]:
                for d in c["devices"]:
                    found = acc.find_device(slices, d["driver"], d["pool"], d["device"]) or {}
                    d["attributes"] = found.get("attributes") or {}
        timeout = float(opts.get("log_timeout", 90))
        text, _rest = acc.wait_for_log(ctx, ns, POD, "prober", timeout,
                                       lambda t: sharing.parse(t)["health"] is not None)
        parsed = sharing.parse(text)
        out.update(parsed, log=acc.trim(text))
        if parsed["health"] is None:
            out["timeout"] = f"timed out after {timeout:g}s waiting for the RESULT: HEALTH_CHECK line in the log of {POD}"
        ctx.record("vGPU probe log", text or "(empty)", kind="log", command=f"kubectl logs -n {ns} {POD}")
    except ProbeTimeout as exc:
        out["timeout"] = str(exc)
    left = acc.delete_pod_and_wait(ctx, ns, POD, version if env["mode"] == "dra" else None,
                                   float(opts.get("release_timeout", 120)))
    if left:
        out["cleanup"].append(left)
    return out
