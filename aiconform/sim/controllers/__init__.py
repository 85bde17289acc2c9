"""Simulated controllers, run as plain reactive functions after each write and on a short periodic tick
(for time-based behaviour such as pods finishing). No threads: each pass runs to completion on the event
loop, so controllers never race with API requests.

Each controller can be switched per scenario (``controllers:`` map), at run time (``POST /_sim/controllers``)
or per object (annotation ``sim.aiconform.io/auto-ready: "false"``). Namespace finalization, ownerReference
garbage collection and CRD establishment belong to the API machinery and are always on.
"""
from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable
from typing import Any

from aiconform.sim.api import Cluster
from aiconform.sim.controllers import (
    amdmetrics,  # noqa: F401 - registers AMD's device-metrics-exporter /metrics behind the services/pods proxy
    autoscaler,
    daemonset,
    dcgm,  # noqa: F401 - registers the DCGM exporter's /metrics behind the services/pods proxy
    deployment,
    devicemanager,
    dra,
    dranet,
    gang,
    gateway,
    gpusharing,
    hpa,
    job,
    karpenter,
    keda,
    kubelet,
    kuberay,
    kueue,
    misc,
    operators,
    prometheus,  # noqa: F401 - registers Prometheus (/api/v1/query, targets) and the ai-metrics stub behind the proxy
    replicaset,
    sandbox,
    scheduler,
    statefulset,
    trainer,
    xpummetrics,  # noqa: F401 - registers Intel XPU Manager's exporter /metrics behind the services/pods proxy
)

log = logging.getLogger(__name__)
Sync = Callable[[Cluster, Any], None]

# Run order within one pass: owners before the objects they create, scheduler before kubelet.
CONTROLLERS: dict[str, Sync] = {
    "deployment": deployment.sync,
    "replicaset": replicaset.sync,
    "statefulset": statefulset.sync,
    "daemonset": daemonset.sync,
    "kueue": kueue.sync,  # before job: stands in for Kueue's mutating webhook (suspends queued Jobs)
    "job": job.sync,
    "gpusharing": gpusharing.sync,  # before scheduler: device-plugin time-slicing config -> node labels/capacity
    "dra": dra.sync,
    "scheduler": scheduler.sync,
    "gang": gang.sync,  # Volcano / KAI / coscheduling: all-or-nothing binding of pods with their schedulerName
    "kubelet": kubelet.sync,
    # after kubelet: GPU Operator ClusterPolicy and Prometheus CR status from their operands' readiness
    "gpuoperator": operators.gpu_operator,
    "prometheusoperator": operators.prometheus_operator,
    "kuberay": kuberay.sync,  # RayCluster children and status (its webhook: admission.py registration)
    "keda": keda.sync,  # before hpa: a ScaledObject's HPA (External metric served by KEDA's metrics server)
    "trainer": trainer.sync,  # a TrainJob's node Job and status (its webhook: admission.py registration)
    "hpa": hpa.sync,  # HorizontalPodAutoscaler on prometheus-adapter custom metrics
    "autoscaler": autoscaler.sync,  # after scheduler: cluster-autoscaler (kwok provider) on Unschedulable pods
    "karpenter": karpenter.sync,  # after scheduler: Karpenter (kwok provider) NodeClaims for Unschedulable pods
    "sandbox": sandbox.sync,  # after kubelet: RuntimeClass handler of running pods (+ isolation probe log producer)
    "devicemanager": devicemanager.sync,  # after kubelet: devices of started containers (+ probe log producer)
    "pvc": misc.pvc,
    "loadbalancer": misc.loadbalancer,
    "apiservice": misc.apiservice,
    "gateway": gateway.sync,  # after loadbalancer: a Gateway is Programmed once its Service has an address
    "dranet": dranet.sync,  # after kubelet and dra: allocated network devices inside pods (+ probe log producer)
}


class ControllerManager:
    NAMES = tuple(CONTROLLERS)
    TICK = 0.25
    MAX_ROUNDS = 30

    def __init__(self, cluster: Cluster, settings: dict[str, bool] | None, kubernetes_version: str) -> None:
        self.cluster = cluster
        self.enabled = {name: True for name in self.NAMES}
        for k, v in (settings or {}).items():
            self.set(k, v)
        m = re.match(r"v?\d+\.(\d+)", kubernetes_version)
        self.minor = int(m.group(1)) if m else 33
        self._scheduled = False
        self._running = False
        self._task: asyncio.Task[None] | None = None
        cluster.on_write = self.kick

    def set(self, name: str, on: bool) -> None:
        if name == "all":
            for n in self.NAMES:
                self.enabled[n] = on
            return
        if name not in self.enabled:
            raise ValueError(f"unknown controller {name!r}; known: {', '.join(self.NAMES)}")
        self.enabled[name] = bool(on)

    def settings(self) -> dict[str, bool]:
        return dict(self.enabled)

    def bind(self, pod: dict[str, Any], node: str | None) -> None:
        if node:
            scheduler.bind(self.cluster, pod, node)

    def kick(self) -> None:
        """Schedule a reconcile pass soon after the current request (coalescing bursts of writes)."""
        if self._scheduled or self._running:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        self._scheduled = True
        loop.call_soon(self._run_scheduled)

    def _run_scheduled(self) -> None:
        self._scheduled = False
        self.run_once()

    def run_once(self) -> None:
        if self._running:
            return
        self._running = True
        try:
            store = self.cluster.store
            for _ in range(self.MAX_ROUNDS):
                before = store.rv
                self.cluster.finalize_namespaces()
                for name, fn in CONTROLLERS.items():
                    if self.enabled.get(name):
                        try:
                            fn(self.cluster, self)
                        except Exception:  # a controller bug must not take the API server down
                            log.exception("simulated controller %s failed", name)
                if store.rv == before:
                    break
        finally:
            self._running = False

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._tick())

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(self.TICK)
            self.run_once()
