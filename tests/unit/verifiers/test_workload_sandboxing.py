"""workload_sandboxing: detection (upstream discoverSandboxingSolution), probe parsing and the judge.

The control pod's kernel identity is that of a real kOps v1.35 GPU cluster node (the `kubectl get nodes -o wide`
table of its cluster-autoscaling transcript: Ubuntu 24.04.3, kernel 6.14.0-1018-aws); the sandboxed pod's is
what gVisor reports (4.4.0, its own boot id).
"""
from __future__ import annotations

import copy
import re
import subprocess
from typing import Any

import pytest
from _accel_fixtures import KOPS, needs
from aiconform.results import Outcome, Status
from aiconform.verifiers.workload_sandboxing import judge
from aiconform.verifiers.workload_sandboxing.fetch import discover
from aiconform.verifiers.workload_sandboxing.rules import SCRIPT, classify, kernel_differs, parse

KOPS_NODES = KOPS / "Test_SchedulingOrchestration_ClusterAutoscaling" / "output.md"


def kops_node() -> tuple[str, str]:
    """(name, kernel) of the first worker in kOps' `kubectl get nodes -o wide` table."""
    m = re.search(r"^(i-[0-9a-f]+)\s+Ready\s+node\s+.*?LTS\s+(\S+)\s+containerd://", KOPS_NODES.read_text(), re.M)
    assert m
    return m.group(1), m.group(2)


def _log(release: str, version: str, boot: str, *, pid: bool = True, kernel: bool = True, fs: bool = True,
         net: bool = True, ifaces: str = "lo eth0", done: bool = True) -> str:
    v = {True: "PASS", False: "FAIL"}
    lines = ["SANDBOX_PROBE: SCHEDULING=PASS", f"SANDBOX_INFO: KERNEL_RELEASE={release}",
             f"SANDBOX_INFO: KERNEL_VERSION={version}", f"SANDBOX_INFO: BOOT_ID={boot}", "SANDBOX_INFO: PID_COUNT=2",
             f"SANDBOX_PROBE: PID_ISOLATION={v[pid]}", f"SANDBOX_PROBE: KERNEL_ISOLATION={v[kernel]}",
             f"SANDBOX_PROBE: FS_ISOLATION={v[fs]}", f"SANDBOX_INFO: INTERFACES={ifaces}",
             f"SANDBOX_PROBE: NET_ISOLATION={v[net]}"] + (["SANDBOX_PROBE: COMPLETED"] if done else [])
    return "\n".join(lines) + "\n"


GVISOR = ("4.4.0", "Linux version 4.4.0 #1 SMP Sun Jan 10 15:06:54 PST 2016", "3f1c7a2e-5b8d-4e61-9a0c-2d7b8e4f6a11")


def facts(**sandboxed: Any) -> dict[str, Any]:
    node, kernel = kops_node()
    host = (kernel, f"Linux version {kernel} (buildd@ubuntu) #18~24.04.1-Ubuntu SMP", "b0a4e2d6-1c3f-4a5b-8d7e-9f0a1b2c3d4e")
    return {"runtime_classes": [{"name": "gvisor", "handler": "runsc", "kind": "sandbox"}], "agent_api": None,
            "solution": {"type": "runtimeclass", "runtime_class": "gvisor", "handler": "runsc"}, "error": "",
            "sandboxed": {"pod": "sandboxed-probe-pod", "node": node, "timeout": "", **parse(_log(*GVISOR, **sandboxed))},
            "control": {"pod": "unsandboxed-control-pod", "node": node, "timeout": "", **parse(_log(*host))}}


@needs(KOPS_NODES)
def test_gvisor_against_a_kops_node_is_implemented():
    v = judge(facts())
    assert v.status is Status.IMPLEMENTED, v.reasons
    assert [c.name for c in v.checks] == ["SchedulingAndExecution", "ProcessIsolation", "KernelAndMemoryIsolation",
                                          "FilesystemIsolation", "NetworkIsolation"]
    assert all(c.outcome is Outcome.PASS for c in v.checks)
    assert "release, version, boot_id" in v.checks[2].reason and "6.14.0-1018-aws" in v.checks[2].reason


def _same_kernel(f: dict[str, Any]) -> None:
    for k in ("release", "version", "boot_id"):
        f["sandboxed"][k] = f["control"][k]


