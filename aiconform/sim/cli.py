"""``aiconform sim``: serve a simulated Kubernetes API (for tests and the embedded demo lab)."""
from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import signal
import socket
import sys
from pathlib import Path

import yaml
from aiohttp import web


def write_kubeconfig(path: Path, url: str, token: str, context: str = "aiconform-sim") -> None:
    cfg = {
        "apiVersion": "v1", "kind": "Config", "preferences": {},
        "clusters": [{"name": context, "cluster": {"server": url}}],
        "users": [{"name": context, "user": {"token": token}}],
        "contexts": [{"name": context, "context": {"cluster": context, "user": context, "namespace": "default"}}],
        "current-context": context,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(yaml.safe_dump(cfg, sort_keys=False))
    os.chmod(tmp, 0o600)
    tmp.replace(path)


async def _serve(args: argparse.Namespace) -> int:
    from aiconform.sim.scenario import load_scenario
    from aiconform.sim.server import SimServer

    sim = SimServer(load_scenario(args.scenario), args.kubernetes_version, controllers=not args.no_controllers)
    runner = web.AppRunner(sim.app(), access_log=None, handle_signals=False, shutdown_timeout=2.0)
    await runner.setup()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", args.port))
    port = sock.getsockname()[1]
    site = web.SockSite(runner, sock)
    await site.start()
    url = f"http://127.0.0.1:{port}"
    write_kubeconfig(Path(args.kubeconfig), url, secrets.token_hex(16))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    print(f"aiconform sim ready on {url}", flush=True)
    print(f"(simulated cluster: scenario {sim.scenario.name}, Kubernetes {sim.git_version}; kubeconfig "
          f"{args.kubeconfig})", file=sys.stderr, flush=True)
    await stop.wait()
    await runner.cleanup()
    return 0


def _cmd(args: argparse.Namespace) -> int:
    try:
        return asyncio.run(_serve(args))
    except ValueError as e:
        print(f"aiconform sim: {e}", file=sys.stderr)
        return 2


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--port", type=int, default=0, help="TCP port on 127.0.0.1 (0 picks a free one)")
    p.add_argument("--kubeconfig", required=True, help="where to write a kubeconfig for the simulated cluster")
    p.add_argument("--scenario", default="empty", help="scenario name under aiconform/sim/scenarios, or a YAML path")
    p.add_argument("--kubernetes-version", default=None, help="emulated Kubernetes version, e.g. v1.35.2")
    p.add_argument("--no-controllers", action="store_true", help="switch every simulated controller off")
    p.set_defaults(func=_cmd)


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("sim", help="serve a SIMULATED Kubernetes API on 127.0.0.1 (tests, demo lab)")
    add_arguments(p)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m aiconform.sim", description=__doc__)
    add_arguments(parser)
    args = parser.parse_args(argv)
    return int(args.func(args))
