#!/usr/bin/env python3
"""Fault matrix (a script, and the engine of tests/e2e/test_fault_matrix.py): every verifier x every API fault.

One SIMULATED cluster (``aiconform sim --scenario conformant-autoscaling``, the lab's), every verifier called
in-process (``runtime.run_verifier``, the code the verify job runs), one cell at a time. For each verifier a clean
baseline run records its API calls (the simulator's request log, by User-Agent) and must come out
``Implemented``; then each fault is injected with the simulator's fault rules into that verifier's calls, from
the moment its first probe object exists (``skip`` = the requests it made before), so the fault lands in the
middle of the flow with something to clean up:

| fault | rule (on the verifier's get/list/create/update/patch calls; deletes and its namespace object spared*) |
|---|---|
| 403 | 403 Forbidden, persistent |
| 404 CRD group | 404 on every path of a CRD group the verifier uses (from its baseline), persistent |
| 429 transient | 429 + Retry-After: 1, twice |
| 429 persistent | 429 + Retry-After: 1, persistent |
| 500 / 503 | persistent (503 without Retry-After) |
| drop | the connection closed without an answer, twice |
| slow | an answer later than the request timeout, once |
| garbage | an HTML page with status 200 instead of JSON, persistent |
| watch expiry | 410 Expired on watch requests: the verifiers make none (checked: the cell says so) |

\\* so the probe's own cleanup can be judged; a fault on cleanup calls is the next run's sweep's job
(``aiconform/verifiers/leftovers.py``, tests/e2e/test_verify_crash.py).

Each cell holds when: the verdict is not ``Not Implemented``/``Partially Implemented`` (an ``error``/``unknown``
whose reasons name the fault, or ``Implemented`` after a transient one), no traceback and no "verifier crashed",
no object labelled with the cell's run id left, and the exit code of a run with that MUST verdict would be 3
(undecided) or 0, never 1. Retries use a shorter policy than the default (2 retries, 8 s budget) to keep it fast.

    .venv/bin/python benchmarks/fault_matrix.py [--only gang_scheduling,...] [--faults 403,500] [--markdown]
"""
from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from aiconform.verifiers import orchestrate, runtime  # noqa: E402

from aiconform import kube  # noqa: E402

SCENARIO = "conformant-autoscaling"
# The verifiers whose functional path the lab scenario exercises (as aiconform.rbac_coverage's lab run, plus
# dra_support, which the v1.36 lab also serves).
VERIFIERS = ("robust_controller", "ai_inference", "gang_scheduling", "secure_accelerator_access",
             "driver_runtime_management", "virtualized_accelerator", "workload_sandboxing", "pod_autoscaling",
             "accelerator_metrics", "ai_service_metrics", "advanced_inference_ingress", "cluster_autoscaling",
             "dra_support")
# The others need a scenario of their own (as in aiconform.rbac_coverage): verifier -> (scenario, server version).
OTHER_SCENARIOS: dict[str, tuple[str, str]] = {
    "gpu_sharing": ("gpu-sharing", "v1.35.2"),
    "high_performance_networking": (str(ROOT / "rbac" / "scenarios" / "dranet-multus.yaml"), "v1.36.1"),
    "disaggregated_inference": ("disaggregated-llm-d", "v1.36.1"),
}
ALL_VERIFIERS = (*VERIFIERS, *OTHER_SCENARIOS)
# Inventory values of the lab (aiconform/lab.py) plus shortened windows: the simulator's controllers are quick.
OPTIONS: dict[str, dict[str, Any]] = {
    "gang_scheduling": {"negative_window": 2, "cpu_request": "2", "negative_parallelism": 10},
    "pod_autoscaling": {"stabilization_window": 2, "control_window": 3},
    "cluster_autoscaling": {"node_pool_label": "kwok-nodegroup=gpu-a", "stability_window": 2,
                            "tolerations": [{"key": "kwok-provider", "operator": "Exists", "effect": "NoSchedule"}],
                            "pending_timeout": 30, "scale_up_timeout": 60, "scale_down_timeout": 60},
    "accelerator_metrics": {"sample_interval": 1},
    "ai_service_metrics": {"query_interval": 1},
}
REQUEST_TIMEOUT = 3
POLICY = kube.RetryPolicy(max_retries=2, max_delay=2.0, default_delay=0.5, budget=8.0)
PROBE_VERBS = ["get", "list", "create", "update", "patch"]
SPARE = r"^(?!/api/v1/namespaces/[^/]+$)"  # not the namespace object itself (create, read, delete of the probe)
GARBAGE = "<html><body><h1>502 Bad Gateway</h1>upstream connect error</body></html>"


