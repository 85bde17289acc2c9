"""Reading a probe's output: a log nobody can read is aiconform's blind spot (error), not the platform's failure."""
from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from aiconform.kube import ClusterError
from aiconform.verifiers import _accelerator as acc
from kubernetes.client import ApiException


class FakeCtx:
    """ProbeContext.call's translation, over a scripted read_namespaced_pod_log."""

    def __init__(self, answers: list[Any]) -> None:
        self.answers = answers
        self.reads = 0
        self.core = SimpleNamespace(read_namespaced_pod_log=self._read)

    def _read(self, name: str, namespace: str, container: str) -> str:
        self.reads += 1
        answer = self.answers[min(self.reads, len(self.answers)) - 1]
        if isinstance(answer, Exception):
            raise answer
        return answer

    def call(self, what: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except ApiException as exc:
            raise ClusterError(f"{what}: {exc.status} {exc.reason}", status=exc.status) from exc


def refused(reason: str) -> ApiException:
    return ApiException(status=400, reason=reason)


def test_a_log_never_readable_is_an_error_naming_the_refusal() -> None:
    ctx = FakeCtx([refused('no logs found for container "prober" in pod "ns/p"')])
    with pytest.raises(ClusterError, match="could not read the output of probe ns/p/prober .*no logs found"):
        acc.poll_probe_log(ctx, "ns", "p", "prober", timeout=0.2, interval=0.05)  # type: ignore[arg-type]
    assert ctx.reads >= 2


def test_a_container_still_starting_then_printing_is_read() -> None:
    ctx = FakeCtx([refused("container prober is waiting to start: ContainerCreating"), "RESULT: ACCELERATOR_COUNT=1\n"])
    out = acc.poll_probe_log(ctx, "ns", "p", "prober", timeout=5, interval=0.01)  # type: ignore[arg-type]
    assert out["timeout"] == "" and out["count"] == 1


def test_a_readable_log_without_result_is_a_timeout_finding() -> None:
    ctx = FakeCtx(["starting\n"])
    out = acc.poll_probe_log(ctx, "ns", "p", "prober", timeout=0.1, interval=0.02)  # type: ignore[arg-type]
    assert out["timeout"].startswith("timed out after") and out["count"] is None


def test_a_container_never_started_stays_a_timeout_finding() -> None:
    ctx = FakeCtx([refused("container prober is waiting to start: ContainerCreating")])
    out = acc.poll_probe_log(ctx, "ns", "p", "prober", timeout=0.1, interval=0.02)  # type: ignore[arg-type]
    assert out["timeout"].startswith("timed out after")
