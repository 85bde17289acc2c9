"""``aiconform rbac regenerate``: rbac/verify.yaml from the verify runs that together exercise every verifier.

One run cannot do it: the requirement set follows the Kubernetes version (``dra_support`` only up to v1.35, the
SHOULDs from v1.35/v1.36/v1.37), and several verifiers only take their functional path on a scenario that has
what they test (an autoscaler node pool, DRANET NICs, time-sliced GPUs, an llm-d deployment); elsewhere they stop
at detection and make fewer calls. ``COVERAGE_RUNS`` is that list, the one place to extend when a verifier gains
a path. Each run gets its own simulator, ``ansible-playbook conformance.yml --tags verify,<ids>`` as the admin,
and the union of the request logs becomes the bundle. A run whose verifiers do not reach ``Implemented`` did
not exercise its path, so nothing is written then (``--force`` overrides, e.g. to look at a partial diff).
"""
from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from aiconform import PROJECT_ROOT
from aiconform.lab import LAB_VARS, start_sim, stop
from aiconform.toolchain import ansible_env

COVERAGE_SCENARIOS = PROJECT_ROOT / "rbac" / "scenarios"  # scenarios only the coverage runs need
# Per-run client state (discovery caches, ansible temp) must not leak between simulators: same set as the tests'.
_ISOLATED_DIRS = ("TMPDIR", "ANSIBLE_HOME", "ANSIBLE_LOCAL_TEMP", "KUBECACHEDIR", "HELM_CACHE_HOME",
                  "HELM_CONFIG_HOME", "HELM_DATA_HOME")


@dataclass(frozen=True)
class CoverageRun:
    """One verify run: a scenario at an emulated server version, the requirement set and the ids it is for."""

    name: str
    scenario: str
    server_version: str  # aiconform sim --kubernetes-version
    set_version: str  # aiconform_kubernetes_version: which requirement set preflight selects
    requirements: tuple[str, ...]  # --tags verify,<ids>; () = the whole set
    implemented: tuple[str, ...]  # must come out Implemented, or their functional path was not exercised
    host_vars: dict[str, Any] = field(default_factory=dict)
    why: str = ""

    @property
    def tags(self) -> str:
        return ",".join(("verify", *self.requirements))


_V137_ALL = ("accelerator_metrics", "ai_inference", "ai_service_metrics", "cluster_autoscaling", "gang_scheduling",
             "pod_autoscaling", "robust_controller", "secure_accelerator_access", "driver_runtime_management",
             "virtualized_accelerator", "advanced_inference_ingress", "workload_sandboxing")

COVERAGE_RUNS: tuple[CoverageRun, ...] = (
    CoverageRun(
        "lab-v1.37", "conformant-autoscaling", "v1.36.1", "v1.37", (), _V137_ALL, dict(LAB_VARS),
        why="the simulated lab (aiconform/lab.py): every v1.37 verifier, cluster_autoscaling's scale-up/down flow "
            "on node pool gpu-a; gpu_sharing, high_performance_networking and disaggregated_inference only detect "
            "(Not Implemented) here"),
    CoverageRun("dra-v1.35", "conformant", "v1.35.2", "v1.35", ("dra_support",), ("dra_support",),
                why="dra_support is in the sets up to v1.35 only"),
    CoverageRun("dranet", str(COVERAGE_SCENARIOS / "dranet-multus.yaml"), "v1.36.1", "v1.37",
                ("high_performance_networking",), ("high_performance_networking",),
                why="DRANET NICs: claims, secondary interface, transfer between two pods; with a Multus NAD so "
                    "discovery lists NetworkAttachmentDefinitions too"),
    CoverageRun("gpu-sharing", "gpu-sharing", "v1.35.2", "v1.37", ("gpu_sharing",), ("gpu_sharing",),
                why="time-sliced GPUs (GPU Operator ClusterPolicy): pods oversubscribing one GPU"),
    CoverageRun("llm-d", "disaggregated-llm-d", "v1.36.1", "v1.37", ("disaggregated_inference",),
                ("disaggregated_inference",),
                why="llm-d prefill/decode behind agentgateway and an InferencePool"),
    *(CoverageRun(f"gang-{m}", f"conformant-{m}", "v1.36.1", "v1.37", ("gang_scheduling",), ("gang_scheduling",),
                  {"aiconform_gang_scheduling_negative_window": 3, "aiconform_gang_scheduling_cpu_request": "2",
                   "aiconform_gang_scheduling_negative_parallelism": 10},
                  why=f"gang_scheduling through {m}'s PodGroups (the lab's run uses Kueue)")
      for m in ("volcano", "kai", "coscheduling")),
    CoverageRun("karpenter", "karpenter", "v1.36.1", "v1.37", ("cluster_autoscaling",), ("cluster_autoscaling",),
                {"aiconform_cluster_autoscaling_node_pool_label": "karpenter.sh/nodepool=gpu",
                 "aiconform_cluster_autoscaling_scale_up_timeout": 60, "aiconform_cluster_autoscaling_scale_down_timeout": 60,
                 "aiconform_cluster_autoscaling_stability_window": 5},
                why="Karpenter NodePool scaling from zero: the NodeClaim behind the new node"),
    CoverageRun("keda", "keda", "v1.36.1", "v1.37", ("pod_autoscaling",), ("pod_autoscaling",),
                {"aiconform_pod_autoscaling_stabilization_window": 3, "aiconform_pod_autoscaling_control_window": 5},
                why="pod_autoscaling's external-metrics path: KEDA ScaledObject, its HPA, external.metrics.k8s.io, the "
                    "Prometheus Service lookup"),
    CoverageRun("exporter-discovery", "conformant", "v1.36.1", "v1.37", ("accelerator_metrics",),
                ("accelerator_metrics",),
                host_vars={"aiconform_accelerator_metrics_service": "gpu-operator/not-the-exporter:9400",
                           "aiconform_accelerator_metrics_allocation_mode": "none"},
                why="the exporter is not at the configured Service, so it is discovered (Services and "
                    "ServiceMonitors of every namespace)"),
    CoverageRun("monitoring-crds", str(COVERAGE_SCENARIOS / "monitoring-crds.yaml"), "v1.36.1", "v1.37",
                ("ai_service_metrics",), ("ai_service_metrics",),
                why="the stub's PodMonitoring (GKE managed Prometheus) and VMServiceScrape (VictoriaMetrics) besides "
                    "its ServiceMonitor"),
)


