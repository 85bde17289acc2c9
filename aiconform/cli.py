"""The ``aiconform`` command. Each feature module registers its own sub-command.

A feature module exposes ``register(subparsers)``, which adds a parser whose ``func`` default takes
the parsed arguments and returns an exit code. Add new commands to ``COMMANDS``.

Imports are lazy: ``aiconform --version`` imports no feature module, ``aiconform <command>`` imports only the
one that registers it, and a feature whose dependencies are missing is listed as unavailable (saying which
module is missing) instead of breaking every other command.
"""
from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable

from aiconform import __version__

# command -> (feature module that registers it, one-line help used when that module cannot be imported)
COMMANDS: dict[str, tuple[str, str]] = {
    "conformance": ("aiconform.lab", "install, verify and report (the main job)"),
    "lab": ("aiconform.labcluster.cli", "a local cluster of real Kubernetes components"),
    "run": ("aiconform.runner.cli", "run conformance.yml through ansible-runner"),
    "sim": ("aiconform.sim.cli", "serve a SIMULATED Kubernetes API"),
    "validate": ("aiconform.report.cli", "check PRODUCT.yaml files as the cncf validator does"),
    "report": ("aiconform.report.cli", "re-render a run directory, or a fleet summary"),
    "artifacts": ("aiconform.artifacts", "list every image, chart and CRD bundle the install phase deploys"),
    "rbac": ("aiconform.rbac.cli", "least-privilege RBAC for the verify phase"),
}
COMMAND_MODULES: list[str] = list(dict.fromkeys(module for module, _ in COMMANDS.values()))


def _unavailable(command: str, error: ImportError) -> Callable[[argparse.Namespace], int]:
    def run(_args: argparse.Namespace) -> int:
        missing = error.name or str(error)
        print(f"aiconform {command}: unavailable, the Python module {missing!r} is missing ({error}). "
              "Install aiconform with its dependencies (make setup, or pip install aiconform).", file=sys.stderr)
        return 2
    return run


def _command_of(argv: list[str]) -> str | None:
    """The sub-command named on the command line (the first argument that is not an option)."""
    return next((a for a in argv if not a.startswith("-")), None)


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser; with ``command``, only the feature module registering it is imported."""
    parser = argparse.ArgumentParser(
        prog="aiconform",
        description="Install the reference stack, verify and report CNCF Kubernetes AI Conformance.",
    )
    parser.add_argument("--version", action="version", version=f"aiconform {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    unavailable: dict[str, Callable[[argparse.Namespace], int]] = {}
    parser.set_defaults(unavailable=unavailable)
    modules = [COMMANDS[command][0]] if command in COMMANDS else COMMAND_MODULES
    for name in modules:
        try:
            module = importlib.import_module(name)
        except ImportError as exc:
            for cmd, (owner, help_text) in COMMANDS.items():
                if owner == name:
                    subparsers.add_parser(cmd, help=f"{help_text} [unavailable: {exc}]", add_help=False)
                    unavailable[cmd] = _unavailable(cmd, exc)
            continue
        module.register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if "--version" in argv[:1]:
        print(f"aiconform {__version__}")
        return 0
    command = _command_of(argv)
    parser = build_parser(command)
    unavailable = parser.get_default("unavailable")
    if command in unavailable:  # its options are unknown: say what is missing instead of parsing them
        return unavailable[command](argparse.Namespace())
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
