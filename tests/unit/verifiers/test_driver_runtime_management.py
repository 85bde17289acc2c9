"""driver_runtime_management judge and helpers, on facts from real outputs.

- Advertised: AICR's ResourceSlices (H100, driverVersion 580.105.8, cudaDriverVersion 13.0.0) and the VKS
  ResourceSlices (vGPU, 580.126.9 / 13.0.0); GFD labels as the gpu-lab node carries them.
- Observed: kOps' driver-check Job (nvidia-smi inside the container: driver 580.105.08, CUDA 13.0).
"""
from __future__ import annotations

import copy
from typing import Any

import pytest
from _accel_fixtures import AICR_SAA, KOPS_DRIVER, VKS_SLICES, aicr_slices, kops_driver_check, needs, vks_slices
from aiconform.results import Outcome, Status
from aiconform.verifiers.driver_runtime_management import judge
from aiconform.verifiers.driver_runtime_management.rules import parse, platform_info, versions_compatible


def _node(name: str, labels: dict[str, str] | None = None, runtime: str = "containerd://1.7.27") -> dict[str, Any]:
    return {"name": name, "ready": True, "unschedulable": False, "all_labels": labels or {}, "labels": labels or {},
            "container_runtime_version": runtime}


def _probe(driver: str, cuda: str, *, count: int = 1, runtime_ok: bool = True, functional: bool = True) -> dict[str, Any]:
    text = "\n".join([f"RESULT: ACCELERATOR_COUNT={count}", f"RESULT: RUNTIME_CONFIG_OK={str(runtime_ok).lower()}",
                      f"RESULT: DRIVER_FUNCTIONAL={str(functional).lower()}", f"RESULT: ACTUAL_DRIVER_VERSION={driver}",
                      f"RESULT: ACTUAL_RUNTIME_VERSION={cuda}"])
    return {**parse(text), "timeout": "", "log": text}


def aicr_kops_facts() -> dict[str, Any]:
    """AICR's gpu-node-1 devices advertise 580.105.8/13.0.0; kOps' container observed 580.105.08/13.0."""
    s = next(s for s in aicr_slices() if s["driver"] == "gpu.nvidia.com" and s["node_name"] == "gpu-node-1")
    seen = kops_driver_check()
    return {"accelerator_type": "nvidia", "environment": {"mode": "dra", "node": "gpu-node-1", "error": ""},
            "platform": platform_info(_node("gpu-node-1"), s["devices"], "", "dra"),
            "probe": _probe(seen["driver"], seen["cuda"])}


@needs(AICR_SAA, KOPS_DRIVER)
def test_dra_advertised_and_observed_match() -> None:
    facts = aicr_kops_facts()
    assert facts["platform"]["mechanism"] == "dra"
    assert facts["platform"]["driver_version"] == "580.105.8" and facts["platform"]["runtime_version"] == "13.0.0"
    v = judge(facts)
    assert v.status is Status.IMPLEMENTED, v.reasons
    assert all(c.outcome is Outcome.PASS for c in v.checks)


def _gfd(f: dict[str, Any]) -> None:
    labels = {"nvidia.com/gpu.present": "true", "nvidia.com/cuda.driver-version.full": "580.105.08",
              "nvidia.com/cuda.runtime-version.full": "13.0"}
    f["platform"] = platform_info(_node("i-034383b8fabf72012", labels), [], "", "device-plugin")


CASES = [
    ("device plugin + GFD labels", _gfd, Status.IMPLEMENTED, "node-metadata"),
    ("observed driver differs (VKS slices vs kOps node)",
     lambda f: f.update(platform=platform_info(_node("n"), vks_slices()[0]["devices"], "", "dra")),
     Status.NOT_IMPLEMENTED, "advertises driver version '580.126.9'"),
    ("no nvidia-smi injected", lambda f: f.update(probe=_probe("", "", runtime_ok=False, functional=False)),
     Status.NOT_IMPLEMENTED, "failed to inject"),
    ("driver/library mismatch", lambda f: f.update(probe=_probe("", "13.0", functional=False)),
     Status.NOT_IMPLEMENTED, "failed to initialize"),
    ("container saw no device", lambda f: f.update(probe=_probe("580.105.08", "13.0", count=0)),
     Status.NOT_IMPLEMENTED, "saw 0 accelerator device(s)"),
    ("no container runtime reported",
     lambda f: f.update(platform=platform_info(_node("n", runtime=""), [], "", "device-plugin")),
     Status.NOT_IMPLEMENTED, "does not report a valid container runtime"),
    ("nothing advertised: warning only, as upstream",
     lambda f: f.update(platform=platform_info(_node("n"), [], "", "device-plugin")), Status.IMPLEMENTED,
     "WARNING: node n advertises no accelerator driver version"),
    ("probe timeout", lambda f: f.update(probe={"timeout": "timed out after 60s waiting for pod driver-runtime-probe-pod"}),
     Status.NOT_IMPLEMENTED, "timed out after 60s"),
    ("unknown accelerator", lambda f: f.update(unknown_accelerator=True, accelerator_type="intel"), Status.UNKNOWN,
     "RESULT: STATUS=UNKNOWN"),
]


@needs(AICR_SAA, KOPS_DRIVER, VKS_SLICES)
@pytest.mark.parametrize(("case", "mutate", "status", "reason"), CASES, ids=[c[0] for c in CASES])
def test_variants(case: str, mutate: Any, status: Status, reason: str) -> None:
    facts = copy.deepcopy(aicr_kops_facts())
    mutate(facts)
    v = judge(facts)
    assert v.status is status, v.reasons
    assert reason in " ".join(v.reasons)


@pytest.mark.parametrize(("a", "b", "ok"), [("580.65.06", "580.65.6", True), ("12.9", "12.9.0", True),
                                            ("580", "580.65.06", True), ("580.105.08", "580.126.9", False),
                                            ("", "", False), ("abc", "ABC", True)])
def test_versions_compatible_like_upstream(a: str, b: str, ok: bool) -> None:
    assert versions_compatible(a, b) is ok


def test_incomplete_log_is_not_complete() -> None:
    assert not parse("RESULT: ACCELERATOR_COUNT=1\nRESULT: RUNTIME_CONFIG_OK=true\n")["complete"]
