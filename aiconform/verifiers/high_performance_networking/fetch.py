"""high_performance_networking fetch: find the secondary-network mechanism, then attach a probe pod to it."""
from __future__ import annotations

import json
import re
from typing import Any

from aiconform.verifiers import _networking as net
from aiconform.verifiers.base import ProbeContext, ProbeTimeout, wait_until

from . import OPTIONS

DRA_GROUP = "resource.k8s.io"
MULTUS_GROUP = "k8s.cni.cncf.io"
SRIOV_GROUP = "sriovnetwork.openshift.io"
POD, CLAIM_TEMPLATE = "secondary-interface", "secondary-interface"
# Attribute names network DRA drivers publish (DRANET: ifName, rdma, pciAddress, numaNode, mtu, ...).
_NET_ATTR = re.compile(r"(ifname|interface|rdma|mac|mtu|ipv4|ipv6|link|bandwidth|speed|numa|pci)", re.I)


def _opt(ctx: ProbeContext, key: str) -> Any:
    value = ctx.options.get(key)
    return OPTIONS[key]["default"] if value is None else value


def _network_slice(slc: dict[str, Any], drivers: list[str]) -> bool:
    driver = (slc.get("spec") or {}).get("driver", "")
    if driver in drivers or re.search(r"(^|[.-])(net|network|sriov|rdma)([.-]|$)", driver):
        return True
    if "gpu" in driver:
        return False
    return any(_NET_ATTR.search(k) for d in (slc.get("spec") or {}).get("devices") or []
               for k in ((d.get("basic") or d).get("attributes") or {}))


def fetch(ctx: ProbeContext) -> dict[str, Any]:
    o = {k: _opt(ctx, k) for k in OPTIONS}
    facts: dict[str, Any] = {"mechanisms": {}}
    dra = net.served_kinds(ctx, DRA_GROUP)
    version = "v1" if "v1" in dra["versions"] else (dra.get("preferred") or "")
    if dra["served"] and "ResourceSlice" in dra["kinds"]:
        slices = ctx.call("list ResourceSlices", ctx.custom.list_cluster_custom_object, DRA_GROUP, version, "resourceslices")
        found = []
        for s in slices.get("items") or []:
            if not _network_slice(s, list(o["network_drivers"])):
                continue
            devices = (s.get("spec") or {}).get("devices") or []
            attrs = sorted({k for d in devices for k in ((d.get("basic") or d).get("attributes") or {})})
            found.append({"node": (s.get("spec") or {}).get("nodeName", ""), "driver": s["spec"].get("driver", ""),
                          "devices": len(devices), "attributes": attrs,
                          "sample": ((devices[0].get("basic") or devices[0]).get("attributes") if devices else {})})
        classes = ctx.call("list DeviceClasses", ctx.custom.list_cluster_custom_object, DRA_GROUP, version, "deviceclasses")
        drivers = {f["driver"] for f in found}
        dcs = [c["metadata"]["name"] for c in classes.get("items") or []
               if any(d in json.dumps((c.get("spec") or {}).get("selectors") or []) for d in drivers)]
        facts["mechanisms"]["dra"] = {"version": version, "slices": found, "device_classes": dcs}
    multus = net.served_kinds(ctx, MULTUS_GROUP)
    if "NetworkAttachmentDefinition" in multus["kinds"]:
        mv = multus["kinds"]["NetworkAttachmentDefinition"][0]
        nads = ctx.call("list NetworkAttachmentDefinitions", ctx.custom.list_cluster_custom_object, MULTUS_GROUP, mv,
                        "network-attachment-definitions")
        facts["mechanisms"]["multus"] = {"nads": [f"{n['metadata']['namespace']}/{n['metadata']['name']}"
                                                  for n in nads.get("items") or []]}
    if net.served_kinds(ctx, SRIOV_GROUP)["served"]:
        facts["mechanisms"]["sriov_operator"] = {"served": True}
    ctx.record("Secondary-network mechanisms", facts["mechanisms"], kind="api",
               command=f"GET /apis/{DRA_GROUP} resourceslices; /apis/{MULTUS_GROUP}; /apis/{SRIOV_GROUP}")

    dra_facts = facts["mechanisms"].get("dra") or {}
    device_class = o["device_class"] or next(iter(dra_facts.get("device_classes") or []), "")
    nad = o["network_attachment"] or next(iter((facts["mechanisms"].get("multus") or {}).get("nads") or []), "")
    if dra_facts.get("slices") and device_class:
        facts["probe"] = _probe_dra(ctx, o, dra_facts["version"], device_class)
        facts["probe"]["eligible_nodes"] = sorted({s["node"] for s in dra_facts["slices"] if s["node"]})
    elif nad:
        facts["probe"] = _probe_multus(ctx, o, nad)
    return facts


