"""high_performance_networking on the simulator: the verify job in-process; the first test through ansible-playbook.
The tests call ``helpers.conformance_e2e.verify_in_process`` (the verify job's code, the options the plan
task gives from the same inventory variables); the first runs ``ansible-playbook conformance.yml --tags
verify,high_performance_networking``.

Kubernetes v1.36. The dranet scenario publishes DRANET-style
ResourceSlices for a secondary NIC per GPU node; the simulated scheduler allocates the probes' claims, and the
DRANET emulation (controllers/dranet.py) derives each pod's `ip -o link`/`ip -o addr` output from the allocated
device (ifName, a secondary-subnet address) and delivers the sender's payload only to a running listener's
allocated secondary address, not from a real network namespace."""
from __future__ import annotations

import pytest
from helpers.conformance_e2e import probe_namespaces, run_conformance, verify_in_process

pytestmark = pytest.mark.e2e
REQ = "high_performance_networking"
KUBERNETES_VERSION = "v1.36.1"  # tests/verify/conftest.py's lab fixture starts the simulator at it
FAST = {"aiconform_high_performance_networking_pod_timeout": 6,
        "aiconform_high_performance_networking_transfer_timeout": 6}


@pytest.mark.parametrize("lab", ["dranet"], indirect=True)
def test_dranet_transfer_over_secondary_interface_is_implemented(lab, tmp_path):
    entry, out = run_conformance(lab, tmp_path, REQ, FAST)
    checks = {c["name"]: c for c in entry["checks"]}
    assert {n: c["outcome"] for n, c in checks.items()} == {
        "NetworkResourcesDiscoverable": "pass", "SecondaryInterfaceAttached": "pass",
        "PlacementOnCapableNodes": "pass", "DataTransferOverSecondaryInterface": "pass"}, out[-3000:]
    assert entry["status"] == "Implemented", entry["reasons"]
    reason = checks["DataTransferOverSecondaryInterface"]["reason"]
    assert "arrived on eth1 172.16." in reason and "across nodes" in reason, reason
    assert not probe_namespaces(lab, REQ)


@pytest.mark.parametrize("lab", ["dranet-drop"], indirect=True)
def test_secondary_network_dropping_traffic_is_not_implemented(lab, tmp_path):
    entry, out = verify_in_process(lab, tmp_path, REQ, FAST)
    checks = {c["name"]: c for c in entry["checks"]}
    assert checks["SecondaryInterfaceAttached"]["outcome"] == "pass", out[-3000:]
    assert checks["DataTransferOverSecondaryInterface"]["outcome"] == "fail", out[-3000:]
    assert entry["status"] == "Not Implemented", entry["reasons"]
    assert "received nothing" in " ".join(entry["reasons"]) and "timed out" in " ".join(entry["reasons"])
    assert not probe_namespaces(lab, REQ)


@pytest.mark.parametrize("lab", ["conformant"], indirect=True)
def test_without_secondary_networks_is_unknown(lab, tmp_path):
    entry, out = verify_in_process(lab, tmp_path, REQ, FAST)
    assert entry["status"] == "unknown", (entry["reasons"], out[-3000:])
    assert "no secondary-network mechanism found" in " ".join(entry["reasons"])
