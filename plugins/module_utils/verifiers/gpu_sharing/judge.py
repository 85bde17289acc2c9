"""Judge for gpu_sharing: the requirement's four steps (allocatable shared GPUs, pods requesting one each,
the same physical GPU, a health check), as a pure function of the facts."""
from __future__ import annotations

from typing import Any

from ...results import Check, Outcome, Status, Verdict


def _advertised(t: dict[str, Any]) -> str:
    physical = f"{t['physical']} physical GPU(s)" if t.get("physical") else "physical GPUs the labels do not count"
    how = {"time-slicing": f"time-slicing, {t.get('replicas')} replicas", "mps": f"MPS, {t.get('replicas')} replicas",
           "mig": "MIG partitions", "dra-mig": "MIG devices in a DRA ResourceSlice",
           "oversubscribed": f"no {t.get('strategy')} sharing-strategy label"}.get(t.get("mechanism", ""), "")
    return f"node {t['node']} allocates {t['allocatable']} {t['resource']} for {physical} ({how})"


def _none_reason(nodes: list[dict[str, Any]]) -> str:
    if not nodes:
        return "no Ready, schedulable node advertises an NVIDIA GPU, so no GPU sharing strategy is exposed"
    problems = [n["problem"] for n in nodes if n.get("problem")]
    if problems:
        return "; ".join(problems)
    shown = [f"{n['node']}: {n.get('strategy')} (replicas {n.get('replicas')}, "
             f"mig.capable={n.get('labels', {}).get('nvidia.com/mig.capable', '-')}), allocatable "
             f"{n.get('allocatable')} {n.get('resource') or 'nvidia.com/gpu'} = {n.get('physical')} physical" for n in nodes]
    return ("no GPU sharing strategy is configured: no node allocates more GPUs than it has (no time-slicing/MPS "
            "replicas, no nvidia.com/mig-* resources, no DRA MIG devices): " + "; ".join(shown))


def _identity(name: str, p: dict[str, Any]) -> set[str]:
    """The physical GPU a pod used: parent GPU UUIDs from nvidia-smi, else the DRA device's parentUUID, else
    node + device node (a time-slice replica sees the physical GPU's /dev/nvidiaN)."""
    if p.get("physical_uuids"):
        return set(p["physical_uuids"])
    parents = {d.get("parent_uuid") for c in p.get("claims") or [] for d in c.get("devices") or []} - {None, ""}
    if parents:
        return {str(x) for x in parents}
    return {f"{p.get('node')}:{d}" for d in p.get("devices") or []}


def judge(facts: dict[str, Any]) -> Verdict:
    if facts.get("unknown_accelerator"):
        return Verdict(Status.UNKNOWN, [f"accelerator type {facts.get('accelerator_type')!r} is not one aiconform knows "
                                        "(nvidia); its sharing mechanisms need manual verification"])
    nodes = facts.get("nodes") or []
    plan = facts.get("plan")
    if not plan:
        return Verdict(Status.NOT_IMPLEMENTED, [_none_reason(nodes)],
                       [Check("SharedResourcesAllocatable", Outcome.FAIL, _none_reason(nodes))])
    target = next((n for n in nodes if n["node"] == plan["node"] and n.get("mechanism") == plan["mechanism"]), plan)
    alloc = Check("SharedResourcesAllocatable", Outcome.PASS, _advertised({**plan, **target}))
    if plan["pods"] < 2:
        why = (f"{_advertised({**plan, **target})}, but fewer than two units can be requested there, so sharing of one "
               "physical GPU cannot be shown")
        return Verdict(Status.UNKNOWN, [why], [alloc])
    p = facts.get("probe") or {}
    pods = p.get("pods") or {}
    checks = [alloc]
    if p.get("timeout"):
        checks.append(Check("SharedPodsRunning", Outcome.FAIL, p["timeout"]))
    else:
        bad = [f"{name} sees {d.get('count')} device(s)" for name, d in pods.items() if d.get("count") != 1]
        off = [f"{name} runs on {d.get('node')}" for name, d in pods.items() if d.get("node") != plan["node"]]
        checks.append(Check("SharedPodsRunning", Outcome.FAIL if bad or off or not pods else Outcome.PASS,
                            "; ".join(bad + off) or (f"{len(pods)} pods each requesting one {plan['resource']} "
                                                     f"run on node {plan['node']} and each sees one device")))
    if p.get("timeout") or not pods:
        checks.append(Check("SamePhysicalGPU", Outcome.SKIP, "the pods did not all run"))
        checks.append(Check("HealthCheck", Outcome.SKIP, "the pods did not all run"))
    else:
        ids = {name: _identity(name, d) for name, d in pods.items()}
        missing = [name for name, i in ids.items() if not i]
        holders: dict[str, list[str]] = {}
        for name, i in ids.items():
            for u in i:
                holders.setdefault(u, []).append(name)
        shared = {u: ns for u, ns in holders.items() if len(ns) > 1}
        if missing:
            checks.append(Check("SamePhysicalGPU", Outcome.FAIL, f"{', '.join(missing)} reported no GPU identity "
                                                                 "(no UUID from nvidia-smi, no device node)"))
        elif shared:
            checks.append(Check("SamePhysicalGPU", Outcome.PASS, "; ".join(
                f"{', '.join(sorted(ns))} run on the same physical GPU {u}" for u, ns in sorted(shared.items()))))
        else:
            checks.append(Check("SamePhysicalGPU", Outcome.FAIL, f"{len(pods)} pods reported {len(holders)} distinct "
                                                                 "physical GPUs; none was shared"))
        unhealthy = [f"{name}: {d.get('health_detail') or d.get('log_timeout') or 'no health line'}"
                     for name, d in pods.items() if not d.get("health")]
        checks.append(Check("HealthCheck", Outcome.FAIL if unhealthy else Outcome.PASS,
                            "; ".join(unhealthy) or "nvidia-smi queried the shared GPU without errors in every pod"))
    cleanup = [f"cleanup: {m}" for m in p.get("cleanup") or []]
    failed = [c for c in checks if c.outcome is Outcome.FAIL]
    if failed:
        return Verdict(Status.NOT_IMPLEMENTED, [f"{c.name}: {c.reason}" for c in failed] + cleanup, checks)
    return Verdict(Status.IMPLEMENTED, [f"{alloc.reason}; {checks[2].reason}; health check passed"] + cleanup, checks)
