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

from ..runtime import declared_options
from .fetch import fetch
from .judge import judge

REQUIREMENT = "workload_sandboxing"
TEST_NAME = "TestWorkloadSandboxing"
# What the probe holds while it runs (verifiers/holdings.py): sandboxed and control pods.
HOLDS: dict[str, str] = {"node_capacity": "shared"}

# Declared with its documentation in verifier.yml (python -m aiconform.collection options generates from it).
OPTIONS: dict[str, dict[str, Any]] = declared_options(__file__)

__all__ = ["REQUIREMENT", "TEST_NAME", "HOLDS", "OPTIONS", "fetch", "judge"]
