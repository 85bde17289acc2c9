"""The lab's pure parts: pins, generated module files, topology, flags, refusal to clobber a kubeconfig."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from aiconform import versions
from aiconform.labcluster import build, cluster, topology
from aiconform.labcluster.pki import generate


def test_every_lab_pin_has_pinned_dependency_hashes() -> None:
    for minor, pin in versions.get("lab.kubernetes").items():
        assert pin["version"].startswith(minor + "."), (minor, pin)
        assert pin["staging"] == "v0." + pin["version"][3:], pin  # k8s v1.X.Y ↔ staging v0.X.Y
        sums = build.SUMS_DIR / f"kube-{pin['version']}.sum"
        assert sums.exists(), f"{sums} missing: run aiconform lab build --kubernetes-version {minor} --update-sums"
        assert f"k8s.io/kubernetes {pin['version']} h1:" in sums.read_text()
        assert f"k8s.io/api {pin['staging']} h1:" in sums.read_text()
    kwok = versions.get("lab.kwok")
    assert f"{kwok['module']} {kwok['version']} h1:" in (build.SUMS_DIR / f"kwok-{kwok['version']}.sum").read_text()
    # no stale sums: every file belongs to a pinned target
    names = {f"kube-{p['version']}.sum" for p in versions.get("lab.kubernetes").values()}
    names.add(f"kwok-{kwok['version']}.sum")
    # upstream main packages: one sums file per wrapper module, pinning each module at its version
    for group in build.wrapper_groups([*versions.get("lab.controllers"), *versions.get("lab.tools")]):
        wrapper = build.upstream_pin(group[0]).get("wrapper") or group[0]
        sums = build.SUMS_DIR / f"{wrapper}-{build.wrapper_version(group)}.sum"
        assert sums.exists(), f"{sums} missing: run aiconform lab build --update-sums"
        for n in group:
            pin = build.upstream_pin(n)
            assert f"{pin['module']} {pin['version']} h1:" in sums.read_text(), (n, sums)
        names.add(sums.name)
    assert {p.name for p in build.SUMS_DIR.glob("*.sum")} == names


@pytest.mark.parametrize(("given", "want"), [("v1.35", "v1.35"), ("1.35", "v1.35"), ("v1.34.9", "v1.34"),
                                             (None, "v1.35")])
def test_resolve_minor(given: str | None, want: str) -> None:
    assert build.resolve_minor(given) == want


@pytest.mark.parametrize("bad", ["v1.20", "latest", "v2.0"])
def test_resolve_minor_rejects_unbuildable_versions(bad: str) -> None:
    with pytest.raises(build.BuildError, match="the lab builds Kubernetes"):
        build.resolve_minor(bad)


def test_kube_module_pins_every_staging_module(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    mod = tmp_path / "kubernetes.mod"
    mod.write_text("module k8s.io/kubernetes\n\ngo 1.25.0\n\nrequire (\n\tk8s.io/api v0.0.0\n"
                   "\tk8s.io/client-go v0.0.0\n\tk8s.io/utils v0.0.0-20251002143259-bc988d571ff4\n)\n")
    monkeypatch.setattr(build, "_download_mod", lambda go, module, version: mod)
    t = build.kube_target("v1.35")
    assert "require k8s.io/kubernetes v1.35.4" in t.go_mod
    assert "\tk8s.io/api => k8s.io/api v0.35.4" in t.go_mod
    assert "\tk8s.io/client-go => k8s.io/client-go v0.35.4" in t.go_mod
    assert "k8s.io/utils =>" not in t.go_mod  # a real pseudo-version, not a staging module
    assert "go 1.25.0" in t.go_mod
    assert "-X k8s.io/component-base/version.gitVersion=v1.35.4" in t.ldflags
    mod.write_text("module example.com/x\n")
    with pytest.raises(build.BuildError, match="no staging modules"):
        build.kube_target("v1.35")


def test_wrapper_module_builds_main_packages_from_versions_yml(monkeypatch: pytest.MonkeyPatch,
                                                                tmp_path: Path) -> None:
    mods = {"sigs.k8s.io/kueue": "go 1.26.0\n", "github.com/ray-project/kuberay/ray-operator": "go 1.25.0\n"}

    def fake_download(go: str, module: str, version: str) -> Path:
        f = tmp_path / (module.replace("/", "_") + ".mod")
        f.write_text(f"module {module}\n\n" + mods[module])
        return f

    monkeypatch.setattr(build, "_download_mod", fake_download)
    monkeypatch.setenv("AICONFORM_LAB_HOME", str(tmp_path / "home"))
    ctl = versions.get("lab.controllers")
    with monkeypatch.context() as mp:
        mp.setitem(ctl["kuberay-operator"], "wrapper", "kueue")  # one wrapper module, two programs
        t = build.wrapper_target(["kueue", "kuberay-operator"])
        assert f"\tsigs.k8s.io/kueue {ctl['kueue']['version']}" in t.go_mod
        assert f"\tgithub.com/ray-project/kuberay/ray-operator {ctl['kuberay-operator']['version']}" in t.go_mod
        assert "go 1.26.0" in t.go_mod  # the newest go directive of the modules wrapped
        assert "tool (\n\tgithub.com/ray-project/kuberay/ray-operator\n\tsigs.k8s.io/kueue/cmd/kueue\n)" in t.go_mod
        kueue = next(p for p in t.programs if p.name == "kueue")
        assert kueue.binary == tmp_path / "home" / "bin" / f"kueue-{ctl['kueue']['version']}"
        assert f"-X sigs.k8s.io/kueue/pkg/version.GitVersion={ctl['kueue']['version']}" in kueue.ldflags
        assert t.sums.name == (f"kueue-kuberay-operator-{ctl['kuberay-operator']['version']}"
                               f"+kueue-{ctl['kueue']['version']}.sum")
    assert build.wrapper_target(["kueue"]).sums.name == f"kueue-{ctl['kueue']['version']}.sum"
    with pytest.raises(build.BuildError, match="different wrapper modules"):
        build.wrapper_target(["kueue", "controller-gen"])
    # the reference stack's binaries are reported missing until built; base needs only kube and kwok
    assert build.missing(None, "reference") == [f"kube-{versions.get('lab.kubernetes')['v1.35']['version']}",
                                                f"kwok-{versions.get('lab.kwok.version')}",
                                                f"kueue-{ctl['kueue']['version']}",
                                                f"kueue-{ctl['kueue']['version']} manifests",
                                                f"kuberay-operator-{ctl['kuberay-operator']['version']}",
                                                f"kuberay-operator-{ctl['kuberay-operator']['version']} manifests"]
    assert build.find_binaries(None, "reference") is None
    with pytest.raises(build.BuildError, match="unknown stack"):
        build.stack_controllers("nope")


def test_a_missing_go_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(build.BuildError, match="not found: install Go"):
        build.check_go("/nonexistent/go")


def test_topology_gpu_nodes_addresses_and_slices() -> None:
    topo = topology.Topology.build("v1.35.4", gpus=3)
    gpu = [n for n in topo.nodes if n.gpus]
    assert len(gpu) == 3
    ips = [n.ip for n in topo.nodes]
    assert len(set(ips)) == len(ips)
    cp = [n for n in topo.nodes if "node-role.kubernetes.io/control-plane" in n.obj["metadata"]["labels"]]
    assert [n.ip for n in cp] == [topology.HOST_IP]
    for n in topo.nodes:
        assert n.obj["metadata"]["annotations"]["kwok.x-k8s.io/node"] == "fake"
        assert "uid" not in n.obj["metadata"]
        assert n.obj["status"]["nodeInfo"]["kubeletVersion"] == "v1.35.4"
        assert n.obj["status"]["addresses"][0] == {"type": "InternalIP", "address": n.ip}
    assert {dc["metadata"]["name"] for dc in topo.objects} >= {"gpu.nvidia.com"}
    assert topo.slices and topo.slices[0]["driver"] == "gpu.nvidia.com"
    assert topology.Topology.build("v1.35.4", gpus=0).describe()["gpus"] == 0
    with pytest.raises(ValueError, match="--gpus"):
        topology.Topology.build("v1.35.4", gpus=-1)


def test_apiserver_runs_as_kubeadm_does(tmp_path: Path) -> None:
    topo = topology.Topology.build("v1.35.4")
    pki = generate(tmp_path / "pki", apiserver_ips=(topo.host_ip,), node_ips=(topo.host_ip,))
    flags = topology.apiserver_flags(topo, pki)
    assert "--authorization-mode=Node,RBAC" in flags
    assert "--enable-admission-plugins=NodeRestriction" in flags
    assert "--enable-aggregator-routing=true" in flags
    assert not any("insecure" in f for f in flags)
    for f in tmp_path.joinpath("pki").iterdir():
        assert oct(f.stat().st_mode & 0o777) == "0o600", f


def test_lab_up_refuses_to_overwrite_a_foreign_kubeconfig(tmp_path: Path) -> None:
    mine = tmp_path / "config"
    mine.write_text("apiVersion: v1\nkind: Config\n")
    with pytest.raises(cluster.LabError, match="refusing to overwrite"):
        cluster._check_kubeconfig_path(mine)
    assert mine.read_text() == "apiVersion: v1\nkind: Config\n"


def test_lab_up_without_binaries_says_what_to_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AICONFORM_LAB_HOME", str(tmp_path / "empty"))
    with pytest.raises(cluster.LabError, match="aiconform lab build --kubernetes-version v1.35"):
        cluster.start(tmp_path / "kubeconfig")
    assert not (tmp_path / "kubeconfig").exists()


def test_lab_down_without_a_lab_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(cluster.LabError, match="no lab runs with"):
        cluster.down(tmp_path / "kubeconfig")
    st = cluster.state_file(tmp_path / "kubeconfig")
    st.write_text("{not json")
    with pytest.raises(cluster.LabError, match="not a lab state file"):
        cluster.down(tmp_path / "kubeconfig")
    # a lab whose foreground process died: its files are cleaned up
    (tmp_path / "kubeconfig").write_text(cluster.MARKER)
    state = tmp_path / "state"
    state.mkdir()
    st.write_text(json.dumps({"pid": 2**22 + 12345, "state": str(state), "url": "https://127.0.0.1:1"}))
    assert "was not running" in cluster.down(tmp_path / "kubeconfig")
    assert not st.exists() and not state.exists() and not (tmp_path / "kubeconfig").exists()