CASES = [
    ("runc behind a sandbox name shares the host kernel", _same_kernel, Status.NOT_IMPLEMENTED,
     "KernelAndMemoryIsolation: the sandboxed workload observes the same kernel identity"),
    ("unreadable fields are not compared", lambda f: f["sandboxed"].update(release="", version="",
                                                                           boot_id=f["control"]["boot_id"]),
     Status.NOT_IMPLEMENTED, "same kernel identity"),
    ("/dev/mem readable", lambda f: f["sandboxed"].update(kernel=False), Status.NOT_IMPLEMENTED, "/dev/mem or /dev/kmem"),
    ("host processes visible", lambda f: f["sandboxed"].update(pid=False), Status.NOT_IMPLEMENTED, "PID namespace leaks"),
    ("host paths mounted", lambda f: f["sandboxed"].update(fs=False), Status.NOT_IMPLEMENTED, "node paths are mounted"),
    ("host bridge visible", lambda f: f["sandboxed"].update(net=False, interfaces="lo eth0 cni0"), Status.NOT_IMPLEMENTED,
     "interfaces: lo eth0 cni0"),
    ("sandboxed pod never runs", lambda f: f["sandboxed"].update(timeout="timed out after 180s waiting for pod "
                                                                         "sandboxed-probe-pod to be Running", completed=False),
     Status.NOT_IMPLEMENTED, "failed to run the probe: timed out after 180s"),
    ("control pod never runs", lambda f: f["control"].update(timeout="timed out after 180s waiting for pod "
                                                                     "unsandboxed-control-pod", completed=False),
     Status.NOT_IMPLEMENTED, "control pod gave no kernel identity"),
    ("nothing detected", lambda f: f.update(solution=None, runtime_classes=[{"name": "nvidia", "handler": "nvidia",
                                                                             "kind": "plain"}]),
     Status.NOT_IMPLEMENTED, "RuntimeClasses: nvidia (handler nvidia)"),
    ("unrecognised RuntimeClass", lambda f: f.update(solution=None, runtime_classes=[
        {"name": "secure", "handler": "firecracker", "kind": "unrecognised"}]), Status.UNKNOWN, "manual attestation"),
    ("requested class missing", lambda f: f.update(solution=None, error="specified RuntimeClass 'kata-qemu' not found"),
     Status.NOT_IMPLEMENTED, "'kata-qemu' not found"),
]


@needs(KOPS_NODES)
@pytest.mark.parametrize(("name", "mutate", "status", "reason"), CASES, ids=[c[0] for c in CASES])
def test_judge_table(name, mutate, status, reason):
    f = copy.deepcopy(facts())
    mutate(f)
    v = judge(f)
    assert v.status is status, v.reasons
    assert reason in " ".join(v.reasons)


@pytest.mark.parametrize(("name", "handler", "kind"), [
    ("gvisor", "runsc", "sandbox"), ("kata-qemu", "kata-qemu", "sandbox"), ("sandboxed", "containerd-shim", "sandbox"),
    ("krun", "krun", "sandbox"), ("nvidia", "nvidia", "plain"), ("runc", "runc", "plain"),
    ("secure", "firecracker", "unrecognised")])
def test_classify(name, handler, kind):
    assert classify({"name": name, "handler": handler}) == kind


def _rcs(*pairs: tuple[str, str]) -> list[dict[str, Any]]:
    return sorted(({"name": n, "handler": h, "kind": classify({"name": n, "handler": h})} for n, h in pairs),
                  key=lambda r: r["name"])


def test_discover_as_upstream():
    both = _rcs(("nvidia", "nvidia"), ("gvisor", "runsc"))
    assert discover("auto", "", both, None)["solution"]["runtime_class"] == "gvisor"
    assert discover("auto", "", _rcs(("nvidia", "nvidia")), "v1alpha1")["solution"]["type"] == "agent-sandbox"
    assert discover("auto", "", _rcs(("nvidia", "nvidia")), None) == {"solution": None, "error": ""}
    assert discover("auto", "nvidia", both, None)["solution"]["handler"] == "nvidia"  # named: probed, judged by probes
    assert "not found" in discover("runtimeclass", "kata", both, None)["error"]
    assert "agents.x-k8s.io not found" in discover("agent-sandbox", "", both, None)["error"]
    sol = discover("agent-sandbox", "gvisor", both, "v1alpha1")["solution"]
    assert (sol["version"], sol["runtime_class"]) == ("v1alpha1", "gvisor")


def test_probe_script_runs_in_a_plain_shell():
    """The script is valid sh and prints every line the parser needs (here on a plain host: no sandbox)."""
    out = subprocess.run(["/bin/sh", "-c", SCRIPT], capture_output=True, text=True, timeout=60).stdout
    p = parse(out)
    assert p["completed"] and p["scheduling"] and p["release"]
    assert kernel_differs(p, p) == []
