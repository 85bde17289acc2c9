"""``aiconform rbac generate``: the verify phase's RBAC bundle from request logs (their union).

A log is what the simulator's ``GET /_sim/requests?log=1`` returns after a verify run (or a list of
records ``{method, path, query, user_agent}`` converted from a real cluster's audit log). No single run
exercises every verifier (requirement sets differ per Kubernetes version, some flows need a particular
scenario), so several logs can be given; ``aiconform rbac regenerate`` (aiconform/rbac_coverage.py) makes
them. See ``aiconform/rbac.py`` for the derivation and ``rbac/README.md`` for the shipped bundle.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from aiconform.rbac import build_rules, cluster_role_yaml


def read_records(text: str) -> list[dict[str, Any]]:
    """Records from a JSON list, a ``{"log": [...]}`` object, or JSON lines."""
    text = text.strip()
    if not text:
        return []
    try:
        data = json.loads(text)
    except ValueError:
        data = [json.loads(line) for line in text.splitlines() if line.strip()]
    if isinstance(data, dict):
        data = data.get("log", [])
    if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
        raise ValueError("expected a list of request records or {\"log\": [...]}")
    return data


def generate(records: list[dict[str, Any]]) -> str:
    # Requests the authorizer refused are still needed: a log from a run with a too-small role says what.
    return cluster_role_yaml(build_rules(records))


def _cmd(args: argparse.Namespace) -> int:
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
    gen.set_defaults(func=_cmd)
    from aiconform.rbac_coverage import register as register_regenerate
    register_regenerate(sub)
