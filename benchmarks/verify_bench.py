#!/usr/bin/env python3
"""Benchmark of the verify phase (a script, not a test): `aiconform run --phase verify` on SIMULATED clusters.

Each cluster is its own ``aiconform sim --scenario conformant`` process. Controller latency is added with the
simulator's fault-injection delays on the requests that start work (the simulator has no per-controller delay
knob yet): creating Pods/Jobs/Deployments answers after --pod-start seconds (pod start), creating an HPA after
--hpa-sync seconds (HPA sync), listing Nodes after --node-join seconds (node join; no verifier waits for a
node yet). Prints:

- one cluster: verify wall time vs the slowest single probe vs the serial sum of the probes, and the wall time
  with --verify-concurrency 1 (really serial);
- wall time for 1, 5 and 20 clusters (ansible forks = clusters);
- per-task overhead (from ansible-runner's job events) and API requests per verify run (counted by the simulator).

    .venv/bin/python benchmarks/verify_bench.py [--clusters 1,5,20] [--only dra_support,...]
"""
from __future__ import annotations

import argparse
import io
import json
import statistics
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from aiconform.lab import start_sim, stop  # noqa: E402
from aiconform.runner.engine import RunOptions, run  # noqa: E402

DEFAULT_ONLY = "dra_support,secure_accelerator_access,gang_scheduling,ai_inference,accelerator_metrics,pod_autoscaling"
# Shortened upstream timeouts (the simulator's controllers are quick) - the e2e tests use the same values.
FAST: dict[str, Any] = {
    "aiconform_cleanup_timeout": 20,
    "aiconform_dra_support_pod_running_timeout": 30, "aiconform_dra_support_log_timeout": 10,
    "aiconform_secure_accelerator_access_pod_running_timeout": 30, "aiconform_secure_accelerator_access_log_timeout": 10,
    "aiconform_secure_accelerator_access_release_timeout": 30,
    "aiconform_gang_scheduling_negative_window": 3, "aiconform_gang_scheduling_positive_timeout": 60,
    "aiconform_gang_scheduling_release_timeout": 30, "aiconform_gang_scheduling_queue_ready_timeout": 30,
    "aiconform_gang_scheduling_cpu_request": "2", "aiconform_gang_scheduling_negative_parallelism": 10,
    "aiconform_ai_inference_gateway_timeout": 30, "aiconform_ai_inference_route_timeout": 30,
    "aiconform_ai_inference_pod_timeout": 60, "aiconform_ai_inference_client_timeout": 30,
    "aiconform_accelerator_metrics_scrape_timeout": 10, "aiconform_accelerator_metrics_probe_start_timeout": 60,
    "aiconform_accelerator_metrics_utilization_timeout": 15, "aiconform_accelerator_metrics_sample_interval": 1,
    "aiconform_pod_autoscaling_stabilization_window": 3, "aiconform_pod_autoscaling_pod_ready_timeout": 60,
    "aiconform_pod_autoscaling_scale_up_timeout": 60, "aiconform_pod_autoscaling_scale_down_timeout": 60,
    "aiconform_pod_autoscaling_control_window": 5,
}


@dataclass
class Sim:
    name: str
    url: str
    directory: Path
    proc: Any

    def admin(self, path: str, body: Any = None, method: str = "GET") -> Any:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.url + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=30) as resp:
            return json.loads(resp.read() or b"null")


def delays(pod_start: float, hpa_sync: float, node_join: float) -> list[dict[str, Any]]:
    rules = []
    if pod_start:
        rules += [{"path": r"/(pods|jobs|deployments)$", "verb": "create", "delay": pod_start}]
    if hpa_sync:
        rules += [{"path": r"/horizontalpodautoscalers$", "verb": "create", "delay": hpa_sync}]
    if node_join:
        rules += [{"path": r"^/api/v1/nodes$", "verb": "list", "delay": node_join}]
    return rules


