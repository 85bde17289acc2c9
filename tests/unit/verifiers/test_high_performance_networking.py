"""high_performance_networking judge, table-driven. Facts follow the VKS v1.36 ResourceSlice fixture's shape
(pool per node, attributes with typed values) for a network driver, parsed for the shape when present."""
from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiconform.results import Outcome, Status
from aiconform.verifiers.high_performance_networking import judge
from aiconform.verifiers.high_performance_networking.fetch import _network_slice

SLICES = (Path(__file__).resolve().parents[3].parent / "shared" / "fixtures" / "stacks" /
          "cncf_k8s-ai-conformance__v1.36_vks_dra_support.md__resourceslices.yaml")


def test_gpu_slices_from_vks_are_not_network_slices() -> None:
    if not SLICES.is_file():
        pytest.skip(f"{SLICES} absent")
    docs = [d for d in yaml.safe_load_all(SLICES.read_text()) if d]
    items = [i for d in docs for i in (d.get("items") or [d])]
    assert items and not any(_network_slice(i, ["dra.net"]) for i in items if i.get("kind") == "ResourceSlice")
    net_slice = copy.deepcopy(next(i for i in items if i.get("kind") == "ResourceSlice"))
    net_slice["spec"]["driver"] = "dra.net"
    assert _network_slice(net_slice, ["dra.net"])


MARKER = "aiconform-hpn-run1"
MD5 = "5f3c0a1b2c3d4e5f60718293a4b5c6d7"


def base() -> dict[str, Any]:
    """All four steps passing; listener/sender facts shaped as fetch parses the probes' `ip -o` and nc lines."""
    return {"mechanisms": {"dra": {"version": "v1", "device_classes": ["dranet"], "slices": [
        {"node": n, "driver": "dra.net", "devices": 1, "attributes": ["dra.net/ifName", "dra.net/rdma"]} for n in ("n1", "n2")]}},
            "probe": {"mechanism": "dra", "phase": "Running", "node": "n1", "interfaces": ["lo", "eth0", "eth1"],
                      "allocated": [{"driver": "dra.net", "pool": "n1", "device": "eth1-0"}], "eligible_nodes": ["n1", "n2"]},
            "transfer": {
                "expected": {"marker": MARKER, "bytes": 65536, "port": 5201}, "eligible_nodes": ["n1", "n2"],
                "listener": {"pod": "secondary-interface", "node": "n1", "pod_ip": "10.244.1.5",
                             "addresses": {"lo": ["127.0.0.1/8"], "eth0": ["10.244.1.5/24"], "eth1": ["172.16.3.7/16"]},
                             "listen": {"iface": "eth1", "addr": "172.16.3.7", "port": "5201"},
                             "received": {"iface": "eth1", "addr": "172.16.3.7", "bytes": 65536, "marker": MARKER,
                                          "md5": MD5, "rx_bytes_delta": 66000, "rc": 0},
                             "network_data": [{"device": "eth1-0", "interfaceName": "eth1", "ips": ["172.16.3.7/16"]}]},
                "sender": {"pod": "secondary-sender", "node": "n2", "phase": "Running",
                           "send": {"iface": "eth1", "src": "172.16.9.4", "to": "172.16.3.7:5201", "bytes": 65536, "md5": MD5},
                           "sent": {"rc": 0}}}}


def _probe(**kw: Any):
    def f(facts: dict[str, Any]) -> dict[str, Any]:
        out = copy.deepcopy(facts)
        out["probe"].update(kw)
        return out
    return f


def _xfer(role: str, **kw: Any):
    def f(facts: dict[str, Any]) -> dict[str, Any]:
        out = copy.deepcopy(facts)
        target = out["transfer"] if role == "transfer" else out["transfer"][role]
        for key, value in kw.items():
            if isinstance(value, dict) and isinstance(target.get(key), dict):
                target[key].update(value)
            else:
                target[key] = value
        return out
    return f


