"""Judge for workload_sandboxing: upstream TestWorkloadSandboxing's subtests as a pure function of the facts."""
from __future__ import annotations

from typing import Any

from ...results import Check, Outcome, Status, Verdict
from .rules import AGENT_GROUP, SANDBOX_KEYWORDS, kernel_differs

SUBTESTS = ("SchedulingAndExecution", "ProcessIsolation", "KernelAndMemoryIsolation", "FilesystemIsolation",
            "NetworkIsolation")


def _mechanism(sol: dict[str, Any]) -> str:
    if sol["type"] == "agent-sandbox":
        rc = f" with RuntimeClass {sol['runtime_class']} (handler {sol['handler']})" if sol.get("runtime_class") else ""
        return f"agent-sandbox ({AGENT_GROUP}/{sol['version']} Sandbox){rc}"
    return f"RuntimeClass {sol['runtime_class']} (handler {sol['handler']})"


def judge(facts: dict[str, Any]) -> Verdict:
    sol = facts.get("solution")
    classes = facts.get("runtime_classes") or []
    if not sol:
        if facts.get("error"):
            return Verdict(Status.NOT_IMPLEMENTED, [f"no sandboxing solution to test: {facts['error']}"])
        odd = [rc for rc in classes if rc.get("kind") == "unrecognised"]
        if odd:
            names = ", ".join(f"{rc['name']} (handler {rc['handler']})" for rc in odd)
            return Verdict(Status.UNKNOWN, [
                f"RuntimeClass {names} is not a sandbox aiconform recognises (keywords {', '.join(SANDBOX_KEYWORDS)}); "
                "it needs manual attestation, or name it in aiconform_workload_sandboxing_runtime_class to probe it"])
        have = ", ".join(f"{rc['name']} (handler {rc['handler']})" for rc in classes) or "none"
        return Verdict(Status.NOT_IMPLEMENTED, [
            f"no sandboxing solution detected: no RuntimeClass whose name or handler contains "
            f"{', '.join(SANDBOX_KEYWORDS)} (RuntimeClasses: {have}) and no {AGENT_GROUP} API"])
    s, c = facts.get("sandboxed") or {}, facts.get("control") or {}
    mech = _mechanism(sol)
    if s.get("timeout") or not s.get("completed"):
        why = s.get("timeout") or "the sandboxed probe did not run"
        checks = [Check(SUBTESTS[0], Outcome.FAIL, f"sandboxed workload ({mech}) failed to run the probe: {why}")]
        checks += [Check(n, Outcome.SKIP, "the sandboxed probe did not complete") for n in SUBTESTS[1:]]
        return Verdict(Status.NOT_IMPLEMENTED, [checks[0].reason], checks)
    checks = [Check(SUBTESTS[0], Outcome.PASS if s.get("scheduling") else Outcome.FAIL,
                    f"sandboxed pod {s.get('pod')} ({mech}) ran the probe on node {s.get('node')} "
                    f"(kernel release {s.get('release') or 'unreadable'})")]
    checks.append(Check("ProcessIsolation", Outcome.PASS if s.get("pid") else Outcome.FAIL,
                        f"visible PIDs: {s.get('pid_count')}" if s.get("pid") else
                        "host processes (kubelet, containerd, ...) are visible: the PID namespace leaks"))
    if not s.get("kernel"):
        checks.append(Check("KernelAndMemoryIsolation", Outcome.FAIL, "/dev/mem or /dev/kmem is readable in the sandbox"))
    elif c.get("timeout") or not c.get("completed"):
        checks.append(Check("KernelAndMemoryIsolation", Outcome.FAIL,
                            f"the unsandboxed control pod gave no kernel identity to compare: "
                            f"{c.get('timeout') or 'its probe did not complete'}"))
    else:
        differ = kernel_differs(s, c)
        if differ:
            checks.append(Check("KernelAndMemoryIsolation", Outcome.PASS,
                                f"no /dev/mem or /dev/kmem; kernel identity differs from an unsandboxed pod on node "
                                f"{c.get('node')} in: {', '.join(differ)} (sandbox {s.get('release')!r}, host "
                                f"{c.get('release')!r})"))
        else:
            checks.append(Check("KernelAndMemoryIsolation", Outcome.FAIL,
                                f"the sandboxed workload observes the same kernel identity as an unsandboxed pod on node "
                                f"{c.get('node')} (release {s.get('release')!r}, boot id {s.get('boot_id') or '-'}): "
                                f"handler {sol.get('handler') or '(default)'} provides no kernel boundary"))
    checks.append(Check("FilesystemIsolation", Outcome.PASS if s.get("fs") else Outcome.FAIL,
                        "no node paths (/etc/kubernetes, /var/lib/kubelet, /var/log/pods) are visible" if s.get("fs")
                        else "node paths are mounted into the sandbox"))
    checks.append(Check("NetworkIsolation", Outcome.PASS if s.get("net") else Outcome.FAIL,
                        f"interfaces: {s.get('interfaces') or '-'}" if s.get("net") else
                        f"node bridges are visible in the sandbox (interfaces: {s.get('interfaces')})"))
    failed = [ch for ch in checks if ch.outcome is Outcome.FAIL]
    if failed:
        return Verdict(Status.NOT_IMPLEMENTED, [f"{ch.name}: {ch.reason}" for ch in failed], checks)
    return Verdict(Status.IMPLEMENTED, [f"workloads run sandboxed with {mech}: process, kernel/memory, filesystem and "
                                        f"network isolation verified against an unsandboxed pod on node {s.get('node')}"],
                   checks)
