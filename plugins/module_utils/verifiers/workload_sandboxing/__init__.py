"""workload_sandboxing (KAR-0020, SHOULD in v1.37): upstream ``TestWorkloadSandboxing``.

Detection as upstream (``-sandbox-type`` auto|runtimeclass|agent-sandbox, ``-sandbox-runtime-class``): a
RuntimeClass whose name or handler contains gvisor, runsc, kata, sandboxed, quark or krun, else the
``agents.x-k8s.io`` API (a Sandbox CR). A sandboxed probe pod and an unsandboxed control pod on the same node
run the same isolation probe; ``SchedulingAndExecution``, ``ProcessIsolation``, ``KernelAndMemoryIsolation``
(no /dev/mem, /dev/kmem, and a kernel identity - release, /proc/version, boot id - that differs from the
control pod's), ``FilesystemIsolation`` and ``NetworkIsolation`` must pass. Upstream skips when nothing is
detected; aiconform reports Not Implemented with what it looked for, and ``unknown`` ("needs manual
attestation") when a RuntimeClass exists that it cannot classify.
"""
from __future__ import annotations

from typing import Any

from ...versions import probe_image
from .fetch import fetch
from .judge import judge

REQUIREMENT = "workload_sandboxing"
TEST_NAME = "TestWorkloadSandboxing"
# What the probe holds while it runs (verifiers/holdings.py): sandboxed and control pods.
HOLDS: dict[str, str] = {"node_capacity": "shared"}

# Upstream -sandbox-image is "busybox" (pinned in versions.yml verifier_probes).
PROBE_IMAGE = probe_image("busybox")

OPTIONS: dict[str, dict[str, Any]] = {
    "sandbox_type": {
        "type": "str", "default": "auto", "choices": ["auto", "runtimeclass", "agent-sandbox"],
        "description": ['Mechanism to test (upstream C(-sandbox-type)).'],
        "sample": 'auto | runtimeclass | agent-sandbox (upstream -sandbox-type)',
    },
    "runtime_class": {
        "type": "str", "default": "",
        "description": [('RuntimeClass of the sandbox (upstream C(-sandbox-runtime-class)); empty means '
                         'auto-detection.')],
        "sample": 'e.g. gvisor; "" = detect gvisor/runsc/kata/sandboxed/quark/krun',
    },  # upstream -sandbox-runtime-class
    "probe_image": {
        "type": "str", "default": PROBE_IMAGE,
        "description": ['Image of the isolation probe (upstream C(-sandbox-image) busybox); override for a mirror.'],
        "sample": 'upstream -sandbox-image busybox; mirror it here',
    },
    "timeout": {
        "type": "int", "default": 180,
        "description": ['Seconds for each step, a pod reaching Running and its probe completing (upstream 3m).'],
        "sample": 'seconds per step: pod Running, probe completed (upstream 3m)',
    },  # upstream -sandbox-timeout 3m, per step
}

__all__ = ["REQUIREMENT", "TEST_NAME", "HOLDS", "OPTIONS", "fetch", "judge"]
