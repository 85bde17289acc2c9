"""``aiconform validate`` and ``aiconform report`` sub-commands.

A command-line program (``aiconform``), never run inside a module: it prints to the terminal.
"""
# pylint: disable=ansible-bad-function
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import validate as validate_mod


def _cmd_validate(args: argparse.Namespace) -> int:
    """Exit 0: every file valid; 1: a file fails validation; 2: a file cannot be read as a PRODUCT.yaml, or
    the landscape cannot be had (the worst wins)."""
    members = None
    landscape = args.landscape or (validate_mod.LANDSCAPE_URL if args.online else None)
    if landscape:
        try:
            members = validate_mod.load_landscape(landscape)
        except validate_mod.LandscapeError as exc:
            print(f"aiconform validate: {exc}", file=sys.stderr)
            return 2
    code = 0
    for path in args.paths:
        result = validate_mod.validate_file(path, version=args.version, online=args.online, cncf_members=members,
                                            strict=args.strict)
        if result.load_error:
            print(f"aiconform validate: {path}: {result.load_error}", file=sys.stderr)
            code = 2
            continue
        print(f"Validating {path} ({result.version or 'unknown version'})...")
        for line in result.lines():
            print(line)
        print(result.summary())
        if not result.ok:
            code = max(code, 1)
    return code


def _cmd_report(args: argparse.Namespace) -> int:
    from . import fleet, render

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
    p = subparsers.add_parser(
        "validate", help="check PRODUCT.yaml files as the cncf validator does (offline unless --online)",
        epilog="exit codes: 0 valid, 1 a file fails validation, 2 a file cannot be read as a PRODUCT.yaml "
               "(or the landscape cannot be read)")
    p.add_argument("paths", nargs="+", metavar="PRODUCT.yaml")
    p.add_argument("--version", help="requirement set (v1.xx); default: from the path vX.Y/, else metadata")
    p.add_argument("--online", action="store_true",
                   help="also fetch every http(s) URL and check vendorName against the CNCF landscape members "
                        f"({validate_mod.LANDSCAPE_URL})")
    p.add_argument("--landscape", metavar="FILE|URL",
                   help="check vendorName against the members of this landscape.yml (works offline)")
    p.add_argument("--strict", action="store_true",
                   help="aiconform's stricter checks (WARNING (strict) lines) become errors")
    p.set_defaults(func=_cmd_validate)

    r = subparsers.add_parser("report", help="re-render a run directory from results.json, or a fleet summary")
    r.add_argument("path", metavar="RUN_DIR|REPORTS_DIR")
    r.add_argument("--fleet", action="store_true", help="PATH is a reports/ directory: write fleet.md and fleet.html")
    r.set_defaults(func=_cmd_report)
