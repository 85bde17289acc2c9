"""Fetch for accelerator_metrics: find the exporter, scrape it, and run the workload-driven case."""
from __future__ import annotations

import copy
import re
import time
from typing import Any

from .. import k8s
from ..exposition import ExpositionError, parse
from ..httpproxy import (
    api_request,
    parse_service_ref,
    service_proxy_path,
    status_reason,
    url_request,
)
from ..runtime import ProbeContext, ProbeTimeout, pause, wait_until
from .judge import primary_utilization, utilization_change, utilization_series

# The exporter Service when it is not where the option says: a Service whose app labels, or a ServiceMonitor
# selecting it, or its name, say it is an accelerator exporter. The GPU Operator's and dcgm-exporter chart's
# app=nvidia-dcgm-exporter / app.kubernetes.io/name=dcgm-exporter; the ROCm device-metrics-exporter chart's
# app=<release>-amdgpu-metrics-exporter (Service <release>-amd-metrics-exporter-svc, port http 5000); Intel XPU
# Manager's xpumanager.
EXPORTER_PATTERN = re.compile(r"dcgm-exporter|amd(gpu)?-(device-)?metrics-exporter|xpu-?manager|xpum", re.I)
APP_LABELS = ("app", "app.kubernetes.io/name", "app.kubernetes.io/component", "k8s-app")
METRICS_PORT_NAMES = ("gpu-metrics", "metrics", "http-metrics", "http")
GPU_RESOURCE = "nvidia.com/gpu"
GPU_DEVICE_CLASS = "gpu.nvidia.com"
# What a node advertises: extended resources of the vendors' device plugins, and DRA drivers' ResourceSlices.
ACCELERATOR_RESOURCES = ("nvidia.com/gpu", "amd.com/gpu", "gpu.intel.com/i915", "gpu.intel.com/xe")
DRA_GPU_DRIVERS = ("gpu.nvidia.com", "gpu.amd.com", "gpu.intel.com")


def manifest(name: str) -> dict[str, Any]:
    return k8s.manifest(__file__, name)


def fetch(ctx: ProbeContext) -> dict[str, Any]:
    opts = ctx.options
    facts: dict[str, Any] = {
        "utilization_metric_option": opts.get("utilization_metric") or "",
        "memory_metric_option": opts.get("memory_metric") or "",
        "device_label_option": opts.get("device_label") or "",
    }
    facts["advertised"] = advertised_devices(ctx)
    endpoint = resolve_endpoint(ctx)
    facts["endpoint"] = endpoint
    if not endpoint["found"]:
        return facts
    facts["scrape"] = scrape(ctx, endpoint)
    ctx.record(f"GET {endpoint['description']}", facts["scrape"].get("text") or facts["scrape"].get("error", ""),
               kind="metrics", command=f"GET {endpoint.get('path') or endpoint.get('url')}")
    if not facts["scrape"]["ok"] or facts["scrape"].get("truncated"):
        return facts
    try:
        families = parse(facts["scrape"]["text"])
    except ExpositionError:
        return facts  # the judge parses again and reports the reason
    facts["workload"] = workload(ctx, endpoint, families)
    return facts