def start_fleet(n: int, base: Path, rules: list[dict[str, Any]]) -> list[Sim]:
    sims = []
    for i in range(n):
        d = base / f"c{i:02d}"
        d.mkdir(parents=True)
        proc, url = start_sim(d, "conformant", kubernetes_version="v1.35.2", timeout=120)
        sim = Sim(f"c{i:02d}", url, d, proc)
        if rules:
            sim.admin("/_sim/faults", {"rules": rules, "replace": True}, "POST")
        sims.append(sim)
    return sims


def write_inventory(path: Path, sims: list[Sim]) -> None:
    import yaml

    hosts = {s.name: {"ansible_connection": "local", "aiconform_kubeconfig": str(s.directory / "kubeconfig"), **FAST}
             for s in sims}
    path.write_text(yaml.safe_dump({"all": {"hosts": hosts}}))


def events(runner_dir: Path) -> list[dict[str, Any]]:
    out = []
    for f in (runner_dir / "artifacts" / "aiconform" / "job_events").glob("*.json"):
        out.append(json.loads(f.read_text()))
    return sorted(out, key=lambda e: e.get("counter", 0))


def measure(sims: list[Sim], base: Path, only: str, concurrency: int, label: str) -> dict[str, Any]:
    inv = base / f"inv-{label}.yml"
    write_inventory(inv, sims)
    for s in sims:
        s.admin("/_sim/requests", method="DELETE")
    runner_dir = base / f"runner-{label}"
    opts = RunOptions(inventory=str(inv), phases=["verify"], only=only.split(","), forks=max(len(sims), 1),
                      verify_concurrency=concurrency, reports_dir=str(base / f"reports-{label}"),
                      runner_dir=str(runner_dir), fleet=False, tty=False)
    t0 = time.monotonic()
    outcome = run(opts, out=io.StringIO())
    wall = time.monotonic() - t0
    per_cluster = []
    for c in outcome.state.clusters.values():
        results = json.loads((Path(c.run_dir) / "results.json").read_text())["requirements"] if c.run_dir else []
        ran = [r for r in results if r.get("started_at")]
        per_cluster.append({
            "cluster": c.name,
            "statuses": {r["id"]: r["status"] for r in ran},
            "durations": {r["id"]: r["duration_s"] for r in ran},
            "window": (max(r["finished_at"] for r in ran) - min(r["started_at"] for r in ran)) if ran else 0.0,
        })
    evs = events(runner_dir)
    task_durations: dict[str, list[float]] = {}
    for e in evs:
        d = e.get("event_data") or {}
        if e["event"] in ("runner_on_ok", "runner_on_skipped", "runner_on_failed") and d.get("duration") is not None:
            task_durations.setdefault(str(d.get("task")), []).append(float(d["duration"]))
    requests = [s.admin("/_sim/requests")["total"] for s in sims]
    return {"label": label, "wall": wall, "exit": int(outcome.exit), "clusters": per_cluster,
            "tasks": task_durations, "requests": requests}