def _wait_pod(ctx: ProbeContext, ns: str, timeout: float, watch: Any = None) -> dict[str, Any]:
    """Wait for the probe pod to finish; ``watch()`` runs on every poll (claims are released when the pod ends)."""
    state: dict[str, Any] = {}
    out: dict[str, Any] = {}

    def done() -> bool:
        state["pod"] = net.get_pod(ctx, ns, POD)
        if watch:
            watch()
        phase = net.pod_phase(state["pod"])
        if phase == "Running":
            state["log"] = ctx.call(f"read pod log {ns}/{POD}", ctx.core.read_namespaced_pod_log, POD, ns, container="probe")
            return "DONE" in (state["log"] or "")
        return phase in ("Succeeded", "Failed")

    try:
        wait_until(done, timeout=timeout, interval=1.0, what=f"pod {POD} with a secondary interface to list its interfaces",
                   missing=lambda: net.pod_state(state.get("pod")))
    except ProbeTimeout as exc:
        out["timeout"] = str(exc)
    pod = state.get("pod") or {}
    out.update(node=(pod.get("spec") or {}).get("nodeName", ""), phase=net.pod_phase(pod), state=net.pod_state(pod),
               annotations={k: v for k, v in ((pod.get("metadata") or {}).get("annotations") or {}).items()
                            if "network" in k})
    text = state.get("log") or ""
    out["interfaces"] = [m.group(1) for m in re.finditer(r"^\d+:\s+([^:@\s]+)", text, re.M)]
    ctx.record("Probe pod interfaces (ip -o link show)", text or "(no log)", kind="log", command=f"kubectl logs -n {ns} {POD}")
    return out


def _probe_dra(ctx: ProbeContext, o: dict[str, Any], version: str, device_class: str) -> dict[str, Any]:
    ns = ctx.probe_namespace()
    request = ({"name": "nic", "exactly": {"deviceClassName": device_class}} if version in ("v1", "v1beta2")
               else {"name": "nic", "deviceClassName": device_class})
    tmpl = {"apiVersion": f"{DRA_GROUP}/{version}", "kind": "ResourceClaimTemplate", "metadata": {"name": CLAIM_TEMPLATE},
            "spec": {"spec": {"devices": {"requests": [request]}}}}
    ctx.call(f"create ResourceClaimTemplate {ns}/{CLAIM_TEMPLATE}", ctx.custom.create_namespaced_custom_object,
             DRA_GROUP, version, ns, "resourceclaimtemplates", tmpl)
    pod = net.manifest(__file__, "probe-pod.yaml")
    pod["metadata"]["name"] = POD
    pod["spec"]["containers"][0]["image"] = o["image"]
    pod["spec"]["resourceClaims"] = [{"name": "nic", "resourceClaimTemplateName": CLAIM_TEMPLATE}]
    pod["spec"]["containers"][0]["resources"]["claims"] = [{"name": "nic"}]
    ctx.call(f"create pod {ns}/{POD}", ctx.core.create_namespaced_pod, ns, pod)
    seen: dict[str, Any] = {"allocated": []}

    def snapshot() -> None:
        claims = ctx.call(f"list ResourceClaims in {ns}", ctx.custom.list_namespaced_custom_object, DRA_GROUP, version,
                          ns, "resourceclaims")
        results = [r for c in claims.get("items") or []
                   for r in (((c.get("status") or {}).get("allocation") or {}).get("devices") or {}).get("results") or []]
        if results:
            seen["allocated"] = [{"driver": r.get("driver"), "pool": r.get("pool"), "device": r.get("device")} for r in results]

    out = {"mechanism": "dra", "device_class": device_class, **_wait_pod(ctx, ns, float(o["pod_timeout"]), snapshot)}
    out["allocated"] = seen["allocated"]
    ctx.record("ResourceClaim allocation", out["allocated"], command=f"kubectl get resourceclaims -n {ns} -o yaml")
    return out


def _probe_multus(ctx: ProbeContext, o: dict[str, Any], nad: str) -> dict[str, Any]:
    ns = ctx.probe_namespace()
    pod = net.manifest(__file__, "probe-pod.yaml")
    pod["metadata"]["name"] = POD
    pod["metadata"]["annotations"] = {"k8s.v1.cni.cncf.io/networks": nad}
    pod["spec"]["containers"][0]["image"] = o["image"]
    ctx.call(f"create pod {ns}/{POD}", ctx.core.create_namespaced_pod, ns, pod)
    out = {"mechanism": "multus", "network_attachment": nad, **_wait_pod(ctx, ns, float(o["pod_timeout"]))}
    try:
        status = json.loads(out["annotations"].get("k8s.v1.cni.cncf.io/network-status") or "[]")
    except ValueError:
        status = []
    out["network_status"] = [{"name": s.get("name"), "interface": s.get("interface")} for s in status]
    return out
