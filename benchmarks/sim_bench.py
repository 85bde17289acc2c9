"""Benchmark of the Kubernetes API simulator (a script, not a test).

Loads 10,000 ConfigMaps, holds 50 concurrent watches open while doing so, and prints requests/second for
create, get and list plus the simulator's RSS. Usage: ``.venv/bin/python benchmarks/sim_bench.py [--objects N]``.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from aiconform.sim import process as sim_process  # noqa: E402


async def run_phase(name: str, n: int, concurrency: int, fn) -> float:
    sem = asyncio.Semaphore(concurrency)

    async def one(i: int) -> None:
        async with sem:
            await fn(i)
    t0 = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(n)))
    dt = time.perf_counter() - t0
    print(f"{name:<34} {n:>6} requests  {n / dt:8.0f} req/s")
    return n / dt


async def bench(url: str, objects: int, watches: int, concurrency: int) -> None:
    base = f"{url}/api/v1/namespaces/default/configmaps"
    received = [0] * watches
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency + watches + 5)) as s:
        async def watch(k: int) -> None:
            async with s.get(base, params={"watch": "true", "timeoutSeconds": "600", "labelSelector": "bench"},
                             timeout=aiohttp.ClientTimeout(total=None)) as r:
                async for _ in r.content:
                    received[k] += 1
        watch_tasks = [asyncio.create_task(watch(k)) for k in range(watches)]
        await asyncio.sleep(0.5)

        async def create(i: int) -> None:
            body = {"apiVersion": "v1", "kind": "ConfigMap",
                    "metadata": {"name": f"cm-{i:05d}", "labels": {"bench": "1", "shard": str(i % 100)}},
                    "data": {"key": "x" * 64}}
            async with s.post(base, json=body) as r:
                assert r.status == 201, await r.text()
                await r.read()

        async def get(i: int) -> None:
            async with s.get(f"{base}/cm-{i % objects:05d}") as r:
                assert r.status == 200
                await r.read()

        async def list_shard(i: int) -> None:
            async with s.get(base, params={"labelSelector": f"shard={i % 100}"}) as r:
                assert r.status == 200
                await r.read()

        async def list_page(i: int) -> None:
            async with s.get(base, params={"limit": "500"}) as r:
                assert r.status == 200
                await r.read()

        await run_phase(f"create ({watches} watches open)", objects, concurrency, create)
        await run_phase("get", 5000, concurrency, get)
        await run_phase("list (labelSelector, 100 items)", 500, concurrency, list_shard)
        await run_phase("list (limit=500 page of 10k)", 200, concurrency, list_page)
        t0 = time.perf_counter()
        async with s.get(base) as r:
            full = json.loads(await r.read())
        print(f"{'list (all ' + str(len(full['items'])) + ' objects)':<34} {1:>6} request   "
              f"{time.perf_counter() - t0:8.2f} s")
        await asyncio.sleep(1.0)
        async with s.get(f"{url}/_sim/stats") as r:
            stats = await r.json()
        print(f"watch events delivered: {sum(received)} over {watches} watches "
              f"(expected {objects * watches}); live watchers {stats['watchers']}")
        print(f"simulator: {stats['objects']} objects, RSS {stats['rss_bytes'] / 2**20:.1f} MiB")
        for t in watch_tasks:
            t.cancel()
        await asyncio.gather(*watch_tasks, return_exceptions=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--objects", type=int, default=10000)
    ap.add_argument("--watches", type=int, default=50)
    ap.add_argument("--concurrency", type=int, default=16)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        proc, url = sim_process.start(Path(d), "empty")
        try:
            asyncio.run(bench(url, args.objects, args.watches, args.concurrency))
        finally:
            sim_process.stop(proc)
    return 0


if __name__ == "__main__":
    sys.exit(main())
