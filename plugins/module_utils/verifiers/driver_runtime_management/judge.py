"""Judge for driver_runtime_management: upstream verifyDriverRuntimeCompatibility, as a pure function."""
from __future__ import annotations

from typing import Any

from ...results import Check, Outcome, Status, Verdict
from .rules import versions_compatible


def _compat(platform: dict[str, Any], p: dict[str, Any]) -> str:
    """'' when compatible, else why not (upstream wording)."""
    if p.get("count") != 1:
        return f"container saw {p.get('count')} accelerator device(s), expected 1"
    if not p.get("runtime_config_ok"):
        return ("container runtime configuration failed to inject the accelerator driver tools/libraries (e.g. "
                "nvidia-smi via CDI or a runtime hook) into the container")
    if not p.get("driver_functional") or not p.get("actual_driver"):
        return ("accelerator driver failed to initialize or report a valid driver version inside the container "
                f"(DRIVER_FUNCTIONAL={p.get('driver_functional')}, ACTUAL_DRIVER_VERSION={p.get('actual_driver')!r})")
    if not p.get("actual_runtime"):
        return "accelerator driver did not report a runtime API version inside the container"
    for kind, actual in (("driver", p["actual_driver"]), ("runtime", p["actual_runtime"])):
        adv = platform.get(f"{kind}_version")
        if adv and not versions_compatible(adv, actual):
            return (f"platform {platform.get('mechanism')} mechanism advertises {kind} version {adv!r} "
                    f"({platform.get(f'{kind}_key')}), which does not match the {kind} version {actual!r} observed "
                    "on the node")
    return ""


def judge(facts: dict[str, Any]) -> Verdict:
    if facts.get("unknown_accelerator"):
        return Verdict(Status.UNKNOWN, [f"RESULT: STATUS=UNKNOWN: accelerator type {facts.get('accelerator_type')!r} "
                                        "is not covered by the automated KAR-0001 test; manual verification is required"])
    env = facts.get("environment") or {}
    if env.get("error"):
        status = Status.UNKNOWN if env.get("ambiguous") else Status.NOT_IMPLEMENTED
        return Verdict(status, [f"ENVIRONMENT ERROR: {env['error']}"])
    platform = facts.get("platform") or {}
    if platform.get("error"):
        mech = Check("VerifiableMechanismExposed", Outcome.FAIL, platform["error"])
    else:
        adv = (f"node {platform.get('node')} advertises via {platform.get('mechanism')}: driver "
               f"{platform.get('driver_version') or '-'} [{platform.get('driver_key') or '-'}], runtime "
               f"{platform.get('runtime_version') or '-'} [{platform.get('runtime_key') or '-'}], container runtime "
               f"{platform.get('container_runtime')}, RuntimeClass {platform.get('runtime_class') or '-'}")
        mech = Check("VerifiableMechanismExposed", Outcome.PASS,
                     adv + "".join(f"; WARNING: {w}" for w in platform.get("warnings") or []))
    p = facts.get("probe") or {}
    if p.get("timeout"):
        compat = Check("DriverAndRuntimeCompatibility", Outcome.FAIL, p["timeout"])
    elif not p:
        compat = Check("DriverAndRuntimeCompatibility", Outcome.SKIP, "the probe did not run")
    else:
        why = _compat(platform, p)
        compat = Check("DriverAndRuntimeCompatibility", Outcome.FAIL if why else Outcome.PASS,
                       why or f"driver {p['actual_driver']} and runtime {p['actual_runtime']} observed in a vanilla "
                              f"container on node {platform.get('node')}, as advertised")
    checks = [mech, compat]
    failed = [c for c in checks if c.outcome is not Outcome.PASS]
    if failed:
        return Verdict(Status.NOT_IMPLEMENTED, [f"{c.name}: {c.reason}" for c in failed], checks)
    return Verdict(Status.IMPLEMENTED, [f"{mech.reason}; {compat.reason}"], checks)
