"""``aiconform run``: conformance.yml through ansible-runner with progress, a summary and exit codes."""
from __future__ import annotations

import argparse
import sys

from aiconform.runner.exitcodes import HELP, Exit


def _csv(text: str) -> list[str]:
    return [p.strip() for p in text.split(",") if p.strip()]


def add_run_arguments(p: argparse.ArgumentParser, *, inventory_help: str) -> None:
    p.add_argument("-i", "--inventory", help=inventory_help)
    p.add_argument("--phase", action="append", default=[], metavar="PHASE", type=str,
                   help="install, verify or report (repeatable or comma-separated; default: all). Preflight always runs")
    p.add_argument("--only", default="", metavar="ID,...",
                   help="verify only these requirement ids (maps to --tags verify,<id>...); the report is still written")
    p.add_argument("--limit", metavar="CLUSTERS", help="ansible --limit: a subset of the inventory's clusters")
    p.add_argument("--forks", type=int, metavar="N", help="clusters handled in parallel (ansible forks; default 10)")
    p.add_argument("--verify-concurrency", type=int, metavar="N",
                   help="probes running at once per cluster in the verify phase (aiconform_verify_concurrency, default 8)")
    p.add_argument("--reports-dir", metavar="DIR", help="write run directories under DIR (default: reports/ at the repository root from a "
                        "checkout, else reports/ in the current directory; aiconform_reports_dir in the inventory)")
    p.add_argument("-e", "--extra-vars", action="append", default=[], metavar="KEY=VALUE",
                   help="extra variable for the playbook (repeatable)")
    p.add_argument("--keep-runner-dir", action="store_true",
                   help="keep ansible-runner's private data dir (job events, stdout) and print its path")
    p.add_argument("--runner-dir", metavar="DIR", help="use DIR as ansible-runner's private data dir (kept)")
    p.add_argument("-v", "--verbose", action="store_true", help="also print ansible-playbook's own output")


def options_from_args(args: argparse.Namespace):  # -> RunOptions (import deferred: keeps --help fast)
    from aiconform.runner.engine import RunOptions, UsageError

    extravars = {}
    for item in args.extra_vars:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise UsageError(f"-e expects KEY=VALUE, got {item!r}")
        extravars[key] = value
    return RunOptions(
        inventory=args.inventory, phases=[p for v in args.phase for p in _csv(v)], only=_csv(args.only),
        limit=args.limit, forks=args.forks, verify_concurrency=args.verify_concurrency,
        reports_dir=args.reports_dir, extravars=extravars, runner_dir=args.runner_dir,
        keep_runner_dir=args.keep_runner_dir, verbose=args.verbose)


def execute(args: argparse.Namespace, **overrides: object) -> int:
    try:
        from aiconform.runner.engine import UsageError, run
    except ImportError as exc:  # the collection's module_utils (aiconform.catalog & co.) or a dependency is missing
        print(f"aiconform {args.command}: cannot run, the Python module {exc.name or exc!s} is missing. When "
              "installed with pip, aiconform finds the aiconform.conformance collection it installs in "
              "site-packages/ansible_collections: reinstall aiconform (pip install --force-reinstall aiconform).",
              file=sys.stderr)
        return int(Exit.PLAYBOOK_FAILED)

    try:
        opts = options_from_args(args)
        for key, value in overrides.items():
            setattr(opts, key, value)
        return int(run(opts).exit)
    except UsageError as exc:
        print(f"aiconform {args.command}: {exc}", file=sys.stderr)
        return int(Exit.PLAYBOOK_FAILED)


def _cmd_run(args: argparse.Namespace) -> int:
    return execute(args)


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "run", help="run conformance.yml through ansible-runner: live progress, summary, CI exit codes",
        description="Runs conformance.yml (the same playbook as `ansible-playbook conformance.yml -i INVENTORY`) "
                    "with live progress per cluster and requirement, a summary table and the run directory "
                    "of every cluster. With several clusters it also writes the fleet summary.",
        epilog=HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_run_arguments(p, inventory_help="inventory of clusters (default: the one in ansible.cfg: inventory/sample from a "
                                        "checkout)")
    p.set_defaults(func=_cmd_run)
