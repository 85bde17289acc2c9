"""The simulator's gang schedulers (aiconform/sim/controllers/gang.py): all or nothing per PodGroup minMember,
each project's own words, and scenario composition without Kueue (remove_objects)."""
from __future__ import annotations

import time

import pytest
from helpers.sim import until
from kubernetes import client, config

from aiconform.sim.scenario import load_scenario

TOLERATE_GPU = [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]
VOLCANO = ("scheduling.volcano.sh", "v1beta1")


def _clients(h) -> tuple[client.CoreV1Api, client.CustomObjectsApi]:
    api = config.new_client_from_config(config_file=str(h.kubeconfig))
    return client.CoreV1Api(api), client.CustomObjectsApi(api)


def _volcano_pod(name: str, group: str, cpu: str) -> dict:
    return {"metadata": {"name": name, "annotations": {"scheduling.k8s.io/group-name": group}},
            "spec": {"schedulerName": "volcano", "tolerations": TOLERATE_GPU, "restartPolicy": "Always",
                     "containers": [{"name": "c", "image": "busybox", "resources": {"requests": {"cpu": cpu}}}]}}


def _podgroup(name: str, min_member: int) -> dict:
    return {"apiVersion": "scheduling.volcano.sh/v1beta1", "kind": "PodGroup", "metadata": {"name": name},
            "spec": {"minMember": min_member}}


def _node(core, name: str) -> str | None:
    return core.read_namespaced_pod(name, "default").spec.node_name


def test_the_mechanism_scenarios_drop_kueue():
    for name in ("conformant-volcano", "conformant-kai", "conformant-coscheduling"):
        crds = {o["metadata"]["name"] for o in load_scenario(name).objects if o["kind"] == "CustomResourceDefinition"}
        assert not [c for c in crds if c.endswith(".kueue.x-k8s.io")], name
        assert any(c.startswith("podgroups.") for c in crds), name
    assert any(o["metadata"]["name"] == "workloads.kueue.x-k8s.io" for o in load_scenario("conformant").objects)


def test_volcano_binds_a_gang_only_when_all_its_members_exist_and_fit(sim_factory):
    h = sim_factory("conformant-volcano")
    core, custom = _clients(h)
    custom.create_namespaced_custom_object(*VOLCANO, "default", "podgroups", _podgroup("small", 3))
    for i in range(2):
        core.create_namespaced_pod("default", _volcano_pod(f"small-{i}", "small", "100m"))
    cond = until(lambda: [c for c in core.read_namespaced_pod("small-0", "default").status.conditions or []
                          if c.type == "PodScheduled" and c.status == "False"])
    assert cond and cond[0].message == "pod group is not ready, 2 Pending, 3 minAvailable"
    assert _node(core, "small-0") is None and _node(core, "small-1") is None
    core.create_namespaced_pod("default", _volcano_pod("small-2", "small", "100m"))
    assert until(lambda: all(_node(core, f"small-{i}") for i in range(3)))
    pg = until(lambda: (g := custom.get_namespaced_custom_object(*VOLCANO, "default", "podgroups", "small"))
               .get("status", {}).get("phase") == "Running" and g)
    assert pg and pg["status"]["running"] == 3
    # a gang whose members do not all fit: none is bound; the PodGroup says why in Volcano's words
    custom.create_namespaced_custom_object(*VOLCANO, "default", "podgroups", _podgroup("big", 3))
    for i in range(3):  # 15 CPUs each: two GPU nodes of 16 CPUs take two of them, not three
        core.create_namespaced_pod("default", _volcano_pod(f"big-{i}", "big", "15"))
    pg = until(lambda: [c for c in (custom.get_namespaced_custom_object(*VOLCANO, "default", "podgroups", "big")
                                    .get("status") or {}).get("conditions") or [] if c["type"] == "Unschedulable"])
    assert pg and pg[0]["reason"] == "NotEnoughResources"
    assert pg[0]["message"].startswith("1/3 tasks in gang unschedulable: pod group is not ready, 3 Pending, 3 minAvailable")
    # in the words and state of the real Volcano v1.14 scheduler (the lab's volcano stack): the Schedulable/Unschedulable
    # split, the first pod that fits nowhere with Volcano's own fit error, the PodGroup admitted (Inqueue) yet unbound
    assert "; Pending: 1 Unschedulable, 2 Schedulable. Origin reason is big-2: 0/" in pg[0]["message"], pg
    assert "nodes are unavailable: " in pg[0]["message"] and "Insufficient cpu" in pg[0]["message"], pg
    big = custom.get_namespaced_custom_object(*VOLCANO, "default", "podgroups", "big")
    assert big["status"]["phase"] == "Inqueue", big["status"]
    pod_cond = [c for c in core.read_namespaced_pod("big-0", "default").status.conditions or []
                if c.type == "PodScheduled" and c.status == "False"]
    assert pod_cond and pod_cond[0].message.startswith("pod group is not ready, 3 Pending, 3 minAvailable; Pending: 1 "
                                                       "Unschedulable, 2 Schedulable. Origin reason is big-2: "), pod_cond
    time.sleep(1)
    assert [_node(core, f"big-{i}") for i in range(3)] == [None, None, None]
    events = [e for e in core.list_namespaced_event("default").items if e.involved_object.name == "big-0"]
    assert any(e.reason == "FailedScheduling" and e.source.component == "volcano" for e in events)


