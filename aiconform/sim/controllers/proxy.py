"""The API server's proxy subresources for services and pods, answered by simulated workloads.

``/api/v1/namespaces/<ns>/services/[<scheme>:]<name>:<port>/proxy/<path>`` and
``/api/v1/namespaces/<ns>/pods/<name>[:<port>]/proxy/<path>``, as kube-apiserver routes them: a Service
proxy picks one ready endpoint pod of the Service's selector (round robin), and answers 503
``no endpoints available for service "<name>"`` when there is none, as upstream does. What the chosen pod
answers comes from a *backend*: simulated workload behaviour registered by the controller modules that
need it (DCGM exporter, Prometheus, the ai_service_metrics stub). A pod no backend claims refuses the
connection (503 ``connection refused``), which is what a pod without a listening server gives.
"""
from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiconform.sim.api import Cluster
from aiconform.sim.controllers.common import pod_ready
from aiconform.sim.selectors import parse_label_selector, selector_to_string

Obj = dict[str, Any]


@dataclass
class ProxyRequest:
    method: str
    path: str  # the path after /proxy, with a leading slash
    query: dict[str, str]
    body: bytes
    namespace: str
    pod: Obj
    port: int
    service: Obj | None = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class ProxyResponse:
    status: int
    body: bytes
    content_type: str = "text/plain; charset=utf-8"


# A backend answers for the pods it recognises and returns None for the others.
Backend = Callable[[Cluster, ProxyRequest], ProxyResponse | None]
BACKENDS: list[Backend] = []
_round_robin = itertools.count()


def register(backend: Backend) -> Backend:
    if backend not in BACKENDS:
        BACKENDS.append(backend)
    return backend


PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8"


def register_exporter(image_part: str, render: Callable[[Cluster, ProxyRequest], str | None]) -> Backend:
    """A metrics exporter's ``GET /metrics`` for pods with an image containing ``image_part``: ``render`` gives the
    exposition text (None: an empty body); any other path is the exporters' 404."""
    def backend(c: Cluster, req: ProxyRequest) -> ProxyResponse | None:
        if not any(image_part in img for img in container_images(req.pod)):
            return None
        if req.path.rstrip("/") != "/metrics":
            return ProxyResponse(404, b"404 page not found\n")
        text = render(c, req)
        return ProxyResponse(200, (text or "").encode(), PROMETHEUS_TEXT if text else "text/plain; charset=utf-8")
    return register(backend)


def _status(code: int, reason: str, message: str) -> ProxyResponse:
    body = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": message,
            "reason": reason, "code": code}
    return ProxyResponse(code, json.dumps(body).encode(), "application/json")


def is_proxy_path(group: str, rest: list[str]) -> bool:
    return (group == "" and len(rest) >= 5 and rest[0] == "namespaces" and rest[2] in ("services", "pods")
            and rest[4] == "proxy")


def serve(c: Cluster, method: str, rest: list[str], query: dict[str, str], body: bytes,
          headers: dict[str, str] | None = None) -> ProxyResponse:
    """Route one proxy request; ``rest`` is the path after ``/api/v1`` split on ``/``."""
    ns, kind, target, sub = rest[1], rest[2], rest[3], "/" + "/".join(rest[5:])
    parts = target.split(":")
    if kind == "services":
        name, port_ref = (parts[-2], parts[-1]) if len(parts) >= 2 else (parts[0], "")
        svc = c.find("", "services", ns, name)
        if svc is None:
            return _status(404, "NotFound", f'services "{name}" not found')
        port = _service_port(svc, port_ref)
        if port is None:
            return _status(503, "ServiceUnavailable", f'no endpoints available for service "{name}"')
        pods = endpoints(c, svc)
        if not pods:
            return _status(503, "ServiceUnavailable", f'no endpoints available for service "{name}"')
        pod = pods[next(_round_robin) % len(pods)]
        target_port = _target_port(pod, port)
        req = ProxyRequest(method, sub, query, body, ns, pod, target_port, svc, headers or {})
    else:
        name = parts[0]
        pod = c.find("", "pods", ns, name)
        if pod is None:
            return _status(404, "NotFound", f'pods "{name}" not found')
        if (pod.get("status") or {}).get("phase") != "Running":
            return _status(503, "ServiceUnavailable", f"pod {name} is not running")
        port_num = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else _first_port(pod)
        req = ProxyRequest(method, sub, query, body, ns, pod, port_num, None, headers or {})
    for backend in BACKENDS:
        resp = backend(c, req)
        if resp is not None:
            return resp
    ip = (req.pod.get("status") or {}).get("podIP", "")
    return _status(503, "ServiceUnavailable", f"error trying to reach service: dial tcp {ip}:{req.port}: "
                                              "connect: connection refused")


def endpoints(c: Cluster, svc: Obj) -> list[Obj]:
    """Ready, running pods selected by the Service (what its EndpointSlices would list)."""
    selector = (svc.get("spec") or {}).get("selector") or {}
    if not selector:
        return []
    match = parse_label_selector(selector_to_string({"matchLabels": selector}))
    ns = svc["metadata"]["namespace"]
    pods = [p for p in c.objects("", "pods", ns)
            if match(p["metadata"].get("labels") or {}) and (p.get("status") or {}).get("phase") == "Running"
            and pod_ready(p) and not p["metadata"].get("deletionTimestamp")]
    return sorted(pods, key=lambda p: p["metadata"]["name"])


def _service_port(svc: Obj, ref: str) -> dict[str, Any] | None:
    ports = (svc.get("spec") or {}).get("ports") or []
    if not ref:
        return ports[0] if len(ports) == 1 else None
    for p in ports:
        if str(p.get("port")) == ref or p.get("name") == ref:
            return p
    return None


def _target_port(pod: Obj, port: dict[str, Any]) -> int:
    tp = port.get("targetPort", port.get("port"))
    if isinstance(tp, int) or str(tp).isdigit():
        return int(tp)
    for ctr in (pod.get("spec") or {}).get("containers") or []:
        for cp in ctr.get("ports") or []:
            if cp.get("name") == tp:
                return int(cp["containerPort"])
    return int(port.get("port", 0))


def _first_port(pod: Obj) -> int:
    for ctr in (pod.get("spec") or {}).get("containers") or []:
        for cp in ctr.get("ports") or []:
            return int(cp["containerPort"])
    return 80


def container_images(pod: Obj) -> list[str]:
    return [ctr.get("image", "") for ctr in (pod.get("spec") or {}).get("containers") or []]


def pod_env(pod: Obj) -> dict[str, str]:
    return {e["name"]: str(e.get("value", "")) for ctr in (pod.get("spec") or {}).get("containers") or []
            for e in ctr.get("env") or [] if "name" in e}
