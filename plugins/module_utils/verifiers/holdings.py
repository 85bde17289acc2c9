"""What a probe holds on the cluster while it runs, which probes may run together, and whose pods got in the way.

Each verifier declares ``HOLDS`` in its ``__init__`` (missing = holds nothing): a mapping from a cluster
resource below to ``"exclusive"`` (the probe needs it to itself: it fills it, measures it idle, or counts on
every unit of it) or ``"shared"`` (its pods use some of it and tolerate others doing the same). Two probes
conflict when they hold a common resource and at least one of them holds it exclusively; the orchestrator
(verifiers/orchestrate.py) never runs conflicting probes at the same time and keeps the others concurrent.

Why: on a cluster with two GPUs, cluster_autoscaling's baseline pods hold both GPUs, so a concurrent
secure_accelerator_access times out; a GPU under pod_autoscaling's load is not accelerator_metrics' idle
baseline; other probes' pending pods make the autoscaler grow the pool, and their pods landing on the node it
added keep it from scaling down. None of that says anything about the platform.

When a probe still timed out while pods of aiconform itself (a leftover of an earlier run, a second run
against the same cluster, a probe whose cleanup failed) held a resource it conflicts with, its verdict is
``error`` naming those pods, never ``Not Implemented``: ``attribute`` below.
"""
from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable, Mapping
from typing import Any
from urllib.parse import quote

from ..kube import connect, get_json
from ..results import Status

ACCELERATORS = "accelerators"
NODE_CAPACITY = "node_capacity"
AUTOSCALER_POOL = "autoscaler_pool"
RESOURCES: dict[str, str] = {
    ACCELERATORS: "the accelerator devices (GPUs by device plugin or DRA claim)",
    NODE_CAPACITY: "schedulable node capacity (cpu, memory, pods) and the nodes pods land on",
    AUTOSCALER_POOL: "the autoscaled node pool: its size, and the unschedulable pods that make it grow",
}
EXCLUSIVE, SHARED = "exclusive", "shared"
MODES = (EXCLUSIVE, SHARED)

# Labels of probe namespaces (verifiers/runtime.py ProbeContext.probe_namespace); duplicated as plain strings so
# this module imports without the verifier machinery.
MANAGED_BY_SELECTOR = "app.kubernetes.io/managed-by=aiconform"
RUN_LABEL = "aiconform.io/run-id"
REQUIREMENT_LABEL = "aiconform.io/requirement"

# Extended resources that are accelerators: vendor domains and anything named like a GPU.
_ACCEL_RESOURCE = re.compile(r"^(nvidia\.com|amd\.com|gpu\.intel\.com|habana\.ai|google\.com/tpu|"
                             r"aws\.amazon\.com/neuron)|gpu", re.IGNORECASE)


def declared(verifier: Any) -> dict[str, str]:
    """A verifier module's HOLDS, checked (a wrong declaration is a bug, reported at once)."""
    holds = dict(getattr(verifier, "HOLDS", None) or {})
    for resource, mode in holds.items():
        if resource not in RESOURCES or mode not in MODES:
            raise ValueError(f"{getattr(verifier, 'REQUIREMENT', verifier)}: HOLDS {resource!r}: {mode!r}; "
                             f"resources: {', '.join(RESOURCES)}; modes: {', '.join(MODES)}")
    return holds


def conflicts(a: Mapping[str, str], b: Mapping[str, str]) -> list[str]:
    """Resources two holdings contend for (held by both, exclusively by at least one)."""
    return sorted(r for r in set(a) & set(b) if EXCLUSIVE in (a[r], b[r]))


