"""DRANET-style secondary network devices inside pods, and the data high_performance_networking's probes send
over them.

What DRANET does on a real node, emulated from the allocation state:
- a network device allocated to a pod's ResourceClaim is moved from the host into the pod's network namespace
  under its ``ifName`` attribute, keeping its MTU (``mtu`` attribute), MAC and IP addresses;
- the driver reports it in the claim's ``status.devices[]`` (KEP-4817): condition ``Ready`` and ``networkData``
  (``interfaceName``, ``ips`` in CIDR form, ``hardwareAddress``).
A device's host address is a stable address in 172.16.0.0/16 derived from driver/pool/device (one flat
secondary subnet for every node, like a RoCE fabric).

Probe pods (label ``aiconform.io/probe``):
- ``secondary-interface`` (the listener): prints ``ip -o link show`` and ``ip -o addr show``, then
  ``LISTEN iface=<if> addr=<ip> port=<PORT>`` for its first secondary interface, ``DONE``, and once a sender
  reached that address and port, ``RECEIVED iface= addr= bytes= marker= md5= rx_bytes_delta= rc=0``.
- ``secondary-sender``: the same interface listing, ``SEND iface= src= to=<TARGET>:<PORT> bytes= md5=``, one
  ``nc:`` error line per failed attempt, ``SENT rc=<0|1>`` and ``DONE``.
Data arrives only when the sender has an allocated secondary device and TARGET is the address of a running
listener's allocated secondary device listening on PORT (an address on eth0, a released device or another
port gets nothing). Broken fabric for negative tests: a ConfigMap ``secondary-network-sim-faults`` in any
namespace with annotation ``sim.aiconform.io/secondary-network-behaviour: drop`` (connections time out).
"""
from __future__ import annotations

import hashlib
import ipaddress
from typing import Any

from aiconform.sim.api import Cluster
from aiconform.sim.logs import register_producer

Obj = dict[str, Any]
GROUP = "resource.k8s.io"
PROBE_LABEL = "aiconform.io/probe"
LISTENER, SENDER = "secondary-interface", "secondary-sender"
FAULTS_CONFIGMAP = "secondary-network-sim-faults"
BEHAVIOUR = "sim.aiconform.io/secondary-network-behaviour"
SUBNET = ipaddress.ip_network("172.16.0.0/16")
ATTEMPTS = 5  # the sender manifest's retry loop

_LOGS: dict[str, str] = {}  # pod uid → log text
_SENT: dict[str, dict[str, Any]] = {}  # sender uid → outcome, fixed when its nc ran (once, like the real one)
_RECEIVED: dict[str, str] = {}  # listener uid → its RECEIVED line


def _attr(attrs: dict[str, Any], suffix: str) -> str:
    """Value of the attribute whose name ends with suffix (``dra.net/ifName`` or plain ``ifName``)."""
    for k, v in attrs.items():
        if k.split("/")[-1].lower() == suffix.lower():
            return str(next(iter(v.values())) if isinstance(v, dict) else v)
    return ""


def _device_attributes(c: Cluster, driver: str, pool: str, device: str) -> dict[str, Any]:
    for s in c.objects(GROUP, "resourceslices"):
        spec = s.get("spec") or {}
        if spec.get("driver") != driver or (spec.get("pool") or {}).get("name") != pool:
            continue
        for d in spec.get("devices") or []:
            if d.get("name") == device:
                return (d.get("basic") or d).get("attributes") or {}
    return {}


def _host_address(key: str) -> str:
    h = hashlib.sha256(key.encode()).digest()
    return f"{SUBNET.network_address + (h[0] << 8 | max(h[1], 2)) % (SUBNET.num_addresses - 2) + 1}/{SUBNET.prefixlen}"


