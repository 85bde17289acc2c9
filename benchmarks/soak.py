#!/usr/bin/env python3
"""Soak (a script, not a test): N consecutive verify runs against one SIMULATED cluster, looking for growth.

Each run is what the verify job does (``orchestrate.run_all`` over the lab's verifiers, one probe at a time as in
the lab, with the fault matrix's shortened windows), in this one process, with a fresh run id. After each run it
prints: the verdicts that were not ``Implemented``, objects labelled ``app.kubernetes.io/managed-by=aiconform``
still on the cluster (leftovers), the simulator's object and watcher counts and RSS, this process's RSS and
thread count. A leak shows as a column that keeps growing.

    .venv/bin/python benchmarks/soak.py [--runs 50] [--only gang_scheduling,...]
"""
from __future__ import annotations

import argparse
import gc
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import fault_matrix as fm  # noqa: E402
from aiconform.verifiers import orchestrate  # noqa: E402


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def leftovers(sim: fm.Sim) -> list[str]:
    sel = urllib.parse.quote("app.kubernetes.io/managed-by=aiconform")
    found = []
    for path in ("/api/v1/namespaces", "/apis/kueue.x-k8s.io/v1beta2/clusterqueues",
                 "/apis/kueue.x-k8s.io/v1beta2/resourceflavors"):
        found += [f"{path.rsplit('/', 1)[1]}/{i['metadata']['name']}"
                  for i in sim.admin(f"{path}?labelSelector={sel}").get("items") or []]
    return found


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=50)
    ap.add_argument("--only", help="comma-separated verifier ids (default: the lab's 12)")
    args = ap.parse_args()
    verifiers = args.only.split(",") if args.only else list(fm.VERIFIERS)
    plans, errors = orchestrate.validate_plans({v: fm.OPTIONS.get(v, {}) for v in verifiers}, {"cleanup_timeout": 30})
    if errors:
        print("; ".join(errors), file=sys.stderr)
        return 2
    sim = fm.Sim(Path(tempfile.mkdtemp(prefix="aiconform-soak-")))
    connection = {"kubeconfig": str(sim.kubeconfig), "validate_certs": True, "request_timeout": 10}
    print(f"soak: {args.runs} verify runs of {len(verifiers)} verifiers against one SIMULATED cluster ({fm.SCENARIO})")
    print("| run | s | not Implemented | leftovers | sim objects | sim watchers | sim RSS MiB | controller RSS MiB | threads |")
    print("|---|---|---|---|---|---|---|---|---|")
    bad = 0
    first: dict[str, float] = {}
    try:
        for n in range(1, args.runs + 1):
            started = time.monotonic()
            results = orchestrate.run_all(plans, connection, run_id=f"soak-{n:03d}", concurrency=1)
            seconds = time.monotonic() - started
            gc.collect()
            failing = {r: d["status"] for r, d in results.items() if d["status"] != "Implemented"}
            left = leftovers(sim)
            stats = sim.admin("/_sim/stats")
            row = {"objects": float(stats.get("objects", 0)), "watchers": float(stats.get("watchers", 0)),
                   "sim_rss": float(stats.get("rss_bytes") or 0) / 2**20, "rss": rss_mib(),
                   "threads": float(threading.active_count())}
            first = first or row
            bad += bool(failing or left)
            print(f"| {n} | {seconds:.0f} | {', '.join(f'{k}={v}' for k, v in failing.items()) or '-'} | "
                  f"{len(left)}{' ' + ', '.join(left[:3]) if left else ''} | {row['objects']:.0f} | "
                  f"{row['watchers']:.0f} | {row['sim_rss']:.0f} | {row['rss']:.0f} | {row['threads']:.0f} |",
                  flush=True)
    finally:
        sim.stop()
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