# -- endpoint ------------------------------------------------------------------------------------
def resolve_endpoint(ctx: ProbeContext) -> dict[str, Any]:
    opts = ctx.options
    path = "/" + (opts.get("metrics_path") or "/metrics").lstrip("/")
    if opts.get("metrics_url"):
        return {"found": True, "kind": "url", "url": opts["metrics_url"], "description": opts["metrics_url"]}
    ref = opts.get("metrics_service") or "gpu-operator/nvidia-dcgm-exporter:9400"
    try:
        ns, name, port = parse_service_ref(ref)
    except ValueError as exc:
        return {"found": False, "reason": f"{exc}; set aiconform_accelerator_metrics_service"}
    svc = ctx.optional(f"get service {ns}/{name}", ctx.core.read_namespaced_service, name, ns)
    how, others = "the configured Service", []
    if svc is None:
        svc, how, others = discover(ctx)
        if svc is not None:
            port = _metrics_port(svc) or port
    if svc is None:
        return {"found": False,
                "reason": (f"no accelerator metrics exporter: Service {ns}/{name} not found, and no Service whose "
                           f"labels ({', '.join(APP_LABELS)}), ServiceMonitor or name matches "
                           f"{EXPORTER_PATTERN.pattern} (install the GPU Operator with dcgmExporter.enabled, AMD's "
                           "device-metrics-exporter or Intel XPU Manager, or set "
                           "aiconform_accelerator_metrics_service/_url)")}
    ctx.record(f"Service {svc.metadata.namespace}/{svc.metadata.name}", svc,
               command=f"kubectl get service -n {svc.metadata.namespace} {svc.metadata.name} -o yaml")
    ports = [p.port for p in svc.spec.ports or []] + [p.name for p in svc.spec.ports or [] if p.name]
    if str(port) not in {str(p) for p in ports}:
        return {"found": False, "reason": f"Service {svc.metadata.namespace}/{svc.metadata.name} has no port {port} "
                                          f"(ports: {', '.join(str(p) for p in ports) or 'none'})"}
    ns, name = svc.metadata.namespace, svc.metadata.name
    out = {"found": True, "kind": "service", "service": f"{ns}/{name}:{port}", "found_by": how,
           "path": service_proxy_path(ns, name, port, path), "description": f"service {ns}/{name}:{port}{path}"}
    if others:
        out["other_candidates"] = others
    return out


def discover(ctx: ProbeContext) -> tuple[Any, str, list[str]]:
    """(Service, how it was found, other candidates): by app labels, then ServiceMonitors, then name."""
    services = ctx.call("list services -A", ctx.core.list_service_for_all_namespaces).items
    found: list[tuple[Any, str]] = []
    for svc in services:
        labels = svc.metadata.labels or {}
        hit = next((f"{k}={labels[k]}" for k in APP_LABELS if EXPORTER_PATTERN.search(labels.get(k) or "")), None)
        if hit:
            found.append((svc, f"label {hit}"))
    sms = ctx.optional("list servicemonitors -A", ctx.custom.list_cluster_custom_object, "monitoring.coreos.com",
                       "v1", "servicemonitors")
    for sm in (sms or {}).get("items") or []:
        meta, spec = sm.get("metadata") or {}, sm.get("spec") or {}
        want = (spec.get("selector") or {}).get("matchLabels") or {}
        words = [meta.get("name", ""), *(meta.get("labels") or {}).values(), *want.values()]
        if not want or not any(EXPORTER_PATTERN.search(str(w)) for w in words):
            continue
        nss = spec.get("namespaceSelector") or {}
        allowed = None if nss.get("any") else set(nss.get("matchNames") or [meta.get("namespace")])
        for svc in services:
            labels = svc.metadata.labels or {}
            matches = all(labels.get(k) == v for k, v in want.items())
            if (allowed is None or svc.metadata.namespace in allowed) and matches:
                found.append((svc, f"ServiceMonitor {meta.get('namespace')}/{meta.get('name')}"))
    for svc in services:
        if EXPORTER_PATTERN.search(svc.metadata.name or ""):
            found.append((svc, "its name"))
    seen: dict[str, tuple[Any, str]] = {}
    for svc, how in found:
        seen.setdefault(f"{svc.metadata.namespace}/{svc.metadata.name}", (svc, how))
    if not seen:
        return None, "", []
    keys = list(seen)
    svc, how = seen[keys[0]]
    ctx.record("accelerator exporter Services found", {k: v[1] for k, v in seen.items()},
               command="kubectl get services,servicemonitors -A")
    return svc, f"{how} (discovered)", keys[1:]


def _metrics_port(svc: Any) -> str | None:
    ports = svc.spec.ports or []
    for p in ports:
        if p.name in METRICS_PORT_NAMES:
            return str(p.port)
    return str(ports[0].port) if ports else None


