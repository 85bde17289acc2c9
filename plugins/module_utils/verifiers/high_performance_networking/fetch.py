"""high_performance_networking fetch: find the secondary-network mechanism, then attach a probe pod to it."""
from __future__ import annotations

import json
import re
from typing import Any

from .. import _networking as net
from ..runtime import ProbeContext, ProbeTimeout, wait_until
from . import OPTIONS

DRA_GROUP = "resource.k8s.io"
MULTUS_GROUP = "k8s.cni.cncf.io"
SRIOV_GROUP = "sriovnetwork.openshift.io"
POD, SENDER, CLAIM_TEMPLATE = "secondary-interface", "secondary-sender", "secondary-interface"
PRIMARY = ("lo", "eth0")
_LINK = re.compile(r"^\d+:\s+([^:@\s]+)(?:@\S+)?:\s+<", re.M)  # `ip -o link`: "3: eth1: <BROADCAST,...>"
_ADDR = re.compile(r"^\d+:\s+(\S+)\s+(inet6?)\s+(\S+)", re.M)  # `ip -o addr`: "3: eth1    inet 172.16.0.5/16 ..."
_KV = re.compile(r"(\w+)=(\S*)")
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
        eligible = sorted({s["node"] for s in dra_facts["slices"] if s["node"]})
        facts["probe"], facts["transfer"] = _probe_dra(ctx, o, dra_facts["version"], device_class, eligible)
        facts["probe"]["eligible_nodes"] = eligible
    elif nad:
        facts["probe"], facts["transfer"] = _probe_multus(ctx, o, nad)
    return facts


def _kv(line: str) -> dict[str, str]:
    return dict(_KV.findall(line))


def parse_probe_log(text: str) -> dict[str, Any]:
    """Interfaces, addresses and the LISTEN/RECEIVED/SEND/SENT lines of the listener or sender log."""
    out: dict[str, Any] = {"interfaces": list(dict.fromkeys(_LINK.findall(text or ""))), "addresses": {}}
    for name, _family, cidr in _ADDR.findall(text or ""):
        out["addresses"].setdefault(name, []).append(cidr)
    for line in (text or "").splitlines():
        word = line.split(" ", 1)[0]
        if word in ("LISTEN", "RECEIVED", "SEND", "SENT"):
            out[word.lower()] = {k: (int(v) if k in ("bytes", "rc", "rx_bytes_delta") and re.fullmatch(r"-?\d+", v) else v)
                                 for k, v in _kv(line).items()} or {"none": line}
        elif line.startswith("nc: "):
            out.setdefault("errors", []).append(line)
    return out


def _wait_pod(ctx: ProbeContext, ns: str, timeout: float, watch: Any = None, *, name: str = POD, until: str = "DONE",
              what: str = "to list its interfaces", title: str = "Listener pod: interfaces and addresses") -> dict[str, Any]:
    """Wait for a probe pod's log to hold ``until``; ``watch()`` runs on every poll (claims are released when
    the pod ends)."""
    state: dict[str, Any] = {}
    out: dict[str, Any] = {"pod": name}

    def done() -> bool:
        state["pod"] = net.get_pod(ctx, ns, name)
        if watch:
            watch()
        phase = net.pod_phase(state["pod"])
        if phase == "Running":
            state["log"] = ctx.call(f"read pod log {ns}/{name}", ctx.core.read_namespaced_pod_log, name, ns, container="probe")
            return until in (state["log"] or "")
        return phase in ("Succeeded", "Failed")

    try:
        wait_until(done, timeout=timeout, interval=1.0, what=f"pod {name} with a secondary interface {what}",
                   missing=lambda: net.pod_state(state.get("pod")))
    except ProbeTimeout as exc:
        out["timeout"] = str(exc)
    pod = state.get("pod") or {}
    out.update(node=(pod.get("spec") or {}).get("nodeName", ""), phase=net.pod_phase(pod), state=net.pod_state(pod),
               pod_ip=((pod.get("status") or {}).get("podIP") or ""),
               annotations={k: v for k, v in ((pod.get("metadata") or {}).get("annotations") or {}).items()
                            if "network" in k})
    text = state.get("log") or ""
    out.update(parse_probe_log(text))
    ctx.record(title, net.trim_log(text, head=30, tail=5) or "(no log)", kind="log", command=f"kubectl logs -n {ns} {name}")
    return out


def _marker(ctx: ProbeContext) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "-", f"aiconform-hpn-{ctx.run_id}")[:60]


def _listener_env(o: dict[str, Any]) -> dict[str, Any]:
    # nc -l must outlast the sender's scheduling and its attempts
    return {"PORT": int(o["transfer_port"]), "WAIT": int(o["pod_timeout"]) + int(o["transfer_timeout"])}


