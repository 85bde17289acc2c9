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


def base() -> dict[str, Any]:
    return {"mechanisms": {"dra": {"version": "v1", "device_classes": ["dranet"], "slices": [
        {"node": "n1", "driver": "dra.net", "devices": 1, "attributes": ["dra.net/ifName", "dra.net/rdma"]}]}},
            "probe": {"mechanism": "dra", "phase": "Running", "node": "n1", "interfaces": ["lo", "eth0", "eth1"],
                      "allocated": [{"driver": "dra.net", "pool": "n1", "device": "eth1-0"}], "eligible_nodes": ["n1"]}}


def _probe(**kw: Any):
    def f(facts: dict[str, Any]) -> dict[str, Any]:
        out = copy.deepcopy(facts)
        out["probe"].update(kw)
        return out
    return f


CASES = [
    ("all-pass-but-transfer-untested", lambda f: f, Status.UNKNOWN, None, "not decided"),
    ("nothing", lambda f: {"mechanisms": {}}, Status.UNKNOWN, None, "no secondary-network mechanism"),
    ("no-secondary-interface", _probe(interfaces=["lo", "eth0"]), Status.NOT_IMPLEMENTED, "SecondaryInterfaceAttached", "no secondary"),
    ("not-allocated", _probe(allocated=[]), Status.NOT_IMPLEMENTED, "SecondaryInterfaceAttached", "not allocated"),
    ("wrong-node", _probe(node="n2"), Status.NOT_IMPLEMENTED, "PlacementOnCapableNodes", "publishes no network device"),
    ("never-ran", _probe(phase="Pending", timeout="timed out: unschedulable"), Status.NOT_IMPLEMENTED,
     "SecondaryInterfaceAttached", "never ran"),
    ("multus", lambda f: {"mechanisms": {"multus": {"nads": ["default/sriov-net"]}},
                          "probe": {"mechanism": "multus", "phase": "Running", "interfaces": ["lo", "eth0", "net1"]}},
     Status.UNKNOWN, None, "SecondaryInterfaceAttached"),
]


@pytest.mark.parametrize(("case", "modify", "status", "failing", "words"), CASES, ids=[c[0] for c in CASES])
def test_judge(case, modify, status, failing, words) -> None:
    v = judge(modify(base()))
    assert v.status is status, v.reasons
    assert words in " ".join(v.reasons)
    by = {c.name: c for c in v.checks}
    assert len(by) == 4 and by["DataTransferOverSecondaryInterface"].outcome is Outcome.SKIP
    if failing:
        assert by[failing].outcome is Outcome.FAIL