@dataclass(frozen=True)
class Fault:
    name: str
    must_pass: bool  # the verdict must stay the baseline's (Implemented): the client rides the fault out
    words: tuple[str, ...]  # one of these must appear in an error verdict's reasons (the fault named)

    def rules(self, skip: int, crd_groups: list[str]) -> list[dict[str, Any]]:
        common = {"path": SPARE, "verb": PROBE_VERBS, "skip": skip}
        if self.name == "403":
            return [{**common, "status": 403}]
        if self.name == "404 CRD group":
            if not crd_groups:
                return []
            groups = "|".join(re.escape(g) for g in crd_groups)
            return [{"path": rf"^/apis/({groups})(/|$)", "verb": PROBE_VERBS, "status": 404,
                     "message": "the server could not find the requested resource"}]
        if self.name == "429 transient":
            return [{**common, "status": 429, "retry_after": 1, "times": 2}]
        if self.name == "429 persistent":
            return [{**common, "status": 429, "retry_after": 1}]
        if self.name in ("500", "503"):
            return [{**common, "status": int(self.name)}]
        if self.name == "drop":
            return [{**common, "drop": True, "times": 2}]
        if self.name == "slow":
            return [{**common, "delay": REQUEST_TIMEOUT + 1.5, "times": 1}]
        if self.name == "garbage":
            return [{**common, "raw": GARBAGE, "content_type": "text/html"}]
        if self.name == "watch expiry":
            return [{"verb": "watch", "status": 410, "message": "too old resource version"}]
        raise ValueError(self.name)


FAULTS = (
    Fault("403", False, ("forbidden", "403")),
    Fault("404 CRD group", False, ("not found", "404", "not served", "could not find")),
    Fault("429 transient", True, ("429",)),
    Fault("429 persistent", False, ("429", "too many")),
    Fault("500", False, ("500",)),
    Fault("503", False, ("503",)),
    Fault("drop", False, ("closed the connection", "connection")),
    Fault("slow", False, ("timed out", "timeout")),
    Fault("garbage", False, ("unexpected response", "could not be judged", "JSON", "decode", "html")),
    Fault("watch expiry", False, ("410",)),
)


@dataclass
class Cell:
    verifier: str
    fault: str
    status: str
    seconds: float
    problems: list[str] = field(default_factory=list)
    reason: str = ""
    note: str = ""

    @property
    def holds(self) -> bool:
        return not self.problems

    def label(self) -> str:
        if self.note:
            return self.note
        text = {"Implemented": "Impl.", "error": "error", "unknown": "Unknown"}.get(self.status, self.status)
        return text if self.holds else f"FAIL: {text}"


class Sim:
    """The simulator process (aiconform.lab.start_sim) and its admin API."""

    def __init__(self, workdir: Path, scenario: str = SCENARIO, kubernetes_version: str | None = None) -> None:
        from aiconform.lab import start_sim
        workdir.mkdir(parents=True, exist_ok=True)
        self.dir = workdir
        self.scenario = scenario
        self.proc, self.url = start_sim(workdir, scenario, kubernetes_version=kubernetes_version, timeout=90)
        self.kubeconfig = workdir / "kubeconfig"

    def admin(self, path: str, body: Any = None, method: str | None = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.url + path, data=data, method=method or ("POST" if data else "GET"),
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=30) as resp:
            return json.loads(resp.read() or b"null")

    def faults(self, rules: list[dict[str, Any]]) -> None:
        if rules:
            self.admin("/_sim/faults", {"rules": rules, "replace": True})
        else:
            self.admin("/_sim/faults", method="DELETE")

    def log(self) -> list[dict[str, Any]]:
        return self.admin("/_sim/requests?log=1")["log"]

    def reset_log(self) -> None:
        self.admin("/_sim/requests", method="DELETE")

    def labelled(self, run_id: str) -> list[str]:
        """Objects labelled with this run id: namespaces and the cluster-scoped Kueue objects."""
        sel = urllib.request.quote(f"{runtime.RUN_LABEL}={runtime.dns_label(run_id)}")
        found = []
        for path in ("/api/v1/namespaces", "/apis/kueue.x-k8s.io/v1beta2/clusterqueues",
                     "/apis/kueue.x-k8s.io/v1beta2/resourceflavors"):
            items = self.admin(f"{path}?labelSelector={sel}").get("items") or []
            found += [f"{path.rsplit('/', 1)[1]}/{i['metadata']['name']}" for i in items]
        return found

    def crd_groups(self) -> set[str]:
        items = self.admin("/apis/apiextensions.k8s.io/v1/customresourcedefinitions").get("items") or []
        return {i["spec"]["group"] for i in items}

    def stop(self) -> None:
        from aiconform.lab import stop
        stop(self.proc)


