"""Run state built from ansible-runner events, and its two views (plain lines for CI, a redrawn table on a TTY).

Everything here comes from structured event data (``event_data.res`` of the preflight, verifier and report
tasks): the facts ``aiconform_cluster``/``aiconform_run``, the ``aiconform_result_<id>`` facts returned by
the verifiers' async jobs, and the report action's ``run_dir``/``summary``. Console text is never parsed.
"""
from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TextIO

from aiconform.results import Status

RESULT_PREFIX = "aiconform_result_"
# result status -> progress state
STATE_OF_STATUS = {s.value: s.shown.progress_state for s in Status}
PHASE_OF_PLAY = {"Preflight": "preflight", "Install phase": "install", "Verify phase": "verify",
                 "Report phase": "report"}


def _action(event_data: Mapping[str, Any]) -> str:
    """Short action name: 'aiconform.conformance.verify_dra_support' -> 'verify_dra_support'."""
    action = str(event_data.get("resolved_action") or event_data.get("task_action") or "")
    return action.rsplit(".", 1)[-1]


@dataclass
class Requirement:
    id: str
    level: str = ""
    state: str = "pending"  # pending | running | passed | failed | error | n/a
    status: str = ""  # the verifier's result status once known
    reason: str = ""
    started: float | None = None  # monotonic, when its async job started
    duration: float | None = None  # the verifier's own duration once finished

    def elapsed(self, now: float) -> float | None:
        if self.duration is not None:
            return self.duration
        return None if self.started is None else now - self.started


@dataclass
class Cluster:
    name: str
    phase: str = "preflight"
    reachable: bool | None = None
    simulated: bool = False
    engine_label: str = "SIMULATED cluster"  # aiconform/engines.py
    error: str = ""
    server_version: str = ""
    set_version: str = ""
    selected: list[str] = field(default_factory=list)
    requirements: dict[str, Requirement] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)  # failed tasks (not ignored): "task: msg"
    run_dir: str = ""
    summary: list[dict[str, Any]] = field(default_factory=list)  # the report action's rows
    verify_started: bool = False
    done: bool = False
    leftovers: list[str] = field(default_factory=list)  # probe objects of dead earlier runs removed by this run


