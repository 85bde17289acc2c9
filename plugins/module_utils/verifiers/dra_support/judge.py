"""Judge for dra_support.

- ``resource.k8s.io/v1`` served with deviceclasses, resourceclaims, resourceclaimtemplates and
  resourceslices (HMT). Kubernetes serves v1 by default from 1.34; on 1.33 only the betas exist, so a
  1.33 cluster is Partially Implemented with that reason (as Gardener reported).
- A DeviceClass and a complete current-generation ResourceSlice pool with allocatable devices on a
  Ready, schedulable node (upstream checkDRAUsable).
- A ResourceClaimTemplate + pod: the generated claim is allocated and reserved for the pod, the
  allocated device is one the ResourceSlices publish, and the pod sees exactly that device.
"""
from __future__ import annotations

from typing import Any

from ...results import Check, Outcome, Status, Verdict
from .._accelerator import DRA_GROUP, DRA_RESOURCES

FIRST_V1_MINOR = 34  # resource.k8s.io/v1 GA and enabled by default (KEP-4381)


def _api_check(facts: dict[str, Any]) -> tuple[Check, str]:
    """Returns the check and the API state: v1 | beta | partial-v1 | none."""
    dra = facts.get("dra") or {}
    if not dra.get("served"):
        return Check("APIServed", Outcome.FAIL, f"the {DRA_GROUP} API group is not served"), "none"
    versions = dra.get("versions") or []
    if "v1" in versions:
        missing = [r for r in DRA_RESOURCES if r not in (dra.get("resources") or {}).get("v1", [])]
        if missing:
            return Check("APIServed", Outcome.FAIL, f"{DRA_GROUP}/v1 is served without {', '.join(missing)}"), "partial-v1"
        return Check("APIServed", Outcome.PASS, f"{DRA_GROUP}/v1 serves {', '.join(DRA_RESOURCES)}"), "v1"
    best = versions[0] if versions else "?"
    have = (dra.get("resources") or {}).get(best, [])
    return Check("APIServed", Outcome.FAIL,
                 f"{DRA_GROUP}/v1 is not served; only {', '.join(f'{DRA_GROUP}/{v}' for v in versions)} "
                 f"({', '.join(have)})"), "beta"


def _objects_checks(facts: dict[str, Any]) -> list[Check]:
    classes = [c["name"] for c in facts.get("device_classes") or []]
    out = [Check("DeviceClasses", Outcome.PASS if classes else Outcome.FAIL,
                 f"DeviceClasses: {', '.join(classes)}" if classes else "no DeviceClass exists (no DRA driver installed)")]
    usable = facts.get("usable")
    if usable is None:
        out.append(Check("ResourceSlices", Outcome.SKIP, "not checked: the accelerator type is unknown or not "
                                                         "chosen"))
    elif usable.get("usable"):
        out.append(Check("ResourceSlices", Outcome.PASS,
                         f"ResourceSlice {usable['slice']} publishes allocatable devices on Ready node {usable['node']}"))
    else:
        out.append(Check("ResourceSlices", Outcome.FAIL, usable.get("reason") or "no usable ResourceSlice"))
    return out