def _single_node(facts: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(facts)
    out["mechanisms"]["dra"]["slices"] = out["mechanisms"]["dra"]["slices"][:1]
    out["probe"]["eligible_nodes"] = out["transfer"]["eligible_nodes"] = ["n1"]
    out["transfer"]["sender"]["node"] = "n1"
    return out


DROPPED = _xfer("listener", received=None, timeout="timed out after 6s waiting for pod secondary-interface ...")
DROPPED_SENDER = _xfer("sender", sent={"rc": 1}, errors=["nc: can't connect to remote host (172.16.3.7): Connection timed out"])
XFER = "DataTransferOverSecondaryInterface"

CASES = [
    ("all-four-pass", lambda f: f, Status.IMPLEMENTED, None, "data transfer over it across nodes"),
    ("single-capable-node", _single_node, Status.IMPLEMENTED, None, "single capable node"),
    ("same-node-with-second-capable-node", _xfer("sender", node="n1"), Status.NOT_IMPLEMENTED, XFER, "did not cross nodes"),
    ("wrong-interface", _xfer("listener", received={"iface": "eth0", "addr": "10.244.1.5"}), Status.NOT_IMPLEMENTED, XFER,
     "primary network"),
    ("address-not-the-secondary-one", _xfer("listener", received={"iface": "eth1", "addr": "172.16.3.8"}),
     Status.NOT_IMPLEMENTED, XFER, "not the listener's secondary interface"),
    ("missing-marker", _xfer("listener", received={"marker": "garbage"}), Status.NOT_IMPLEMENTED, XFER, "marker"),
    ("short-transfer", _xfer("listener", received={"bytes": 4096}), Status.NOT_IMPLEMENTED, XFER, "4096 of 65536 bytes"),
    ("corrupted", _xfer("listener", received={"md5": "0" * 32}), Status.NOT_IMPLEMENTED, XFER, "corrupted"),
    ("dropped", lambda f: DROPPED_SENDER(DROPPED(f)), Status.NOT_IMPLEMENTED, XFER, "received nothing"),
    ("sender-never-ran", _xfer("sender", phase="Pending", timeout="timed out: unschedulable"), Status.NOT_IMPLEMENTED,
     XFER, "sender pod never ran"),
    ("sender-on-eth0", _xfer("sender", send={"iface": "eth0", "src": "10.244.2.9"}), Status.NOT_IMPLEMENTED, XFER,
     "no secondary interface"),
    ("listener-without-address", _xfer("transfer", skipped="the listener pod reported no secondary interface with an address"),
     Status.NOT_IMPLEMENTED, XFER, "no transfer attempted"),
    ("not-claim-ip", _xfer("listener", network_data=[{"interfaceName": "eth1", "ips": ["172.16.0.1/16"]}]),
     Status.NOT_IMPLEMENTED, XFER, "not among its claim's device IPs"),
    ("nothing", lambda f: {"mechanisms": {}}, Status.UNKNOWN, None, "no secondary-network mechanism"),
    ("no-secondary-interface", _probe(interfaces=["lo", "eth0"]), Status.NOT_IMPLEMENTED, "SecondaryInterfaceAttached", "no secondary"),
    ("not-allocated", _probe(allocated=[]), Status.NOT_IMPLEMENTED, "SecondaryInterfaceAttached", "not allocated"),
    ("wrong-node", _probe(node="n3"), Status.NOT_IMPLEMENTED, "PlacementOnCapableNodes", "publishes no network device"),
    ("never-ran", _probe(phase="Pending", timeout="timed out: unschedulable"), Status.NOT_IMPLEMENTED,
     "SecondaryInterfaceAttached", "never ran"),
    ("multus", lambda f: {**copy.deepcopy({k: v for k, v in f.items() if k == "transfer"}),
                          "mechanisms": {"multus": {"nads": ["default/sriov-net"]}},
                          "probe": {"mechanism": "multus", "phase": "Running", "interfaces": ["lo", "eth0", "net1"]}},
     Status.UNKNOWN, None, "PlacementOnCapableNodes (Multus"),
]


@pytest.mark.parametrize(("case", "modify", "status", "failing", "words"), CASES, ids=[c[0] for c in CASES])
def test_judge(case, modify, status, failing, words) -> None:
    v = judge(modify(base()))
    assert v.status is status, v.reasons
    assert words in " ".join(v.reasons) + " " + " ".join(c.reason for c in v.checks)
    by = {c.name: c for c in v.checks}
    assert len(by) == 4
    if failing:
        assert by[failing].outcome is Outcome.FAIL
    # Implemented only with all four passing; anything else leaves at least one check short of pass
    assert (status is Status.IMPLEMENTED) == all(c.outcome is Outcome.PASS for c in v.checks)


def test_fetch_parses_busybox_ip_and_nc_lines() -> None:
    from aiconform.verifiers.high_performance_networking.fetch import parse_probe_log
    text = "\n".join([
        "1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue state UNKNOWN qlen 1000\\    link/loopback 00:00:00:00:00:00",
        "2: eth0@if12: <BROADCAST,MULTICAST,UP,LOWER_UP,M-DOWN> mtu 1500 qdisc noqueue state UP \\    link/ether 0a:58:0a:f4:01:05",
        "3: eth1: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 9000 qdisc mq state UP qlen 1000\\    link/ether 02:aa:bb:cc:dd:ee",
        "1: lo    inet 127.0.0.1/8 scope host lo\\       valid_lft forever preferred_lft forever",
        "2: eth0    inet 10.244.1.5/24 brd 10.244.1.255 scope global eth0\\       valid_lft forever preferred_lft forever",
        "3: eth1    inet 172.16.3.7/16 brd 172.16.255.255 scope global eth1\\       valid_lft forever preferred_lft forever",
        "LISTEN iface=eth1 addr=172.16.3.7 port=5201", "DONE",
        f"RECEIVED iface=eth1 addr=172.16.3.7 bytes=65536 marker={MARKER} md5={MD5} rx_bytes_delta=66000 rc=0"])
    got = parse_probe_log(text)
    assert got["interfaces"] == ["lo", "eth0", "eth1"]
    assert got["addresses"]["eth1"] == ["172.16.3.7/16"] and got["addresses"]["eth0"] == ["10.244.1.5/24"]
    assert got["listen"] == {"iface": "eth1", "addr": "172.16.3.7", "port": "5201"}
    assert got["received"]["bytes"] == 65536 and got["received"]["marker"] == MARKER and got["received"]["rc"] == 0
