"""secure_accelerator_access judge, table-driven on facts from kOps' and AICR's real transcripts.

kOps (L4, one GPU per node, claim template "single-gpu"): the requested pod's `nvidia-smi -q -x`, the
not-requested pod's "command not found", and two isolation pods on different nodes with different
UUIDs. AICR (H100, DRA): the isolation-test container sees /dev/nvidia1 = gpu-1 of gpu-node-1.
"""
from __future__ import annotations

import copy
from typing import Any

import pytest
from _accel_fixtures import (
    AICR_SAA,
    KOPS_SAA,
    aicr_isolation_log,
    aicr_slices,
    kops_saa_blocks,
    needs,
    nvsmi_gpus,
    probe_log,
    ready_nodes,
)
from aiconform.results import Outcome, Status
from aiconform.verifiers import _accelerator as acc
from aiconform.verifiers.secure_accelerator_access import judge

NVIDIA = acc.ACCELERATORS["nvidia"]


def _res(log: str) -> dict[str, Any]:
    return {**acc.parse_probe_log(log), "log": log, "timeout": ""}


def _pod(containers: dict[str, tuple[int, str]], claims: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"expected": {c: exp for c, (exp, _) in containers.items()},
            "containers": {c: _res(log) for c, (_, log) in containers.items()}, "claims": claims or []}


def _subtest(pods: dict[str, dict[str, Any]], nodes: dict[str, str]) -> dict[str, Any]:
    return {"pods": pods, "nodes": nodes, "timeout": "", "cleanup": []}


def kops_facts() -> dict[str, Any]:
    """kOps v1.35: two g6.xlarge nodes with one L4 each."""
    blocks = kops_saa_blocks()
    requested = nvsmi_gpus(blocks["Checking that GPUs are available if requested"][0])
    iso_a, iso_b = (nvsmi_gpus(b) for b in blocks["Pods with GPU requests should be isolated from each other"])
    not_requested = blocks["Checking that GPUs are not available if not requested"][0]
    assert "nvidia-smi failed (as expected)" in not_requested
    none = probe_log([])  # nothing matched /dev/nvidia[0-9]* and nvidia-smi was not injected
    env = {"requested": "auto", "mode": "dra", "node": "i-030791dc5a37cd257", "error": "", "ambiguous": False,
           "dra": {"usable": True}, "device_plugin": {"usable": False}}
    return {
        "accelerator_type": "nvidia", "environment": env, "capacity": 2,
        "subtests": {
            "PositiveAccessTest": _subtest({"pos-pod": _pod({"prober": (1, probe_log(requested))})},
                                           {"pos-pod": env["node"]}),
            "NegativeIsolationTest": _subtest({"neg-pod": _pod({"prober": (0, none)})}, {"neg-pod": env["node"]}),
            "MultiContainerIsolationTest": _subtest(
                {"multi-container-pod": _pod({"authorized": (1, probe_log(requested)), "unauthorized": (0, none)})},
                {"multi-container-pod": env["node"]}),
            "CrossPodIsolationTest": _subtest(
                {"iso-pod-a": _pod({"prober": (1, probe_log(iso_a))}), "iso-pod-b": _pod({"prober": (1, probe_log(iso_b))})},
                {"iso-pod-a": "i-030791dc5a37cd257", "iso-pod-b": "i-034383b8fabf72012"}),
        },
    }


def aicr_facts() -> dict[str, Any]:
    """AICR: DRA on H100 nodes; the granted container sees gpu-1 of gpu-node-1 as /dev/nvidia1."""
    slices = aicr_slices()
    dev = acc.find_device(slices, "gpu.nvidia.com", "gpu-node-1", "gpu-1")
    assert dev is not None
    claim = {"name": "pos-pod-claim-x", "allocated": True, "reserved_for": [],
             "devices": [{"driver": "gpu.nvidia.com", "pool": "gpu-node-1", "device": "gpu-1",
                          "uuid": dev["attributes"]["uuid"], "in_resource_slice": True}]}
    env = acc.detect_allocation_mode("auto", NVIDIA, [{"name": "gpu.nvidia.com", "extended_resource_name": None}],
                                     slices, ready_nodes(["gpu-node-1", "gpu-node-2"]))
    facts = kops_facts()
    log = aicr_isolation_log()
    facts["environment"] = env
    facts["subtests"]["PositiveAccessTest"] = _subtest({"pos-pod": _pod({"prober": (1, log)}, [claim])},
                                                       {"pos-pod": "gpu-node-1"})
    return facts


