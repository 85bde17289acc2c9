"""Fetch for secure_accelerator_access: environment detection, then the upstream subtests as probes."""
from __future__ import annotations

from typing import Any

from ...kube import ClusterError
from .. import _accelerator as acc
from ..runtime import ProbeContext, ProbeTimeout

TEMPLATE = "accelerator-claim-template"  # upstream testResourceTemplateName
REQUEST = "single-accelerator"  # upstream testRequestName
BYPASS_ENV = [{"name": "NVIDIA_VISIBLE_DEVICES", "value": "all"}, {"name": "NVIDIA_DRIVER_CAPABILITIES", "value": "all"}]


def fetch(ctx: ProbeContext) -> dict[str, Any]:
    opts = ctx.options
    facts: dict[str, Any] = {"accelerator_type": opts.get("accelerator_type") or "auto",
                             "allocation_mode_requested": opts.get("allocation_mode", "auto")}
    disc, version, classes, slices = acc.dra_inventory(ctx)
    nodes = acc.list_nodes(ctx)
    vendor = acc.detect_vendor(facts["accelerator_type"], slices, nodes)
    facts["accelerator_detection"] = vendor
    ctx.record("Accelerator type", vendor, command="kubectl get resourceslices; kubectl get nodes")
    if vendor["type"] is None:
        return facts
    facts["accelerator_type"] = vendor["type"]
    cfg = acc.accelerator_config(vendor["type"], acc.GPU_VENDORS)
    if cfg is None:
        facts["unknown_accelerator"] = True
        return facts
    facts["accelerator"] = acc.as_dict(cfg)
    env = acc.detect_allocation_mode(facts["allocation_mode_requested"], cfg, classes, slices, nodes)
    facts.update(dra=disc, dra_version=version, device_classes=classes, resource_slices=slices,
                 nodes=[{k: v for k, v in n.items() if k != "all_labels"} for n in nodes], environment=env)
    ctx.record("Allocation mode detection", {k: env[k] for k in ("requested", "mode", "node", "error")} |
               {"dra": env["dra"], "device_plugin": env["device_plugin"]},
               command="list deviceclasses, resourceslices, nodes")
    facts["hostpath_audit"] = _hostpath_audit(ctx, cfg)
    if env["error"]:
        return facts
    mode = env["mode"]
    facts["capacity"] = acc.allocatable_total(mode, cfg, slices, nodes)

    ns = ctx.probe_namespace()
    facts["namespace"] = ns
    if mode == "dra":
        body = acc.claim_template(ns, TEMPLATE, REQUEST, cfg.device_class, version)
        ctx.call(f"create resourceclaimtemplate {ns}/{TEMPLATE}", ctx.custom.create_namespaced_custom_object,
                 acc.DRA_GROUP, version, ns, "resourceclaimtemplates", body)
        ctx.record("ResourceClaimTemplate", body, command=f"kubectl create -n {ns} -f claim-template.yaml")

    run = _Runner(ctx, cfg, ns, mode, version, slices)
    image = opts.get("probe_image") or "ubuntu:22.04"
    # Subtests in upstream order; each pod is deleted (and its claims released) before the next.
    pos = run.subtest("PositiveAccessTest", {"pos-pod": [("prober", True)]}, image)
    node = pos.get("nodes", {}).get("pos-pod") or env["node"]
    neg = run.subtest("NegativeIsolationTest", {"neg-pod": [("prober", False)]}, image, node_name=node)
    multi = run.subtest("MultiContainerIsolationTest",
                        {"multi-container-pod": [("authorized", True), ("unauthorized", False)]}, image)
    facts["subtests"] = {"PositiveAccessTest": pos, "NegativeIsolationTest": neg, "MultiContainerIsolationTest": multi}
    if cfg.dra_driver == "gpu.nvidia.com":
        # No request, NVIDIA_VISIBLE_DEVICES=all: the toolkit must not hand an unprivileged pod the node's GPUs.
        pods = {"envvar-plain": ([("prober", False)], image)}
        if opts.get("cuda_probe_image", "x"):
            pods["envvar-cuda"] = ([("prober", False)], opts.get("cuda_probe_image") or image)
        facts["subtests"]["EnvVarBypassTest"] = run.subtest(
            "EnvVarBypassTest", {k: v[0] for k, v in pods.items()}, image, node_name=node,
            env=BYPASS_ENV, images={k: v[1] for k, v in pods.items()})
    if facts["capacity"] >= 2:
        facts["subtests"]["CrossPodIsolationTest"] = run.subtest(
            "CrossPodIsolationTest", {"iso-pod-a": [("prober", True)], "iso-pod-b": [("prober", True)]}, image)
    else:
        facts["subtests"]["CrossPodIsolationTest"] = {
            "skipped": f"the cluster offers {facts['capacity']} allocatable accelerator(s); two pods holding one "
                       "each cannot run"}
    return facts


