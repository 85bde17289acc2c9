"""Requirement selection and version handling of the preflight (pure parts)."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from aiconform.preflight import kubernetes_minor, plan, run_id, select

IDS = ["dra_support", "ai_inference", "gang_scheduling", "pod_autoscaling"]


@pytest.mark.parametrize(
    ("run_tags", "skip_tags", "only", "expected"),
    [
        (["all"], [], None, IDS),
        (["verify"], [], None, IDS),
        (["verify", "gang_scheduling"], [], None, ["gang_scheduling"]),
        (["gang_scheduling", "ai_inference"], [], None, ["ai_inference", "gang_scheduling"]),
        (["all"], ["dra_support"], None, IDS[1:]),
        (["all"], [], ["pod_autoscaling"], ["pod_autoscaling"]),
        # a tag outside the inventory's own list selects nothing rather than widening it
        (["verify", "dra_support"], [], ["pod_autoscaling"], []),
    ],
)
def test_select(run_tags, skip_tags, only, expected):
    assert select(IDS, run_tags=run_tags, skip_tags=skip_tags, only=only) == expected


@pytest.mark.parametrize(
    ("given", "minor"),
    [("v1.35.3", "v1.35"), ("1.34", "v1.34"), ("v1.33.1-eks-4096722", "v1.33"), ("v1.37.0+k3s1", "v1.37")],
)
def test_kubernetes_minor(given, minor):
    assert kubernetes_minor(given) == minor


def test_kubernetes_minor_rejects_garbage():
    with pytest.raises(ValueError, match="not a Kubernetes version"):
        kubernetes_minor("latest")


def test_run_id_is_sortable_utc():
    assert run_id(datetime(2026, 11, 27, 4, 15, 0, tzinfo=timezone.utc)) == "20261127T041500Z"


def test_plan_picks_the_set_of_the_server_minor():
    cluster = {"reachable": True, "server_version": "v1.33.4"}
    run = plan(cluster, {"run_tags": ["all"]})
    assert cluster["kubernetes_version"] == "v1.33"
    levels = {r["id"]: r["level"] for r in run["requirement_set"]}
    assert levels["dra_support"] == "SHOULD" and len(levels) == 9
    assert run["selected"] == [r["id"] for r in run["requirement_set"]]


def test_plan_inventory_override_wins_over_the_server():
    run = plan({"reachable": True, "server_version": "v1.33.4"}, {"kubernetes_version": "v1.37", "run_tags": []})
    assert "workload_sandboxing" in run["selected"] and "dra_support" not in run["selected"]


def test_plan_rejects_unknown_requirement_ids():
    with pytest.raises(ValueError, match="unknown requirement ids"):
        plan({"server_version": "v1.35.0"}, {"requirements": ["gang_schedulng"]})


def test_plan_without_a_version_selects_nothing_and_says_why():
    run = plan({"reachable": False, "error": "unreachable"}, {})
    assert run["selected"] == [] and "not reachable" in run["warnings"][0]
