"""Fetch for workload_sandboxing: find the sandbox mechanism, probe a sandboxed and a control pod on one node."""
from __future__ import annotations

import time
from typing import Any

from ...versions import probe_image
from .. import _accelerator as acc
from .. import k8s
from ..runtime import ProbeContext, ProbeTimeout, pause, wait_until
from . import rules

SANDBOXED = "sandboxed-probe-pod"
CONTROL = "unsandboxed-control-pod"
SANDBOX_CR = "sandboxed-probe-cr"


def _manifest(name: str) -> dict[str, Any]:
    return k8s.manifest(__file__, name)


def _runtime_classes(ctx: ProbeContext) -> list[dict[str, Any]]:
    from kubernetes import client
    items = ctx.call("list runtimeclasses.node.k8s.io", client.NodeV1Api(ctx.conn.api).list_runtime_class).items
    out = [{"name": rc.metadata.name, "handler": rc.handler} for rc in items]
    return sorted(({**rc, "kind": rules.classify(rc)} for rc in out), key=lambda r: r["name"])


def _agent_api(ctx: ProbeContext) -> str | None:
    group = ctx.api_group(rules.AGENT_GROUP)
    if group is None:
        return None
    versions = [v.get("version") for v in (group or {}).get("versions") or [] if v.get("version")]
    return ((group or {}).get("preferredVersion") or {}).get("version") or (versions[0] if versions else None)


def discover(sandbox_type: str, requested: str, classes: list[dict[str, Any]], agent: str | None) -> dict[str, Any]:
    """Upstream discoverSandboxingSolution on listed facts: {solution, error}; solution None with no error = none."""
    by_name = {rc["name"]: rc for rc in classes}

    def runtime_class() -> dict[str, Any]:
        if requested:
            rc = by_name.get(requested)
            if rc is None:
                return {"solution": None, "error": f"specified RuntimeClass {requested!r} not found"}
            return {"solution": {"type": "runtimeclass", "runtime_class": rc["name"], "handler": rc["handler"]}, "error": ""}
        known = [rc for rc in classes if rc["kind"] == "sandbox"]
        if known:
            return {"solution": {"type": "runtimeclass", "runtime_class": known[0]["name"], "handler": known[0]["handler"]},
                    "error": ""}
        return {"solution": None, "error": "no known sandboxed RuntimeClass found"}

    def agent_sandbox() -> dict[str, Any]:
        if not agent:
            return {"solution": None, "error": f"API group {rules.AGENT_GROUP} not found"}
        sol = {"type": "agent-sandbox", "version": agent, "runtime_class": "", "handler": ""}
        if requested:
            rc = by_name.get(requested)
            if rc is None:
                return {"solution": None, "error": f"specified RuntimeClass {requested!r} not found"}
            sol.update(runtime_class=rc["name"], handler=rc["handler"])
        return {"solution": sol, "error": ""}

    if sandbox_type == "runtimeclass":
        return runtime_class()
    if sandbox_type == "agent-sandbox":
        return agent_sandbox()
    if requested:
        return runtime_class()
    for found in (runtime_class(), agent_sandbox()):
        if found["solution"]:
            return found
    return {"solution": None, "error": ""}


def fetch(ctx: ProbeContext) -> dict[str, Any]:
    opts = ctx.options
    classes = _runtime_classes(ctx)
    agent = _agent_api(ctx)
    found = discover(opts.get("sandbox_type") or "auto", opts.get("runtime_class") or "", classes, agent)
    facts: dict[str, Any] = {"runtime_classes": classes, "agent_api": agent, **found,
                             "requested": {"sandbox_type": opts.get("sandbox_type") or "auto",
                                           "runtime_class": opts.get("runtime_class") or ""}}
    ctx.record("Sandboxing mechanism detection", {k: facts[k] for k in ("runtime_classes", "agent_api", "solution", "error")},
               command=f"kubectl get runtimeclasses; kubectl api-versions | grep {rules.AGENT_GROUP}")
    if not found["solution"]:
        return facts
    sol = found["solution"]
    ns = ctx.probe_namespace()
    timeout = float(opts.get("timeout", 180))
    image = opts.get("probe_image") or probe_image("busybox")
    facts["sandboxed"] = sandboxed = {"pod": "", "node": "", "timeout": ""}
    facts["control"] = control = {"pod": CONTROL, "node": "", "timeout": ""}
    try:
        if sol["type"] == "runtimeclass":
            sandboxed["pod"] = SANDBOXED
            body = _pod(ns, SANDBOXED, image, runtime_class=sol["runtime_class"])
            ctx.call(f"create pod {ns}/{SANDBOXED}", ctx.core.create_namespaced_pod, ns, body)
            ctx.record("Sandboxed probe pod", body, command=f"kubectl create -n {ns} -f {SANDBOXED}.yaml")
        else:
            sandboxed["pod"] = _agent_sandbox(ctx, ns, sol, image, timeout)
        _probe(ctx, ns, sandboxed, timeout)
        # Upstream pins the control pod with nodeName: it requests nothing special, and a tainted sandbox pool
        # must not keep it off the node the sandboxed workload landed on.
        body = _pod(ns, CONTROL, image, node_name=sandboxed["node"])
        ctx.call(f"create pod {ns}/{CONTROL}", ctx.core.create_namespaced_pod, ns, body)
        ctx.record("Unsandboxed control pod", body, command=f"kubectl create -n {ns} -f {CONTROL}.yaml")
        _probe(ctx, ns, control, timeout)
    except ProbeTimeout as exc:
        (control if sandboxed.get("completed") else sandboxed)["timeout"] = str(exc)
        _events(ctx, ns)
    return facts


