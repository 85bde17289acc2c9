"""The lab's coscheduling stack, pure parts: its wrapper module, what `lab up --stack coscheduling` applies, how the
runner recognises its pods, and the second scheduler's configuration (with and without the Coscheduling plugin)."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from aiconform.verifiers.gang_scheduling.mechanisms import MECHANISMS

from aiconform import versions
from aiconform.labcluster import build, coscheduling, pods


def _deployments() -> dict[str, dict]:
    return {obj["metadata"]["name"]: obj for _path, obj in coscheduling.objects() if obj["kind"] == "Deployment"}


def test_the_stack_runs_the_scheduler_plugins_scheduler_and_controller_from_their_pins() -> None:
    names = ["scheduler-plugins-scheduler", "scheduler-plugins-controller"]
    assert build.stack_controllers("coscheduling") == names
    assert build.wrapper_groups(names) == [sorted(names)]
    for name, deployment, main in (("scheduler-plugins-scheduler", coscheduling.SCHEDULER, "scheduler"),
                                   ("scheduler-plugins-controller", coscheduling.CONTROLLER, "controller")):
        pin = build.upstream_pin(name)
        assert (pin["module"], pin["package"]) == ("sigs.k8s.io/scheduler-plugins",
                                                   f"sigs.k8s.io/scheduler-plugins/cmd/{main}")
        assert pin["kubernetes"] == "v1.34" and pin["deviation"], pin
        ctr = _deployments()[deployment]["spec"]["template"]["spec"]["containers"][0]
        # the Deployment's image is upstream's, the one the pod runner backs with the built binary, any registry
        assert pods.controller_of(ctr["image"]) == name
        assert pods.controller_of("mirror.example/" + ctr["image"].split("/", 1)[1]) == name
        assert ctr["image"].endswith(f":{pin['version']}")
        assert "--enableLeaderElection" not in ctr.get("args", [])
        assert ctr["readinessProbe"]["httpGet"]["path"] in ("/healthz", "/readyz")
    assert "v1.34.4" in build.upstream_pin("scheduler-plugins-scheduler")["deviation"]
    # the pod images are not artifacts the install phase mirrors
    assert not [a for a in versions.artifacts() if "scheduler-plugins" in a.ref]


def test_the_wrapper_pins_kubernetes_at_the_labs_v1_34(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    def fake_download(go: str, module: str, version: str) -> Path:
        f = tmp_path / (module.replace("/", "_") + ".mod")
        body = ("require (\n\tk8s.io/api v0.0.0\n\tk8s.io/kube-scheduler v0.0.0\n\tk8s.io/utils v0.0.0-2025\n)\n"
                if module == "k8s.io/kubernetes" else "go 1.24.0\n")
        f.write_text(f"module {module}\n\n{body}")
        return f

    monkeypatch.setattr(build, "_download_mod", fake_download)
    t = build.wrapper_target(["scheduler-plugins-scheduler", "scheduler-plugins-controller"])
    kube = versions.get("lab.kubernetes")["v1.34"]
    assert f"\tk8s.io/kubernetes {kube['version']}" in t.go_mod
    assert f"\tk8s.io/kube-scheduler => k8s.io/kube-scheduler {kube['staging']}" in t.go_mod
    assert "\tsigs.k8s.io/scheduler-plugins v0.34.7" in t.go_mod
    assert ("tool (\n\tsigs.k8s.io/scheduler-plugins/cmd/controller\n\tsigs.k8s.io/scheduler-plugins/cmd/scheduler\n)"
            in t.go_mod)
    assert t.sums.exists(), t.sums  # pinned hashes committed


def test_the_second_schedulers_profile_and_its_variant_without_coscheduling() -> None:
    cm = next(obj for _p, obj in coscheduling.objects() if obj["kind"] == "ConfigMap")
    conf = yaml.safe_load(cm["data"][coscheduling.CONF_FILE])
    assert conf["kind"] == "KubeSchedulerConfiguration" and conf["leaderElection"] == {"leaderElect": False}
    [profile] = conf["profiles"]
    # the name the gang_scheduling verifier gives its probe pods by default (the chart's scheduler name)
    assert profile["schedulerName"] == coscheduling.SCHEDULER_NAME == MECHANISMS["coscheduling"].scheduler_name
    assert profile["plugins"]["multiPoint"] == {"enabled": [{"name": "Coscheduling"}],
                                                "disabled": [{"name": "PrioritySort"}]}
    assert profile["pluginConfig"] == [{"name": "Coscheduling", "args": {"permitWaitingTimeSeconds": 10}}]
    broken = yaml.safe_load(coscheduling.scheduler_config(without=("Coscheduling",)))["profiles"][0]
    assert broken["schedulerName"] == coscheduling.SCHEDULER_NAME
    assert broken["plugins"]["multiPoint"] == {"enabled": []} and "pluginConfig" not in broken
    sched = _deployments()[coscheduling.SCHEDULER]["spec"]["template"]["spec"]
    mount = sched["containers"][0]["volumeMounts"][0]
    assert f"--config={mount['mountPath']}/{coscheduling.CONF_FILE}" in sched["containers"][0]["args"]
    assert sched["volumes"][0]["configMap"]["name"] == cm["metadata"]["name"]
    assert sched["serviceAccountName"] == coscheduling.SCHEDULER
    probe = sched["containers"][0]["readinessProbe"]["httpGet"]
    assert (probe["port"], probe["scheme"]) == (coscheduling.SECURE_PORT, "HTTPS")
    binding = next(obj for _p, obj in coscheduling.objects() if obj["kind"] == "ClusterRoleBinding")
    assert {s["name"] for s in binding["subjects"]} == {coscheduling.SCHEDULER, coscheduling.CONTROLLER}


def test_missing_crds_say_what_to_build(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="aiconform lab build --stack coscheduling"):
        coscheduling.crds(tmp_path)


class _Api:
    def __init__(self, objs: dict[str, dict]) -> None:
        self.objs = objs

    def request(self, method: str, path: str) -> tuple[int, dict]:
        for k, v in self.objs.items():
            if path.endswith(k):
                return 200, v
        return 404, {}


def test_ready_waits_for_both_pods() -> None:
    ready = {"status": {"readyReplicas": 1}}
    assert "scheduler-plugins-controller has no Ready pod" in str(coscheduling.ready(_Api({})))
    assert "scheduler-plugins-scheduler has no Ready pod" in str(
        coscheduling.ready(_Api({"scheduler-plugins-controller": ready})))
    assert coscheduling.ready(_Api({"scheduler-plugins-controller": ready,
                                    "scheduler-plugins-scheduler": ready})) is None
