"""Judge for secure_accelerator_access: the upstream pass criteria, as a pure function of the facts.

A container passes when its log has the exact line ``RESULT: ACCELERATOR_COUNT=<expected>`` (1 for a
granted container, 0 otherwise); the older ``RESULT: ACCELERATOR_FOUND``/``MISSING`` lines count as
1/0. The cross-pod check needs both pods to see exactly one device and the two devices to differ; it is
skipped (with why, never counted as a pass) when the cluster offers one accelerator, and the verdict then
rests on upstream's three subtests. ``EnvVarBypassTest`` (NVIDIA): pods that request nothing but set
``NVIDIA_VISIBLE_DEVICES=all`` must see no device. Every verdict also carries the hostPath audit (``hostpath_note``):
pods that mount the accelerator's device nodes from the host, as NVIDIA's AICR validator checks its probe pod.
"""
from __future__ import annotations

from typing import Any

from ...results import Check, Outcome, Status, Verdict

UPSTREAM = ("PositiveAccessTest", "NegativeIsolationTest", "MultiContainerIsolationTest")


def _container_ok(res: dict[str, Any], expected: int) -> tuple[bool, str]:
    count, found = res.get("count"), res.get("found")
    if count is None and found is None:
        return False, res.get("timeout") or "the probe printed no RESULT line"
    if count is not None:
        ok = count == expected
        seen = f"sees {count} accelerator device(s)"
    else:
        ok = bool(found) == (expected > 0)
        seen = "sees an accelerator" if found else "sees no accelerator"
    return ok, seen


def _subtest(name: str, st: dict[str, Any]) -> Check:
    if st.get("timeout"):
        return Check(name, Outcome.FAIL, st["timeout"])
    problems, notes = [], []
    for pod, pdata in (st.get("pods") or {}).items():
        for cname, expected in pdata["expected"].items():
            res = (pdata.get("containers") or {}).get(cname)
            if res is None:
                problems.append(f"{pod}/{cname}: no probe result")
                continue
            ok, seen = _container_ok(res, expected)
            asked = "granted one accelerator" if expected else "no accelerator requested"
            if pdata.get("env"):
                asked += f", {', '.join(pdata['env'][:1])}, image {pdata.get('image')}"
            what = f"{pod}/{cname} ({asked}) {seen}"
            (notes if ok else problems).append(what)
        for claim in pdata.get("claims") or []:
            if not claim.get("allocated"):
                problems.append(f"{pod}: ResourceClaim {claim.get('name')} is not allocated")
    if not problems and not notes:
        return Check(name, Outcome.FAIL, "no pod was probed")
    if problems:
        prefix = "VIOLATION: " if name != "PositiveAccessTest" else ""
        return Check(name, Outcome.FAIL, prefix + "; ".join(problems))
    return Check(name, Outcome.PASS, "; ".join(notes))


def _identity(pdata: dict[str, Any], node: str | None) -> set[str]:
    """What identifies the device a pod saw: UUIDs when nvidia-smi was injected, else node + device node."""
    res = next(iter((pdata.get("containers") or {}).values()), {}) or {}
    if res.get("uuids"):
        return set(res["uuids"])
    return {f"{node}:{d}" for d in res.get("devices") or []}


def _cross_pod(st: dict[str, Any]) -> Check:
    name = "CrossPodIsolationTest"
    if st.get("skipped"):
        return Check(name, Outcome.SKIP, st["skipped"])
    base = _subtest(name, st)
    if base.outcome is not Outcome.PASS:
        return base
    pods = st.get("pods") or {}
    (a, pa), (b, pb) = list(pods.items())[:2]
    ida, idb = _identity(pa, st["nodes"].get(a)), _identity(pb, st["nodes"].get(b))
    if not ida or not idb:
        return Check(name, Outcome.FAIL, "a pod reported no device identity (no device node or UUID in its log)")
    if ida & idb:
        return Check(name, Outcome.FAIL, f"VIOLATION: {a} and {b} see the same device: {', '.join(sorted(ida & idb))}")
    alloc_a = {(d["pool"], d["device"]) for c in pa.get("claims") or [] for d in c["devices"]}
    alloc_b = {(d["pool"], d["device"]) for c in pb.get("claims") or [] for d in c["devices"]}
    if alloc_a & alloc_b:
        return Check(name, Outcome.FAIL, f"VIOLATION: the same device was allocated to {a} and {b}: {sorted(alloc_a & alloc_b)}")
    return Check(name, Outcome.PASS, f"{a} sees {', '.join(sorted(ida))}; {b} sees {', '.join(sorted(idb))}")


def _vendor(facts: dict[str, Any]) -> str:
    """'AMD (detected): ' when the accelerator type was not NVIDIA or was detected, so the report names it."""
    det = facts.get("accelerator_detection") or {}
    kind = facts.get("accelerator_type") or ""
    if not det or (kind == "nvidia" and det.get("how") != "detected"):
        return ""
    return f"{kind.upper() if len(kind) <= 5 else kind} ({det.get('how')}): "


