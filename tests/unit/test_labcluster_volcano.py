"""The lab's volcano stack, pure parts: its wrapper module, what `lab up --stack volcano` applies, how the runner
recognises its pods, and the scheduler configuration (with and without the gang plugin)."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from aiconform import versions
from aiconform.labcluster import build, pods, volcano


def _deployments() -> dict[str, dict]:
    return {obj["metadata"]["name"]: obj for _path, obj in volcano.objects() if obj["kind"] == "Deployment"}


def test_the_stack_runs_volcanos_scheduler_and_controller_manager_from_their_pins() -> None:
    assert build.stack_controllers("volcano") == ["volcano-scheduler", "volcano-controller-manager"]
    assert build.wrapper_groups(build.stack_controllers("volcano")) == [["volcano-controller-manager",
                                                                         "volcano-scheduler"]]
    for name, deployment, main in (("volcano-scheduler", volcano.SCHEDULER, "scheduler"),
                                   ("volcano-controller-manager", volcano.CONTROLLERS, "controller-manager")):
        pin = build.upstream_pin(name)
        assert (pin["module"], pin["package"]) == ("volcano.sh/volcano", f"volcano.sh/volcano/cmd/{main}")
        assert pin["reference_version"] == "v1.15.1" and pin["deviation"], pin
        ctr = _deployments()[deployment]["spec"]["template"]["spec"]["containers"][0]
        # the Deployment's image is upstream's, the one the pod runner backs with the built binary, any registry
        assert pods.controller_of(ctr["image"]) == name
        assert pods.controller_of("mirror.example/" + ctr["image"].split("/", 1)[1]) == name
        assert ctr["image"].endswith(f":{pin['version']}")
        assert "--leader-elect=false" in ctr["args"] and f"--scheduler-name={volcano.SCHEDULER_NAME}" in ctr["args"]
        assert ctr["readinessProbe"]["httpGet"]["port"] == volcano.HEALTHZ_PORT
    assert "403" in build.upstream_pin("volcano-scheduler")["deviation"]
    # the pod images are not artifacts the install phase mirrors
    assert not [a for a in versions.artifacts() if "volcanosh" in a.ref]


def test_the_wrapper_pins_kubernetes_staging_and_the_served_api_module(monkeypatch: pytest.MonkeyPatch,
                                                                       tmp_path: Path) -> None:
    def fake_download(go: str, module: str, version: str) -> Path:
        f = tmp_path / (module.replace("/", "_") + ".mod")
        body = ("require (\n\tk8s.io/api v0.0.0\n\tk8s.io/kube-scheduler v0.0.0\n\tk8s.io/utils v0.0.0-2025\n)\n"
                if module == "k8s.io/kubernetes" else "go 1.24.0\n")
        f.write_text(f"module {module}\n\n{body}")
        return f

    monkeypatch.setattr(build, "_download_mod", fake_download)
    t = build.wrapper_target(["volcano-scheduler", "volcano-controller-manager"])
    kube = versions.get("lab.kubernetes")[build.upstream_pin("volcano-scheduler")["kubernetes"]]
    assert f"\tk8s.io/kubernetes {kube['version']}" in t.go_mod
    assert f"\tk8s.io/api => k8s.io/api {kube['staging']}" in t.go_mod
    assert f"\tk8s.io/kube-scheduler => k8s.io/kube-scheduler {kube['staging']}" in t.go_mod
    assert "k8s.io/utils =>" not in t.go_mod
    assert "\tvolcano.sh/apis => volcano.sh/apis v1.14.0" in t.go_mod and "\tvolcano.sh/apis v1.14.0" in t.go_mod
    assert "tool (\n\tvolcano.sh/volcano/cmd/controller-manager\n\tvolcano.sh/volcano/cmd/scheduler\n)" in t.go_mod
    assert t.sums.exists(), t.sums  # pinned hashes committed


def test_the_scheduler_configuration_and_its_gangless_variant() -> None:
    cm = next(obj for _p, obj in volcano.objects() if obj["kind"] == "ConfigMap")
    conf = yaml.safe_load(cm["data"][volcano.CONF_FILE])
    assert [a.strip() for a in conf["actions"].split(",")] == ["enqueue", "allocate", "backfill"]
    plugins = [p["name"] for t in conf["tiers"] for p in t["plugins"]]
    assert {"gang", "priority", "predicates", "proportion", "nodeorder"} <= set(plugins), plugins
    broken = yaml.safe_load(volcano.scheduler_conf(without=("gang",)))
    assert [p["name"] for t in broken["tiers"] for p in t["plugins"]] == [p for p in plugins if p != "gang"]
    sched = _deployments()[volcano.SCHEDULER]["spec"]["template"]["spec"]
    mount = sched["containers"][0]["volumeMounts"][0]
    assert f"--scheduler-conf={mount['mountPath']}/{volcano.CONF_FILE}" in sched["containers"][0]["args"]
    assert sched["volumes"][0]["configMap"]["name"] == cm["metadata"]["name"]
    queue = next(obj for _p, obj in volcano.objects() if obj["kind"] == "Queue")
    assert queue["metadata"]["name"] == volcano.QUEUE
    assert f"--default-queue={volcano.QUEUE}" in sched["containers"][0]["args"]


def test_missing_crds_say_what_to_build(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="aiconform lab build --stack volcano"):
        volcano.crds(tmp_path)


class _Api:
    def __init__(self, objs: dict[str, dict]) -> None:
        self.objs = objs

    def request(self, method: str, path: str) -> tuple[int, dict]:
        for k, v in self.objs.items():
            if path.endswith(k):
                return 200, v
        return 404, {}


def test_ready_waits_for_both_pods_and_the_open_queue() -> None:
    ready = {"status": {"readyReplicas": 1}}
    assert "volcano-controllers has no Ready pod" in str(volcano.ready(_Api({})))
    assert "volcano-scheduler has no Ready pod" in str(volcano.ready(_Api({"volcano-controllers": ready})))
    both = {"volcano-controllers": ready, "volcano-scheduler": ready}
    assert "Queue default is not Open" in str(volcano.ready(_Api({**both, "queues/default": {"status": {}}})))
    assert volcano.ready(_Api({**both, "queues/default": {"status": {"state": "Open"}}})) is None