def _interfaces(c: Cluster, pod: Obj) -> list[dict[str, Any]]:
    """Secondary interfaces DRANET gives the pod: allocated devices (claim reserved for it) with an ifName."""
    out = []
    uid = pod["metadata"]["uid"]
    for st in (pod.get("status") or {}).get("resourceClaimStatuses") or []:
        claim = c.find(GROUP, "resourceclaims", pod["metadata"]["namespace"], st.get("resourceClaimName") or "")
        status = (claim or {}).get("status") or {}
        if not any(r.get("uid") == uid for r in status.get("reservedFor") or []):
            continue
        for r in ((status.get("allocation") or {}).get("devices") or {}).get("results") or []:
            attrs = _device_attributes(c, r.get("driver", ""), r.get("pool", ""), r.get("device", ""))
            ifname = _attr(attrs, "ifName")
            if not ifname:
                continue
            key = f"{r.get('driver')}/{r.get('pool')}/{r.get('device')}"
            mac = "02:" + ":".join(f"{b:02x}" for b in hashlib.sha256(key.encode()).digest()[:5])
            out.append({"claim": claim, "result": r, "name": ifname, "cidr": _host_address(key), "mac": mac,
                        "mtu": _attr(attrs, "mtu") or "1500"})
    return out


def _publish_device_status(c: Cluster, ifaces: list[dict[str, Any]]) -> None:
    """The claim's status.devices[] as DRANET writes it once the interface is configured in the pod."""
    for i in ifaces:
        claim, r = i["claim"], i["result"]
        entry = {"driver": r.get("driver"), "pool": r.get("pool"), "device": r.get("device"),
                 "conditions": [{"type": "Ready", "status": "True", "reason": "NetworkDeviceReady",
                                 "message": "", "lastTransitionTime": claim["metadata"].get("creationTimestamp", "")}],
                 "networkData": {"interfaceName": i["name"], "ips": [i["cidr"]], "hardwareAddress": i["mac"]}}
        devices = [d for d in (claim.get("status") or {}).get("devices") or []
                   if (d.get("driver"), d.get("pool"), d.get("device")) != (entry["driver"], entry["pool"], entry["device"])]
        c.update_status(c.rd(GROUP, "resourceclaims"), claim, {**(claim.get("status") or {}), "devices": [*devices, entry]})


def _listing(pod: Obj, ifaces: list[dict[str, Any]]) -> list[str]:
    """`ip -o link show` then `ip -o addr show` (IPv4) as busybox prints them inside the pod."""
    pod_ip = (pod.get("status") or {}).get("podIP") or "10.244.0.2"
    eth0_mac = "0a:58:" + ":".join(f"{b:02x}" for b in hashlib.sha256(pod["metadata"]["uid"].encode()).digest()[:4])
    links = ["1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue state UNKNOWN qlen 1000\\    link/loopback "
             "00:00:00:00:00:00 brd 00:00:00:00:00:00",
             f"2: eth0@if12: <BROADCAST,MULTICAST,UP,LOWER_UP,M-DOWN> mtu 1500 qdisc noqueue state UP \\    link/ether "
             f"{eth0_mac} brd ff:ff:ff:ff:ff:ff"]
    addrs = ["1: lo    inet 127.0.0.1/8 scope host lo\\       valid_lft forever preferred_lft forever",
             f"2: eth0    inet {pod_ip}/24 brd {pod_ip.rsplit('.', 1)[0]}.255 scope global eth0\\       "
             "valid_lft forever preferred_lft forever"]
    for n, i in enumerate(ifaces, start=3):
        links.append(f"{n}: {i['name']}: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu {i['mtu']} qdisc mq state UP qlen 1000\\"
                     f"    link/ether {i['mac']} brd ff:ff:ff:ff:ff:ff")
        net = ipaddress.ip_interface(i["cidr"]).network
        addrs.append(f"{n}: {i['name']}    inet {i['cidr']} brd {net.broadcast_address} scope global {i['name']}\\       "
                     "valid_lft forever preferred_lft forever")
    return links + addrs


def _env(pod: Obj) -> dict[str, str]:
    ctr = ((pod.get("spec") or {}).get("containers") or [{}])[0]
    return {e["name"]: str(e.get("value", "")) for e in ctr.get("env") or [] if "name" in e}


def payload(marker: str, size: int) -> bytes:
    """What the sender manifest writes to /tmp/payload: the marker line, then 'x' up to size bytes."""
    head = f"{marker}\n".encode()
    return head + b"x" * max(0, size - len(head))


def _dropping(c: Cluster) -> bool:
    return any(cm["metadata"]["name"] == FAULTS_CONFIGMAP
               and (cm["metadata"].get("annotations") or {}).get(BEHAVIOUR) == "drop" for cm in c.objects("", "configmaps"))