def _hostpath_audit(ctx: ProbeContext, cfg: acc.AcceleratorConfig) -> dict[str, Any]:
    """Every pod that mounts the accelerator's device nodes by hostPath (AICR checks its probe pod for this)."""
    try:
        pods = ctx.call("list pods (hostPath audit)", ctx.core.list_pod_for_all_namespaces)
    except ClusterError as exc:
        return {"error": str(exc)}
    found = acc.hostpath_device_mounts([acc.plain(p) for p in pods.items], cfg)
    ctx.record("hostPath mounts of accelerator device nodes", found or "none",
               command="kubectl get pods -A -o json | jq '.items[] | select(.spec.volumes[]?.hostPath.path | "
                       f"startswith(\"/dev\"))'  # pattern {cfg.device_pattern}")
    return {"pods": found}


class _Runner:
    def __init__(self, ctx: ProbeContext, cfg: acc.AcceleratorConfig, ns: str, mode: str, version: str | None,
                 slices: list[dict[str, Any]]) -> None:
        self.ctx, self.cfg, self.ns, self.mode, self.version, self.slices = ctx, cfg, ns, mode, version, slices
        o = ctx.options
        self.running_timeout = float(o.get("pod_running_timeout", 60))
        self.log_timeout = float(o.get("log_timeout", 90))
        self.release_timeout = float(o.get("release_timeout", 120))

    def subtest(self, title: str, pods: dict[str, list[tuple[str, bool]]], image: str,
                node_name: str | None = None, env: list[dict[str, str]] | None = None,
                images: dict[str, str] | None = None) -> dict[str, Any]:
        """Create the pods (container name, granted?), wait Running, read each container's probe result."""
        ctx, ns = self.ctx, self.ns
        out: dict[str, Any] = {"pods": {}, "nodes": {}, "timeout": "", "cleanup": []}
        for name, containers in pods.items():
            built = [acc.probe_container(c, (images or {}).get(name) or image, self.cfg) for c, _image in containers]
            for c in built if env else []:
                c["env"] = [*c.get("env", []), *env]
            grant = self.mode if containers[0][1] else None
            body = acc.probe_pod(ns, name, built, self.cfg, grant=grant, node_name=node_name,
                                 claim_template=TEMPLATE if grant == "dra" else None)
            ctx.call(f"create pod {ns}/{name}", ctx.core.create_namespaced_pod, ns, body)
            ctx.record(f"{title}: pod {name}", body, command=f"kubectl create -n {ns} -f {name}.yaml")
            out["pods"][name] = {"expected": {c: (1 if granted else 0) for c, granted in containers},
                                 "containers": {}, "claims": [], "image": built[0]["image"],
                                 **({"env": [e["name"] + "=" + e["value"] for e in env]} if env else {})}
        current = ""
        try:
            for name, containers in pods.items():
                current = name
                pod = acc.wait_running(ctx, ns, name, self.running_timeout)
                out["nodes"][name] = (pod.get("spec") or {}).get("nodeName")
                if self.mode == "dra" and self.version:
                    claims = acc.claims_of_pod(ctx, ns, pod, self.version)
                    for c in claims:
                        for d in c["devices"]:
                            found = acc.find_device(self.slices, d["driver"], d["pool"], d["device"])
                            d["uuid"] = ((found or {}).get("attributes") or {}).get("uuid")
                            d["in_resource_slice"] = found is not None
                    out["pods"][name]["claims"] = claims
                    ctx.record(f"{title}: ResourceClaims of {name}", claims,
                               command=f"kubectl get resourceclaims -n {ns} -o yaml")
                for cname, _image in containers:
                    res = acc.poll_probe_log(ctx, ns, name, cname, self.log_timeout)
                    out["pods"][name]["containers"][cname] = res
                    ctx.record(f"{title}: log of {name}/{cname}", res["log"] or "(empty)", kind="log",
                               command=f"kubectl logs -n {ns} {name} -c {cname}")
        except ProbeTimeout as exc:
            out["timeout"] = str(exc)
            pod = acc.pod_dict(ctx, ns, current)
            if pod:
                ctx.record(f"{title}: status of {current}", pod.get("status") or {},
                           command=f"kubectl get pod -n {ns} {current} -o yaml")
            self._events(title)
        for name in pods:
            left = acc.delete_pod_and_wait(ctx, ns, name, self.version if self.mode == "dra" else None,
                                           self.release_timeout)
            if left:
                out["cleanup"].append(left)
        return out

    def _events(self, title: str) -> None:
        ev = self.ctx.optional(f"list events in {self.ns}", self.ctx.core.list_namespaced_event, self.ns)
        if ev is not None:
            lines = [f"{e.type} {e.reason} {e.involved_object.kind}/{e.involved_object.name}: {e.message}"
                     for e in ev.items]
            self.ctx.record(f"{title}: events", "\n".join(lines) or "(no events)", kind="log",
                            command=f"kubectl get events -n {self.ns}")
