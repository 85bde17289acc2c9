"""nvidia_dra_driver provided by the platform: the check looks for the DeviceClass at the resource.k8s.io version
the cluster serves (v1 from Kubernetes 1.34; v1.33 serves only v1beta2/v1beta1), not at a hard-coded v1."""
from __future__ import annotations

import pytest
from helpers.sim import run_playbook

from aiconform import PROJECT_ROOT

pytestmark = pytest.mark.e2e

INSTALL = PROJECT_ROOT / "playbooks" / "install.yml"


def platform_vars(sim, minor: str) -> dict:
    return {"aiconform_kubeconfig": str(sim.kubeconfig),
            "aiconform_cluster": {"kubernetes_version": minor, "reachable": True},
            "nvidia_dra_driver_provided_by_platform": True}


@pytest.mark.parametrize(("version", "minor"), [("v1.33.2", "v1.33"), ("v1.35.2", "v1.35")])
def test_platform_device_class_is_found_at_the_served_version(sim_factory, version: str, minor: str) -> None:
    sim = sim_factory("conformant", kubernetes_version=version)
    rc, out = run_playbook(INSTALL, sim, platform_vars(sim, minor), tags="nvidia_dra_driver")
    assert rc == 0, out[-3000:]  # with a hard-coded resource.k8s.io/v1, v1.33 failed here: "DeviceClass ... (absent)"
    assert "Check it is provided by the platform: the NVIDIA DRA driver" in out


def test_missing_platform_driver_is_named_at_the_served_version(sim_factory) -> None:
    sim = sim_factory("empty", kubernetes_version="v1.33.2")
    rc, out = run_playbook(INSTALL, sim, platform_vars(sim, "v1.33"), tags="nvidia_dra_driver")
    assert rc != 0
    assert "declared provided by the platform, but missing: DeviceClass gpu.nvidia.com (absent)" in out, out[-3000:]