def _mutate(base: Any, fn: Any) -> dict[str, Any]:
    facts = copy.deepcopy(base())
    fn(facts)
    return facts


def _set_log(facts: dict[str, Any], subtest: str, pod: str, container: str, log: str) -> None:
    facts["subtests"][subtest]["pods"][pod]["containers"][container] = _res(log)


@needs(KOPS_SAA)
def test_kops_transcript_is_implemented() -> None:
    v = judge(kops_facts())
    assert v.status is Status.IMPLEMENTED, v.reasons
    assert [c.name for c in v.checks] == ["PositiveAccessTest", "NegativeIsolationTest",
                                          "MultiContainerIsolationTest", "CrossPodIsolationTest"]
    assert all(c.outcome is Outcome.PASS for c in v.checks)
    cross = v.checks[3].reason
    assert "GPU-8a0cb40d-f2e8-2199-64b0-33126c728d06" in cross and "GPU-c2f76b33-7953-256e-8f33-1343419b1a1c" in cross


@needs(KOPS_SAA, AICR_SAA)
def test_aicr_dra_positive_matches_resource_slice() -> None:
    facts = aicr_facts()
    assert facts["environment"]["mode"] == "dra"
    assert facts["environment"]["node"] == "gpu-node-1"
    v = judge(facts)
    assert v.status is Status.IMPLEMENTED, v.reasons
    assert "DRA ResourceClaims" in v.reasons[0]


CASES = [
    ("negative pod sees a device", lambda f: _set_log(f, "NegativeIsolationTest", "neg-pod", "prober",
                                                      "DEVICE: /dev/nvidia0\nRESULT: ACCELERATOR_COUNT=1\n"),
     Status.NOT_IMPLEMENTED, "VIOLATION"),
    ("unauthorized container sees a device",
     lambda f: _set_log(f, "MultiContainerIsolationTest", "multi-container-pod", "unauthorized",
                        "RESULT: ACCELERATOR_COUNT=1\n"), Status.NOT_IMPLEMENTED, "unauthorized"),
    ("granted pod sees every GPU of the node (over-allocation is not a substring match)",
     lambda f: _set_log(f, "PositiveAccessTest", "pos-pod", "prober", "RESULT: ACCELERATOR_COUNT=10\n"),
     Status.NOT_IMPLEMENTED, "sees 10"),
    ("positive pod never Running",
     lambda f: f["subtests"]["PositiveAccessTest"].update(
         timeout="timed out after 60s waiting for pod pos-pod to be Running: phase=Pending, node=-"),
     Status.NOT_IMPLEMENTED, "timed out after 60s"),
    ("two pods see the same GPU",
     lambda f: f["subtests"]["CrossPodIsolationTest"]["pods"]["iso-pod-b"].update(
         f["subtests"]["CrossPodIsolationTest"]["pods"]["iso-pod-a"]),
     Status.NOT_IMPLEMENTED, "see the same device"),
    ("a single accelerator: cross-pod check skipped, not passed",
     lambda f: f["subtests"].update(CrossPodIsolationTest={"skipped": "the cluster offers 1 allocatable accelerator(s)"}),
     Status.IMPLEMENTED, "CrossPodIsolationTest skipped: the cluster offers 1"),
    ("no RESULT line in the log",
     lambda f: _set_log(f, "NegativeIsolationTest", "neg-pod", "prober", "bash: line 1: nvidia-smi: command not found\n"),
     Status.NOT_IMPLEMENTED, "no RESULT line"),
    ("older probe lines FOUND/MISSING are understood",
     lambda f: (_set_log(f, "NegativeIsolationTest", "neg-pod", "prober", "RESULT: ACCELERATOR_MISSING\n"),
                _set_log(f, "PositiveAccessTest", "pos-pod", "prober", "RESULT: ACCELERATOR_FOUND\n")),
     Status.IMPLEMENTED, ""),
    ("claim not allocated although the pod runs",
     lambda f: f["subtests"]["PositiveAccessTest"]["pods"]["pos-pod"].update(
         claims=[{"name": "c", "allocated": False, "devices": [], "reserved_for": []}]),
     Status.NOT_IMPLEMENTED, "not allocated"),
]


@needs(KOPS_SAA)
@pytest.mark.parametrize(("case", "mutate", "status", "reason"), CASES, ids=[c[0] for c in CASES])
def test_kops_variants(case: str, mutate: Any, status: Status, reason: str) -> None:
    v = judge(_mutate(kops_facts, mutate))
    assert v.status is status, v.reasons
    assert reason in " ".join(v.reasons)


