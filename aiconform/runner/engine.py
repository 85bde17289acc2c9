"""Run conformance.yml through ansible_runner.run_async: the same playbook as by hand, plus progress.

Security of the private data dir (ansible-runner's ``private_data_dir``): created per run with mode 0700;
``suppress_env_files=True`` so no ``env/extravars``/``env/envvars``/``env/passwords`` files are written;
the kubeconfig reaches Ansible by path only (inventory variable). ansible-runner still writes
``artifacts/<ident>/command`` with the whole process environment; it is rewritten as soon as the run
starts to hold only the variables aiconform set (which carry no credentials), and the directory is
removed after the run unless ``keep_runner_dir`` is set.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import sys
import tempfile
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from aiconform import COLLECTION_ROOT, IN_CHECKOUT, PROJECT_ROOT, catalog
from aiconform.report.model import NA_PLACEHOLDER
from aiconform.runner.exitcodes import Exit, worst
from aiconform.runner.progress import LineView, RunState, TableView

PHASES = ("install", "verify", "report")
IDENT = "aiconform"


class UsageError(ValueError):
    """Bad options; exit code 2."""


@dataclass
class RunOptions:
    inventory: str | None = None
    phases: list[str] = field(default_factory=list)
    only: list[str] = field(default_factory=list)
    limit: str | None = None
    forks: int | None = None
    verify_concurrency: int | None = None
    reports_dir: str | None = None
    extravars: dict[str, Any] = field(default_factory=dict)
    ansible_args: list[str] = field(default_factory=list)
    runner_dir: str | None = None  # private data dir to use (created 0700); default: a new temp dir
    keep_runner_dir: bool = False
    verbose: bool = False  # also stream ansible-playbook's own output
    fleet: bool = True  # write the fleet summary when more than one cluster reported
    tty: bool | None = None  # None: detect


@dataclass
class RunOutcome:
    exit: Exit
    state: RunState
    status: str  # ansible-runner status: successful | failed | canceled | timeout
    rc: int | None
    runner_dir: str
    fleet_files: list[str] = field(default_factory=list)
    reasons: dict[str, str] = field(default_factory=dict)  # cluster -> why its exit code
    runner_dir_kept: bool = False
    error_tail: str = ""  # ansible-playbook's output when it failed before reaching any cluster


def tags_for(phases: list[str], only: list[str]) -> list[str]:
    """--phase maps to phase tags; --only to requirement id tags (with the verify phase they need)."""
    bad = [p for p in phases if p not in PHASES]
    if bad:
        raise UsageError(f"unknown phase {', '.join(bad)}; choose from {', '.join(PHASES)}")
    if only:
        from aiconform import catalog

        unknown = [i for i in only if i not in catalog.all_ids()]
        if unknown:
            raise UsageError(f"unknown requirement id {', '.join(unknown)}; known: {', '.join(catalog.all_ids())}")
    tags = list(dict.fromkeys(phases))
    if only and "verify" not in tags:
        tags.append("verify")
    return tags + [i for i in only if i not in tags]


def playbook_location() -> tuple[str, str]:
    """(project dir, playbook) for ansible-runner. A checkout: conformance.yml at the repository root, run from there
    (its ansible.cfg, reports/ there). An installed aiconform: the installed collection's playbook by FQCN, run from
    the current directory (the user's ansible.cfg, if any; reports/ there, never inside site-packages)."""
    if IN_CHECKOUT:
        return str(PROJECT_ROOT), "conformance.yml"
    if not (COLLECTION_ROOT / "playbooks" / "conformance.yml").is_file():
        raise UsageError("the aiconform.conformance collection is not installed (looked for "
                         "ansible_collections/aiconform/conformance on sys.path, ANSIBLE_COLLECTIONS_PATH, "
                         "~/.ansible/collections): reinstall aiconform (pip install aiconform installs it)")
    return str(Path.cwd()), "aiconform.conformance.conformance"


def make_private_dir(path: str | None) -> Path:
    if path:
        p = Path(path)
        p.mkdir(parents=True, exist_ok=True, mode=0o700)
    else:
        p = Path(tempfile.mkdtemp(prefix="aiconform-run-"))
    os.chmod(p, 0o700)
    return p


def _scrub_command_file(artifact_dir: str, keep_env: Mapping[str, str]) -> None:
    """Rewrite ansible-runner's artifacts/<ident>/command without the inherited environment."""
    path = Path(artifact_dir) / "command"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return
    data["env"] = {k: v for k, v in (data.get("env") or {}).items() if k in keep_env}
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(data, fh)
    os.replace(tmp, path)


def run(opts: RunOptions, out: TextIO = sys.stdout) -> RunOutcome:
    import ansible_runner

    from aiconform.toolchain import ansible_env

    tags = tags_for(opts.phases, opts.only)
    extravars = dict(opts.extravars)
    if opts.verify_concurrency is not None:
        if opts.verify_concurrency < 1:
            raise UsageError("--verify-concurrency must be at least 1")
        extravars["aiconform_verify_concurrency"] = opts.verify_concurrency
    if opts.reports_dir:
        extravars["aiconform_reports_dir"] = str(Path(opts.reports_dir).resolve())
    project_dir, playbook = playbook_location()
    inventory = None
    if opts.inventory:
        inv = Path(opts.inventory).expanduser()
        if not inv.exists():
            raise UsageError(f"inventory {opts.inventory} not found")
        inventory = str(inv.resolve())

    # Only what differs from our own environment is passed (and kept in the command artifact).
    full_env = ansible_env()
    envvars = {k: v for k, v in full_env.items() if os.environ.get(k) != v}
    envvars.update(ANSIBLE_FORCE_COLOR="false", ANSIBLE_NOCOLOR="true")
    private = make_private_dir(opts.runner_dir)

    state = RunState()
    tty = out.isatty() if opts.tty is None else opts.tty
    view: LineView | TableView = TableView(state, out) if tty and not opts.verbose else LineView(state, out)
    cancelled = threading.Event()

    def on_event(event: dict[str, Any]) -> bool:
        state.handle(event)
        if opts.verbose and event.get("stdout"):
            out.write(str(event["stdout"]) + "\n")
            out.flush()
        return True  # keep ansible-runner's job_events (raw evidence of the run, in the private dir)

    def on_status(data: dict[str, Any], runner_config: Any) -> None:
        if data.get("status") == "running":
            _scrub_command_file(runner_config.artifact_dir, envvars)

    kept = bool(opts.keep_runner_dir or opts.runner_dir)
    thread: threading.Thread | None = None
    runner: Any = None

    def on_signal(_signum: int, _frame: Any) -> None:
        # First Ctrl-C/SIGTERM: cancel (ansible-runner polls cancel_callback and kills ansible-playbook's
        # process group), then finish normally: summary, exit 130, private dir removed. Second: give up.
        if cancelled.is_set():
            raise KeyboardInterrupt
        cancelled.set()
        out.write("\naiconform run: interrupted, stopping ansible-playbook...\n")
        out.flush()

    main_thread = threading.current_thread() is threading.main_thread()
    old_handlers = {}
    if main_thread:
        for sig in (signal.SIGINT, signal.SIGTERM):
            old_handlers[sig] = signal.signal(sig, on_signal)
    try:
        view.start()
        try:
            thread, runner = ansible_runner.run_async(
                private_data_dir=str(private), project_dir=project_dir, playbook=playbook,
                inventory=inventory, extravars=extravars or None, envvars=envvars,
                tags=",".join(tags) if tags else None, limit=opts.limit, forks=opts.forks,
                cmdline=" ".join(opts.ansible_args) if opts.ansible_args else None,
                ident=IDENT, quiet=True, suppress_env_files=True, rotate_artifacts=1,
                event_handler=on_event, status_handler=on_status, cancel_callback=cancelled.is_set,
            )
            while thread.is_alive():
                thread.join(0.2)
        finally:
            view.stop()
        interrupted = cancelled.is_set()
        status = str(runner.status) if runner is not None else "canceled"
        outcome = RunOutcome(exit=Exit.OK, state=state, status=status, rc=getattr(runner, "rc", None),
                             runner_dir=str(private), runner_dir_kept=kept)
        if not state.clusters and status != "successful":
            # Nothing ran (syntax error, bad inventory): show ansible-playbook's own words for it.
            outcome.error_tail = _tail(private / "artifacts" / IDENT / "stdout", 25)
        decide(outcome, verify_ran=(not tags or "verify" in tags), interrupted=interrupted)
        if opts.fleet and not interrupted:
            outcome.fleet_files = write_fleets(state)
        print_summary(outcome, out)
        return outcome
    finally:
        for sig, handler in old_handlers.items():
            signal.signal(sig, handler)
        if not kept:
            shutil.rmtree(private, ignore_errors=True)


MUST_FAIL = {"Not Implemented", "Partially Implemented"}


def decide(outcome: RunOutcome, *, verify_ran: bool, interrupted: bool) -> None:
    """The exit code from structured results only (preflight facts, verifier facts, report summary)."""
    codes: list[Exit] = []
    state = outcome.state
    if interrupted:
        codes.append(Exit.INTERRUPTED)
    if not state.clusters and outcome.status != "successful":
        codes.append(Exit.PLAYBOOK_FAILED)
        outcome.reasons["(playbook)"] = f"ansible-playbook {outcome.status} (rc {outcome.rc}) before any cluster ran"
    elif not state.clusters and not interrupted:
        # nothing verified is not a success: an empty inventory, a --limit that matched none, a host pattern typo
        codes.append(Exit.PLAYBOOK_FAILED)
        outcome.reasons["(inventory)"] = ("no cluster was run: the inventory has no host, or --limit matched none "
                                          "(ansible-playbook --list-hosts shows what it sees)")
    for name, c in state.clusters.items():
        if c.reachable is False:
            codes.append(Exit.UNREACHABLE)
            outcome.reasons[name] = f"unreachable: {c.error}"
            continue
        if c.failures:
            codes.append(Exit.PLAYBOOK_FAILED)
            outcome.reasons[name] = c.failures[0]
            continue
        if not verify_ran:
            continue
        # Prefer the report's rows (the statuses written to disk); fall back to the verifier facts.
        statuses = {r["id"]: (str(r.get("level") or ""), str(r.get("status") or "unknown"),
                              str(r.get("notes", r.get("reason")) or "")) for r in c.summary}
        for req in c.requirements.values():
            if req.id not in statuses:
                statuses[req.id] = (req.level, req.status or "unknown", req.reason)
        musts = {i: (s, why) for i, (lvl, s, why) in statuses.items() if i in c.selected and lvl == "MUST"}
        failing = sorted(i for i, (s, _) in musts.items() if s in MUST_FAIL)
        undecided = sorted(i for i, (s, why) in musts.items()
                           if s not in MUST_FAIL and not _must_satisfied(c.set_version, i, s, why))
        if failing:
            codes.append(Exit.NOT_IMPLEMENTED)
            outcome.reasons[name] = "MUST not implemented: " + ", ".join(failing)
        elif undecided:
            codes.append(Exit.UNDECIDED)
            outcome.reasons[name] = "MUST undecided (error/unknown): " + ", ".join(undecided)
    if outcome.status not in ("successful",) and not codes and not interrupted:
        codes.append(Exit.PLAYBOOK_FAILED)
        outcome.reasons["(playbook)"] = f"ansible-playbook {outcome.status} (rc {outcome.rc})"
    outcome.exit = worst(codes)


def _must_satisfied(set_version: str, req_id: str, status: str, reason: str) -> bool:
    """Implemented, or a conditional MUST (cluster_autoscaling) that is N/A with a justification, as the cncf
    validator accepts it (``catalog.must_satisfied``); an N/A that only carries the report's placeholder is not."""
    if status == "Implemented":
        return True
    try:
        req = catalog.requirement(set_version, req_id)
    except (KeyError, catalog.UnsupportedVersionError):
        return False
    return catalog.must_satisfied(req, status, "" if reason.strip() == NA_PLACEHOLDER else reason)


def write_fleets(state: RunState) -> list[str]:
    """One fleet summary per reports directory when this run reported more than one cluster."""
    roots: dict[Path, int] = {}
    for c in state.clusters.values():
        if c.run_dir:
            root = Path(c.run_dir).parent.parent
            roots[root] = roots.get(root, 0) + 1
    if sum(roots.values()) < 2:
        return []
    from aiconform.report import fleet

    files: list[str] = []
    for root in roots:
        files.extend(str(p) for p in fleet.write_fleet(root))
    return files


def print_summary(outcome: RunOutcome, out: TextIO) -> None:
    from tabulate import tabulate

    state = outcome.state
    out.write("\n")
    if outcome.error_tail:
        out.write(outcome.error_tail.rstrip() + "\n\n")
    for c in sorted(state.clusters.values(), key=lambda c: c.name):
        title = f"{c.name}: AI conformance {c.set_version or '(requirement set unknown)'}"
        if c.simulated:
            title += f"  [{c.engine_label.upper()}: results describe an aiconform test cluster, not a real platform]"
        out.write(title + "\n")
        if c.reachable is False:
            out.write(f"  UNREACHABLE: {c.error}\n\n")
            continue
        if c.summary:
            rows = [[r.get("id"), r.get("level"), r.get("status"), f"{float(r.get('duration_s') or 0):.1f}s",
                     _short(str(r.get("reason") or ""), 70)] for r in c.summary if r.get("id") in c.selected]
        else:
            rows = [[r.id, r.level, r.status or r.state, "" if r.duration is None else f"{r.duration:.1f}s",
                     _short(r.reason, 70)] for r in c.requirements.values()]
        if rows:
            out.write(tabulate(rows, headers=["requirement", "level", "status", "duration", "reason"],
                               tablefmt="simple") + "\n")
        for failure in c.failures:
            out.write(f"  FAILED {failure}\n")
        if c.run_dir:
            out.write(f"run directory: {c.run_dir}\n")
        out.write("\n")
    for path in outcome.fleet_files:
        out.write(f"fleet summary: {path}\n")
    verdict = {Exit.OK: "every selected MUST requirement is Implemented (or justified N/A where the validator allows it)",
               Exit.NOT_IMPLEMENTED: "a MUST requirement is not implemented",
               Exit.UNDECIDED: "a MUST requirement could not be decided",
               Exit.UNREACHABLE: "a cluster could not be reached",
               Exit.PLAYBOOK_FAILED: "the playbook failed",
               Exit.INTERRUPTED: "interrupted"}[outcome.exit]
    if outcome.runner_dir_kept:
        out.write(f"ansible-runner private data dir (events, stdout): {outcome.runner_dir}\n")
    for name, why in sorted(outcome.reasons.items()):
        out.write(f"  {name}: {why}\n")
    sim = " (LAB)" if any(c.simulated and c.engine_label.startswith("LAB") for c in state.clusters.values()) else \
        (" (SIMULATED)" if any(c.simulated for c in state.clusters.values()) else "")
    out.write(f"aiconform run{sim}: {verdict} (exit {int(outcome.exit)})\n")
    out.flush()


def _tail(path: Path, lines: int) -> str:
    try:
        return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def _short(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