def _transfer(ctx: ProbeContext, o: dict[str, Any], ns: str, listener: dict[str, Any], attach: Any,
              eligible: list[str] | None, watch: Any = None) -> dict[str, Any]:
    """Step 4: a sender pod on another capable node sends BYTES bytes with the run's marker to the listener's
    secondary address; the listener reports what arrived and on which interface/address."""
    marker = _marker(ctx)
    size = max(int(o["transfer_bytes"]), len(marker) + 1)
    out: dict[str, Any] = {"expected": {"marker": marker, "bytes": size, "port": int(o["transfer_port"])},
                           "eligible_nodes": eligible}
    listen = listener.get("listen") or {}
    out["listener"] = {k: listener.get(k) for k in ("pod", "node", "pod_ip", "interfaces", "addresses", "listen")}
    if not listen.get("addr"):
        out["skipped"] = (f"the listener pod reported no secondary interface with an address "
                          f"({listen.get('none') or 'no LISTEN line'}; addresses: {listener.get('addresses')})")
        return out
    pod = net.manifest(__file__, "sender-pod.yaml")
    pod["metadata"]["name"] = SENDER
    pod["spec"]["containers"][0]["image"] = o["image"]
    net.set_env(pod, {"TARGET": listen["addr"], "PORT": int(o["transfer_port"]), "MARKER": marker, "BYTES": size})
    term = {"labelSelector": {"matchLabels": {"aiconform.io/probe": "secondary-interface"}},
            "topologyKey": "kubernetes.io/hostname"}
    if eligible is not None and len(eligible) < 2:
        pass  # a single capable node: the sender has to share it with the listener
    elif eligible:
        pod["spec"]["affinity"] = {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [term]}}
    else:  # Multus publishes no per-node capability: prefer another node, accept the same one
        pod["spec"]["affinity"] = {"podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
            {"weight": 100, "podAffinityTerm": term}]}}
    attach(pod)
    ctx.call(f"create pod {ns}/{SENDER}", ctx.core.create_namespaced_pod, ns, pod)
    timeout = float(o["pod_timeout"]) + float(o["transfer_timeout"])
    out["sender"] = _wait_pod(ctx, ns, timeout, watch, name=SENDER, until="DONE", what="to send its payload",
                              title="Sender pod: interfaces, addresses and nc result")
    sent = out["sender"].get("sent") or {}
    # the listener prints RECEIVED once nc -l returns; after a failed send that is only at its own timeout
    wait = float(o["transfer_timeout"]) if sent.get("rc") == 0 else 1.0
    got = _wait_pod(ctx, ns, wait, name=POD, until="RECEIVED", what="to report the received payload",
                    title="Listener pod after the transfer")
    out["listener"].update(received=got.get("received"), timeout=got.get("timeout"))
    return out


def _probe_dra(ctx: ProbeContext, o: dict[str, Any], version: str, device_class: str,
               eligible: list[str]) -> tuple[dict[str, Any], dict[str, Any]]:
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
    net.set_env(pod, _listener_env(o))

    def attach(p: dict[str, Any]) -> None:
        p["spec"]["resourceClaims"] = [{"name": "nic", "resourceClaimTemplateName": CLAIM_TEMPLATE}]
        p["spec"]["containers"][0]["resources"]["claims"] = [{"name": "nic"}]

    attach(pod)
    ctx.call(f"create pod {ns}/{POD}", ctx.core.create_namespaced_pod, ns, pod)
    seen: dict[str, Any] = {}

    def snapshot() -> None:
        """Allocations and DRANET's status.devices[].networkData per pod (kept: claims go when the pods do)."""
        claims = ctx.call(f"list ResourceClaims in {ns}", ctx.custom.list_namespaced_custom_object, DRA_GROUP, version,
                          ns, "resourceclaims")
        for c in claims.get("items") or []:
            owner = next((r.get("name") for r in (c.get("metadata") or {}).get("ownerReferences") or []
                          if r.get("kind") == "Pod"), "")
            st = c.get("status") or {}
            results = ((st.get("allocation") or {}).get("devices") or {}).get("results") or []
            if results:
                seen.setdefault(owner, {})["allocated"] = [
                    {"driver": r.get("driver"), "pool": r.get("pool"), "device": r.get("device")} for r in results]
            data = [{"device": d.get("device"), **{k: v for k, v in (d.get("networkData") or {}).items()
                                                   if k in ("interfaceName", "ips", "hardwareAddress")}}
                    for d in st.get("devices") or [] if d.get("networkData")]
            if data:
                seen.setdefault(owner, {})["network_data"] = data

    out = {"mechanism": "dra", "device_class": device_class, **_wait_pod(ctx, ns, float(o["pod_timeout"]), snapshot)}
    out["allocated"] = (seen.get(POD) or {}).get("allocated", [])
    transfer: dict[str, Any] = {}
    if out.get("listen") is not None or out.get("interfaces"):
        transfer = _transfer(ctx, o, ns, out, attach, eligible, snapshot)
        for role, name in (("listener", POD), ("sender", SENDER)):
            if role in transfer:
                transfer[role]["network_data"] = (seen.get(name) or {}).get("network_data", [])
                transfer[role].setdefault("allocated", (seen.get(name) or {}).get("allocated", []))
    ctx.record("ResourceClaim allocations and device network data (per pod)", seen,
               command=f"kubectl get resourceclaims -n {ns} -o yaml")
    return out, transfer


def _probe_multus(ctx: ProbeContext, o: dict[str, Any], nad: str) -> tuple[dict[str, Any], dict[str, Any]]:
    ns = ctx.probe_namespace()
    pod = net.manifest(__file__, "probe-pod.yaml")
    pod["metadata"]["name"] = POD
    pod["spec"]["containers"][0]["image"] = o["image"]
    net.set_env(pod, _listener_env(o))

    def attach(p: dict[str, Any]) -> None:
        p["metadata"]["annotations"] = {"k8s.v1.cni.cncf.io/networks": nad}

    attach(pod)
    ctx.call(f"create pod {ns}/{POD}", ctx.core.create_namespaced_pod, ns, pod)
    out = {"mechanism": "multus", "network_attachment": nad, **_wait_pod(ctx, ns, float(o["pod_timeout"]))}
    try:
        status = json.loads(out["annotations"].get("k8s.v1.cni.cncf.io/network-status") or "[]")
    except ValueError:
        status = []
    out["network_status"] = [{"name": s.get("name"), "interface": s.get("interface"), "ips": s.get("ips")} for s in status]
    transfer: dict[str, Any] = {}
    if out.get("listen") is not None or out.get("interfaces"):
        transfer = _transfer(ctx, o, ns, out, attach, None)
    return out, transfer
