"""high_performance_networking judge: pure facts → verdict.

Subtests: NetworkResourcesDiscoverable, SecondaryInterfaceAttached, PlacementOnCapableNodes,
DataTransferOverSecondaryInterface. Implemented only when all four pass. No mechanism found → unknown with
the reason (nothing is attempted); a mechanism whose probe pod gets no secondary interface, lands on a node
without one, or whose payload does not arrive intact over the listener's secondary address → Not Implemented.
Multus publishes no per-node capability, so PlacementOnCapableNodes is skipped there and the best is unknown.
"""
from __future__ import annotations

from typing import Any

from ...results import Check, Outcome, Status, Verdict, stopped_early

SUBTESTS = ("NetworkResourcesDiscoverable", "SecondaryInterfaceAttached", "PlacementOnCapableNodes",
            "DataTransferOverSecondaryInterface")
PRIMARY = ("lo", "eth0")


def _finish(status: Status, reasons: list[str], checks: list[Check]) -> Verdict:
    return stopped_early(SUBTESTS, status, reasons, checks)


def _transfer_failure(t: dict[str, Any]) -> tuple[str | None, str]:
    """(failure reason or None, placement note) for step 4 from the transfer facts."""
    if t.get("skipped"):
        return f"no transfer attempted: {t['skipped']}", ""
    lis, snd, exp = t.get("listener") or {}, t.get("sender") or {}, t.get("expected") or {}
    if snd.get("phase") != "Running":
        return f"the sender pod never ran: {snd.get('timeout') or snd.get('state')}", ""
    eligible = t.get("eligible_nodes")
    if eligible is not None and snd.get("node") not in eligible:
        return f"the sender pod ran on {snd.get('node')}, which publishes no network device (eligible: {eligible})", ""
    note = f" across nodes ({snd.get('node')} → {lis.get('node')})"
    if snd.get("node") == lis.get("node"):
        if eligible is not None and len(eligible) >= 2:
            return (f"both pods ran on {lis.get('node')} although {len(eligible)} nodes publish network devices: the "
                    f"transfer did not cross nodes"), ""
        note = (f" on the same node {lis.get('node')}: the cluster has a single capable node" if eligible is not None
                else f" on the same node {lis.get('node')} (Multus publishes no per-node capability to spread over)")
    send = snd.get("send") or {}
    if not send.get("src") or send.get("iface") in PRIMARY:
        return f"the sender has no secondary interface with an address to send from ({send or snd.get('addresses')})", ""
    listen = lis.get("listen") or {}
    rec = lis.get("received")
    sent = snd.get("sent") or {}
    errors = "; ".join(sorted(set(snd.get("errors") or [])))
    if not rec or not rec.get("bytes"):
        return (f"the listener on {listen.get('iface')} {listen.get('addr')}:{exp.get('port')} received nothing from "
                f"{send.get('iface')} {send.get('src')} (sender nc rc={sent.get('rc', '?')}{': ' + errors if errors else ''}"
                f"{'; ' + str(lis.get('timeout')) if lis.get('timeout') else ''})"), ""
    primary_addrs = {a.split("/")[0] for i in PRIMARY for a in (lis.get("addresses") or {}).get(i) or []}
    if lis.get("pod_ip"):
        primary_addrs.add(lis["pod_ip"])
    if rec.get("iface") in PRIMARY or rec.get("addr") in primary_addrs:
        return f"the payload arrived over the primary network ({rec.get('iface')} {rec.get('addr')}), not a secondary interface", ""
    if rec.get("iface") != listen.get("iface") or rec.get("addr") != listen.get("addr"):
        return (f"the payload arrived on {rec.get('iface')} {rec.get('addr')}, not the listener's secondary interface "
                f"{listen.get('iface')} {listen.get('addr')}"), ""
    ips = [ip.split("/")[0] for d in lis.get("network_data") or [] for ip in d.get("ips") or []]
    if ips and rec.get("addr") not in ips:
        return f"the listener's address {rec.get('addr')} is not among its claim's device IPs {ips}", ""
    if rec.get("marker") != exp.get("marker"):
        return f"the run's marker {exp.get('marker')} did not arrive (first line received: {rec.get('marker') or 'empty'})", ""
    if rec.get("bytes") != exp.get("bytes"):
        return f"{rec.get('bytes')} of {exp.get('bytes')} bytes arrived", ""
    if sent.get("rc") not in (None, 0):
        return f"the sender's nc failed (rc={sent.get('rc')}{': ' + errors if errors else ''})", ""
    if send.get("md5") and rec.get("md5") and send["md5"] != rec["md5"]:
        return f"the payload arrived corrupted (md5 sent {send['md5']}, received {rec['md5']})", ""
    return None, note


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
    t = facts.get("transfer") or {}
    if not t:
        return _finish(Status.UNKNOWN, ["the data transfer between two pods was not attempted"], checks)
    failure, note = _transfer_failure(t)
    if failure:
        checks.append(Check("DataTransferOverSecondaryInterface", Outcome.FAIL, failure))
        return _finish(Status.NOT_IMPLEMENTED, [failure], checks)
    snd, rec = t["sender"], t["listener"]["received"]
    checks.append(Check("DataTransferOverSecondaryInterface", Outcome.PASS,
                        f"{rec['bytes']} bytes with marker {rec['marker']} sent from {snd['send']['iface']} "
                        f"{snd['send']['src']} arrived on {rec['iface']} {rec['addr']}{note}"))
    skipped = [c for c in checks if c.outcome is not Outcome.PASS]
    if skipped:
        passed = ", ".join(c.name for c in checks if c.outcome is Outcome.PASS)
        return _finish(Status.UNKNOWN, [f"passed: {passed}; not decided: "
                                        + "; ".join(f"{c.name} ({c.reason})" for c in skipped)], checks)
    return _finish(Status.IMPLEMENTED, [f"secondary interface {rec['iface']} via {probe['mechanism']} on capable nodes; "
                                        f"data transfer over it{note}"], checks)