@dataclass
class Baseline:
    status: str
    seconds: float
    skip: int  # the verifier's probe-verb requests up to and including its first create of a probe object
    crd_groups: list[str]
    watches: int
    requests: int


def _params(sim: Sim, verifier: str, run_id: str) -> dict[str, Any]:
    plans, errors = orchestrate.validate_plans({verifier: OPTIONS.get(verifier, {})}, {"cleanup_timeout": 30})
    if errors:
        raise ValueError("; ".join(errors))
    return {"kubeconfig": str(sim.kubeconfig), "validate_certs": True, "request_timeout": REQUEST_TIMEOUT,
            "run_id": run_id, "options": plans[verifier]}


def _run(sim: Sim, verifier: str, run_id: str) -> tuple[dict[str, Any], float]:
    started = time.monotonic()
    result = runtime.run_verifier(verifier, _params(sim, verifier, run_id)).to_dict()
    return result, time.monotonic() - started


def baseline(sim: Sim, verifier: str, crd_groups: set[str]) -> tuple[Baseline, dict[str, Any]]:
    sim.reset_log()
    result, seconds = _run(sim, verifier, f"base-{verifier}")
    agent = f"(verify/{verifier})"
    mine = [r for r in sim.log() if r["user_agent"].endswith(agent)]
    probe = [r for r in mine if r["method"] in ("GET", "POST", "PUT", "PATCH")
             and not re.match(r"^/api/v1/namespaces/[^/]+$", r["path"])]
    first_create = next((i for i, r in enumerate(probe) if r["method"] == "POST"), len(probe) - 1)
    used = sorted({m.group(1) for r in mine if (m := re.match(r"^/apis/([^/]+)", r["path"]))} & crd_groups)
    watches = sum(1 for r in mine if "watch=" in r["query"] or "/watch/" in r["path"])
    return Baseline(result["status"], seconds, first_create + 1, used, watches, len(mine)), result


def judge_cell(verifier: str, fault: Fault, result: dict[str, Any], left: list[str], seconds: float,
               base_line: Baseline) -> Cell:
    status = result["status"]
    reasons = " ".join(result.get("reasons") or [])
    cell = Cell(verifier, fault.name, status, seconds, reason=reasons[:300])
    if status in ("Not Implemented", "Partially Implemented"):
        cell.problems.append(f"{status} because of the fault: {reasons[:300]}")
    if "Traceback" in json.dumps(result) or "verifier crashed" in reasons:
        cell.problems.append(f"crash: {reasons[:300]}")
    if status == "error" and not any(w.lower() in reasons.lower() for w in fault.words):
        cell.problems.append(f"the error does not name the fault ({'/'.join(fault.words)}): {reasons[:300]}")
    if fault.must_pass and status != base_line.status:
        cell.problems.append(f"a transient fault changed the verdict from {base_line.status} to {status}")
    if left:
        cell.problems.append(f"left behind: {', '.join(left)}")
    # aiconform run's exit code for a MUST with this verdict: 1 is "failed", which a fault must never cause
    if status in ("Not Implemented", "Partially Implemented"):
        cell.problems.append("exit code would be 1 (failed), not 3 (undecided)")
    return cell


def run_cell(sim: Sim, verifier: str, fault: Fault, base_line: Baseline) -> Cell:
    if fault.name == "watch expiry" and not base_line.watches:
        return Cell(verifier, fault.name, base_line.status, 0.0, note="no watch")
    rules = fault.rules(base_line.skip, base_line.crd_groups)
    if not rules:
        return Cell(verifier, fault.name, base_line.status, 0.0, note="no CRD")
    run_id = f"fm-{verifier[:12]}-{re.sub(r'[^a-z0-9]', '', fault.name)}"
    sim.faults(rules)
    try:
        result, seconds = _run(sim, verifier, run_id)
    finally:
        sim.faults([])
    left = sim.labelled(run_id)
    cell = judge_cell(verifier, fault, result, left, seconds, base_line)
    if left:  # the next cell must start clean: remove them the way the next run would
        from aiconform.verifiers import leftovers
        leftovers.sweep({"kubeconfig": str(sim.kubeconfig), "request_timeout": REQUEST_TIMEOUT}, "fault-matrix",
                        cleanup_timeout=30)
    return cell