ENV_CASES = [
    ({"requested": "auto", "error": "no usable accelerator allocation mechanism found", "ambiguous": False,
      "dra": {"usable": False}, "device_plugin": {"usable": False}}, Status.NOT_IMPLEMENTED),
    ({"requested": "dra", "error": "allocation mode 'dra' requested but DRA is not usable", "ambiguous": False,
      "dra": {"usable": False}, "device_plugin": {"usable": True}}, Status.UNKNOWN),
    ({"requested": "auto", "error": "device-plugin fallback would not be deterministic", "ambiguous": True,
      "dra": {"usable": False}, "device_plugin": {"usable": True}}, Status.UNKNOWN),
]


@pytest.mark.parametrize(("env", "status"), ENV_CASES, ids=["no-mechanism", "strict-dra-on-device-plugin", "ambiguous"])
def test_environment_errors(env: dict[str, Any], status: Status) -> None:
    v = judge({"accelerator_type": "nvidia", "environment": env})
    assert v.status is status
    assert v.reasons[0].startswith("ENVIRONMENT ERROR")


def test_unknown_accelerator_is_unknown() -> None:
    v = judge({"accelerator_type": "amd", "unknown_accelerator": True})
    assert v.status is Status.UNKNOWN and "certify manually" in v.reasons[0]


# ---- the pure detection helpers, on upstream's own table cases (allocation_mode_test.go) --------------
def _slice(name: str, node: str, n: int, *, driver: str = "gpu.nvidia.com", pool: str | None = None, gen: int = 1,
           count: int = 1, taint: bool = False) -> dict[str, Any]:
    devices = [{"name": f"{name}-gpu-{i}", "attributes": {}, "capacity": {},
                "taints": [{"key": "example.com/unhealthy", "effect": "NoSchedule"}] if taint else []}
               for i in range(n)]
    return {"name": name, "driver": driver, "node_name": node, "node_selector": None, "all_nodes": False,
            "per_device_node_selection": False,
            "pool": {"name": pool or name, "generation": gen, "resource_slice_count": count}, "devices": devices}


GPU_CLASS = [{"name": "gpu.nvidia.com", "extended_resource_name": None}]
DETECT = [
    ("auto prefers DRA", "auto", GPU_CLASS, [_slice("node1-gpu", "node1", 8)], ready_nodes(["node1"], 8), "dra", ""),
    ("stale DeviceClass falls back", "auto", GPU_CLASS, [], ready_nodes(["node1"], 8), "device-plugin", ""),
    ("unrelated driver falls back", "auto", GPU_CLASS, [_slice("cd", "node1", 2, driver="compute-domain.nvidia.com")],
     ready_nodes(["node1"], 8), "device-plugin", ""),
    ("neither", "auto", [], [], ready_nodes(["cpu"]), None, "no usable accelerator allocation mechanism"),
    ("dra without class", "dra", [], [], ready_nodes(["node1"], 8), None, "DRA is not usable"),
    ("slice node missing", "dra", GPU_CLASS, [_slice("ghost", "ghost-node", 8)], [], None,
     "none is reachable from a Ready, schedulable node"),
    ("obsolete generation only", "dra", GPU_CLASS,
     [_slice("gen1", "node1", 8, pool="a", gen=1), _slice("gen2", "node1", 0, pool="a", gen=2)],
     ready_nodes(["node1"]), None, "current-generation ResourceSlice with allocatable devices"),
    ("incomplete pool", "dra", GPU_CLASS, [_slice("part1", "node1", 8, pool="a", count=2)], ready_nodes(["node1"]),
     None, "current-generation"),
    ("complete multi-slice pool", "dra", GPU_CLASS,
     [_slice("p1", "node1", 8, pool="a", count=2), _slice("p2", "node1", 8, pool="a", count=2)],
     ready_nodes(["node1"]), "dra", ""),
    ("taint-blocked devices", "dra", GPU_CLASS, [_slice("t", "node1", 1, taint=True)], ready_nodes(["node1"]), None,
     "current-generation"),
    ("device-plugin rejects DRA-backed extended resource", "device-plugin",
     [{"name": "gpu.nvidia.com", "extended_resource_name": "nvidia.com/gpu"}], [], ready_nodes(["node1"], 8), None,
     "may be satisfied by DRA"),
    ("invalid mode", "magic", [], [], [], None, "invalid allocation_mode"),
]