def overhead(m: dict[str, Any]) -> dict[str, float]:
    tasks = m["tasks"]
    skipped_like = [d for name, ds in tasks.items() for d in ds
                    if name.startswith(("Say why", "Fail when", "Announce", "Validating"))]
    starts = [d for name, ds in tasks.items() for d in ds if name == "Start the planned verifiers"]
    plans = [d for name, ds in tasks.items() for d in ds if name.startswith("Plan the ")]
    return {
        "trivial_task_s": statistics.median(skipped_like) if skipped_like else float("nan"),
        "plan_task_s": statistics.median(plans) if plans else float("nan"),
        "async_start_s": statistics.mean(starts) if starts else float("nan"),
        "preflight_s": statistics.mean(tasks.get("Reach the cluster and choose the requirement set", [float("nan")])),
        "wait_task_s": statistics.mean(tasks.get("Collect the verdicts as they come", [float("nan")])),
        "cleanup_s": statistics.mean(tasks.get("Remove this run's probe namespaces, even after a failure or interruption",
                                               [float("nan")])),
        "report_s": statistics.mean(tasks.get("Write the conformance report", [float("nan")])),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", default=DEFAULT_ONLY, help="requirements verified on the single cluster")
    ap.add_argument("--fleet-only", default="dra_support,gang_scheduling", help="requirements verified in fleets")
    ap.add_argument("--clusters", default="1,5,20")
    ap.add_argument("--pod-start", type=float, default=5.0)
    ap.add_argument("--hpa-sync", type=float, default=10.0)
    ap.add_argument("--node-join", type=float, default=0.0)
    ap.add_argument("--skip-serial", action="store_true")
    ap.add_argument("--json", metavar="FILE", help="also write the raw figures as JSON")
    args = ap.parse_args()
    rules = delays(args.pod_start, args.hpa_sync, args.node_join)
    base = Path(tempfile.mkdtemp(prefix="aiconform-bench-"))
    print(f"SIMULATED clusters (aiconform sim, scenario conformant); delays: pod start {args.pod_start}s, "
          f"HPA sync {args.hpa_sync}s, node join {args.node_join}s; work dir {base}", flush=True)
    figures: dict[str, Any] = {"delays": rules}

    sims = start_fleet(1, base / "single", rules)
    try:
        conc = measure(sims, base, args.only, 8, "single-c8")
        c = conc["clusters"][0]
        durations = c["durations"]
        print(f"\none cluster, {len(durations)} probes, verify concurrency 8 (exit {conc['exit']}):")
        for rid, d in sorted(durations.items(), key=lambda kv: -kv[1]):
            print(f"  {rid:28s} {d:7.1f}s  {c['statuses'][rid]}")
        slowest, serial_sum = max(durations.values(), default=0), sum(durations.values())
        print(f"  verify wall (first probe start -> last finish): {c['window']:.1f}s")
        print(f"  slowest single probe: {slowest:.1f}s   serial sum: {serial_sum:.1f}s   "
              f"ratio wall/slowest: {c['window'] / slowest if slowest else float('nan'):.2f}")
        print(f"  whole `aiconform run --phase verify`: {conc['wall']:.1f}s")
        o = overhead(conc)
        print("  per-task overhead: trivial task {trivial_task_s:.2f}s, plan task {plan_task_s:.2f}s, "
              "async start of the verify job {async_start_s:.2f}s, "
              "preflight {preflight_s:.1f}s, wait task {wait_task_s:.1f}s, cleanup {cleanup_s:.1f}s, "
              "report {report_s:.1f}s".format(**o))
        print(f"  API requests per verify run: {conc['requests'][0]}")
        figures["single"] = {"concurrent": conc, "overhead": o, "slowest": slowest, "serial_sum": serial_sum}
        if not args.skip_serial:
            ser = measure(sims, base, args.only, 1, "single-c1")
            print(f"  with --verify-concurrency 1: verify wall {ser['clusters'][0]['window']:.1f}s, "
                  f"whole run {ser['wall']:.1f}s (exit {ser['exit']})")
            figures["single"]["serial"] = ser
    finally:
        for s in sims:
            stop(s.proc)

    print(f"\nfleets ({args.fleet_only}; forks = clusters):", flush=True)
    figures["fleets"] = {}
    for n in [int(x) for x in args.clusters.split(",") if x]:
        sims = []
        try:
            sims = start_fleet(n, base / f"fleet{n}", rules)
            m = measure(sims, base, args.fleet_only, 8, f"fleet{n}")
            windows = [c["window"] for c in m["clusters"]]
            failed = sum(1 for c in m["clusters"] for s in c["statuses"].values() if s != "Implemented")
            print(f"  {n:3d} cluster(s): wall {m['wall']:7.1f}s, verify window max {max(windows, default=0):6.1f}s, "
                  f"API requests/cluster {statistics.mean(m['requests']):.0f}, exit {m['exit']}, "
                  f"not Implemented {failed}", flush=True)
            figures["fleets"][n] = m
        finally:
            for s in sims:
                stop(s.proc)
    if 1 in figures["fleets"] and 20 in figures["fleets"]:
        print(f"  20 clusters / 1 cluster wall: {figures['fleets'][20]['wall'] / figures['fleets'][1]['wall']:.2f}x")
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