@dataclass
class RunResult:
    run: CoverageRun
    statuses: dict[str, str]
    log: list[dict[str, Any]]
    seconds: float
    returncode: int
    output_tail: str

    @property
    def problems(self) -> list[str]:
        return [f"{self.run.name}: {rid} is {self.statuses.get(rid, 'missing')}, not Implemented"
                for rid in self.run.implemented if self.statuses.get(rid) != "Implemented"]


def run_one(run: CoverageRun, workdir: Path, timeout: float = 1500) -> RunResult:
    """Start a simulator, run the verify phase as the admin, return verdicts and the simulator's request log."""
    workdir.mkdir(parents=True, exist_ok=True)
    env = ansible_env()
    for var in _ISOLATED_DIRS:
        (workdir / var.lower()).mkdir(exist_ok=True)
        env[var] = str(workdir / var.lower())
    kubeconfig = workdir / "kubeconfig"
    env.update(KUBECONFIG=str(kubeconfig), K8S_AUTH_KUBECONFIG=str(kubeconfig), ANSIBLE_NOCOLOR="1",
               NO_PROXY="127.0.0.1,localhost", no_proxy="127.0.0.1,localhost")
    start = time.monotonic()
    proc, url = start_sim(workdir, run.scenario, kubernetes_version=run.server_version, timeout=90)
    try:
        host = {"ansible_connection": "local", "ansible_python_interpreter": sys.executable,
                "aiconform_kubeconfig": str(kubeconfig), "aiconform_reports_dir": str(workdir / "reports"),
                "aiconform_kubernetes_version": run.set_version, "aiconform_verify_timeout": int(timeout),
                **run.host_vars}
        inventory = workdir / "inventory.yml"
        inventory.write_text(yaml.safe_dump({"all": {"hosts": {"sim": host}}}))
        play = subprocess.run(["ansible-playbook", "conformance.yml", "-i", str(inventory), "--tags", run.tags],
                              cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=timeout + 300)
        with urllib.request.urlopen(f"{url}/_sim/requests?log=1", timeout=60) as resp:
            log = json.loads(resp.read())["log"]
    finally:
        stop(proc)
    results = workdir / "reports" / "sim" / "latest" / "results.json"
    statuses = ({r["id"]: r["status"] for r in json.loads(results.read_text())["requirements"]}
                if results.is_file() else {})
    return RunResult(run, statuses, log, time.monotonic() - start, play.returncode,
                     (play.stdout + play.stderr)[-3000:])


def regenerate(runs: tuple[CoverageRun, ...] = COVERAGE_RUNS, jobs: int = 2,
               workdir: Path | None = None) -> list[RunResult]:
    """Every coverage run (``jobs`` at a time, longest first: the lab run dominates the wall time)."""
    base = workdir or Path(tempfile.mkdtemp(prefix="aiconform-rbac-"))
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        futures = [pool.submit(run_one, run, base / run.name) for run in runs]
        return [f.result() for f in futures]
