"""The ``aiconform`` command. Each feature module registers its own sub-command.

A feature module exposes ``register(subparsers)``, which adds a parser whose ``func`` default takes
the parsed arguments and returns an exit code. Add new modules to ``COMMAND_MODULES``.
"""
from __future__ import annotations

import argparse
import importlib
import os
import sys

from aiconform import PROJECT_ROOT, __version__
from aiconform.toolchain import ansible_env

COMMAND_MODULES: list[str] = [
    "aiconform.cli",  # conformance (below)
    "aiconform.sim.cli",
    "aiconform.report.cli",  # validate, report
    "aiconform.artifacts",
]


def _cmd_conformance(args: argparse.Namespace) -> int:
    """Run conformance.yml with ansible-playbook: the same code path as running it by hand."""
    if not args.inventory:
        print("aiconform conformance: no inventory given and no simulated lab available; "
              "pass -i inventory/<cluster>", file=sys.stderr)
        return 2
    cmd = ["ansible-playbook", str(PROJECT_ROOT / "conformance.yml"), "-i", args.inventory, *args.ansible_args]
    env = ansible_env()
    os.chdir(PROJECT_ROOT)
    os.execvpe(cmd[0], cmd, env)
    return 0  # pragma: no cover


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("conformance", help="run conformance.yml (install, verify, report) with ansible-playbook")
    p.add_argument("-i", "--inventory", help="inventory of clusters (default: the embedded simulated lab)")
    p.add_argument("ansible_args", nargs=argparse.REMAINDER, help="extra ansible-playbook arguments, e.g. --tags verify")
    p.set_defaults(func=_cmd_conformance)


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
