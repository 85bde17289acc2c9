#!/usr/bin/env python3
"""Figures of the lab of real components (`aiconform lab`): build time, start time, memory. Prints; asserts nothing.

  .venv/bin/python benchmarks/lab_bench.py [--starts 3] [--cold-build]

- cached build: `aiconform lab build` when everything is built (what every later run pays);
- cold build (``--cold-build``): the same with an empty Go build cache in a temp dir (module downloads kept), i.e.
  what a fresh machine pays for compiling; takes many minutes on 2 cores;
- start: `aiconform lab up` to ready (API server /readyz, nodes held by kwok), over ``--starts`` runs;
- memory: RSS of every process of the lab (etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kwok, the
  supervisor) right after start and after 20 pods were created and deleted.
"""
from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from aiconform.labcluster import build, cluster  # noqa: E402
from aiconform.toolchain import tool  # noqa: E402


def lab_rss(state: Path) -> dict[str, float]:
    """MiB of resident memory per program of the lab whose command line names its state directory."""
    out: dict[str, float] = {}
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        if not any(str(state).encode() in part for part in cmd):
            continue
        name = Path(cmd[0].decode(errors="replace")).name
        if name.startswith("kube-v") and len(cmd) > 1:
            name = cmd[1].decode()
        elif "python" in name:
            name = "supervisor (python)"
        rss = next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:")), 0)
        out[name] = out.get(name, 0.0) + rss / 1024
    return out


def kubectl(kubeconfig: Path, *args: str, input: str | None = None) -> None:
    subprocess.run([tool("kubectl"), "--kubeconfig", str(kubeconfig), *args], check=True, capture_output=True,
                   text=True, input=input, timeout=300)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--starts", type=int, default=3)
    ap.add_argument("--cold-build", action="store_true")
    args = ap.parse_args()

    t = time.monotonic()
    build.build(out=io.StringIO())
    print(f"cached build (aiconform lab build, all built): {time.monotonic() - t:.1f} s")
    if args.cold_build:
        with tempfile.TemporaryDirectory() as cache, tempfile.TemporaryDirectory() as home:
            env = dict(os.environ, GOCACHE=cache, AICONFORM_LAB_HOME=home)
            t = time.monotonic()
            subprocess.run([sys.executable, "-m", "aiconform", "lab", "build"], env=env, check=True)
            print(f"cold build (empty Go build cache, modules downloaded): {time.monotonic() - t:.1f} s")

    starts, rss_start, rss_after = [], {}, {}
    for i in range(args.starts):
        with tempfile.TemporaryDirectory() as d:
            kc = Path(d) / "kubeconfig"
            t = time.monotonic()
            running = cluster.start(kc, out=io.StringIO())
            starts.append(time.monotonic() - t)
            try:
                if i == 0:
                    time.sleep(5)
                    rss_start = lab_rss(running.state)
                    kubectl(kc, "create", "namespace", "bench")
                    kubectl(kc, "-n", "bench", "create", "deployment", "load", "--image=registry.k8s.io/pause:3.10",
                            "--replicas=20")
                    kubectl(kc, "-n", "bench", "rollout", "status", "deployment/load", "--timeout=180s")
                    kubectl(kc, "delete", "namespace", "bench", "--wait=true", "--timeout=180s")
                    rss_after = lab_rss(running.state)
            finally:
                cluster.stop(running)
    print(f"lab start to ready over {len(starts)} runs: min {min(starts):.1f} s, median "
          f"{statistics.median(starts):.1f} s, max {max(starts):.1f} s")
    print("resident memory (MiB) after start / after 20 pods came and went:")
    for name in sorted(set(rss_start) | set(rss_after)):
        print(f"  {name:28} {rss_start.get(name, 0):7.0f} {rss_after.get(name, 0):7.0f}")
    print(f"  {'total':28} {sum(rss_start.values()):7.0f} {sum(rss_after.values()):7.0f}")
    print(json.dumps({"starts_s": [round(s, 1) for s in starts], "rss_mib_start": round(sum(rss_start.values())),
                      "rss_mib_after": round(sum(rss_after.values()))}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
