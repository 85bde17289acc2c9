"""high_performance_networking judge: pure facts → verdict.

Subtests: NetworkResourcesDiscoverable, SecondaryInterfaceAttached, PlacementOnCapableNodes,
DataTransferOverSecondaryInterface (not tested yet: always skipped, so the best verdict is unknown).
No mechanism found → unknown with the reason; a mechanism whose probe pod gets no secondary interface or
lands on a node without one → Not Implemented.
"""
from __future__ import annotations

from typing import Any

from aiconform.results import Check, Outcome, Status, Verdict

SUBTESTS = ("NetworkResourcesDiscoverable", "SecondaryInterfaceAttached", "PlacementOnCapableNodes",
            "DataTransferOverSecondaryInterface")
NOT_TESTED = "two pods exchanging data over the secondary interface is not tested by aiconform yet"


def _finish(status: Status, reasons: list[str], checks: list[Check]) -> Verdict:
    done = {c.name for c in checks}
    checks += [Check(n, Outcome.SKIP, NOT_TESTED if n == "DataTransferOverSecondaryInterface" else f"not run: {reasons[0]}")
               for n in SUBTESTS if n not in done]
    return Verdict(status, reasons, checks)


def judge(facts: dict[str, Any]) -> Verdict:
    checks: list[Check] = []
    mech = facts.get("mechanisms") or {}
    dra, multus = mech.get("dra") or {}, mech.get("multus") or {}
    if not dra.get("slices") and not multus.get("nads"):
        extra = " (the SR-IOV operator API is served but no NetworkAttachmentDefinition exists)" if mech.get("sriov_operator") else ""
        return _finish(Status.UNKNOWN, [f"no secondary-network mechanism found: no network ResourceSlices (DRANET or another "
                                        f"network DRA driver), no Multus NetworkAttachmentDefinitions{extra}"], checks)
    if dra.get("slices"):
        attrs = sorted({a for s in dra["slices"] for a in s.get("attributes") or []})
        if not attrs:
            checks.append(Check("NetworkResourcesDiscoverable", Outcome.FAIL, "network ResourceSlices publish no attributes"))
            return _finish(Status.NOT_IMPLEMENTED, ["network devices publish no characteristics to schedule on"], checks)
        checks.append(Check("NetworkResourcesDiscoverable", Outcome.PASS,
                            f"{sum(s['devices'] for s in dra['slices'])} network devices on "
                            f"{len({s['node'] for s in dra['slices']})} nodes, attributes: {', '.join(attrs)}"))
    else:
        checks.append(Check("NetworkResourcesDiscoverable", Outcome.PASS,
                            f"Multus NetworkAttachmentDefinitions: {', '.join(multus['nads'])} (no DRA attributes to query)"))
    probe = facts.get("probe")
    if probe is None:
        return _finish(Status.UNKNOWN, ["network devices found but no DeviceClass selects their driver; set "
                                        "aiconform_high_performance_networking_device_class"], checks)
    if probe.get("phase") not in ("Running", "Succeeded", "Failed"):
        reason = f"the probe pod never ran: {probe.get('timeout') or probe.get('state')}"
        checks.append(Check("SecondaryInterfaceAttached", Outcome.FAIL, reason))
        return _finish(Status.NOT_IMPLEMENTED, [reason], checks)
    extra_ifaces = [i for i in probe.get("interfaces") or [] if i not in ("lo", "eth0")]
    if probe.get("mechanism") == "multus":
        extra_ifaces = extra_ifaces or [s.get("interface") for s in probe.get("network_status") or [] if s.get("interface") not in (None, "eth0")]
    if probe.get("mechanism") == "dra" and not probe.get("allocated"):
        reason = "the probe pod's ResourceClaim was not allocated a network device"
        checks.append(Check("SecondaryInterfaceAttached", Outcome.FAIL, reason))
        return _finish(Status.NOT_IMPLEMENTED, [reason], checks)
    if not extra_ifaces:
        reason = f"the probe pod has no secondary interface (interfaces: {probe.get('interfaces')})"
        checks.append(Check("SecondaryInterfaceAttached", Outcome.FAIL, reason))
        return _finish(Status.NOT_IMPLEMENTED, [reason], checks)
    checks.append(Check("SecondaryInterfaceAttached", Outcome.PASS, f"secondary interface(s) {extra_ifaces} via {probe['mechanism']}"))
    eligible = probe.get("eligible_nodes")
    if eligible is not None:
        if probe.get("node") not in eligible:
            reason = f"the probe pod ran on {probe.get('node')}, which publishes no network device (eligible: {eligible})"
            checks.append(Check("PlacementOnCapableNodes", Outcome.FAIL, reason))
            return _finish(Status.NOT_IMPLEMENTED, [reason], checks)
        checks.append(Check("PlacementOnCapableNodes", Outcome.PASS, f"ran on {probe.get('node')}, one of {eligible}"))
    else:
        checks.append(Check("PlacementOnCapableNodes", Outcome.SKIP, "Multus publishes no per-node capability to check"))
    passed = ", ".join(c.name for c in checks if c.outcome is Outcome.PASS)
    return _finish(Status.UNKNOWN, [f"passed: {passed}; not decided: {NOT_TESTED}"], checks)
