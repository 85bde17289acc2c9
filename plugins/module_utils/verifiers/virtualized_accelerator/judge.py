"""Judge for virtualized_accelerator: the requirement's test (a pod requests a vGPU, runs, passes a health check)
and the program's N/A rule (only where the context does not apply: demonstrably physical GPUs)."""
from __future__ import annotations

import re
from typing import Any

from ...results import Check, Outcome, Status, Verdict
from .rules import VIRTUAL_BRANDS


def _seen_virtual(p: dict[str, Any]) -> str:
    """What shows that the device the pod got is the vGPU: its DRA device brand, or nvidia-smi's product name."""
    for c in p.get("claims") or []:
        for d in c.get("devices") or []:
            a = d.get("attributes") or {}
            if str(a.get("brand") or "").lower() in VIRTUAL_BRANDS or a.get("type") == "vfio":
                return f"allocated DRA device {d.get('device')} ({a.get('productName')}, brand {a.get('brand')})"
    m = re.search(r"^GPU \d+: (.*?) \(UUID:", p.get("log") or "", re.M)
    if m and ("GRID" in m.group(1).upper() or "VGPU" in m.group(1).upper()):
        return f"nvidia-smi in the pod lists {m.group(1)}"
    return ""


def judge(facts: dict[str, Any]) -> Verdict:
    if facts.get("unknown_accelerator"):
        return Verdict(Status.UNKNOWN, [f"accelerator type {facts.get('accelerator_type')!r} is not one aiconform knows "
                                        "(nvidia); its virtualization needs manual verification"])
    nodes = facts.get("nodes") or []
    if not nodes:
        return Verdict(Status.NOT_IMPLEMENTED, ["no Ready, schedulable node advertises an NVIDIA GPU, so no virtualized "
                                                "accelerator is exposed"])
    virtual = [n for n in nodes if n["kind"] == "virtual"]
    if not virtual:
        unknown = [n for n in nodes if n["kind"] == "unknown"]
        if unknown:
            return Verdict(Status.UNKNOWN, [
                "no vGPU found, but whether the GPUs of " + ", ".join(n["node"] for n in unknown) + " are physical cannot "
                "be told (no nvidia.com/vgpu.present label, no DRA device brand): N/A needs that shown; attest manually"])
        shown = "; ".join(f"{n['node']}: {', '.join(n['evidence'])}" for n in nodes)
        return Verdict(Status.NOT_APPLICABLE, [f"no virtualized accelerators on this platform (bare-metal GPUs): {shown}"])
    exposed = Check("VirtualizedAcceleratorExposed", Outcome.PASS,
                    "; ".join(f"{n['node']}: {', '.join(n['evidence'])}" for n in virtual))
    env = facts.get("environment") or {}
    if env.get("error"):
        why = f"vGPUs are present but not allocatable: {env['error']}"
        return Verdict(Status.NOT_IMPLEMENTED, [why], [exposed, Check("VGPUAllocated", Outcome.FAIL, why)])
    p = facts.get("probe") or {}
    mech = "a DRA ResourceClaim" if env.get("mode") == "dra" else "the nvidia.com/gpu device-plugin resource"
    checks = [exposed]
    if p.get("timeout"):
        checks += [Check("VGPUAllocated", Outcome.FAIL, p["timeout"]), Check("HealthCheck", Outcome.SKIP, "no probe result")]
    else:
        seen = _seen_virtual(p)
        if p.get("count") != 1:
            checks.append(Check("VGPUAllocated", Outcome.FAIL, f"the pod requesting one accelerator through {mech} sees "
                                                               f"{p.get('count')} device(s)"))
        elif any(not c.get("allocated") for c in p.get("claims") or []):
            checks.append(Check("VGPUAllocated", Outcome.FAIL, "the pod's ResourceClaim is not allocated"))
        elif not seen:
            checks.append(Check("VGPUAllocated", Outcome.FAIL, "the pod got a device, but nothing shows it is a vGPU (no "
                                                               "vGPU brand on its DRA device, no GRID/vGPU product)"))
        else:
            checks.append(Check("VGPUAllocated", Outcome.PASS, f"one vGPU allocated on node {p.get('node')} through {mech} "
                                                               f"(as physical GPUs are): {seen}"))
        checks.append(Check("HealthCheck", Outcome.PASS if p.get("health") else Outcome.FAIL,
                            "nvidia-smi queried the vGPU without errors" if p.get("health")
                            else f"health check failed: {p.get('health_detail') or 'no health line'}"))
    cleanup = [f"cleanup: {m}" for m in p.get("cleanup") or []]
    failed = [c for c in checks if c.outcome is Outcome.FAIL]
    if failed:
        return Verdict(Status.NOT_IMPLEMENTED, [f"{c.name}: {c.reason}" for c in failed] + cleanup, checks)
    return Verdict(Status.IMPLEMENTED, [f"{checks[1].reason}; health check passed"] + cleanup, checks)
