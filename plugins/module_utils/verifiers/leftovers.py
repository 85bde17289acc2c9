"""Probe objects left by an earlier run that died (kill -9 of the controller, a lost host), found and removed.

Every probe object is labelled ``app.kubernetes.io/managed-by=aiconform`` and ``aiconform.io/run-id=<run>``:
the probe namespaces (with everything in them) and gang_scheduling's cluster-scoped Kueue ClusterQueue and
ResourceFlavor. A run that ends, even by SIGTERM, removes its own; one killed with SIGKILL cannot.

Telling a dead run from one still running on the same cluster (a second controller, a fleet inventory naming a
cluster twice): while the ``verify`` job runs it holds a ``coordination.k8s.io`` Lease ``aiconform-run`` in the
namespace ``aiconform-run-<run>`` (labelled like the probes) and renews it every ``RENEW_SECONDS``, as client-go's
leader election does. ``sweep`` treats a run as alive when its Lease's ``renewTime`` changes within the lease's
duration (observed on this host's clock, so clock skew between hosts does not matter), and as dead when the Lease
is not renewed in that time or there is none. Only dead runs' objects are deleted: namespaces first (their
LocalQueues go with them), then ClusterQueues, then ResourceFlavors.
"""
from __future__ import annotations

import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

try:
    from kubernetes import client
    from kubernetes.client.exceptions import ApiException
except ImportError:  # the module reports the missing library (deps.py)
    client = ApiException = None

from ..kube import Connection, connect, describe_error, get_json
from .runtime import MANAGED_BY, RUN_LABEL, dns_label

LEASE_NAME = "aiconform-run"
LEASE_SECONDS = 30
RENEW_SECONDS = 10
KUEUE = "kueue.x-k8s.io"
KUEUE_CLUSTER_SCOPED = ("clusterqueues", "resourceflavors")  # deletion order: a ClusterQueue names its flavors
SELECTOR = f"app.kubernetes.io/managed-by={MANAGED_BY['app.kubernetes.io/managed-by']},{RUN_LABEL}"


def anchor_namespace(run_id: str) -> str:
    return dns_label(f"aiconform-run-{run_id}")


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class RunLease:
    """This run's Lease, renewed by a daemon thread until ``stop()`` (which deletes its namespace)."""

    def __init__(self, params: dict[str, Any], run_id: str, *, renew_seconds: float = RENEW_SECONDS,
                 lease_seconds: int = LEASE_SECONDS) -> None:
        self.params, self.run_id = params, run_id
        self.namespace = anchor_namespace(run_id)
        self.renew_seconds, self.lease_seconds = renew_seconds, lease_seconds
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.conn: Connection | None = None
        self.error = ""

    def start(self) -> RunLease:
        """Create the namespace and the Lease; a failure is kept in ``error`` (the probes still run)."""
        try:
            self.conn = connect(self.params, component="verify/lease")
            core = client.CoreV1Api(self.conn.api)
            labels = {**MANAGED_BY, RUN_LABEL: dns_label(self.run_id)}
            try:
                core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(
                    name=self.namespace, labels=labels)), _request_timeout=self.conn.request_timeout)
            except ApiException as exc:
                if exc.status != 409:
                    raise
            body = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                    "metadata": {"name": LEASE_NAME, "labels": labels},
                    "spec": {"holderIdentity": self.run_id, "leaseDurationSeconds": self.lease_seconds,
                             "acquireTime": _now(), "renewTime": _now()}}
            leases = client.CoordinationV1Api(self.conn.api)
            try:
                leases.create_namespaced_lease(self.namespace, body, _request_timeout=self.conn.request_timeout)
            except ApiException as exc:  # the same run id again (a re-run of the verify task): take it over
                if exc.status != 409:
                    raise
                current = leases.read_namespaced_lease(LEASE_NAME, self.namespace,
                                                       _request_timeout=self.conn.request_timeout)
                body["metadata"]["resourceVersion"] = current.metadata.resource_version
                leases.replace_namespaced_lease(LEASE_NAME, self.namespace, body,
                                                _request_timeout=self.conn.request_timeout)
        except Exception as exc:  # noqa: BLE001 - a missing lease only makes a later sweep less careful
            self.error = str(describe_error(exc, f"create Lease {self.namespace}/{LEASE_NAME}"))
            return self
        self._thread = threading.Thread(target=self._renew, name="aiconform-lease", daemon=True)
        self._thread.start()
        return self

    def _renew(self) -> None:
        if self.conn is None:
            raise AssertionError('self.conn is not None')
        api = client.CoordinationV1Api(self.conn.api)
        while not self._stop.wait(self.renew_seconds):
            # As client-go's leader election: read the Lease, then update it (a conflict means someone else wrote
            # it meanwhile; the next renewal reads it again).
            try:
                lease = api.read_namespaced_lease(LEASE_NAME, self.namespace,
                                                  _request_timeout=self.conn.request_timeout)
                lease.spec.renew_time = datetime.now(timezone.utc)
                api.replace_namespaced_lease(LEASE_NAME, self.namespace, lease,
                                             _request_timeout=self.conn.request_timeout)
            except Exception:  # noqa: BLE001, S112 - the next renewal tries again; the lease outlives a miss
                continue

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.renew_seconds + 5)
        if self.conn is not None:
            try:
                client.CoreV1Api(self.conn.api).delete_namespace(
                    self.namespace, _request_timeout=self.conn.request_timeout)
            except Exception:  # noqa: BLE001, S110 - the playbook's always-section removes it by label
                pass
            self.conn.close()


