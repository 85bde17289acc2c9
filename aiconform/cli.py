"""The ``aiconform`` command. Each feature module registers its own sub-command.

A feature module exposes ``register(subparsers)``, which adds a parser whose ``func`` default takes
the parsed arguments and returns an exit code. Add new modules to ``COMMAND_MODULES``.
"""
from __future__ import annotations

import argparse
import importlib
import sys

from aiconform import __version__

COMMAND_MODULES: list[str] = [
    "aiconform.lab",  # conformance (the main job; simulated lab without -i)
    "aiconform.labcluster.cli",  # lab build/up/down/status (real components)
    "aiconform.runner.cli",  # run
    "aiconform.sim.cli",
    "aiconform.report.cli",  # validate, report
    "aiconform.artifacts",
    "aiconform.rbac_cli",  # rbac generate, rbac regenerate
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="aiconform",
        description="Install the reference stack, verify and report CNCF Kubernetes AI Conformance.",
    )
    parser.add_argument("--version", action="version", version=f"aiconform {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
