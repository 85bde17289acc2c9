"""``aiconform validate`` and ``aiconform report`` sub-commands."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from aiconform.report import validate as validate_mod


def _cmd_validate(args: argparse.Namespace) -> int:
    failed = False
    for path in args.paths:
        result = validate_mod.validate_file(path, version=args.version, online=args.online)
        print(f"Validating {path} ({result.version or 'unknown version'})...")
        for line in result.lines():
            print(line)
        print(result.summary())
        failed = failed or not result.ok
    return 1 if failed else 0


def _cmd_report(args: argparse.Namespace) -> int:
    from aiconform.report import fleet, render

    if args.fleet:
        paths = fleet.write_fleet(args.path)
        for p in paths:
            print(p)
        return 0
    path = Path(args.path)
    if not (path / "results.json").is_file():
        print(f"aiconform report: {path}/results.json not found", file=sys.stderr)
        return 2
    run_dir, rendered = render.rerender(path)
    for line in rendered.messages:
        print(line)
    print(f"Report written to {run_dir}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("validate", help="check PRODUCT.yaml files with the cncf validator's offline rules")
    p.add_argument("paths", nargs="+", metavar="PRODUCT.yaml")
    p.add_argument("--version", help="requirement set (v1.xx); default: from the path vX.Y/, else metadata")
    p.add_argument("--online", action="store_true", help="also check that http(s) URLs are reachable")
    p.set_defaults(func=_cmd_validate)

    r = subparsers.add_parser("report", help="re-render a run directory from results.json, or a fleet summary")
    r.add_argument("path", metavar="RUN_DIR|REPORTS_DIR")
    r.add_argument("--fleet", action="store_true", help="PATH is a reports/ directory: write fleet.md and fleet.html")
    r.set_defaults(func=_cmd_report)