@dataclass
class Leftovers:
    runs: dict[str, list[tuple[str, str]]] = field(default_factory=lambda: defaultdict(list))  # run -> (kind, name)
    kueue_version: str | None = None


def find(conn: Connection, current_run: str) -> Leftovers:
    """Every labelled probe object of another run than ``current_run``."""
    found = Leftovers()
    me = dns_label(current_run)
    core = client.CoreV1Api(conn.api)
    for ns in core.list_namespace(label_selector=SELECTOR, _request_timeout=conn.request_timeout).items:
        run = (ns.metadata.labels or {}).get(RUN_LABEL, "")
        if run and run != me:
            found.runs[run].append(("Namespace", ns.metadata.name))
    try:
        group = get_json(conn.api, f"/apis/{KUEUE}", conn.request_timeout)
    except ApiException as exc:
        if exc.status != 404:
            raise
        group = None
    if isinstance(group, dict) and group.get("preferredVersion"):
        found.kueue_version = group["preferredVersion"].get("version")
        custom = client.CustomObjectsApi(conn.api)
        for plural in KUEUE_CLUSTER_SCOPED:
            data = custom.list_cluster_custom_object(KUEUE, found.kueue_version, plural, label_selector=SELECTOR,
                                                     _request_timeout=conn.request_timeout)
            for obj in data.get("items") or []:
                run = ((obj.get("metadata") or {}).get("labels") or {}).get(RUN_LABEL, "")
                if run and run != me:
                    found.runs[run].append((plural, obj["metadata"]["name"]))
    return found


def _renew_time(conn: Connection, run: str) -> tuple[bool, str, int]:
    """(lease exists, its renewTime, its duration)."""
    try:
        lease = get_json(conn.api, f"/apis/coordination.k8s.io/v1/namespaces/{anchor_namespace(run)}/leases/"
                                   f"{LEASE_NAME}", conn.request_timeout)
    except ApiException as exc:
        if exc.status == 404:
            return False, "", 0
        raise
    spec = (lease or {}).get("spec") or {}
    return True, str(spec.get("renewTime") or ""), int(spec.get("leaseDurationSeconds") or LEASE_SECONDS)


def alive_runs(conn: Connection, runs: list[str], *, max_wait: float | None = None, poll: float = 2.0) -> set[str]:
    """The runs whose Lease is renewed while we watch it (at most its duration + a poll, or ``max_wait``)."""
    first: dict[str, str] = {}
    durations: list[int] = []
    for run in runs:
        exists, renew, duration = _renew_time(conn, run)
        if exists:
            first[run] = renew
            durations.append(duration)
    alive: set[str] = set()
    if not first:
        return alive
    wait = max(durations) + poll if max_wait is None else max_wait
    deadline = time.monotonic() + wait
    while first.keys() - alive and time.monotonic() < deadline:
        time.sleep(min(poll, max(0.0, deadline - time.monotonic())))
        for run in first.keys() - alive:
            exists, renew, _rest = _renew_time(conn, run)
            if exists and renew != first[run]:
                alive.add(run)
    return alive