def scrape(ctx: ProbeContext, endpoint: dict[str, Any]) -> dict[str, Any]:
    timeout = float(ctx.options.get("scrape_timeout") or 30)
    max_bytes = int(ctx.options.get("max_bytes") or 8 << 20)
    if endpoint["kind"] == "url":
        res = url_request(endpoint["url"], timeout=timeout, max_bytes=max_bytes,
                          verify=bool(ctx.conn.tls_verify))
    else:
        res = api_request(ctx, "GET", endpoint["path"], timeout=timeout, max_bytes=max_bytes,
                          what=f"scrape {endpoint['description']} through the API server service proxy")
    out: dict[str, Any] = {"ok": res.ok, "status": res.status, "bytes": len(res.body), "truncated": res.truncated,
                           "max_bytes": max_bytes, "elapsed_s": round(res.elapsed_s, 3),
                           "content_type": res.content_type}
    if res.ok:
        out["text"] = res.text
    else:
        out["error"] = (f"timed out after {timeout:g}s" if res.timed_out else status_reason(res))
    return out


# -- workload-driven case ----------------------------------------------------------------------
def workload(ctx: ProbeContext, endpoint: dict[str, Any], families: list[dict[str, Any]]) -> dict[str, Any]:
    opts = ctx.options
    device_label = opts.get("device_label") or ""
    metric = primary_utilization(families, opts.get("utilization_metric") or "", device_label)
    wl: dict[str, Any] = {"attempted": False, "metric": metric}
    if metric is None:
        wl["skipped_reason"] = "no per-accelerator utilization metric to watch"
        return wl
    mode = opts.get("allocation_mode") or "auto"
    if mode == "none":
        wl["skipped_reason"] = "disabled by aiconform_accelerator_metrics_allocation_mode=none"
        return wl
    allocation, why = choose_allocation(ctx, mode)
    if allocation is None:
        wl["skipped_reason"] = why
        return wl
    wl.update(attempted=True, allocation=allocation, baseline=utilization_series(families, metric, device_label))
    ns = ctx.probe_namespace()
    pod = probe_pod(ctx, ns, allocation)
    wl.update(pod=pod["metadata"]["name"], namespace=ns)
    if allocation == "dra":
        claim = manifest("resourceclaimtemplate.yml")
        ctx.call("create resourceclaimtemplate", ctx.custom.create_namespaced_custom_object, "resource.k8s.io", "v1",
                 ns, "resourceclaimtemplates", claim)
    created = ctx.call(f"create pod {ns}/{pod['metadata']['name']}", ctx.core.create_namespaced_pod, ns, pod)
    ctx.record("compute probe pod (as created)", created, command=f"kubectl create -n {ns} -f compute-probe.yml")
    name = pod["metadata"]["name"]
    status: dict[str, Any] = {}

    def running() -> bool:
        p = ctx.call(f"get pod {ns}/{name}", ctx.core.read_namespaced_pod, name, ns)
        status.update(phase=p.status.phase, node=p.spec.node_name, summary=k8s.pod_state(k8s.plain(p)))
        if p.status.phase in ("Failed", "Succeeded"):
            raise ProbeTimeout(f"compute probe ended {p.status.phase} before it could be measured: {status['summary']}")
        return p.status.phase == "Running"

    try:
        wait_until(running, timeout=float(opts.get("probe_start_timeout") or 300), interval=2.0,
                   what=f"compute probe {ns}/{name} to run", missing=lambda: status.get("summary", "no status yet"))
    except ProbeTimeout as exc:
        wl["timeout"] = str(exc)
        _record_pod(ctx, ns, name)
        return wl
    wl["node"] = status.get("node")
    # A Service proxy reaches one exporter pod at random; the probe's accelerator is reported by the exporter on
    # the probe's node, so scrape that pod (through the pods proxy) when the endpoint is a Service.
    node_endpoint = exporter_on_node(ctx, endpoint, wl["node"]) or endpoint
    wl["scraped"] = node_endpoint["description"]
    window = float(opts.get("utilization_timeout") or 120)
    interval = float(opts.get("sample_interval") or 10)
    wl["window_s"] = window
    wl["samples"] = []
    deadline = time.monotonic() + window
    while True:
        res = scrape(ctx, node_endpoint)
        sample: dict[str, Any] = {"t": round(window - (deadline - time.monotonic()), 1)}
        if res["ok"] and not res["truncated"]:
            try:
                sample["series"] = utilization_series(parse(res["text"]), metric, device_label)
            except ExpositionError as exc:
                sample["error"] = str(exc)
        else:
            sample["error"] = res.get("error") or "truncated"
        wl["samples"].append(sample)
        if utilization_change(wl) or time.monotonic() + interval > deadline:
            break
        pause(interval)
    ctx.record(f"{metric} per accelerator before and while the compute probe ran",
               {"baseline": wl["baseline"], "samples": wl["samples"]}, kind="metrics")
    _record_pod(ctx, ns, name)
    return wl