class Scheduler:
    """Picks the next probes to start: never two whose holdings conflict, at most ``limit`` at once.

    Among the probes free to start, those that conflict with most others go first: they form the serial
    chain that bounds the wall time, while unrelated probes fill the remaining slots around them.
    """

    def __init__(self, holds: Mapping[str, Mapping[str, str]], limit: int) -> None:
        self.holds = {rid: dict(h) for rid, h in holds.items()}
        self.limit = max(1, int(limit))
        self.pending = list(holds)
        self.running: set[str] = set()
        weight = {rid: sum(1 for other in holds if other != rid and conflicts(h, holds[other]))
                  for rid, h in holds.items()}
        order = {rid: i for i, rid in enumerate(holds)}
        self.pending.sort(key=lambda rid: (-weight[rid], order[rid]))

    def ready(self) -> list[str]:
        """Probes to start now (marked running)."""
        started = []
        for rid in list(self.pending):
            if len(self.running) >= self.limit:
                break
            if any(conflicts(self.holds[rid], self.holds[other]) for other in self.running):
                continue
            self.pending.remove(rid)
            self.running.add(rid)
            started.append(rid)
        return started

    def done(self, rid: str) -> None:
        self.running.discard(rid)


# -- whose pods got in the way --------------------------------------------------------------------------------
def pod_holds(pod: Mapping[str, Any]) -> set[str]:
    """The resources a pod holds right now, from its spec and status."""
    spec, status = pod.get("spec") or {}, pod.get("status") or {}
    if status.get("phase") not in ("Pending", "Running", None):
        return set()
    held = {NODE_CAPACITY}
    names: set[str] = set()
    for c in [*(spec.get("containers") or []), *(spec.get("initContainers") or [])]:
        res = c.get("resources") or {}
        names |= set(res.get("requests") or {}) | set(res.get("limits") or {})
    if spec.get("resourceClaims") or any(_ACCEL_RESOURCE.search(n) for n in names if "/" in n):
        held.add(ACCELERATORS)
    if status.get("phase") == "Pending" and any(
            c.get("type") == "PodScheduled" and c.get("status") == "False" and c.get("reason") == "Unschedulable"
            for c in status.get("conditions") or []):
        held.add(AUTOSCALER_POOL)
    return held


def in_the_way(requirement: str, run_id: str, holds: Mapping[str, str], namespaces: Iterable[Mapping[str, Any]],
               pods_of: Callable[[str], list[dict[str, Any]]],
               holds_of: Callable[[str], Mapping[str, str]]) -> list[dict[str, Any]]:
    """aiconform's own pods, outside this probe, holding what ``holds`` conflicts with.

    ``namespaces``: aiconform's probe namespaces (labelled by base.ProbeContext.probe_namespace); the owner's
    declared holdings (``holds_of(requirement)``) decide the conflict, the pod's spec/status whether it really
    holds the resource. Pods of this very probe (same requirement and run) are not in the way.
    """
    found = []
    for ns in namespaces:
        meta = ns.get("metadata") or {}
        labels = meta.get("labels") or {}
        owner, owner_run = labels.get(REQUIREMENT_LABEL, ""), labels.get(RUN_LABEL, "")
        if owner.replace("-", "_") == requirement and owner_run == _label(run_id):
            continue
        try:
            theirs = holds_of(owner.replace("-", "_"))
        except (ImportError, ValueError):
            theirs = {r: EXCLUSIVE for r in RESOURCES}  # an unknown owner: assume it may hold anything
        contended = set(conflicts(holds, theirs))
        if not contended:
            continue
        for pod in pods_of(meta.get("name", "")):
            held = sorted(contended & pod_holds(pod))
            if held:
                pmeta = pod.get("metadata") or {}
                found.append({"pod": f"{pmeta.get('namespace') or meta.get('name')}/{pmeta.get('name')}",
                              "requirement": owner.replace("-", "_") or "?", "run_id": owner_run or "?",
                              "phase": (pod.get("status") or {}).get("phase") or "?", "holds": held})
    return found


def _label(run_id: str) -> str:
    return re.sub(r"[^a-z0-9-]+", "-", run_id.lower()).strip("-")[:63].strip("-")


