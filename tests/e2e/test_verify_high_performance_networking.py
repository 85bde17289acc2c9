"""high_performance_networking end to end on the simulator (v1.36). The dranet scenario publishes DRANET-style
ResourceSlices for a secondary NIC per GPU node; the simulated scheduler allocates the probe's claim and the
probe pod's `ip -o link` output is derived from the allocated device's ifName attribute
(controllers/gateway.py), not from a real network namespace."""
from __future__ import annotations

import pytest
from helpers.scheduling_e2e import probe_namespaces, run_conformance
from helpers.sim import SimHandle

pytestmark = pytest.mark.e2e
REQ = "high_performance_networking"
FAST = {"aiconform_high_performance_networking_pod_timeout": 6}


@pytest.fixture
def lab(request, sim_factory) -> SimHandle:
    return sim_factory(request.param, kubernetes_version="v1.36.1")


@pytest.mark.parametrize("lab", ["dranet"], indirect=True)
def test_dranet_interface_attached_on_capable_node(lab, tmp_path):
    entry, out = run_conformance(lab, tmp_path, REQ, FAST)
    checks = {c["name"]: c["outcome"] for c in entry["checks"]}
    assert checks == {"NetworkResourcesDiscoverable": "pass", "SecondaryInterfaceAttached": "pass",
                      "PlacementOnCapableNodes": "pass", "DataTransferOverSecondaryInterface": "skip"}, out[-3000:]
    assert entry["status"] == "unknown"  # never Implemented while a subtest is skipped
    assert not probe_namespaces(lab, REQ)


@pytest.mark.parametrize("lab", ["conformant"], indirect=True)
def test_without_secondary_networks_is_unknown(lab, tmp_path):
    entry, out = run_conformance(lab, tmp_path, REQ, FAST)
    assert entry["status"] == "unknown", (entry["reasons"], out[-3000:])
    assert "no secondary-network mechanism found" in " ".join(entry["reasons"])