def exporter_on_node(ctx: ProbeContext, endpoint: dict[str, Any], node: str | None) -> dict[str, Any] | None:
    if endpoint.get("kind") != "service" or not node:
        return None
    ns, name, port = parse_service_ref(endpoint["service"])
    svc = ctx.call(f"get service {ns}/{name}", ctx.core.read_namespaced_service, name, ns)
    selector = ",".join(f"{k}={v}" for k, v in sorted((svc.spec.selector or {}).items()))
    if not selector:
        return None
    pods = ctx.call(f"list pods -n {ns} -l {selector}", ctx.core.list_namespaced_pod, ns, label_selector=selector,
                    field_selector=f"spec.nodeName={node}").items
    pod = next((p for p in pods if p.status.phase == "Running"), None)
    if pod is None:
        return None
    svc_port = next((p for p in svc.spec.ports or [] if str(p.port) == str(port) or p.name == port), None)
    target = svc_port.target_port if svc_port is not None and svc_port.target_port is not None else port
    if not str(target).isdigit():  # a named targetPort: the container port of that name
        target = next((cp.container_port for c in pod.spec.containers for cp in c.ports or [] if cp.name == target),
                      port)
    path = "/" + (ctx.options.get("metrics_path") or "/metrics").lstrip("/")
    return {"found": True, "kind": "pod", "path": f"/api/v1/namespaces/{ns}/pods/{pod.metadata.name}:{target}/proxy{path}",
            "description": f"exporter pod {ns}/{pod.metadata.name} on node {node}"}


def choose_allocation(ctx: ProbeContext, mode: str) -> tuple[str | None, str]:
    """device-plugin when a schedulable node offers nvidia.com/gpu, else DRA when gpu.nvidia.com has devices."""
    if mode in ("auto", "device-plugin"):
        nodes = ctx.call("list nodes", ctx.core.list_node).items
        offering = [n.metadata.name for n in nodes if not n.spec.unschedulable
                    and k8s.count((n.status.allocatable or {}).get(GPU_RESOURCE)) > 0]
        if offering:
            return "device-plugin", f"nodes offering {GPU_RESOURCE}: {', '.join(offering[:5])}"
        if mode == "device-plugin":
            return None, f"no schedulable node has allocatable {GPU_RESOURCE}"
    dc = ctx.optional(f"get deviceclass {GPU_DEVICE_CLASS}", ctx.custom.get_cluster_custom_object,
                      "resource.k8s.io", "v1", "deviceclasses", GPU_DEVICE_CLASS)
    if dc is not None:
        slices = ctx.call("list resourceslices", ctx.custom.list_cluster_custom_object,
                          "resource.k8s.io", "v1", "resourceslices")
        if any((s.get("spec") or {}).get("devices") for s in slices.get("items", [])
               if (s.get("spec") or {}).get("driver") == GPU_DEVICE_CLASS):
            return "dra", f"DRA DeviceClass {GPU_DEVICE_CLASS} with devices"
    return None, (f"no schedulable accelerator: no node has allocatable {GPU_RESOURCE} and no DRA "
                  f"{GPU_DEVICE_CLASS} devices are published")


