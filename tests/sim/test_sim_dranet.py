"""DRANET emulation (controllers/dranet.py): allocated network devices appear in the probe pods with an address
from the allocation (also in the claim's status.devices networkData), and the sender's payload reaches the
listener only at that address, from a sender that has its own allocated device."""
from __future__ import annotations

import re
from typing import Any

import pytest
from helpers.sim import until
from kubernetes import client, config

NS = "default"
MARKER = "aiconform-hpn-simtest"


@pytest.fixture(scope="module")
def sim_scenario() -> str:
    return "dranet"


@pytest.fixture(scope="module")
def api(sim) -> client.ApiClient:
    return config.new_client_from_config(config_file=str(sim.kubeconfig))


def probe(name: str, role: str, env: dict[str, Any], claim: bool = True) -> dict[str, Any]:
    body: dict[str, Any] = {
        "metadata": {"name": name, "labels": {"aiconform.io/probe": role}},
        "spec": {"tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}],
                 "containers": [{"name": "probe", "image": "busybox", "command": ["/bin/sh", "-c", "true"],
                                 "env": [{"name": k, "value": str(v)} for k, v in env.items()], "resources": {}}]}}
    if claim:
        body["spec"]["resourceClaims"] = [{"name": "nic", "resourceClaimTemplateName": "nic"}]
        body["spec"]["containers"][0]["resources"]["claims"] = [{"name": "nic"}]
    return body


def log(core: client.CoreV1Api, name: str) -> str:
    try:
        return core.read_namespaced_pod_log(name, NS, container="probe")
    except client.ApiException:
        return ""


def test_payload_arrives_only_at_the_listeners_allocated_secondary_address(api):
    core, custom = client.CoreV1Api(api), client.CustomObjectsApi(api)
    custom.create_namespaced_custom_object("resource.k8s.io", "v1", NS, "resourceclaimtemplates", {
        "apiVersion": "resource.k8s.io/v1", "kind": "ResourceClaimTemplate", "metadata": {"name": "nic"},
        "spec": {"spec": {"devices": {"requests": [{"name": "nic", "exactly": {"deviceClassName": "dranet"}}]}}}})
    core.create_namespaced_pod(NS, probe("listener", "secondary-interface", {"PORT": 5201, "WAIT": 60}))
    text = until(lambda: (t := log(core, "listener")) and "LISTEN" in t and t)
    assert re.search(r"^3: eth1: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 9000 ", text, re.M), text
    addr = re.search(r"^LISTEN iface=eth1 addr=(172\.16\.\d+\.\d+) port=5201$", text, re.M)[1]
    assert re.search(rf"^3: eth1    inet {re.escape(addr)}/16 ", text, re.M), text
    pod_ip = core.read_namespaced_pod("listener", NS).status.pod_ip
    assert f"2: eth0    inet {pod_ip}/24" in text
    claims = custom.list_namespaced_custom_object("resource.k8s.io", "v1", NS, "resourceclaims")["items"]
    data = [d["networkData"] for c in claims for d in (c.get("status") or {}).get("devices") or []]
    assert data and data[0]["interfaceName"] == "eth1" and data[0]["ips"] == [f"{addr}/16"]

    send = {"PORT": 5201, "MARKER": MARKER, "BYTES": 4096}
    # no device allocated to the sender: nothing to send from
    core.create_namespaced_pod(NS, probe("no-device", "secondary-sender", {**send, "TARGET": addr}, claim=False))
    assert "SEND none" in until(lambda: (t := log(core, "no-device")) and "DONE" in t and t)
    # aimed at the listener's eth0 address: the listener is bound to its secondary address only
    core.create_namespaced_pod(NS, probe("wrong-addr", "secondary-sender", {**send, "TARGET": pod_ip}))
    wrong = until(lambda: (t := log(core, "wrong-addr")) and "DONE" in t and t)
    assert "Connection refused" in wrong and "SENT rc=1" in wrong, wrong
    assert "RECEIVED" not in log(core, "listener")
    core.delete_namespaced_pod("wrong-addr", NS, grace_period_seconds=0)
    until(lambda: not [p for p in core.list_namespaced_pod(NS).items if p.metadata.name == "wrong-addr"])

    core.create_namespaced_pod(NS, probe("sender", "secondary-sender", {**send, "TARGET": addr}))
    sent = until(lambda: (t := log(core, "sender")) and "DONE" in t and t, timeout=15)
    assert "SENT rc=0" in sent, sent
    md5 = re.search(r"^SEND iface=eth1 src=172\.16\.\S+ to=\S+ bytes=4096 md5=(\w+)$", sent, re.M)[1]
    received = until(lambda: re.search(r"^RECEIVED .*$", log(core, "listener"), re.M))
    assert received and received[0].startswith(f"RECEIVED iface=eth1 addr={addr} bytes=4096 marker={MARKER} md5={md5} ")
    assert core.read_namespaced_pod("sender", NS).spec.node_name != core.read_namespaced_pod("listener", NS).spec.node_name