def hostpath_note(facts: dict[str, Any]) -> list[str]:
    """One reason line on the hostPath audit (never decides the verdict: a hostPath is an administrator's grant,
    which admission policy, not the accelerator stack, forbids; the probes above decide)."""
    audit = facts.get("hostpath_audit")
    if not audit:
        return []
    if audit.get("error"):
        return [f"hostPath audit not done: {audit['error']}"]
    pods = audit.get("pods") or []
    unpriv = [p for p in pods if not p["privileged"]]
    priv = [p for p in pods if p["privileged"]]
    if not pods:
        return ["hostPath audit: no pod mounts accelerator device nodes from the host"]

    def names(ps: list[dict[str, Any]]) -> str:
        shown = ", ".join(f"{p['namespace']}/{p['pod']} ({', '.join(p['paths'])})" for p in ps[:5])
        return shown + (f" and {len(ps) - 5} more" if len(ps) > 5 else "")
    out = []
    if unpriv:
        out.append(f"WARNING hostPath audit: {len(unpriv)} unprivileged pod(s) mount accelerator device nodes from the "
                   f"host, outside device allocation: {names(unpriv)}; forbid hostPath for workloads "
                   "(Pod Security Admission 'baseline' or a policy engine)")
    if priv:
        out.append(f"hostPath audit: {len(priv)} privileged pod(s) mount device nodes (expected only for the "
                   f"accelerator stack's driver, device plugin, DRA plugin and exporter): {names(priv)}")
    return out


def judge(facts: dict[str, Any]) -> Verdict:
    verdict = _judge(facts)
    verdict.reasons.extend(hostpath_note(facts))
    return verdict


def _judge(facts: dict[str, Any]) -> Verdict:
    det = facts.get("accelerator_detection") or {}
    if det.get("unknown"):
        return Verdict(Status.UNKNOWN, [f"{det['unknown']}: set aiconform_secure_accelerator_access_accelerator_type "
                                        "(or aiconform_accelerator_type) to the one to test"])
    if facts.get("unknown_accelerator"):
        return Verdict(Status.UNKNOWN, [f"accelerator type {facts.get('accelerator_type')!r} is not one aiconform "
                                        "knows (nvidia, amd, intel); certify manually"])
    env = facts.get("environment") or {}
    if env.get("error"):
        other = env.get("device_plugin" if env.get("requested") == "dra" else "dra", {}) or {}
        if env.get("ambiguous") or (env.get("requested") != "auto" and other.get("usable")):
            return Verdict(Status.UNKNOWN, [f"ENVIRONMENT ERROR: {env['error']}; run with allocation_mode=auto or "
                                            "the mechanism the cluster uses"])
        return Verdict(Status.NOT_IMPLEMENTED, [f"ENVIRONMENT ERROR: {env['error']}"])

    subtests = facts.get("subtests") or {}
    checks = [_subtest(n, subtests.get(n) or {}) for n in UPSTREAM]
    checks.append(_cross_pod(subtests.get("CrossPodIsolationTest") or {}))
    if "EnvVarBypassTest" in subtests:  # NVIDIA only: no request + NVIDIA_VISIBLE_DEVICES=all must see nothing
        checks.append(_subtest("EnvVarBypassTest", subtests["EnvVarBypassTest"]))
    mode = env.get("mode")
    failed = [c for c in checks if c.outcome is Outcome.FAIL]
    cleanup = [m for st in subtests.values() for m in st.get("cleanup") or []]
    if failed:
        reasons = [f"{c.name}: {c.reason}" for c in failed]
        return Verdict(Status.NOT_IMPLEMENTED, reasons + [f"cleanup: {m}" for m in cleanup], checks)
    skipped = [c for c in checks if c.outcome is Outcome.SKIP]
    if skipped:
        # Upstream's three subtests need one accelerator and passed: a single-accelerator cluster meets the
        # requirement as upstream tests it. The skipped check stays a skip (never a pass) and says why.
        return Verdict(Status.IMPLEMENTED, [
            f"{_vendor(facts)}accelerator access is mediated by {'DRA ResourceClaims' if mode == 'dra' else 'the device plugin'} on "
            f"node {env.get('node')}: a granted container sees exactly one device, a pod or container without a "
            "grant sees none (upstream's subtests all passed)",
            *(f"{c.name} skipped: {c.reason}" for c in skipped)], checks)
    return Verdict(Status.IMPLEMENTED, [
        f"{_vendor(facts)}accelerator access is mediated by {'DRA ResourceClaims' if mode == 'dra' else 'the device plugin'} on "
        f"node {env.get('node')}: a granted container sees exactly one device, a pod or container without a "
        "grant sees none, and two pods holding one accelerator each see different devices"], checks)