def _functional_checks(facts: dict[str, Any]) -> list[Check]:
    fn = facts.get("functional")
    if fn is None:
        why = "not run: no DeviceClass with usable ResourceSlices" if facts.get("usable") else "not run"
        return [Check("ClaimAllocatedAndReserved", Outcome.SKIP, why), Check("DeviceVisibleInPod", Outcome.SKIP, why)]
    if fn.get("timeout"):
        claims = fn.get("claims") or []
        state = "; ".join(f"claim {c['name']} {'allocated' if c['allocated'] else 'not allocated'}" for c in claims)
        reason = fn["timeout"] + (f" ({state})" if state else " (no ResourceClaim was generated)")
        return [Check("ClaimAllocatedAndReserved", Outcome.FAIL, reason),
                Check("DeviceVisibleInPod", Outcome.SKIP, "the probe pod never ran")]
    claims = fn.get("claims") or []
    devices = [d for c in claims for d in c.get("devices") or []]
    problems = []
    if not claims:
        problems.append("the pod has no generated ResourceClaim in status.resourceClaimStatuses")
    for c in claims:
        if not c.get("allocated"):
            problems.append(f"ResourceClaim {c['name']} is not allocated")
        if not any(r.get("uid") == fn.get("pod_uid") for r in c.get("reserved_for") or []):
            problems.append(f"ResourceClaim {c['name']} is not reserved for the probe pod")
    for d in devices:
        if not d.get("in_resource_slice"):
            problems.append(f"allocated device {d['driver']}/{d['pool']}/{d['device']} is in no ResourceSlice")
    if claims and not devices:
        problems.append("the allocation lists no device")
    alloc = Check("ClaimAllocatedAndReserved", Outcome.FAIL if problems else Outcome.PASS,
                  "; ".join(problems) or "; ".join(
                      f"{d['driver']}/{d['pool']}/{d['device']} (ResourceSlice {d.get('slice')}, uuid "
                      f"{d.get('uuid') or 'n/a'}) allocated and reserved for the pod" for d in devices))
    probe = fn.get("probe") or {}
    count = probe.get("count")
    if count is None:
        vis = Check("DeviceVisibleInPod", Outcome.FAIL, probe.get("timeout") or "the probe printed no RESULT line")
    elif count != len(devices):
        vis = Check("DeviceVisibleInPod", Outcome.FAIL,
                    f"the pod sees {count} device node(s) but its claim holds {len(devices)} device(s)")
    else:
        want = {d.get("uuid") for d in devices if d.get("uuid")}
        seen = set(probe.get("uuids") or [])
        if seen and want and seen != want:
            vis = Check("DeviceVisibleInPod", Outcome.FAIL,
                        f"the pod sees {', '.join(sorted(seen))}, the ResourceSlice device is {', '.join(sorted(want))}")
        elif seen and want:
            vis = Check("DeviceVisibleInPod", Outcome.PASS,
                        f"the pod sees {', '.join(sorted(seen))} ({', '.join(probe.get('devices') or [])}), the "
                        "device the ResourceSlice publishes")
        else:
            vis = Check("DeviceVisibleInPod", Outcome.PASS,
                        f"the pod sees {count} device node(s) ({', '.join(probe.get('devices') or [])}); no UUID "
                        "was visible in the container to compare with the ResourceSlice")
    return [alloc, vis]


def judge(facts: dict[str, Any]) -> Verdict:
    api, state = _api_check(facts)
    minor = (facts.get("server") or {}).get("minor")
    checks = [api]
    if state == "none":
        return Verdict(Status.NOT_IMPLEMENTED, [api.reason], checks)
    checks += _objects_checks(facts) + _functional_checks(facts)
    failed = [c for c in checks[1:] if c.outcome is Outcome.FAIL]
    detail = [f"{c.name}: {c.reason}" for c in failed]
    if state == "beta":
        if minor is not None and minor < FIRST_V1_MINOR:
            return Verdict(Status.PARTIAL, [
                f"{api.reason}. DRA v1 APIs (required by the requirement) are GA from Kubernetes v1.34; this "
                f"cluster runs v1.{minor}, hence Partially Implemented", *detail], checks)
        return Verdict(Status.NOT_IMPLEMENTED, [
            f"{api.reason}, although Kubernetes v1.{minor if minor is not None else '?'} serves {DRA_GROUP}/v1 by "
            "default: the API is disabled", *detail], checks)
    if state == "partial-v1":
        return Verdict(Status.NOT_IMPLEMENTED, [api.reason, *detail], checks)
    det = facts.get("accelerator_detection") or {}
    if det.get("unknown"):
        return Verdict(Status.UNKNOWN, [f"{api.reason}, but {det['unknown']}: set aiconform_dra_support_accelerator_type "
                                        "(or aiconform_accelerator_type) to the one whose claim to try"], checks)
    if facts.get("unknown_accelerator"):
        return Verdict(Status.UNKNOWN, [f"{api.reason}, but accelerator type {facts['unknown_accelerator']!r} is "
                                        "unknown to aiconform, so no functional claim was tried"], checks)
    names = {c.name: c for c in checks}
    if names["DeviceClasses"].outcome is Outcome.FAIL or names["ResourceSlices"].outcome is Outcome.FAIL:
        return Verdict(Status.PARTIAL, [f"{api.reason}, but no DRA driver publishes allocatable devices, so no "
                                        "workload can allocate through it", *detail], checks)
    if failed:
        return Verdict(Status.NOT_IMPLEMENTED, [f"{api.reason}, but DRA allocation does not work", *detail], checks)
    skipped = [c for c in checks if c.outcome is not Outcome.PASS]
    if skipped:  # a skipped check never counts as a pass
        return Verdict(Status.UNKNOWN, [f"{c.name}: {c.reason}" for c in skipped], checks)
    who = facts.get("accelerator_type") or ""
    how = (det.get("how") or "") if det else ""
    prefix = f"{who} accelerators ({how}): " if who and how == "detected" and who != "nvidia" else ""
    return Verdict(Status.IMPLEMENTED, [prefix + f"{api.reason}; " + "; ".join(c.reason for c in checks[1:])], checks)