def timed_out(result: Mapping[str, Any]) -> bool:
    """A wait of the probe ran out (wait_until's message, or a ``timeout`` fact)."""
    texts = [*(result.get("reasons") or []), *((c or {}).get("reason", "") for c in result.get("checks") or [])]
    return any("timed out" in str(t) for t in texts) or _has_timeout(result.get("facts"))


def _has_timeout(value: Any, depth: int = 0) -> bool:
    if depth > 8:
        return False
    if isinstance(value, Mapping):
        return any((k == "timeout" and isinstance(v, str) and v) or _has_timeout(v, depth + 1)
                   for k, v in value.items())
    if isinstance(value, list):
        return any(_has_timeout(v, depth + 1) for v in value[:200])
    return False


def attribute(result: dict[str, Any], pods: list[dict[str, Any]]) -> dict[str, Any]:
    """A timed-out verdict while aiconform's own pods held what the probe needed becomes ``error`` naming them.

    Only verdicts against the platform (Not Implemented, Partially Implemented) and errors are touched; an
    Implemented probe was not hindered, and Unknown/N/A already say aiconform could not tell.
    """
    if not pods or result.get("status") not in (Status.NOT_IMPLEMENTED, Status.PARTIAL, Status.ERROR):
        return result
    if not timed_out(result):
        return result
    seen: dict[str, dict[str, Any]] = {}
    for p in pods:
        seen.setdefault(p["pod"], p)
    listed = ", ".join(f"{p['pod']} ({p['requirement']} of run {p['run_id']}, {p['phase']}, holding "
                       f"{' and '.join(p['holds'])})" for p in list(seen.values())[:5])
    more = f" and {len(seen) - 5} more" if len(seen) > 5 else ""
    reason = (f"a wait timed out while aiconform's own pods held what this probe needs: {listed}{more}; that is "
              "aiconform interfering with itself, not the platform: delete those namespaces (label "
              f"{MANAGED_BY_SELECTOR}) or wait for the other run to finish, then verify again")
    was = result.get("status")
    out = dict(result)
    out["status"] = Status.ERROR.value
    out["reasons"] = [reason, *(f"(would have been {was}) {r}" if was != Status.ERROR else r
                                for r in result.get("reasons") or [])]
    out["facts"] = {**(result.get("facts") or {}), "aiconform_pods_in_the_way": list(seen.values())[:20]}
    return out


class ClusterHolders:
    """Reads aiconform's probe namespaces and their pods on the cluster (list namespaces, list pods in each).

    Shared by the probe threads, connected on first use. A failure to read (e.g. a role without these rules)
    means "nothing found": attribution only ever turns a verdict into ``error``, so missing it is safe.
    """

    def __init__(self, connection: Mapping[str, Any], run_id: str) -> None:
        self.connection, self.run_id = dict(connection), run_id
        self._api: Any = None
        self._timeout = 30
        self._lock = threading.Lock()

    def _get(self, path: str) -> Any:
        with self._lock:
            if self._api is None:
                conn = connect(self.connection, component="verify/orchestrate")
                self._api, self._timeout = conn.api, conn.request_timeout
        return get_json(self._api, path, self._timeout)

    def snapshot(self, requirement: str, holds: Mapping[str, str],
                 holds_of: Callable[[str], Mapping[str, str]]) -> list[dict[str, Any]]:
        if not holds:
            return []
        try:
            namespaces = self._get(f"/api/v1/namespaces?labelSelector={quote(MANAGED_BY_SELECTOR)}")
            return in_the_way(requirement, self.run_id, holds, (namespaces or {}).get("items") or [],
                              lambda ns: (self._get(f"/api/v1/namespaces/{quote(ns)}/pods") or {}).get("items") or [],
                              holds_of)
        except Exception:  # noqa: BLE001 - attribution is best effort: without it the verdict stays as judged
            return []

    def close(self) -> None:
        if self._api is not None:
            self._api.close()
            self._api = None
