"""disaggregated_inference fetch: find prefill/decode pods by role labels, send completions with request ids
through the deployment's Gateway, and read the ids back from the prefill and decode pods' logs."""
from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import urlsplit

from .. import _networking as net
from ..runtime import ProbeContext
from . import OPTIONS

CLIENT = "disagg-client"


def _opt(ctx: ProbeContext, key: str) -> Any:
    value = ctx.options.get(key)
    return OPTIONS[key]["default"] if value is None else value


def _pods(ctx: ProbeContext, selector: str) -> list[dict[str, Any]]:
    listed = ctx.call(f"list pods -l {selector}", ctx.core.list_pod_for_all_namespaces, label_selector=selector)
    return [ctx.conn.api.sanitize_for_serialization(p) for p in listed.items]


def _summary(p: dict[str, Any]) -> dict[str, Any]:
    return {"namespace": p["metadata"]["namespace"], "name": p["metadata"]["name"], "ready": net.pod_ready(p),
            "node": (p.get("spec") or {}).get("nodeName", ""),
            "image": ((p.get("spec") or {}).get("containers") or [{}])[0].get("image", "")}


def _model(pods: list[dict[str, Any]]) -> str:
    """The served model from a vLLM-style command line (`--model X` or `vllm serve X`)."""
    for p in pods:
        for c in (p.get("spec") or {}).get("containers") or []:
            words = [str(w) for w in (c.get("command") or []) + (c.get("args") or [])]
            text = " ".join(words)
            m = re.search(r"--model[= ](\S+)", text) or re.search(r"\bserve (\S+)", text)
            if m and not m.group(1).startswith("-"):
                return m.group(1)
    return ""


def _gateway_url(ctx: ProbeContext, ns: str) -> tuple[str, str]:
    """A Programmed Gateway with an address in the decode pods' namespace."""
    if net.served_kinds(ctx, net.GATEWAY_GROUP).get("kinds", {}).get("Gateway") is None:
        return "", "the Gateway API is not served"
    gws = ctx.call(f"list Gateways in {ns}", ctx.custom.list_namespaced_custom_object, net.GATEWAY_GROUP,
                   net.GATEWAY_VERSION, ns, "gateways")
    for gw in gws.get("items") or []:
        s = net.gateway_summary(gw)
        if net.is_true(s["conditions"], "Programmed") and s["addresses"]:
            port = ((gw.get("spec") or {}).get("listeners") or [{}])[0].get("port", 80)
            return f"http://{s['addresses'][0]['value']}:{port}/v1/completions", f"Gateway {ns}/{gw['metadata']['name']}"
    return "", f"no Programmed Gateway with an address in namespace {ns}"


def fetch(ctx: ProbeContext) -> dict[str, Any]:
    o = {k: _opt(ctx, k) for k in OPTIONS}
    prefill, decode = _pods(ctx, o["prefill_selector"]), _pods(ctx, o["decode_selector"])
    facts: dict[str, Any] = {"options": {k: o[k] for k in ("prefill_selector", "decode_selector", "completion_requests")},
                             "prefill": [_summary(p) for p in prefill], "decode": [_summary(p) for p in decode]}
    ctx.record("Prefill and decode pods", {"prefill": facts["prefill"], "decode": facts["decode"]},
               command=f"kubectl get pods -A -l {o['prefill_selector']}; kubectl get pods -A -l {o['decode_selector']}")
    if not prefill or not decode:
        return facts
    ns = decode[0]["metadata"]["namespace"]
    url, source = (o["gateway_url"], "option gateway_url") if o["gateway_url"] else _gateway_url(ctx, ns)
    facts["endpoint"] = {"url": url, "source": source}
    if not url:
        return facts
    model = o["model"] or _model(decode)
    parts = urlsplit(url)
    probe_ns = ctx.probe_namespace()
    run = re.sub(r"[^a-z0-9]", "", ctx.run_id.lower())[-12:] or "run"
    prefix = f"aiconform-{run}"
    pod = net.manifest(__file__, "client-pod.yaml")
    pod["metadata"]["name"] = CLIENT
    pod["spec"]["containers"][0]["image"] = o["client_image"]
    net.set_env(pod, {"GATEWAY_HOST": parts.hostname or "", "GATEWAY_PORT": parts.port or 80,
                      "REQUEST_PATH": parts.path or "/v1/completions",
                      "REQUEST_BODY": json.dumps({"model": model, "prompt": "aiconform disaggregation probe",
                                                  "max_tokens": 8}),
                      "COMPLETION_REQUESTS": o["completion_requests"], "REQUEST_ID_HEADER": o["request_id_header"],
                      "REQUEST_ID_PREFIX": prefix})
    facts["traffic"] = {"model": model, "prefix": prefix,
                        **net.run_client(ctx, probe_ns, pod, float(o["pod_timeout"]) + float(o["client_timeout"]))}
    ids = ((facts["traffic"].get("kinds") or {}).get("completions") or {}).get("ids") or []
    facts["logs"] = {"prefill": _find_ids(ctx, prefill, ids, int(o["log_tail_lines"])),
                     "decode": _find_ids(ctx, decode, ids, int(o["log_tail_lines"]))}
    return facts


def _find_ids(ctx: ProbeContext, pods: list[dict[str, Any]], ids: list[str], tail: int) -> dict[str, list[str]]:
    """Request id → pods whose log mentions it."""
    found: dict[str, list[str]] = {i: [] for i in ids}
    for p in pods:
        ns, name = p["metadata"]["namespace"], p["metadata"]["name"]
        for c in (p.get("spec") or {}).get("containers") or []:
            text = ctx.call(f"read log {ns}/{name}/{c['name']}", ctx.core.read_namespaced_pod_log, name, ns,
                            container=c["name"], tail_lines=tail)
            hits = [line for line in (text or "").splitlines() if any(i in line for i in ids)]
            for i in ids:
                if any(i in line for line in hits):
                    found[i].append(f"{ns}/{name}")
            if hits:
                ctx.record(f"Log lines with the request ids: {name}/{c['name']}", "\n".join(hits[:20]), kind="log",
                           command=f"kubectl logs -n {ns} {name} -c {c['name']} --tail={tail}")
    return found
