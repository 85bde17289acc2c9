"""disaggregated_inference judge: pure facts → verdict.

Subtests: DisaggregatedDeploymentFound, RequestThroughGateway, SeparatePrefillDecodePods, RequestIdInBothLogs.
No prefill/decode pods at all → unknown (aiconform does not deploy the stack; the labels may differ); only one
role present, requests failing, or no id in both logs → Not Implemented; no gateway found → unknown.
"""
from __future__ import annotations

from typing import Any

from ...results import Check, Outcome, Status, Verdict, stopped_early

SUBTESTS = ("DisaggregatedDeploymentFound", "RequestThroughGateway", "SeparatePrefillDecodePods", "RequestIdInBothLogs")


def _finish(status: Status, reason: str, checks: list[Check]) -> Verdict:
    return stopped_early(SUBTESTS, status, [reason], checks)


def judge(facts: dict[str, Any]) -> Verdict:
    checks: list[Check] = []
    o = facts.get("options") or {}
    prefill, decode = facts.get("prefill") or [], facts.get("decode") or []
    if not prefill and not decode:
        return _finish(Status.UNKNOWN, f"no disaggregated inference deployment found (no pods match "
                       f"{o.get('prefill_selector')!r} or {o.get('decode_selector')!r}); deploy llm-d, Dynamo or vLLM/SGLang "
                       "with separate prefill and decode, or set aiconform_disaggregated_inference_prefill_selector / "
                       "_decode_selector to its role labels", checks)
    if not prefill or not decode:
        missing = "prefill" if not prefill else "decode"
        reason = f"no {missing} pods (selector {o.get(missing + '_selector')!r}): prefill and decode do not run as separate instances"
        checks.append(Check("DisaggregatedDeploymentFound", Outcome.FAIL, reason))
        return _finish(Status.NOT_IMPLEMENTED, reason, checks)
    checks.append(Check("DisaggregatedDeploymentFound", Outcome.PASS, f"{len(prefill)} prefill and {len(decode)} decode pods"))
    endpoint = facts.get("endpoint") or {}
    if not endpoint.get("url"):
        return _finish(Status.UNKNOWN, f"cannot send a request through the gateway: {endpoint.get('source')}; set "
                       "aiconform_disaggregated_inference_gateway_url", checks)
    traffic = facts.get("traffic") or {}
    if traffic.get("phase") not in ("Running", "Succeeded", "Failed"):
        return _finish(Status.UNKNOWN, f"cannot judge: the client pod never ran ({traffic.get('timeout') or traffic.get('state', '')})", checks)
    k = (traffic.get("kinds") or {}).get("completions") or {"total": 0, "ok": 0, "codes": {}}
    expected = int(o.get("completion_requests", 0))
    if k["ok"] == 0 or k["ok"] < expected:
        codes = ", ".join(f"{c}×{n}" for c, n in sorted(k["codes"].items())) or "none"
        reason = f"completions through {endpoint['url']}: {k['ok']}/{expected} answered 2xx (HTTP codes: {codes})"
        checks.append(Check("RequestThroughGateway", Outcome.FAIL, reason))
        return _finish(Status.NOT_IMPLEMENTED, reason, checks)
    checks.append(Check("RequestThroughGateway", Outcome.PASS, f"{k['ok']}/{expected} answered 2xx via {endpoint['source']}"))
    names_p = {f"{p['namespace']}/{p['name']}" for p in prefill}
    names_d = {f"{p['namespace']}/{p['name']}" for p in decode}
    if names_p & names_d:
        reason = f"the same pods carry both roles: {sorted(names_p & names_d)}"
        checks.append(Check("SeparatePrefillDecodePods", Outcome.FAIL, reason))
        return _finish(Status.NOT_IMPLEMENTED, reason, checks)
    checks.append(Check("SeparatePrefillDecodePods", Outcome.PASS, "prefill and decode run in different pods"))
    logs = facts.get("logs") or {}
    both = [i for i in (logs.get("decode") or {}) if (logs.get("decode") or {}).get(i) and (logs.get("prefill") or {}).get(i)]
    if not both:
        reason = ("no request id appeared in both a prefill and a decode pod's log (the serving engine may not log "
                  f"request ids at its log level): prefill {logs.get('prefill')}, decode {logs.get('decode')}")
        checks.append(Check("RequestIdInBothLogs", Outcome.FAIL, reason))
        return _finish(Status.NOT_IMPLEMENTED, reason, checks)
    i = both[0]
    checks.append(Check("RequestIdInBothLogs", Outcome.PASS,
                        f"{len(both)} request id(s) in both roles' logs, e.g. {i}: prefill {logs['prefill'][i]}, decode {logs['decode'][i]}"))
    return Verdict(Status.IMPLEMENTED, [f"disaggregated serving: {k['ok']} completions through the gateway, each id "
                                        f"seen in prefill and decode pods ({len(both)}/{k['ok']})"], checks)