def _pod(ns: str, name: str, image: str, *, runtime_class: str = "", node_name: str = "") -> dict[str, Any]:
    pod = _manifest("probe-pod.yaml")
    pod["metadata"].update(name=name, namespace=ns)
    ctr = pod["spec"]["containers"][0]
    ctr["image"] = image
    ctr["args"] = [rules.SCRIPT + "sleep 3600"]
    if runtime_class:
        pod["spec"]["runtimeClassName"] = runtime_class
    if node_name:
        pod["spec"]["nodeName"] = node_name
    return pod


def _agent_sandbox(ctx: ProbeContext, ns: str, sol: dict[str, Any], image: str, timeout: float) -> str:
    """Create a Sandbox and return the name of the Pod it owns (upstream waitForAgentSandboxPod)."""
    body = _manifest("sandbox.yaml")
    body["apiVersion"] = f"{rules.AGENT_GROUP}/{sol['version']}"
    body["metadata"].update(name=SANDBOX_CR, namespace=ns)
    spec = _pod(ns, "x", image, runtime_class=sol.get("runtime_class", ""))["spec"]
    body["spec"]["podTemplate"]["spec"] = spec
    ctx.call(f"create sandbox {ns}/{SANDBOX_CR}", ctx.custom.create_namespaced_custom_object, rules.AGENT_GROUP,
             sol["version"], ns, "sandboxes", body)
    ctx.record("agent-sandbox Sandbox", body, command=f"kubectl create -n {ns} -f sandbox.yaml")

    def owned() -> str:
        for p in ctx.call(f"list pods in {ns}", ctx.core.list_namespaced_pod, ns).items:
            for o in p.metadata.owner_references or []:
                if o.kind == "Sandbox" and o.name == SANDBOX_CR and o.api_version.startswith(rules.AGENT_GROUP + "/"):
                    return str(p.metadata.name)
        return ""

    return wait_until(owned, timeout=timeout, interval=2.0, what=f"a Pod owned by Sandbox {SANDBOX_CR}")


def _probe(ctx: ProbeContext, ns: str, out: dict[str, Any], timeout: float) -> None:
    """Wait Running, then read the log until the completion marker (upstream waitForProbeCompletion)."""
    pod = acc.wait_running(ctx, ns, out["pod"], timeout)
    out["node"] = (pod.get("spec") or {}).get("nodeName") or ""
    out["runtime_class"] = (pod.get("spec") or {}).get("runtimeClassName") or ""
    deadline = time.monotonic() + timeout
    text = ""
    while True:
        text = acc.read_log(ctx, ns, out["pod"], "prober")
        if rules.COMPLETED in text or time.monotonic() >= deadline:
            break
        pause(min(2.0, max(0.05, deadline - time.monotonic())))
    out.update(rules.parse(text), log=acc.trim(text))
    ctx.record(f"Probe log of {out['pod']}", text or "(empty)", kind="log", command=f"kubectl logs -n {ns} {out['pod']}")
    if not out["completed"]:
        raise ProbeTimeout(f"probe in pod {out['pod']} did not report {rules.COMPLETED!r} within {timeout:g}s")


def _events(ctx: ProbeContext, ns: str) -> None:
    ev = ctx.optional(f"list events in {ns}", ctx.core.list_namespaced_event, ns)
    if ev is not None:
        lines = [f"{e.type} {e.reason} {e.involved_object.kind}/{e.involved_object.name}: {e.message}" for e in ev.items]
        ctx.record("Events of the probe namespace", "\n".join(lines) or "(no events)", kind="log",
                   command=f"kubectl get events -n {ns}")