@pytest.mark.parametrize(("case", "mode", "classes", "slices", "nodes", "want", "err"), DETECT, ids=[d[0] for d in DETECT])
def test_detect_allocation_mode(case: str, mode: str, classes: list[Any], slices: list[Any], nodes: list[Any],
                                want: str | None, err: str) -> None:
    got = acc.detect_allocation_mode(mode, NVIDIA, classes, slices, nodes)
    assert got["mode"] == want
    assert err in got["error"]


def test_probe_log_exact_line_rule() -> None:
    assert acc.parse_probe_log("  RESULT: ACCELERATOR_COUNT=1  \n")["count"] == 1
    assert acc.parse_probe_log("RESULT: ACCELERATOR_COUNT=10\n")["count"] == 10
    assert acc.parse_probe_log("setup complete\n")["count"] is None


def test_probe_pod_grants_only_the_first_container() -> None:
    cs = [acc.probe_container("authorized", "img", NVIDIA), acc.probe_container("unauthorized", "img", NVIDIA)]
    pod = acc.probe_pod("ns", "p", cs, NVIDIA, grant="dra", claim_template="tpl")
    assert pod["spec"]["resourceClaims"] == [{"name": "claim", "resourceClaimTemplateName": "tpl"}]
    assert pod["spec"]["containers"][0]["resources"]["claims"] == [{"name": "claim"}]
    assert "claims" not in pod["spec"]["containers"][1]["resources"]
    assert pod["spec"]["tolerations"][0]["key"] == "nvidia.com/gpu"
    dp = acc.probe_pod("ns", "p", [acc.probe_container("prober", "img", NVIDIA)], NVIDIA, grant="device-plugin")
    assert dp["spec"]["containers"][0]["resources"]["limits"] == {"nvidia.com/gpu": "1"}



# -- the env-var bypass (NVIDIA): no request, NVIDIA_VISIBLE_DEVICES=all -----------------------------------
def _bypass(log: str) -> dict[str, Any]:
    pods = {}
    for name, image in (("envvar-plain", "docker.io/library/ubuntu:22.04"),
                        ("envvar-cuda", "nvcr.io/nvidia/cuda:12.9.0-base-ubuntu24.04")):
        pods[name] = {**_pod({"prober": (0, log)}), "image": image, "env": ["NVIDIA_VISIBLE_DEVICES=all",
                                                                             "NVIDIA_DRIVER_CAPABILITIES=all"]}
    return _subtest(pods, {"envvar-plain": "i-030791dc5a37cd257", "envvar-cuda": "i-030791dc5a37cd257"})


@needs(KOPS_SAA)
def test_envvar_bypass_refused_is_implemented() -> None:
    facts = kops_facts()
    facts["subtests"]["EnvVarBypassTest"] = _bypass(probe_log([]))
    v = judge(facts)
    assert v.status is Status.IMPLEMENTED, v.reasons
    check = {c.name: c for c in v.checks}["EnvVarBypassTest"]
    assert check.outcome is Outcome.PASS
    assert "NVIDIA_VISIBLE_DEVICES=all, image nvcr.io/nvidia/cuda:12.9.0-base-ubuntu24.04) sees 0" in check.reason


@needs(KOPS_SAA)
def test_envvar_bypass_honoured_is_a_violation() -> None:
    """The toolkit honoured the variable: the pod that asked for nothing sees the node's L4 (kOps nvidia-smi)."""
    blocks = kops_saa_blocks()
    gpu = nvsmi_gpus(blocks["Checking that GPUs are available if requested"][0])
    facts = kops_facts()
    facts["subtests"]["EnvVarBypassTest"] = _bypass(probe_log(gpu))
    v = judge(facts)
    assert v.status is Status.NOT_IMPLEMENTED
    assert any(r.startswith("EnvVarBypassTest: VIOLATION: envvar-plain/prober (no accelerator requested, "
                            "NVIDIA_VISIBLE_DEVICES=all") for r in v.reasons), v.reasons