def test_a_broken_volcano_starts_part_of_the_gang(sim_factory):
    h = sim_factory("broken-volcano")
    core, custom = _clients(h)
    custom.create_namespaced_custom_object(*VOLCANO, "default", "podgroups", _podgroup("big", 3))
    for i in range(3):
        core.create_namespaced_pod("default", _volcano_pod(f"big-{i}", "big", "15"))
    assert until(lambda: sum(1 for i in range(3) if _node(core, f"big-{i}")) == 2)


def test_coscheduling_without_its_podgroup_binds_nothing(sim_factory):
    h = sim_factory("conformant-coscheduling")
    core, _ = _clients(h)
    core.create_namespaced_pod("default", {
        "metadata": {"name": "orphan", "labels": {"scheduling.x-k8s.io/pod-group": "missing"}},
        "spec": {"schedulerName": "scheduler-plugins-scheduler", "tolerations": TOLERATE_GPU,
                 "containers": [{"name": "c", "image": "busybox", "resources": {"requests": {"cpu": "100m"}}}]}})
    cond = until(lambda: [c for c in core.read_namespaced_pod("orphan", "default").status.conditions or []
                          if c.type == "PodScheduled" and c.status == "False"])
    assert cond and cond[0].message == "PodGroup default/missing not found"
    assert _node(core, "orphan") is None


@pytest.mark.parametrize("scenario", ["conformant-kai"])
def test_kai_needs_its_queue(sim_factory, scenario):
    h = sim_factory(scenario)
    core, custom = _clients(h)
    custom.create_namespaced_custom_object("scheduling.run.ai", "v2alpha2", "default", "podgroups", {
        "apiVersion": "scheduling.run.ai/v2alpha2", "kind": "PodGroup", "metadata": {"name": "g"},
        "spec": {"minMember": 1, "queue": "nope"}})
    core.create_namespaced_pod("default", {
        "metadata": {"name": "k", "annotations": {"pod-group-name": "g"}},
        "spec": {"schedulerName": "kai-scheduler", "tolerations": TOLERATE_GPU,
                 "containers": [{"name": "c", "image": "busybox", "resources": {"requests": {"cpu": "100m"}}}]}})
    cond = until(lambda: [c for c in core.read_namespaced_pod("k", "default").status.conditions or []
                          if c.type == "PodScheduled" and c.status == "False"])
    assert cond and cond[0].message.startswith("QueueDoesNotExist")
    assert _node(core, "k") is None


def _cosched_pod(name: str, group: str, cpu: str) -> dict:
    return {"metadata": {"name": name, "labels": {"scheduling.x-k8s.io/pod-group": group}},
            "spec": {"schedulerName": "scheduler-plugins-scheduler", "tolerations": TOLERATE_GPU,
                     "containers": [{"name": "c", "image": "busybox", "resources": {"requests": {"cpu": cpu}}}]}}


def test_coscheduling_speaks_and_steps_as_the_real_scheduler_plugins(sim_factory):
    """What the lab's real scheduler-plugins v0.34 scheduler and controller showed (tests/lab/test_lab_coscheduling.py):
    a short gang's pods say PreFilter's words inside a fit error; a complete gang that does not fit is rejected in
    PostFilter and its PodGroup is Scheduling (every member exists) with none bound."""
    h = sim_factory("conformant-coscheduling")
    core, custom = _clients(h)
    group = ("scheduling.x-k8s.io", "v1alpha1")
    custom.create_namespaced_custom_object(*group, "default", "podgroups", {
        "apiVersion": "scheduling.x-k8s.io/v1alpha1", "kind": "PodGroup", "metadata": {"name": "big"},
        "spec": {"minMember": 3}})
    for i in range(2):
        core.create_namespaced_pod("default", _cosched_pod(f"big-{i}", "big", "15"))
    cond = until(lambda: [c for c in core.read_namespaced_pod("big-0", "default").status.conditions or []
                          if c.type == "PodScheduled" and c.status == "False"])
    assert cond and "nodes are available: pre-filter pod big-0 cannot find enough sibling pods, current pods number: " \
        "2, minMember of group: 3. no new claims to deallocate, preemption: 0/" in cond[0].message, cond
    assert cond[0].message.endswith("PodGroup default/big gets rejected due to Pod big-0 is unschedulable even after "
                                    "PostFilter"), cond
    core.create_namespaced_pod("default", _cosched_pod("big-2", "big", "15"))  # 15 CPUs each: two fit, not three

    def messages() -> dict[str, str]:
        out = {}
        for i in range(3):
            for c in core.read_namespaced_pod(f"big-{i}", "default").status.conditions or []:
                if c.type == "PodScheduled" and c.status == "False" and "pre-filter" not in c.message:
                    out[f"big-{i}"] = c.message
        return out if len(out) == 3 else {}

    got = until(messages)
    assert got, got
    rejected = [m for m in got.values() if "gets rejected due to Pod big-2 is unschedulable even after PostFilter" in m]
    assert rejected and "Insufficient cpu" in rejected[0] and "no new claims to deallocate, preemption: 0/" in rejected[0]
    assert list(got.values()).count("0/1 nodes are available: 1 optimistic rejection in PostFilter.") == 2, got
    pg = until(lambda: (g := custom.get_namespaced_custom_object(*group, "default", "podgroups", "big"))
               .get("status", {}).get("phase") == "Scheduling" and g)
    assert pg, custom.get_namespaced_custom_object(*group, "default", "podgroups", "big").get("status")
    assert [_node(core, f"big-{i}") for i in range(3)] == [None, None, None]