class RunState:
    """Per cluster, per requirement state; fed by ``handle(event)`` from ansible-runner's event thread."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.clusters: dict[str, Cluster] = {}
        self.started = time.monotonic()
        self.phase = "preflight"
        self.listeners: list[Callable[[str, Cluster, Requirement | None], None]] = []
        self.stats: dict[str, Any] = {}

    def cluster(self, host: str) -> Cluster:
        if host not in self.clusters:
            self.clusters[host] = Cluster(name=host)
        return self.clusters[host]

    def _emit(self, what: str, cluster: Cluster, req: Requirement | None = None) -> None:
        for listener in self.listeners:
            listener(what, cluster, req)

    # -- event ingestion ------------------------------------------------------------------------
    def handle(self, event: Mapping[str, Any]) -> None:
        kind = str(event.get("event") or "")
        data: Mapping[str, Any] = event.get("event_data") or {}
        with self.lock:
            if kind == "playbook_on_play_start":
                self.phase = PHASE_OF_PLAY.get(str(data.get("play") or data.get("name") or ""), self.phase)
                for c in self.clusters.values():
                    if not c.done and c.reachable is not False:
                        c.phase = self.phase
                return
            if kind == "playbook_on_stats":
                self.stats = dict(data)
                for c in self.clusters.values():
                    c.done = True
                return
            host = data.get("host")
            if not host:
                return
            host = str(host)
            action = _action(data)
            res: Mapping[str, Any] = data.get("res") or {}
            if kind == "runner_on_ok":
                self._on_ok(host, action, res)
            elif kind == "runner_item_on_ok":
                self._collect_facts(host, res)
            elif kind == "runner_on_failed" and not data.get("ignore_errors"):
                self._on_failed(host, data, res)
            elif kind == "runner_on_unreachable":
                c = self.cluster(host)
                c.reachable, c.error = False, str(res.get("msg") or "unreachable")
                self._emit("unreachable", c)

    def _on_ok(self, host: str, action: str, res: Mapping[str, Any]) -> None:
        if action == "cluster_facts":
            self._preflight(host, res.get("ansible_facts") or {})
        elif action == "verify" and res.get("ansible_job_id"):  # one job runs the cluster's planned verifiers
            for req_id in res.get("requirements") or []:
                self._verify_started(host, str(req_id))
        elif action.startswith("verify_") and action != "verify_status" and res.get("ansible_job_id"):
            self._verify_started(host, action.removeprefix("verify_"))  # a verify_<id> task of the user's own
        elif action == "cleanup_leftovers" and res.get("removed"):
            c = self.cluster(host)
            c.leftovers = [str(r) for r in res.get("removed") or []]
            self._emit("leftovers", c)
        elif action == "conformance_report":
            c = self.cluster(host)
            c.run_dir = str(res.get("run_dir") or "")
            c.summary = [dict(r) for r in res.get("summary") or []]
            c.simulated = bool(res.get("simulated", c.simulated))
            c.set_version = str(res.get("set_version") or c.set_version)
            self._emit("report", c)
        self._collect_facts(host, res)

    def _preflight(self, host: str, facts: Mapping[str, Any]) -> None:
        c = self.cluster(host)
        cluster = facts.get("aiconform_cluster") or {}
        run = facts.get("aiconform_run") or {}
        c.reachable = bool(cluster.get("reachable"))
        c.simulated = bool(cluster.get("simulated"))
        c.engine_label = str(cluster.get("engine_label") or c.engine_label)
        c.error = str(cluster.get("error") or "")
        c.server_version = str(cluster.get("server_version") or "")
        c.set_version = str(run.get("set_version") or "")
        levels = {r.get("id"): r.get("level", "") for r in run.get("requirement_set") or []}
        c.selected = [str(r) for r in run.get("selected") or []]
        c.requirements = {r: Requirement(id=r, level=str(levels.get(r, ""))) for r in c.selected}
        if not c.reachable:
            c.phase = "unreachable"
        self._emit("preflight", c)

    def _verify_started(self, host: str, req_id: str) -> None:
        c = self.cluster(host)
        req = c.requirements.setdefault(req_id, Requirement(id=req_id))
        c.verify_started = True
        if req.state == "pending":
            req.state, req.started = "running", time.monotonic()
            self._emit("running", c, req)

    def _collect_facts(self, host: str, res: Mapping[str, Any]) -> None:
        """Verifier results arrive as facts of the verify_status items (or of a synchronous verifier task)."""
        facts = res.get("ansible_facts") or {}
        for name, value in facts.items():
            if not str(name).startswith(RESULT_PREFIX) or not isinstance(value, Mapping):
                continue
            c = self.cluster(host)
            req_id = str(value.get("id") or str(name).removeprefix(RESULT_PREFIX))
            req = c.requirements.setdefault(req_id, Requirement(id=req_id))
            if req.status:
                continue
            req.status = str(value.get("status") or "unknown")
            req.state = STATE_OF_STATUS.get(req.status, "error")
            reasons = value.get("reasons") or []
            req.reason = str(reasons[0]) if reasons else ""
            if value.get("duration_s") is not None:
                req.duration = float(value["duration_s"])
            self._emit("result", c, req)

    def _on_failed(self, host: str, data: Mapping[str, Any], res: Mapping[str, Any]) -> None:
        c = self.cluster(host)
        msg = " ".join(str(res.get("msg") or res.get("stderr") or "failed").split())
        c.failures.append(f"{data.get('task') or 'task'}: {msg[:300]}")
        self._emit("failed", c)

    # -- views --------------------------------------------------------------------------------
    def rows(self) -> list[list[str]]:
        now = time.monotonic()
        rows = []
        with self.lock:
            for c in sorted(self.clusters.values(), key=lambda c: c.name):
                if c.reachable is False:
                    rows.append([c.name, "-", "", "unreachable", "", _short(c.error, 60)])
                    continue
                if not c.requirements:
                    rows.append([c.name, "-", "", c.phase, "", ""])
                for r in c.requirements.values():
                    elapsed = r.elapsed(now)
                    rows.append([c.name, r.id, r.level, r.state, "" if elapsed is None else f"{elapsed:.1f}s",
                                 _short(r.reason, 60)])
        return rows


def _short(text: str, limit: int) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


class LineView:
    """CI / non-TTY: one line per state change, with the time since the run started."""

    def __init__(self, state: RunState, out: TextIO = sys.stdout) -> None:
        self.state, self.out = state, out
        state.listeners.append(self.on_change)

    def _line(self, text: str) -> None:
        self.out.write(f"[{time.monotonic() - self.state.started:7.1f}s] {text}\n")
        self.out.flush()

    def on_change(self, what: str, c: Cluster, req: Requirement | None) -> None:
        sim = f" ({c.engine_label})" if c.simulated else ""
        if what == "preflight":
            if c.reachable:
                self._line(f"{c.name}: reachable{sim}, Kubernetes {c.server_version}, requirement set "
                           f"{c.set_version or 'unknown'}, {len(c.selected)} selected: {', '.join(c.selected)}")
            else:
                self._line(f"{c.name}: UNREACHABLE: {c.error}")
        elif what == "unreachable":
            self._line(f"{c.name}: UNREACHABLE: {c.error}")
        elif what == "running" and req:
            self._line(f"{c.name}: {req.id} running")
        elif what == "result" and req:
            took = f" in {req.duration:.1f}s" if req.duration is not None else ""
            why = f": {_short(req.reason, 100)}" if req.reason and req.state != "passed" else ""
            self._line(f"{c.name}: {req.id} {req.state} ({req.status}){took}{why}")
        elif what == "failed":
            self._line(f"{c.name}: task failed: {c.failures[-1]}")
        elif what == "leftovers":
            self._line(f"{c.name}: removed {len(c.leftovers)} probe object(s) left by earlier runs that did not "
                       f"finish: {_short(', '.join(c.leftovers), 300)}")
        elif what == "report":
            self._line(f"{c.name}: report written to {c.run_dir}{sim}")

    def start(self) -> None:
        pass

    def stop(self) -> None:
        pass


class TableView:
    """TTY: the whole table redrawn in place twice a second (elapsed times keep moving)."""

    def __init__(self, state: RunState, out: TextIO = sys.stdout, interval: float = 0.5) -> None:
        self.state, self.out, self.interval = state, out, interval
        self._lines = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="aiconform-progress", daemon=True)

    def render(self) -> str:
        from tabulate import tabulate

        elapsed = time.monotonic() - self.state.started
        head = f"aiconform run: {self.state.phase} phase, {elapsed:.0f}s"
        labels = sorted({c.engine_label for c in self.state.clusters.values() if c.simulated})
        if labels:
            head += f"  [{'; '.join(labels)}]"
        table = tabulate(self.state.rows(), headers=["cluster", "requirement", "level", "state", "elapsed", "reason"],
                         tablefmt="simple")
        swept = "".join(f"{c.name}: removed {len(c.leftovers)} probe object(s) left by earlier runs that did not "
                        "finish\n" for c in self.state.clusters.values() if c.leftovers)
        return f"{head}\n{table}\n{swept}"

    def draw(self) -> None:
        text = self.render()
        # move to the start of the previous drawing and clear to the end of the screen
        prefix = f"\x1b[{self._lines}F\x1b[J" if self._lines else ""
        self.out.write(prefix + text)
        self.out.flush()
        self._lines = text.count("\n")

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self.draw()

    def start(self) -> None:
        self.draw()
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
        self.draw()