@needs(KOPS_SAA)
def test_single_accelerator_passes_upstream_subtests_with_the_skip_stated() -> None:
    facts = kops_facts()
    facts["capacity"] = 1
    facts["subtests"]["CrossPodIsolationTest"] = {"skipped": "the cluster offers 1 allocatable accelerator(s); two "
                                                             "pods holding one each cannot run"}
    v = judge(facts)
    assert v.status is Status.IMPLEMENTED, v.reasons
    checks = {c.name: c.outcome for c in v.checks}
    assert checks["CrossPodIsolationTest"] is Outcome.SKIP
    assert [c for c, o in checks.items() if o is Outcome.PASS] == ["PositiveAccessTest", "NegativeIsolationTest",
                                                                   "MultiContainerIsolationTest"]
    assert "CrossPodIsolationTest skipped: the cluster offers 1" in v.reasons[-1]
    # ... but never when one of them failed
    facts["subtests"]["NegativeIsolationTest"]["pods"]["neg-pod"]["containers"]["prober"] = _res(
        "RESULT: ACCELERATOR_COUNT=1\n")
    assert judge(facts).status is Status.NOT_IMPLEMENTED


def test_several_vendors_are_unknown_until_the_inventory_chooses() -> None:
    nodes = [{"name": "n1", "allocatable": {"nvidia.com/gpu": "1"}}, {"name": "n2", "allocatable": {"amd.com/gpu": "8"}}]
    det = acc.detect_vendor("auto", [], nodes)
    v = judge({"accelerator_type": "auto", "accelerator_detection": det})
    assert v.status is Status.UNKNOWN
    assert v.reasons[0] == ("accelerators of several vendors are present (nvidia, amd): set "
                            "aiconform_secure_accelerator_access_accelerator_type (or aiconform_accelerator_type) to "
                            "the one to test")
    assert acc.detect_vendor("auto", [], nodes[1:])["type"] == "amd"


def _hp_pod(ns: str, name: str, paths: list[str], privileged: bool = False) -> dict[str, Any]:
    return {"metadata": {"namespace": ns, "name": name},
            "spec": {"volumes": [{"name": f"v{i}", "hostPath": {"path": p}} for i, p in enumerate(paths)]
                     + [{"name": "cfg", "configMap": {"name": "x"}}],
                     "containers": [{"name": "c", "securityContext": {"privileged": privileged}}]}}


@pytest.mark.parametrize(("vendor", "path", "flagged"), [
    ("nvidia", "/dev/nvidia0", True), ("nvidia", "/dev/nvidiactl", True), ("nvidia", "/dev/nvidia-uvm", True),
    ("nvidia", "/dev", True), ("nvidia", "/dev/", True), ("nvidia", "/dev/log", False),
    ("nvidia", "/var/lib/kubelet/device-plugins", False), ("nvidia", "/run/nvidia", False),
    ("amd", "/dev/dri", True), ("amd", "/dev/dri/renderD128", True), ("amd", "/dev/dri/../nvidia0", False),
    ("amd", "/dev/nvidia0", False), ("intel", "/dev/dri/card0", False), ("intel", "/dev", True),
])
def test_device_hostpath_matcher(vendor: str, path: str, flagged: bool) -> None:
    assert acc.device_path_matcher(acc.GPU_VENDORS[vendor])(path) is flagged


@needs(KOPS_SAA)
def test_hostpath_audit_warns_on_unprivileged_workloads_and_never_decides_the_verdict() -> None:
    pods = [_hp_pod("gpu-operator", "nvidia-driver-daemonset-x", ["/dev", "/run/nvidia"], privileged=True),
            _hp_pod("team-a", "trainer", ["/dev/nvidia0", "/dev/nvidiactl"]),
            _hp_pod("team-b", "logger", ["/dev/log"])]
    found = acc.hostpath_device_mounts(pods, NVIDIA)
    assert [(p["namespace"], p["pod"], p["privileged"]) for p in found] == [
        ("gpu-operator", "nvidia-driver-daemonset-x", True), ("team-a", "trainer", False)]
    assert found[1]["paths"] == ["/dev/nvidia0", "/dev/nvidiactl"]
    facts = kops_facts()
    base = judge(copy.deepcopy(facts))
    facts["hostpath_audit"] = {"pods": found}
    got = judge(facts)
    assert got.status is base.status is Status.IMPLEMENTED
    warn = [r for r in got.reasons if r.startswith("WARNING hostPath audit")]
    assert len(warn) == 1 and "team-a/trainer (/dev/nvidia0, /dev/nvidiactl)" in warn[0]
    assert "gpu-operator/nvidia-driver-daemonset-x" not in warn[0]
    assert any("1 privileged pod(s)" in r for r in got.reasons)
    facts["hostpath_audit"] = {"pods": []}
    assert "no pod mounts accelerator device nodes" in judge(facts).reasons[-1]
    facts["hostpath_audit"] = {"error": "forbidden: list pods"}
    assert judge(facts).reasons[-1] == "hostPath audit not done: forbidden: list pods"