def probe_pod(ctx: ProbeContext, ns: str, allocation: str) -> dict[str, Any]:
    pod = manifest("compute-probe.yml")
    pod["metadata"]["namespace"] = ns
    container = pod["spec"]["containers"][0]
    container["image"] = ctx.options.get("probe_image") or pod["spec"]["containers"][0]["image"]
    container["args"] = [str(a) for a in container["args"]]
    container["args"][-1] = str(int(ctx.options.get("probe_duration") or 240))
    if allocation == "device-plugin":
        container["resources"]["limits"][GPU_RESOURCE] = "1"
    else:
        pod["spec"]["resourceClaims"] = [{"name": "accelerator", "resourceClaimTemplateName": "accelerator-load"}]
        container["resources"]["claims"] = [{"name": "accelerator"}]
    return copy.deepcopy(pod)


def advertised_devices(ctx: ProbeContext) -> dict[str, dict[str, Any]]:
    """node → {count, sources}: the accelerators each node advertises, physical devices only (NVIDIA time-slicing
    replicas and MIG or partition devices are not counted). The larger of device plugin and DRA counts."""
    out: dict[str, dict[str, Any]] = {}
    for n in ctx.call("list nodes", ctx.core.list_node).items:
        labels, alloc = n.metadata.labels or {}, n.status.allocatable or {}
        count, sources = 0, []
        for res in ACCELERATOR_RESOURCES:
            q = k8s.count(alloc.get(res))
            if res == GPU_RESOURCE and q:
                physical = k8s.count(labels.get("nvidia.com/gpu.count"))
                q = physical or q // max(1, k8s.count(labels.get("nvidia.com/gpu.replicas")) or 1)
            if q:
                count += q
                sources.append(f"{q} {res}")
        if count:
            out[n.metadata.name] = {"count": count, "sources": sources}
    slices = ctx.optional("list resourceslices", ctx.custom.list_cluster_custom_object, "resource.k8s.io", "v1",
                          "resourceslices")
    for node, per in dra_devices_per_node((slices or {}).get("items") or []).items():
        total = sum(per.values())
        if total > (out.get(node) or {}).get("count", 0):
            out[node] = {"count": total, "sources": [f"{v} DRA {k} device(s)" for k, v in sorted(per.items())]}
    if out:
        ctx.record("accelerators advertised per node", out, command="kubectl get nodes -o yaml; kubectl get resourceslices")
    return out


def dra_devices_per_node(slices: list[dict[str, Any]]) -> dict[str, dict[str, int]]:
    """node → driver → whole devices published by the GPU DRA drivers. A partition is not a device: NVIDIA's
    ``type: mig``, AMD's ``type: amdgpu-partition`` (full GPUs are ``gpu`` / ``amdgpu``; Intel sets no type)."""
    out: dict[str, dict[str, int]] = {}
    for sl in slices:
        spec = sl.get("spec") or {}
        if spec.get("driver") not in DRA_GPU_DRIVERS or not spec.get("nodeName"):
            continue
        whole = [d for d in spec.get("devices") or [] if not _partition(d)]
        per = out.setdefault(spec["nodeName"], {})
        per[spec["driver"]] = per.get(spec["driver"], 0) + len(whole)
    return out


def _partition(device: dict[str, Any]) -> bool:
    kind = str(((device.get("attributes") or {}).get("type") or {}).get("string") or "").lower()
    return kind == "mig" or kind.endswith("partition")


def _record_pod(ctx: ProbeContext, ns: str, name: str) -> None:
    pod = ctx.optional(f"get pod {ns}/{name}", ctx.core.read_namespaced_pod, name, ns)
    if pod is not None:
        ctx.record(f"compute probe pod {name}", pod, command=f"kubectl get pod -n {ns} {name} -o yaml")
    events = ctx.optional(f"list events in {ns}", ctx.core.list_namespaced_event, ns)
    if events is not None and events.items:
        lines = [f"{e.type} {e.reason} {e.involved_object.kind}/{e.involved_object.name}: {e.message}"
                 for e in events.items]
        ctx.record(f"events in {ns}", "\n".join(lines),
                   kind="log", command=f"kubectl get events -n {ns}")
