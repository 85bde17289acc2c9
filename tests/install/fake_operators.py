"""Controller-like stand-ins for operator status the simulator does not write (yet).

The GPU Operator reports readiness in ClusterPolicy ``status.state`` and the Prometheus Operator in the
Prometheus CR's ``Available`` condition; the simulator has no controllers for either. This thread plays
those operators during the install tests, so the roles wait on the real signals. Switch it off for a
component (``off``) to prove a never-ready component fails the install naming it.
"""
from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path
from typing import Any

from kubernetes import client, config
from kubernetes.client.exceptions import ApiException


# (group, version, plural, status writer)
def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _cluster_policy_status(_: dict[str, Any]) -> dict[str, Any]:
    return {"state": "ready", "conditions": [
        {"type": "Ready", "status": "True", "reason": "Reconciled", "message": "ClusterPolicy is ready",
         "lastTransitionTime": _now()},
        {"type": "Error", "status": "False", "reason": "Ready", "message": "", "lastTransitionTime": _now()}]}


def _prometheus_status(obj: dict[str, Any]) -> dict[str, Any]:
    gen = obj["metadata"].get("generation", 1)
    return {"availableReplicas": 1, "replicas": 1, "conditions": [
        {"type": t, "status": "True", "reason": "", "observedGeneration": gen, "lastTransitionTime": _now()}
        for t in ("Available", "Reconciled")]}


KINDS: dict[str, tuple[str, str, str, Any]] = {
    "gpu_operator": ("nvidia.com", "v1", "clusterpolicies", _cluster_policy_status),
    "kube_prometheus_stack": ("monitoring.coreos.com", "v1", "prometheuses", _prometheus_status),
}


class FakeOperators(threading.Thread):
    def __init__(self, kubeconfig: Path | str, interval: float = 0.3) -> None:
        super().__init__(daemon=True)
        self.api = client.CustomObjectsApi(config.new_client_from_config(str(kubeconfig)))
        self.interval = interval
        self.off: set[str] = set()
        self._stop_event = threading.Event()

    def stop(self) -> None:
        self._stop_event.set()
        self.join(timeout=5)

    def run(self) -> None:
        while not self._stop_event.wait(self.interval):
            for component, (group, version, plural, status) in KINDS.items():
                if component in self.off:
                    continue
                try:
                    items = self.api.list_cluster_custom_object(group, version, plural)["items"]
                except ApiException:
                    continue  # CRD not installed (yet)
                for obj in items:
                    if obj.get("status", {}).get("conditions"):
                        continue
                    ns = obj["metadata"].get("namespace")
                    body = {"status": status(obj)}
                    try:
                        if ns:
                            self.api.patch_namespaced_custom_object_status(group, version, ns, plural,
                                                                           obj["metadata"]["name"], body)
                        else:
                            self.api.patch_cluster_custom_object_status(group, version, plural,
                                                                        obj["metadata"]["name"], body)
                    except ApiException:
                        pass  # deleted meanwhile; next pass
