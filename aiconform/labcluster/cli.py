"""``aiconform lab build|up|down|status``: a local cluster of real Kubernetes components (see ``__init__``)."""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

from aiconform import labcluster
from aiconform.labcluster import build


def _cmd_build(args: argparse.Namespace) -> int:
    try:
        build.build(args.kubernetes_version, stack=args.stack, force=args.force, update_sums=args.update_sums)
    except build.BuildError as exc:
        print(f"aiconform lab build: {exc}", file=sys.stderr)
        return 1
    return 0


def _cmd_up(args: argparse.Namespace) -> int:
    from aiconform.labcluster import cluster

    kubeconfig = Path(args.kubeconfig)
    if args.detach:
        return _detach(args)
    try:
        running = cluster.start(kubeconfig, kubernetes_version=args.kubernetes_version, gpus=args.gpus,
                                port=args.port, stack=args.stack, timeout=args.timeout)
    except (cluster.LabError, build.BuildError, ValueError) as exc:
        print(f"aiconform lab up: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    print(f"  kubectl --kubeconfig {running.kubeconfig} get nodes     # Ctrl-C or `aiconform lab down "
          f"--kubeconfig {running.kubeconfig}` stops it", flush=True)
    return cluster.run_foreground(running)


def _detach(args: argparse.Namespace) -> int:
    """Run ``lab up`` (foreground) in its own session, logging to ``<kubeconfig>.lab.log``; return when ready."""
    from aiconform.labcluster import cluster

    kubeconfig = Path(args.kubeconfig).expanduser().resolve()
    log = kubeconfig.with_name(kubeconfig.name + ".lab.log")
    cmd = [sys.executable, "-m", "aiconform.cli", "lab", "up", "--kubeconfig", str(kubeconfig), "--gpus", str(args.gpus),
           "--port", str(args.port), "--stack", args.stack, "--timeout", str(args.timeout)]
    if args.kubernetes_version:
        cmd += ["--kubernetes-version", args.kubernetes_version]
    kubeconfig.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "w", encoding="utf-8") as fh:
        proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True)
    deadline = time.monotonic() + args.timeout + 30
    st = cluster.state_file(kubeconfig)
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            print(f"aiconform lab up: the lab did not start (code {proc.returncode}):\n"
                  f"{log.read_text(errors='replace')[-3000:]}", file=sys.stderr)
            return 1
        if st.exists() and kubeconfig.exists():
            info = json.loads(st.read_text())
            print(f"aiconform lab ready on {info['url']} (pid {proc.pid}, log {log}); stop it with "
                  f"`aiconform lab down --kubeconfig {kubeconfig}`", flush=True)
            return 0
        time.sleep(0.3)
    proc.terminate()
    print(f"aiconform lab up: not ready after {args.timeout:g}s; see {log}", file=sys.stderr)
    return 1


def _cmd_down(args: argparse.Namespace) -> int:
    from aiconform.labcluster import cluster

    try:
        print(f"aiconform lab down: {cluster.down(Path(args.kubeconfig), timeout=args.timeout)}")
    except cluster.LabError as exc:
        print(f"aiconform lab down: {exc}", file=sys.stderr)
        return 1
    return 0


def _cmd_status(args: argparse.Namespace) -> int:
    from aiconform.labcluster import cluster, topology

    try:
        minor = build.resolve_minor(args.kubernetes_version)
    except build.BuildError as exc:
        print(f"aiconform lab status: {exc}", file=sys.stderr)
        return 1
    found = build.find_binaries(minor)
    print(f"cache: {build.lab_home()}")
    print(f"Kubernetes {topology.full_version(minor)}: " + (", ".join(str(p) for p in found.values()) if found
                                                          else "not built (aiconform lab build)"))
    from aiconform.lab import lab_components

    for name, what in topology.STACKS.items():
        missing = build.missing(minor, name)
        print(f"stack {name}: {what}" + (f" [not built: {', '.join(missing)}; aiconform lab build --stack {name}]"
                                         if missing else " [built]"))
        for line in lab_components(build.stack_controllers(name)):
            print(f"  {line}")
    from aiconform import versions

    for name, why in (versions.get("lab.no_stack") or {}).items():
        print(f"no lab stack: {name}: {' '.join(str(why).split())}")
    if args.kubeconfig:
        st = cluster.state_file(Path(args.kubeconfig).expanduser().resolve())
        if st.exists():
            info = json.loads(st.read_text())
            lab = Path(info["state"]) / "lab.json"
            print(f"running: {info['url']} (pid {info['pid']})")
            if lab.exists():
                print(json.dumps(json.loads(lab.read_text()), indent=1))
        else:
            print("not running with that kubeconfig")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("lab", help="a local cluster of real Kubernetes components (built from Go modules)",
                              description=labcluster.__doc__ or "",
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="lab_command", metavar="ACTION")
    kv = {"metavar": "V", "help": "Kubernetes minor: " + ", ".join(build.kubernetes_versions())
          + " (default: lab.default_kubernetes_version of versions.yml)"}

    b = sub.add_parser("build", help="build the lab's programs (cached; seconds when nothing changed)")
    b.add_argument("--kubernetes-version", **kv)
    b.add_argument("--stack", default=build.DEFAULT_STACK, choices=sorted(labcluster.STACKS),
                   help="also build this stack's upstream controllers (lab.stacks of versions.yml; default "
                        f"{build.DEFAULT_STACK})")
    b.add_argument("--force", action="store_true", help="rebuild even if the binaries exist")
    b.add_argument("--update-sums", action="store_true",
                   help="accept new dependency hashes into aiconform/labcluster/go/sums/ (review the diff)")
    b.set_defaults(func=_cmd_build)

    u = sub.add_parser("up", help="start the lab; runs until Ctrl-C/SIGTERM (or --detach)")
    u.add_argument("--kubeconfig", required=True, help="where to write the admin kubeconfig (must not exist)")
    u.add_argument("--kubernetes-version", **kv)
    u.add_argument("--stack", default=build.DEFAULT_STACK, choices=sorted(labcluster.STACKS),
                   help=f"what runs on the lab (default {build.DEFAULT_STACK})")
    u.add_argument("--gpus", type=int, default=2, help="GPU worker nodes, one GPU each (default 2)")
    u.add_argument("--port", type=int, default=0, help="API server port on 127.0.0.1 (default: a free one)")
    u.add_argument("--timeout", type=float, default=240, help="seconds to wait for the lab to be ready")
    u.add_argument("--detach", action="store_true", help="start in the background and return when ready")
    u.set_defaults(func=_cmd_up)

    d = sub.add_parser("down", help="stop a lab started with --detach (or in another terminal)")
    d.add_argument("--kubeconfig", required=True)
    d.add_argument("--timeout", type=float, default=60)
    d.set_defaults(func=_cmd_down)

    s = sub.add_parser("status", help="what is built, what each stack runs, and whether a lab is running")
    s.add_argument("--kubernetes-version", **kv)
    s.add_argument("--kubeconfig")
    s.set_defaults(func=_cmd_status)
    p.set_defaults(func=lambda a: (p.print_help(), 2)[1])
