"""The lab's karpenter stack, pure parts: what `lab up --stack karpenter` applies and how the runner recognises it."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from aiconform import versions
from aiconform.labcluster import build, karpenter, pods


def _by_kind() -> dict[str, dict]:
    return {obj["kind"]: obj for _path, obj in karpenter.objects()}


def test_the_stack_runs_karpenter_from_its_pin() -> None:
    assert build.stack_controllers("karpenter") == ["karpenter"]
    pin = build.upstream_pin("karpenter")
    assert (pin["module"], pin["package"]) == ("sigs.k8s.io/karpenter", "sigs.k8s.io/karpenter/kwok")
    assert "replace" not in pin  # upstream's go.mod has no replace directives: none of ours either
    # the Deployment's image is the one the pod runner backs with the built binary, under any registry
    ctr = _by_kind()["Deployment"]["spec"]["template"]["spec"]["containers"][0]
    assert pods.controller_of(ctr["image"]) == "karpenter"
    assert pods.controller_of("mirror.example/" + ctr["image"].split("/", 1)[1]) == "karpenter"
    assert "--disable-leader-election" in ctr["args"]
    env = {e["name"]: e for e in ctr["env"]}
    assert env["INSTANCE_TYPES_FILE_PATH"]["value"] == karpenter.INSTANCE_TYPES_PATH
    mount = ctr["volumeMounts"][0]
    assert karpenter.INSTANCE_TYPES_PATH == f"{mount['mountPath']}/instance-types.json"
    # the instance-types file the binary reads is not an artifact to mirror
    assert not [a for a in versions.artifacts() if "karpenter-kwok" in a.ref]


def test_instance_types_and_the_gpu_nodepool() -> None:
    cm = _by_kind()["ConfigMap"]
    types = json.loads(cm["data"]["instance-types.json"])
    assert types == karpenter.INSTANCE_TYPES
    for t in types:  # upstream's InstanceTypeOptions fields, every offering priced
        assert set(t) == {"name", "offerings", "architecture", "operatingSystems", "resources"}, t
        for o in t["offerings"]:  # KWOKOffering: priced, available, with capacity type and zone requirements
            reqs = {r["key"]: r["values"] for r in o["Requirements"]}
            assert o["Price"] > 0 and o["Available"] is True, o
            assert reqs["karpenter.sh/capacity-type"] == ["on-demand"] and reqs["topology.kubernetes.io/zone"], o
    gpu = {t["name"]: int(t["resources"]["nvidia.com/gpu"]) for t in types if "nvidia.com/gpu" in t["resources"]}
    assert gpu and sorted(gpu) == sorted(karpenter.GPU_TYPES)
    price = {t["name"]: min(o["Price"] for o in t["offerings"]) for t in types}
    one = [n for n, g in gpu.items() if g == 1]
    assert one and min(gpu, key=price.__getitem__) in one  # a one-GPU pod gets a one-GPU node
    np = _by_kind()["NodePool"]
    reqs = {r["key"]: r for r in np["spec"]["template"]["spec"]["requirements"]}
    assert reqs["node.kubernetes.io/instance-type"]["values"] == karpenter.GPU_TYPES
    assert np["spec"]["limits"] == {"nvidia.com/gpu": str(karpenter.GPU_LIMIT)}
    assert karpenter.nodepool(0)["spec"]["limits"] == {"nvidia.com/gpu": "0"}
    assert np["spec"]["template"]["spec"]["nodeClassRef"] == {"group": "karpenter.kwok.sh", "kind": "KWOKNodeClass",
                                                              "name": _by_kind()["KWOKNodeClass"]["metadata"]["name"]}


def test_missing_crds_say_what_to_build(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="aiconform lab build --stack karpenter"):
        karpenter.crds(tmp_path)
    (tmp_path / "crds").mkdir()
    (tmp_path / "crds" / "a.yaml").write_text("---\napiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\n"
                                              "metadata: {name: nodepools.karpenter.sh}\n")
    assert [c["metadata"]["name"] for c in karpenter.crds(tmp_path)] == ["nodepools.karpenter.sh"]


class _Api:
    def __init__(self, deployment: dict, nodepool: dict) -> None:
        self.objs = {"deployments/karpenter": deployment, "nodepools/gpu": nodepool}

    def request(self, method: str, path: str) -> tuple[int, dict]:
        for k, v in self.objs.items():
            if path.endswith(k):
                return 200, v
        return 404, {}


def test_ready_waits_for_the_pod_and_karpenters_own_nodepool_verdict() -> None:
    assert "no Ready pod" in str(karpenter.ready(_Api({"status": {}}, {})))
    why = karpenter.ready(_Api({"status": {"readyReplicas": 1}}, {"status": {"conditions": [
        {"type": "Ready", "status": "False"}, {"type": "NodeClassReady", "status": "False",
                                               "reason": "NodeClassReadinessUnknown"}]}}))
    assert why and "NodeClassReadinessUnknown" in why
    assert karpenter.ready(_Api({"status": {"readyReplicas": 1}},
                                {"status": {"conditions": [{"type": "Ready", "status": "True"}]}})) is None


def test_the_nodeclass_is_marked_ready_through_its_status_subresource() -> None:
    calls = []

    class Api:
        def request(self, method: str, path: str, body: dict, content_type: str) -> tuple[int, dict]:
            calls.append((method, path, body, content_type))
            return (200, {}) if len(calls) == 1 else (422, {"message": "invalid"})

    karpenter.nodeclass_ready(Api(), {"metadata": {"generation": 3}})
    method, path, body, ctype = calls[0]
    assert (method, path) == ("PATCH", "/apis/karpenter.kwok.sh/v1alpha1/kwoknodeclasses/default/status")
    cond = body["status"]["conditions"][0]
    assert (cond["type"], cond["status"], cond["observedGeneration"]) == ("Ready", "True", 3)
    assert ctype == "application/merge-patch+json"
    with pytest.raises(RuntimeError, match="cannot mark KWOKNodeClass default Ready: 422"):
        karpenter.nodeclass_ready(Api(), {})
