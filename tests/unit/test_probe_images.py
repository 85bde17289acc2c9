"""Every probe image that reaches a cluster is pinned in versions.yml and can come from a mirror."""
from __future__ import annotations

import pytest
from aiconform.verifiers.ansible_module import mirrored_options
from aiconform.verifiers.runtime import load

from aiconform import catalog, versions

PINNED = {versions.image_ref(img) for img in versions.get("verifier_probes.images").values()} | {
    versions.image_ref(img) for img in versions.get("gpu_operator.images").values()}


@pytest.mark.parametrize("requirement", catalog.all_ids())
def test_default_probe_images_come_from_versions_yml(requirement):
    spec = load(requirement).OPTIONS
    images = {name: opt["default"] for name, opt in spec.items() if name.endswith("image")}
    for name, default in images.items():
        assert default in PINNED, f"{requirement}.{name} default {default!r} is not pinned in versions.yml"


@pytest.mark.parametrize(
    ("ref", "registry", "expected"),
    [
        ("docker.io/library/ubuntu:22.04", "mirror.local:5000", "mirror.local:5000/library/ubuntu:22.04"),
        ("registry.k8s.io/e2e-test-images/busybox:1.36.1-1", "m.example/k8s", "m.example/k8s/e2e-test-images/busybox:1.36.1-1"),
        ("ubuntu:22.04", "m.example", "m.example/library/ubuntu:22.04"),
        ("rayproject/ray:2.41.0", "m.example", "m.example/rayproject/ray:2.41.0"),
        ("localhost/x:1", "m.example", "m.example/x:1"),
        ("ghcr.io/a/b:1", "", "ghcr.io/a/b:1"),
    ],
)
def test_with_registry(ref, registry, expected):
    assert versions.with_registry(ref, registry) == expected


def test_only_defaults_are_mirrored():
    spec = {"probe_image": {"default": "docker.io/library/ubuntu:22.04"}, "client_image": {"default": "x/y:1"}}
    opts = {"probe_image": "docker.io/library/ubuntu:22.04", "client_image": "my.reg/own:2", "timeout": 5}
    out = mirrored_options(opts, spec, "mirror.local")
    assert out == {"probe_image": "mirror.local/library/ubuntu:22.04", "client_image": "my.reg/own:2", "timeout": 5}


def test_artifacts_list_probe_images():
    refs = {a.ref for a in versions.artifacts() if a.component == "verifier_probes"}
    assert "docker.io/curlimages/curl:8.11.1" in refs and len(refs) == len(versions.get("verifier_probes.images"))