def run_matrix(sim: Sim, verifiers: tuple[str, ...] = VERIFIERS, faults: tuple[Fault, ...] = FAULTS,
               progress: Any = None) -> tuple[dict[str, Baseline], list[Cell]]:
    saved = kube.DEFAULT_POLICY
    kube.DEFAULT_POLICY = POLICY
    crd_groups = sim.crd_groups()
    baselines: dict[str, Baseline] = {}
    cells: list[Cell] = []
    try:
        for verifier in verifiers:
            b, result = baseline(sim, verifier, crd_groups)
            baselines[verifier] = b
            if progress:
                progress(f"{verifier}: baseline {b.status} in {b.seconds:.1f}s, {b.requests} requests, "
                         f"fault from request {b.skip + 1}, CRD groups {b.crd_groups or '-'}"
                         + ("" if b.status == "Implemented" else f" ({' '.join(result['reasons'])[:300]})"))
            if b.status != "Implemented":
                continue
            for fault in faults:
                cell = run_cell(sim, verifier, fault, b)
                cells.append(cell)
                if progress:
                    progress(f"  {fault.name:<15} {cell.label():<14} {cell.seconds:5.1f}s"
                             + ("" if cell.holds else f"  {'; '.join(cell.problems)}"))
    finally:
        kube.DEFAULT_POLICY = saved
    return baselines, cells


def run_everything(workdir: Path, verifiers: tuple[str, ...] = ALL_VERIFIERS, faults: tuple[Fault, ...] = FAULTS,
                   progress: Any = None) -> tuple[dict[str, Baseline], list[Cell]]:
    """The lab's verifiers on one simulator and, meanwhile (faults are per simulator, so cells do not mix), the
    others each on a simulator of its own scenario, one after the other."""
    from concurrent.futures import ThreadPoolExecutor

    def lab() -> tuple[dict[str, Baseline], list[Cell]]:
        mine = tuple(v for v in verifiers if v not in OTHER_SCENARIOS)
        if not mine:
            return {}, []
        sim = Sim(workdir / "lab")
        try:
            return run_matrix(sim, mine, faults, progress)
        finally:
            sim.stop()

    def others() -> tuple[dict[str, Baseline], list[Cell]]:
        baselines: dict[str, Baseline] = {}
        cells: list[Cell] = []
        for verifier in (v for v in verifiers if v in OTHER_SCENARIOS):
            scenario, version = OTHER_SCENARIOS[verifier]
            sim = Sim(workdir / verifier, scenario, version)
            try:
                b, c = run_matrix(sim, (verifier,), faults, progress)
            finally:
                sim.stop()
            baselines.update(b)
            cells += c
        return baselines, cells

    saved = kube.DEFAULT_POLICY
    kube.DEFAULT_POLICY = POLICY  # before the threads: each run_matrix then saves and restores POLICY
    try:
        with ThreadPoolExecutor(max_workers=2) as pool:
            a, b = pool.submit(lab), pool.submit(others)
            (base_a, cells_a), (base_b, cells_b) = a.result(), b.result()
    finally:
        kube.DEFAULT_POLICY = saved
    order = {v: i for i, v in enumerate(verifiers)}
    baselines = dict(sorted({**base_a, **base_b}.items(), key=lambda kv: order[kv[0]]))
    return baselines, sorted(cells_a + cells_b, key=lambda c: order[c.verifier])


def table(baselines: dict[str, Baseline], cells: list[Cell], faults: tuple[Fault, ...] = FAULTS) -> str:
    by = {(c.verifier, c.fault): c for c in cells}
    head = "| verifier (baseline) | " + " | ".join(f.name for f in faults) + " |"
    lines = [head, "|---" * (len(faults) + 1) + "|"]
    for verifier, b in baselines.items():
        row = [f"`{verifier}` ({b.status}, {b.seconds:.0f}s)"]
        for f in faults:
            c = by.get((verifier, f.name))
            row.append(c.label() if c else "–")
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", help="comma-separated verifier ids")
    ap.add_argument("--faults", help="comma-separated fault names (e.g. 403,'429 transient')")
    args = ap.parse_args()
    verifiers = tuple(args.only.split(",")) if args.only else ALL_VERIFIERS
    faults = tuple(f for f in FAULTS if not args.faults or f.name in args.faults.split(","))
    workdir = Path(tempfile.mkdtemp(prefix="aiconform-faultmatrix-"))
    started = time.monotonic()
    baselines, cells = run_everything(workdir, verifiers, faults, progress=lambda s: print(s, flush=True))
    print()
    others = ", ".join(f"{v}: {Path(sc).stem}" for v, (sc, _) in OTHER_SCENARIOS.items() if v in verifiers)
    print(f"Fault matrix, SIMULATED clusters ({SCENARIO}{'; ' + others if others else ''}), {len(cells)} cells in "
          f"{time.monotonic() - started:.0f}s:")
    print(table(baselines, cells, faults))
    failed = [c for c in cells if not c.holds]
    for c in failed:
        print(f"FAIL {c.verifier} / {c.fault}: {'; '.join(c.problems)}")
    return 1 if failed or any(b.status != "Implemented" for b in baselines.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