def dead_runs_objects(params: dict[str, Any], current_run: str, *, lease_wait: float | None = None) -> dict[str, Any]:
    """What ``sweep`` would remove (check mode), in the same shape."""
    out: dict[str, Any] = {"removed": [], "kept": [], "errors": []}
    conn = connect(params, component="verify/leftovers")
    try:
        found = find(conn, current_run)
        alive = alive_runs(conn, sorted(found.runs), max_wait=lease_wait) if found.runs else set()
        for run, objs in sorted(found.runs.items()):
            out["kept" if run in alive else "removed"] += [f"{kind} {name} (run {run})" for kind, name in objs]
    except Exception as exc:  # noqa: BLE001 - any failure is reported, the verify phase still runs
        out["errors"].append(str(describe_error(exc, "find the probe objects of earlier runs")))
    finally:
        conn.close()
    return out


def sweep(params: dict[str, Any], current_run: str, *, cleanup_timeout: float = 120.0,
          lease_wait: float | None = None) -> dict[str, Any]:
    """Remove every probe object of dead earlier runs; returns what was removed, kept and what failed."""
    out: dict[str, Any] = {"removed": [], "kept": [], "errors": []}
    conn = connect(params, component="verify/leftovers")
    try:
        found = find(conn, current_run)
        if not found.runs:
            return out
        alive = alive_runs(conn, sorted(found.runs), max_wait=lease_wait)
        for run in sorted(alive):
            out["kept"] += [f"{kind} {name} (run {run}: still running, its lease is renewed)"
                            for kind, name in found.runs[run]]
        dead = {run: objs for run, objs in found.runs.items() if run not in alive}
        core = client.CoreV1Api(conn.api)
        custom = client.CustomObjectsApi(conn.api)
        pending: list[tuple[str, str, str]] = []
        for kind in ("Namespace", *KUEUE_CLUSTER_SCOPED):
            for run, objs in sorted(dead.items()):
                for k, name in objs:
                    if k != kind:
                        continue
                    try:
                        if kind == "Namespace":
                            core.delete_namespace(name, _request_timeout=conn.request_timeout)
                        else:
                            custom.delete_cluster_custom_object(KUEUE, found.kueue_version, kind, name,
                                                                _request_timeout=conn.request_timeout)
                        pending.append((kind, name, run))
                    except ApiException as exc:
                        if exc.status == 404:
                            continue
                        out["errors"].append(str(describe_error(exc, f"delete {kind} {name}")))
                    except Exception as exc:  # noqa: BLE001 - report and go on with the others
                        out["errors"].append(str(describe_error(exc, f"delete {kind} {name}")))
            # a ClusterQueue's finalizer waits for its workloads: let each kind go before the next
            pending = _wait_gone(conn, found.kueue_version, pending, cleanup_timeout, out)
        return out
    except Exception as exc:  # noqa: BLE001 - any failure is reported, the verify phase still runs
        out["errors"].append(str(describe_error(exc, "find the probe objects of earlier runs")))
        return out
    finally:
        conn.close()


def _wait_gone(conn: Connection, version: str | None, pending: list[tuple[str, str, str]], timeout: float,
               out: dict[str, Any]) -> list[tuple[str, str, str]]:
    deadline = time.monotonic() + timeout
    while pending:
        left = []
        for kind, name, run in pending:
            path = (f"/api/v1/namespaces/{name}" if kind == "Namespace"
                    else f"/apis/{KUEUE}/{version}/{kind}/{name}")
            try:
                get_json(conn.api, path, conn.request_timeout)
                left.append((kind, name, run))
            except ApiException as exc:
                if exc.status != 404:
                    left.append((kind, name, run))
                    continue
                out["removed"].append(f"{kind} {name} (run {run})")
            except Exception:  # noqa: BLE001 - still there as far as we know
                left.append((kind, name, run))
        pending = left
        if not pending or time.monotonic() >= deadline:
            break
        time.sleep(1.0)
    out["errors"] += [f"{kind} {name} (run {run}) still present after {timeout:g}s" for kind, name, run in pending]
    return []