def _running(pod: Obj) -> bool:
    return bool((pod.get("status") or {}).get("startTime")) and not pod["metadata"].get("deletionTimestamp")


def sync(c: Cluster, mgr: Any) -> None:
    if c.registry.get(GROUP, "resourceclaims") is None:
        return
    pods = [p for p in c.objects("", "pods") if (p["metadata"].get("labels") or {}).get(PROBE_LABEL) in (LISTENER, SENDER)]
    live = {p["metadata"]["uid"] for p in pods}
    for store in (_LOGS, _SENT, _RECEIVED):
        for uid in [u for u in store if u not in live]:
            del store[uid]
    ifaces = {p["metadata"]["uid"]: _interfaces(c, p) for p in pods if _running(p)}
    for found in ifaces.values():
        _publish_device_status(c, found)
    listeners = {}  # (secondary address, port) → listener pod
    for p in pods:
        if (p["metadata"].get("labels") or {}).get(PROBE_LABEL) == LISTENER and ifaces.get(p["metadata"]["uid"]):
            first = ifaces[p["metadata"]["uid"]][0]
            listeners[(str(ipaddress.ip_interface(first["cidr"]).ip), _env(p).get("PORT", ""))] = (p, first)
    for p in pods:
        uid = p["metadata"]["uid"]
        if (p["metadata"].get("labels") or {}).get(PROBE_LABEL) == SENDER and uid in ifaces and uid not in _SENT:
            _SENT[uid] = _send(c, p, ifaces[uid], listeners)
    for p in pods:
        uid = p["metadata"]["uid"]
        if uid not in ifaces:
            continue
        lines = _listing(p, ifaces[uid])
        first = ifaces[uid][0] if ifaces[uid] else None
        if (p["metadata"].get("labels") or {}).get(PROBE_LABEL) == LISTENER:
            if first:
                lines.append(f"LISTEN iface={first['name']} addr={ipaddress.ip_interface(first['cidr']).ip} "
                             f"port={_env(p).get('PORT', '')}")
            else:
                lines.append("LISTEN none: no secondary interface with an address")
            lines.append("DONE")
            if uid in _RECEIVED:
                lines.append(_RECEIVED[uid])
        else:
            lines += _SENT[uid]["lines"]
        _LOGS[uid] = "\n".join(lines) + "\n"


def _send(c: Cluster, pod: Obj, ifaces: list[dict[str, Any]], listeners: dict[tuple[str, str], Any]) -> dict[str, Any]:
    env = _env(pod)
    target, port = env.get("TARGET", ""), env.get("PORT", "")
    if not ifaces:
        return {"lines": ["SEND none: no secondary interface with an address", "DONE"]}
    src = str(ipaddress.ip_interface(ifaces[0]["cidr"]).ip)
    data = payload(env.get("MARKER", ""), int(env.get("BYTES", "0") or 0))
    md5 = hashlib.md5(data).hexdigest()  # noqa: S324 - a checksum both pods print, not security
    lines = [f"SEND iface={ifaces[0]['name']} src={src} to={target}:{port} bytes={len(data)} md5={md5}"]
    hit = listeners.get((target, port))
    if _dropping(c) or (hit is None and _on_fabric(target)):
        lines += [f"nc: can't connect to remote host ({target}): Connection timed out"] * ATTEMPTS
    elif hit is None:
        lines += [f"nc: can't connect to remote host ({target}): Connection refused"] * ATTEMPTS
    else:
        listener, iface = hit
        _RECEIVED[listener["metadata"]["uid"]] = (
            f"RECEIVED iface={iface['name']} addr={target} bytes={len(data)} marker={env.get('MARKER', '')} "
            f"md5={md5} rx_bytes_delta={len(data) + 66 * (len(data) // int(iface['mtu']) + 4)} rc=0")
        return {"lines": [*lines, "SENT rc=0", "DONE"]}
    return {"lines": [*lines, "SENT rc=1", "DONE"]}


def _on_fabric(addr: str) -> bool:
    try:
        return ipaddress.ip_address(addr) in SUBNET
    except ValueError:
        return False


@register_producer
def probe_log(pod: Obj, container: str) -> str | None:
    return _LOGS.get(pod["metadata"].get("uid", ""))
