"""``aiconform rbac generate``: the verify phase's RBAC bundle from request logs (their union).

A log is what the simulator's ``GET /_sim/requests?log=1`` returns after a verify run (or a list of
records ``{method, path, query, user_agent}`` converted from a real cluster's audit log). No single run
exercises every verifier (requirement sets differ per Kubernetes version, some flows need a particular
scenario), so several logs can be given; ``aiconform rbac regenerate`` (aiconform/rbac/coverage.py) makes
them. See ``aiconform/rbac/__init__.py`` for the derivation and ``rbac/README.md`` for the shipped bundle.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from aiconform.rbac import BUNDLE, generate, read_records


def _generate(args: argparse.Namespace) -> int:
    records: list[dict[str, Any]] = []
    for name in args.from_requests:
        try:
            source = sys.stdin.read() if name == "-" else Path(name).read_text()
            these = read_records(source)
        except (OSError, ValueError) as exc:
            print(f"aiconform rbac: cannot read {name}: {exc}", file=sys.stderr)
            return 2
        if not these:
            # an empty log is a failed run, not "needs nothing": refuse rather than ship a smaller role
            print(f"aiconform rbac: {name} has no request records", file=sys.stderr)
            return 2
        records.extend(these)  # rules are built per request, so concatenation is the union of the logs' rules
    text = generate(records)
    if args.output == "-":
        sys.stdout.write(text)
    else:
        out = Path(args.output)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text)
        print(f"wrote {out} ({len(records)} requests from {len(args.from_requests)} log(s))")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("rbac", help="least-privilege RBAC for the verify phase")
    sub = p.add_subparsers(dest="rbac_command", metavar="ACTION", required=True)
    gen = sub.add_parser("generate", help="write the ServiceAccount/ClusterRole/binding bundle from request logs")
    gen.add_argument("--from-requests", required=True, metavar="FILE", action="append",
                     help="request log: output of GET /_sim/requests?log=1, a JSON list or JSON lines ('-' = stdin); "
                          "repeat it to union several runs' logs")
    gen.add_argument("-o", "--output", default="-", help="bundle path (default stdout), e.g. rbac/verify.yaml")
    gen.set_defaults(func=_generate)
    _register_regenerate(sub)


def _regenerate(args: argparse.Namespace) -> int:
    from aiconform.rbac.coverage import COVERAGE_RUNS, regenerate

    selected = tuple(r for r in COVERAGE_RUNS if not args.run or r.name in args.run)
    unknown = set(args.run or []) - {r.name for r in COVERAGE_RUNS}
    if unknown:
        print(f"aiconform rbac regenerate: unknown run(s) {sorted(unknown)}; known: "
              f"{', '.join(r.name for r in COVERAGE_RUNS)}", file=sys.stderr)
        return 2
    workdir = Path(tempfile.mkdtemp(prefix="aiconform-rbac-"))
    start = time.monotonic()
    results = regenerate(selected, jobs=args.jobs, workdir=workdir)
    problems: list[str] = []
    for res in results:
        print(f"{res.run.name}: {res.run.scenario} at {res.run.server_version} (set {res.run.set_version}, "
              f"--tags {res.run.tags}): {len(res.log)} requests, {res.seconds:.0f}s, rc {res.returncode}")
        for rid, status in sorted(res.statuses.items()):
            print(f"    {rid}: {status}")
        problems += res.problems
        if not res.log:
            problems.append(f"{res.run.name}: no requests recorded")
    if args.save_logs:
        Path(args.save_logs).mkdir(parents=True, exist_ok=True)
        for res in results:
            (Path(args.save_logs) / f"{res.run.name}.json").write_text(json.dumps({"log": res.log}))
    print(f"coverage runs: {time.monotonic() - start:.0f}s wall")
    if problems:
        print("aiconform rbac regenerate: some verifiers did not take their functional path:\n  "
              + "\n  ".join(problems), file=sys.stderr)
        for res in results:
            if res.problems:
                print(f"--- {res.run.name} (ansible-playbook output, tail) ---\n{res.output_tail}", file=sys.stderr)
        if not args.force:
            print(f"nothing written (--force writes anyway); run directories: {workdir}", file=sys.stderr)
            return 1
    text = generate([rec for res in results for rec in res.log])
    out = Path(args.output)
    out.write_text(text)
    print(f"wrote {out} from {len(results)} run(s)")
    if not args.keep:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


def _register_regenerate(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "regenerate", help="run the coverage verify runs on simulators and write the bundle from their logs",
        description="Start a simulator per coverage run (aiconform/rbac/coverage.py: COVERAGE_RUNS), run "
                    "conformance.yml --tags verify,<ids> against it as the admin and write the union of the request "
                    "logs as the RBAC bundle. Needs ansible-playbook (make bootstrap); takes several minutes.")
    p.add_argument("-o", "--output", default=str(BUNDLE), help="bundle path (default rbac/verify.yaml)")
    p.add_argument("--run", action="append", metavar="NAME",
                   help="only this coverage run (repeatable; a partial bundle, for trying out a change)")
    p.add_argument("--jobs", type=int, default=int(os.environ.get("AICONFORM_RBAC_JOBS", "2")),
                   help="coverage runs at a time (default 2)")
    p.add_argument("--force", action="store_true", help="write even when a run's verifiers were not Implemented")
    p.add_argument("--keep", action="store_true", help="keep the run directories (reports, inventories, sim logs)")
    p.add_argument("--save-logs", metavar="DIR", help="also write each run's request log to DIR/<run>.json")
    p.set_defaults(func=_regenerate)
