"""The simulated cluster-autoscaler (kwok provider) behaves as the real one at start (cluster-autoscaler-1.35.2,
cloudprovider/kwok BuildKwokProvider): config and node templates are read once, when an autoscaler pod starts;
every template gets the kwok-provider=true:NoSchedule taint unless ``nodes.skipTaint``; a config the provider
rejects leaves a Warning event with upstream's message and no autoscaling."""
from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import yaml
from kubernetes import client, config

NS = "kube-system"
TAINT = ("kwok-provider", "true", "NoSchedule")


def until(fn: Callable[[], Any], timeout: float = 20.0) -> Any:
    deadline = time.time() + timeout
    while True:
        val = fn()
        if val or time.time() > deadline:
            return val
        time.sleep(0.2)


def group_nodes(core: client.CoreV1Api, group: str) -> list[Any]:
    return [n for n in core.list_node().items
            if (n.metadata.annotations or {}).get("cluster-autoscaler.kwok.nodegroup/name") == group]


def add_group(core: client.CoreV1Api, group: str) -> None:
    """Append a template of a second group (min 1) to kwok-provider-templates."""
    cm = core.read_namespaced_config_map("kwok-provider-templates", NS)
    doc = yaml.safe_load(cm.data["templates"])
    tmpl = {"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": f"{group}-template", "labels": {"kwok-nodegroup": group},
                         "annotations": {"cluster-autoscaler.kwok.nodegroup/min-count": "1",
                                         "cluster-autoscaler.kwok.nodegroup/max-count": "2"}},
            "status": {"capacity": {"cpu": "4", "memory": "8Gi", "pods": "110"},
                       "allocatable": {"cpu": "4", "memory": "8Gi", "pods": "110"}}}
    doc["items"].append(tmpl)
    core.patch_namespaced_config_map("kwok-provider-templates", NS, {"data": {"templates": yaml.safe_dump(doc)}})


def restart_autoscaler(core: client.CoreV1Api) -> str:
    """Delete the running autoscaler pod; the Deployment starts a new one (a new process: a new start)."""
    old = core.list_namespaced_pod(NS, label_selector="app.kubernetes.io/name=cluster-autoscaler").items
    for p in old:
        core.delete_namespaced_pod(p.metadata.name, NS)
    gone = {p.metadata.uid for p in old}
    new = until(lambda: [p for p in core.list_namespaced_pod(NS, label_selector="app.kubernetes.io/name=cluster-autoscaler")
                         .items if p.metadata.uid not in gone and p.status.phase == "Running"])
    assert new, "the Deployment did not start a new autoscaler pod"
    return new[0].metadata.name


def test_templates_are_read_once_at_start_and_tainted_unless_skip_taint(sim_factory) -> None:
    h = sim_factory("conformant-autoscaling")
    core = client.CoreV1Api(config.new_client_from_config(config_file=str(h.kubeconfig)))
    first = until(lambda: group_nodes(core, "gpu-a"))
    assert first, "the min-count node of gpu-a was never created"
    # The template in the scenario carries no taint: the provider adds its own.
    assert [(t.key, t.value, t.effect) for t in first[0].spec.taints or []] == [TAINT]

    add_group(core, "cpu-b")  # a running autoscaler never re-reads its templates ...
    time.sleep(3)  # three scan intervals (--scan-interval=1s)
    assert group_nodes(core, "cpu-b") == []
    status = core.read_namespaced_config_map("cluster-autoscaler-status", NS).data["status"]
    assert [g["name"] for g in yaml.safe_load(status)["nodeGroups"]] == ["gpu-a"]

    cfg = core.read_namespaced_config_map("kwok-provider-config", NS)
    doc = yaml.safe_load(cfg.data["config"])
    doc["nodes"] = {"skipTaint": True}
    core.patch_namespaced_config_map("kwok-provider-config", NS, {"data": {"config": yaml.safe_dump(doc)}})
    restart_autoscaler(core)  # ... a new one does, with the config as it is now
    added = until(lambda: group_nodes(core, "cpu-b"))
    assert added, "a restarted autoscaler did not read the new template"
    assert not [t for t in added[0].spec.taints or [] if t.key == "kwok-provider"]


def test_config_the_provider_rejects_is_an_event_and_no_autoscaling(sim_factory) -> None:
    h = sim_factory("conformant-autoscaling")
    core = client.CoreV1Api(config.new_client_from_config(config_file=str(h.kubeconfig)))
    assert until(lambda: group_nodes(core, "gpu-a"))
    core.patch_namespaced_config_map("kwok-provider-config", NS, {"data": {"config": "readNodesFrom: configmap\n"}})
    name = restart_autoscaler(core)
    events = until(lambda: [e for e in core.list_namespaced_event(NS).items
                            if e.involved_object.name == name and e.reason == "KwokProviderConfigError"])
    assert events, "no KwokProviderConfigError event on the new autoscaler pod"
    assert events[0].type == "Warning"
    assert events[0].message == ("failed to load kwok provider config: please specify a value for 'configmap' in "
                                 "kwok config (currently empty or undefined)")
