"""Accelerator facts shared by the accelerator and security verifiers (not a requirement itself).

Pure helpers (summaries, allocation-mode detection, probe-log parsing) follow the upstream
``kubernetes-sigs/ai-conformance`` test suite (``test/util_test.go``): the same accelerator configs,
the same DRA usability rules (DeviceClass present, complete current-generation pool with untainted
devices reachable from a Ready, schedulable node), and the same probe output (``RESULT:
ACCELERATOR_COUNT=<n>``). Fetch helpers wrap the API calls so every verifier reads the cluster the
same way.
"""
from __future__ import annotations

import posixpath
import re
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from . import k8s
from .k8s import plain, pod_state  # noqa: F401  (acc.<name> in verifiers)

if TYPE_CHECKING:
    from .runtime import ProbeContext

DRA_GROUP = "resource.k8s.io"
# Newest first: the order in which a client prefers them.
DRA_VERSIONS = ("v1", "v1beta2", "v1beta1", "v1alpha3")
DRA_RESOURCES = ("deviceclasses", "resourceclaims", "resourceclaimtemplates", "resourceslices")
RESULT_PREFIX = "RESULT: ACCELERATOR_COUNT="

ALLOCATION_MODES = ("auto", "dra", "device-plugin")


@dataclass(frozen=True)
class AcceleratorConfig:
    """Upstream ``acceleratorConfigs`` entry (``test/util_test.go``)."""

    device_class: str
    dra_driver: str
    extended_resource: str
    taint_key: str
    device_pattern: str


ACCELERATORS: dict[str, AcceleratorConfig] = {
    "nvidia": AcceleratorConfig(device_class="gpu.nvidia.com", dra_driver="gpu.nvidia.com",
                                extended_resource="nvidia.com/gpu", taint_key="nvidia.com/gpu",
                                device_pattern="/dev/nvidia[0-9]*"),
}


# Other vendors' GPUs, for the verifiers whose probes are vendor-neutral (dra_support, secure_accelerator_access):
# DRA drivers and DeviceClasses as ROCm/k8s-gpu-dra-driver and intel/intel-resource-drivers-for-kubernetes publish
# them, the device plugins' extended resources, and the render node each GPU has under /dev/dri (AMD's
# DRA driver names devices gpu-<card>-<render>; both vendors' containers get the GPU's /dev/dri nodes).
GPU_VENDORS: dict[str, AcceleratorConfig] = {
    **ACCELERATORS,
    "amd": AcceleratorConfig(device_class="gpu.amd.com", dra_driver="gpu.amd.com", extended_resource="amd.com/gpu",
                             taint_key="amd.com/gpu", device_pattern="/dev/dri/renderD[0-9]*"),
    "intel": AcceleratorConfig(device_class="gpu.intel.com", dra_driver="gpu.intel.com",
                               extended_resource="gpu.intel.com/i915", taint_key="gpu.intel.com/i915",
                               device_pattern="/dev/dri/renderD[0-9]*"),
}


def accelerator_config(name: str, known: dict[str, AcceleratorConfig] | None = None) -> AcceleratorConfig | None:
    return (known if known is not None else ACCELERATORS).get(name)


def accelerator_type_facts(opts: dict[str, Any]) -> tuple[dict[str, Any], AcceleratorConfig | None]:
    """The facts a verifier starts from ({accelerator_type[, unknown_accelerator]}) and the type's configuration
    (None: a type aiconform does not know, which the judges turn into Unknown)."""
    facts: dict[str, Any] = {"accelerator_type": opts.get("accelerator_type", "nvidia")}
    cfg = accelerator_config(facts["accelerator_type"])
    if cfg is None:
        facts["unknown_accelerator"] = True
    return facts, cfg


def detect_vendor(requested: str, slices: list[dict[str, Any]], nodes: list[dict[str, Any]],
                  known: dict[str, AcceleratorConfig] | None = None) -> dict[str, Any]:
    """Which accelerator type to test: the inventory's, else the one vendor whose DRA driver publishes
    ResourceSlices or whose extended resource a node advertises. {type, present, how, unknown?}."""
    known = known if known is not None else GPU_VENDORS
    present = [name for name, cfg in known.items()
               if any(s.get("driver") == cfg.dra_driver for s in slices)
               or any(k8s.count((n.get("allocatable") or {}).get(cfg.extended_resource)) > 0 for n in nodes)]
    if requested and requested != "auto":
        return {"type": requested, "present": present, "how": "set in the inventory"}
    if len(present) == 1:
        return {"type": present[0], "present": present, "how": "detected"}
    if not present:  # nothing to test: the default type, whose detection then says what is missing
        return {"type": "nvidia", "present": [], "how": "no accelerator found; the default"}
    return {"type": None, "present": present, "how": "",
            "unknown": f"accelerators of several vendors are present ({', '.join(present)})"}


# ---- manifests (YAML data, filled as dicts) ----------------------------------------------------
def manifest(name: str) -> dict[str, Any]:
    """A fresh copy of one of the accelerator verifiers' shared manifests (``_manifests/``)."""
    return k8s.manifest(__file__, name, "_manifests")


def probe_script(device_pattern: str, *, sleep: bool = True) -> str:
    """The upstream probe (count device nodes matching the pattern) plus the identity lines aiconform
    needs to tell two pods' devices apart: the device nodes and, when the runtime injected it,
    ``nvidia-smi -L`` (UUIDs)."""
    lines = [
        "count=0",
        f"for device in {device_pattern}; do",
        '  [ -e "$device" ] || continue',
        "  count=$((count + 1))",
        '  echo "DEVICE: $device"',
        "done",
        f'echo "{RESULT_PREFIX}$count"',
        "if command -v nvidia-smi >/dev/null 2>&1; then nvidia-smi -L 2>&1 || true; fi",
    ]
    if sleep:
        lines.append("sleep 3600")
    return "\n".join(lines)


def probe_container(name: str, image: str, cfg: AcceleratorConfig, *, sleep: bool = True) -> dict[str, Any]:
    c = manifest("probe-container.yaml")
    c["name"] = name
    c["image"] = image
    c["args"] = [probe_script(cfg.device_pattern, sleep=sleep)]
    return c


def probe_pod(namespace: str, name: str, containers: list[dict[str, Any]], cfg: AcceleratorConfig, *,
              grant: str | None = None, node_name: str | None = None, claim_template: str | None = None,
              labels: dict[str, str] | None = None) -> dict[str, Any]:
    """Upstream ``buildTestPod``: only the first container is granted one accelerator, by DRA claim
    (``grant='dra'``) or by extended-resource limit (``grant='device-plugin'``)."""
    pod = manifest("probe-pod.yaml")
    pod["metadata"].update(name=name, namespace=namespace)
    pod["metadata"].setdefault("labels", {}).update(labels or {})
    spec = pod["spec"]
    spec["containers"] = containers
    spec["tolerations"] = [{"key": cfg.taint_key, "operator": "Exists", "effect": "NoSchedule"}]
    if node_name:
        spec["nodeName"] = node_name
    if grant == "dra":
        spec["resourceClaims"] = [{"name": "claim", "resourceClaimTemplateName": claim_template}]
        containers[0].setdefault("resources", {})["claims"] = [{"name": "claim"}]
    elif grant == "device-plugin":
        res = containers[0].setdefault("resources", {})
        res.setdefault("limits", {})[cfg.extended_resource] = "1"
    elif grant is not None:
        raise ValueError(f"unknown allocation mode {grant!r}")
    return pod


def claim_template(namespace: str, name: str, request: str, device_class: str, api_version: str,
                   count: int = 1) -> dict[str, Any]:
    """A ResourceClaimTemplate in the served version's shape: v1/v1beta2 nest the request under
    ``exactly``; v1beta1/v1alpha3 put deviceClassName on the request itself."""
    body = manifest("claim-template.yaml")
    body["apiVersion"] = f"{DRA_GROUP}/{api_version}"
    body["metadata"].update(name=name, namespace=namespace)
    req: dict[str, Any] = {"name": request}
    exact = {"deviceClassName": device_class, "allocationMode": "ExactCount", "count": count}
    if api_version in ("v1", "v1beta2"):
        req["exactly"] = exact
    else:
        req.update(exact)
    body["spec"]["spec"]["devices"]["requests"] = [req]
    return body


# ---- summaries (what the judge sees) -----------------------------------------------------------
def node_summary(node: Any) -> dict[str, Any]:
    n = plain(node)
    meta, spec, status = n.get("metadata") or {}, n.get("spec") or {}, n.get("status") or {}
    ready = any(c.get("type") == "Ready" and c.get("status") == "True" for c in status.get("conditions") or [])
    labels = meta.get("labels") or {}
    return {
        "name": meta.get("name"),
        "ready": ready,
        "unschedulable": bool(spec.get("unschedulable")),
        "labels": {k: v for k, v in labels.items() if "nvidia.com" in k or k.startswith("feature.node")
                   or k.startswith("node.kubernetes.io") or k.startswith("kubernetes.io/")},
        "all_labels": labels,
        "taints": spec.get("taints") or [],
        "allocatable": {k: str(v) for k, v in (status.get("allocatable") or {}).items() if "/" in k},
        "capacity": {k: str(v) for k, v in (status.get("capacity") or {}).items() if "/" in k},
        "container_runtime_version": (status.get("nodeInfo") or {}).get("containerRuntimeVersion", ""),
        "kernel_version": (status.get("nodeInfo") or {}).get("kernelVersion", ""),
    }


def attribute_value(attr: Any) -> Any:
    """A DRA device attribute is a one-key union (string/int/bool/version)."""
    if isinstance(attr, dict) and len(attr) == 1:
        return next(iter(attr.values()))
    return attr


def device_summary(device: dict[str, Any]) -> dict[str, Any]:
    # v1beta1 nests attributes under "basic"; v1/v1beta2 keep them on the device.
    body = device.get("basic") or device
    return {
        "name": device.get("name"),
        "attributes": {k: attribute_value(v) for k, v in (body.get("attributes") or {}).items()},
        "capacity": {k: (v.get("value") if isinstance(v, dict) else v) for k, v in (body.get("capacity") or {}).items()},
        "taints": body.get("taints") or [],
        "node_name": body.get("nodeName"),
        "all_nodes": body.get("allNodes"),
    }


def slice_summary(obj: dict[str, Any]) -> dict[str, Any]:
    spec = obj.get("spec") or {}
    pool = spec.get("pool") or {}
    return {
        "name": (obj.get("metadata") or {}).get("name"),
        "driver": spec.get("driver"),
        "node_name": spec.get("nodeName"),
        "node_selector": spec.get("nodeSelector"),
        "all_nodes": bool(spec.get("allNodes")),
        "per_device_node_selection": bool(spec.get("perDeviceNodeSelection")),
        "pool": {"name": pool.get("name"), "generation": int(pool.get("generation") or 0),
                 "resource_slice_count": int(pool.get("resourceSliceCount") or 0)},
        "devices": [device_summary(d) for d in spec.get("devices") or []],
    }


def device_class_summary(obj: dict[str, Any]) -> dict[str, Any]:
    spec = obj.get("spec") or {}
    return {"name": (obj.get("metadata") or {}).get("name"),
            "extended_resource_name": spec.get("extendedResourceName"),
            "selectors": [((s.get("cel") or {}).get("expression")) for s in spec.get("selectors") or []]}


# ---- allocation-mode detection (pure; upstream detectAllocationMode) ---------------------------
def _device_blocked(device: dict[str, Any]) -> bool:
    return any(t.get("effect") in ("NoSchedule", "NoExecute") for t in device.get("taints") or [])


def allocatable_devices(slice_: dict[str, Any]) -> list[dict[str, Any]]:
    return [d for d in slice_.get("devices") or [] if not _device_blocked(d)]


def _selector_matches(selector: dict[str, Any] | None, labels: dict[str, str], name: str) -> bool:
    for term in (selector or {}).get("nodeSelectorTerms") or []:
        ok = True
        for expr in term.get("matchExpressions") or []:
            value, op, values = labels.get(expr.get("key", "")), expr.get("operator"), expr.get("values") or []
            ok &= {"In": value in values, "NotIn": value not in values, "Exists": value is not None,
                   "DoesNotExist": value is None}.get(op, False)
        for expr in term.get("matchFields") or []:
            if expr.get("key") == "metadata.name":
                ok &= (name in (expr.get("values") or [])) == (expr.get("operator") == "In")
        if ok:
            return True
    return False


def _first_usable(nodes: list[dict[str, Any]], cfg: AcceleratorConfig) -> str | None:
    """Deterministic pick preferring nodes that advertise the accelerator (upstream firstUsableNode)."""
    if not nodes:
        return None
    ordered = sorted(nodes, key=lambda n: n["name"])
    for n in ordered:
        if k8s.count(n.get("allocatable", {}).get(cfg.extended_resource)) > 0:
            return n["name"]
    return ordered[0]["name"]


def slice_nodes(slice_: dict[str, Any], usable: list[dict[str, Any]], cfg: AcceleratorConfig) -> str | None:
    """The eligible node of a slice (upstream sliceEligibleNode)."""
    by_name = {n["name"]: n for n in usable}
    if slice_.get("node_name"):
        return slice_["node_name"] if slice_["node_name"] in by_name else None
    if slice_.get("node_selector"):
        return _first_usable([n for n in usable if _selector_matches(slice_["node_selector"], n.get("all_labels") or n.get("labels") or {}, n["name"])], cfg)
    if slice_.get("all_nodes"):
        return _first_usable(usable, cfg)
    if slice_.get("per_device_node_selection"):
        for d in allocatable_devices(slice_):
            if d.get("node_name") in by_name:
                return d["node_name"]
            if d.get("all_nodes"):
                return _first_usable(usable, cfg)
    return None


def usable_nodes(nodes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [n for n in nodes if n.get("ready") and not n.get("unschedulable")]


def dra_usable(cfg: AcceleratorConfig, device_classes: list[dict[str, Any]], slices: list[dict[str, Any]],
               nodes: list[dict[str, Any]], device_class: str | None = None) -> dict[str, Any]:
    """Upstream checkDRAUsable: returns {usable, node, slice, reason, pools}."""
    wanted = device_class or cfg.device_class
    if not any(dc.get("name") == wanted for dc in device_classes):
        return {"usable": False, "node": None, "slice": None,
                "reason": f"DeviceClass {wanted} does not exist (is a DRA driver installed?)"}
    pools: dict[str, dict[str, Any]] = {}
    driver_slices = [s for s in slices if s.get("driver") == cfg.dra_driver]
    for s in driver_slices:
        p, name = s["pool"], s["pool"]["name"]
        cur = pools.get(name)
        if cur is None or p["generation"] > cur["generation"]:
            pools[name] = {"generation": p["generation"], "expected": p["resource_slice_count"], "observed": 1,
                           "consistent": True}
        elif p["generation"] == cur["generation"]:
            cur["observed"] += 1
            cur["consistent"] &= p["resource_slice_count"] == cur["expected"]

    def pool_ok(name: str) -> bool:
        p = pools.get(name)
        return bool(p and p["consistent"] and p["expected"] > 0 and p["observed"] == p["expected"])

    usable = usable_nodes(nodes)
    saw = False
    for s in driver_slices:
        if s["pool"]["generation"] < pools[s["pool"]["name"]]["generation"] or not pool_ok(s["pool"]["name"]) \
                or not allocatable_devices(s):
            continue
        saw = True
        node = slice_nodes(s, usable, cfg)
        if node:
            return {"usable": True, "node": node, "slice": s["name"], "reason": ""}
    if saw:
        return {"usable": False, "node": None, "slice": None,
                "reason": f"ResourceSlices for driver {cfg.dra_driver} exist, but none is reachable from a Ready, "
                          "schedulable node"}
    return {"usable": False, "node": None, "slice": None,
            "reason": f"no complete current-generation ResourceSlice with allocatable devices found for driver "
                      f"{cfg.dra_driver}"}


def device_plugin_usable(cfg: AcceleratorConfig, nodes: list[dict[str, Any]]) -> dict[str, Any]:
    for n in sorted(usable_nodes(nodes), key=lambda n: n["name"]):
        if k8s.count(n.get("allocatable", {}).get(cfg.extended_resource)) > 0:
            return {"usable": True, "node": n["name"], "reason": ""}
    return {"usable": False, "node": None,
            "reason": f"no schedulable Ready node advertises allocatable {cfg.extended_resource}"}


def _dra_backed(cfg: AcceleratorConfig, device_classes: list[dict[str, Any]]) -> str:
    for dc in device_classes:
        if dc.get("extended_resource_name") == cfg.extended_resource:
            return (f"DeviceClass {dc['name']} maps extended resource {cfg.extended_resource} to DRA "
                    f"(spec.extendedResourceName), so {cfg.extended_resource} requests may be satisfied by DRA "
                    "instead of the device plugin")
    return ""


def detect_allocation_mode(requested: str, cfg: AcceleratorConfig, device_classes: list[dict[str, Any]],
                           slices: list[dict[str, Any]], nodes: list[dict[str, Any]]) -> dict[str, Any]:
    """Upstream detectAllocationMode. Returns {mode, node, error, ambiguous}."""
    dra = dra_usable(cfg, device_classes, slices, nodes)
    dp = device_plugin_usable(cfg, nodes)
    out: dict[str, Any] = {"requested": requested, "mode": None, "node": None, "error": "", "ambiguous": False,
                           "dra": dra, "device_plugin": dp}
    if requested == "dra":
        if dra["usable"]:
            out.update(mode="dra", node=dra["node"])
        else:
            out["error"] = f"allocation mode 'dra' requested but DRA is not usable: {dra['reason']}"
    elif requested == "device-plugin":
        backed = _dra_backed(cfg, device_classes)
        if not dp["usable"]:
            out["error"] = f"allocation mode 'device-plugin' requested but no device-plugin capacity found: {dp['reason']}"
        elif backed:
            out.update(error=f"allocation mode 'device-plugin' requested but it would not be deterministic: {backed}",
                       ambiguous=True)
        else:
            out.update(mode="device-plugin", node=dp["node"])
    elif requested == "auto":
        if dra["usable"]:
            out.update(mode="dra", node=dra["node"])
        elif dp["usable"]:
            backed = _dra_backed(cfg, device_classes)
            if backed:
                out.update(error=f"device-plugin fallback would not be deterministic: {backed}", ambiguous=True)
            else:
                out.update(mode="device-plugin", node=dp["node"])
        else:
            out["error"] = (f"no usable accelerator allocation mechanism found. DRA: {dra['reason']}. Device plugin: "
                            f"{dp['reason']}. Ensure a DRA driver advertises ResourceSlices or a device plugin "
                            f"advertises allocatable {cfg.extended_resource} on a schedulable node")
    else:
        out["error"] = f"invalid allocation_mode {requested!r}; supported values: {', '.join(ALLOCATION_MODES)}"
    return out


def allocatable_total(mode: str, cfg: AcceleratorConfig, slices: list[dict[str, Any]],
                      nodes: list[dict[str, Any]]) -> int:
    """How many accelerators the cluster could give at once (to know whether two pods fit)."""
    usable = usable_nodes(nodes)
    if mode == "dra":
        return sum(len(allocatable_devices(s)) for s in slices
                   if s.get("driver") == cfg.dra_driver and slice_nodes(s, usable, cfg))
    return sum(k8s.count(n.get("allocatable", {}).get(cfg.extended_resource)) for n in usable)


# ---- probe logs (pure) -------------------------------------------------------------------------
_UUID = re.compile(r"\(UUID:\s*((?:GPU|MIG)-[0-9A-Za-z-]+)\)")


def parse_probe_log(text: str) -> dict[str, Any]:
    """What a probe container reported. ``count`` follows upstream's exact-line rule; the older
    FOUND/MISSING lines are understood too."""
    count: int | None = None
    found: bool | None = None
    devices: list[str] = []
    uuids: list[str] = []
    for raw in (text or "").splitlines():
        line = raw.strip()
        if line.startswith(RESULT_PREFIX) and line[len(RESULT_PREFIX):].isdigit():
            count = int(line[len(RESULT_PREFIX):])
        elif line == "RESULT: ACCELERATOR_FOUND":
            found = True
        elif line == "RESULT: ACCELERATOR_MISSING":
            found = False
        elif line.startswith("DEVICE: "):
            devices.append(line[len("DEVICE: "):])
        m = _UUID.search(line)
        if m:
            uuids.append(m.group(1))
    if found is None and count is not None:
        found = count > 0
    return {"count": count, "found": found, "devices": devices, "uuids": uuids}


def trim(text: str, limit: int = 4000) -> str:
    return text if len(text) <= limit else text[:limit] + f"\n... [{len(text) - limit} characters trimmed]\n"


# ---- fetch helpers -----------------------------------------------------------------------------
def dra_discovery(ctx: ProbeContext) -> dict[str, Any]:
    """Which resource.k8s.io versions the server serves, and which resources each version has."""
    group = ctx.api_group(DRA_GROUP)
    if group is None:
        return {"served": False, "versions": [], "preferred": None, "resources": {}}
    versions = [v.get("version") for v in (group or {}).get("versions") or [] if v.get("version")]
    preferred = ((group or {}).get("preferredVersion") or {}).get("version")
    resources: dict[str, list[str]] = {}
    for v in versions:
        rl = ctx.api_resources(DRA_GROUP, v)
        resources[v] = sorted(r["name"] for r in (rl or {}).get("resources") or [] if "/" not in r.get("name", ""))
    return {"served": bool(versions), "versions": versions, "preferred": preferred, "resources": resources}


def client_version(discovery: dict[str, Any]) -> str | None:
    """The newest served DRA version aiconform speaks."""
    for v in DRA_VERSIONS:
        if v in discovery.get("versions", []):
            return v
    return None


def list_dra(ctx: ProbeContext, version: str, plural: str) -> list[dict[str, Any]]:
    data = ctx.call(f"list {plural}.{DRA_GROUP}/{version}", ctx.custom.list_cluster_custom_object,
                    DRA_GROUP, version, plural)
    return list((data or {}).get("items") or [])


def dra_inventory(ctx: ProbeContext) -> tuple[dict[str, Any], str | None, list[dict[str, Any]], list[dict[str, Any]]]:
    """DRA discovery, the version this client speaks, DeviceClass and ResourceSlice summaries (empty without DRA)."""
    disc = dra_discovery(ctx)
    version = client_version(disc)
    if not version:
        return disc, None, [], []
    return (disc, version, [device_class_summary(o) for o in list_dra(ctx, version, "deviceclasses")],
            [slice_summary(o) for o in list_dra(ctx, version, "resourceslices")])


def list_nodes(ctx: ProbeContext) -> list[dict[str, Any]]:
    nodes = ctx.call("list nodes", ctx.core.list_node)
    return [node_summary(n) for n in nodes.items]


def device_path_matcher(cfg: AcceleratorConfig) -> Callable[[str], bool]:
    """Whether a hostPath gives a pod the accelerator's device nodes: ``/dev`` itself, the devices' directory
    (``/dev/dri``), or a path under the pattern's literal prefix (``/dev/nvidia0``, ``/dev/nvidiactl``,
    ``/dev/nvidia-uvm``; ``/dev/dri/renderD128``)."""
    literal = re.split(r"[\[*?]", cfg.device_pattern, maxsplit=1)[0]
    directory = posixpath.dirname(literal)

    def matches(path: str) -> bool:
        p = posixpath.normpath(path or "/")
        return p == "/dev" or p == directory or p.startswith(literal)
    return matches


def hostpath_device_mounts(pods: list[dict[str, Any]], cfg: AcceleratorConfig) -> list[dict[str, Any]]:
    """Pods that mount the accelerator's device nodes from the host (``hostPath``), outside device allocation —
    the check NVIDIA's AICR validator makes of its probe pod, applied to every pod of the cluster. Each entry says
    whether a container of the pod is privileged (the accelerator stack's own driver, device plugin, DRA kubelet
    plugin and exporter pods are, and need the devices) or not (a workload reaching devices it was not granted)."""
    matches = device_path_matcher(cfg)
    found = []
    for pod in pods:
        meta, spec = pod.get("metadata") or {}, pod.get("spec") or {}
        paths = sorted({(v.get("hostPath") or {}).get("path", "") for v in spec.get("volumes") or []
                        if v.get("hostPath") and matches((v.get("hostPath") or {}).get("path", ""))})
        if not paths:
            continue
        containers = [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]
        privileged = any(((c.get("securityContext") or {}).get("privileged")) for c in containers)
        found.append({"namespace": meta.get("namespace", ""), "pod": meta.get("name", ""), "paths": paths,
                      "privileged": bool(privileged)})
    return found


def server_version(ctx: ProbeContext) -> dict[str, Any]:
    data = ctx.raw_get("/version", what="GET /version")
    minor = re.match(r"(\d+)", str((data or {}).get("minor", "")))
    return {"git_version": (data or {}).get("gitVersion", ""), "major": str((data or {}).get("major", "")),
            "minor": int(minor.group(1)) if minor else None}


def pod_dict(ctx: ProbeContext, namespace: str, name: str) -> dict[str, Any] | None:
    pod = ctx.optional(f"read pod {namespace}/{name}", ctx.core.read_namespaced_pod, name, namespace)
    return plain(pod) if pod is not None else None


def wait_running(ctx: ProbeContext, namespace: str, name: str, timeout: float, interval: float = 2.0) -> dict[str, Any]:
    """Upstream runTestPod's wait (poll 2 s, up to 1 m by default). Raises ProbeTimeout."""
    from .runtime import wait_until
    last: dict[str, Any] = {}

    def running() -> dict[str, Any] | None:
        pod = pod_dict(ctx, namespace, name)
        last["pod"] = pod
        return pod if pod and (pod.get("status") or {}).get("phase") == "Running" else None

    return wait_until(running, timeout=timeout, interval=interval, what=f"pod {name} to be Running",
                      missing=lambda: pod_state(last.get("pod")))


def read_log(ctx: ProbeContext, namespace: str, name: str, container: str) -> str:
    return _read_log(ctx, namespace, name, container)[0]


def _read_log(ctx: ProbeContext, namespace: str, name: str, container: str) -> tuple[str, str]:
    """(log text, "" or why it could not be read): 400/404 are a not-yet; forbidden/5xx propagate."""
    from ..kube import ClusterError
    try:
        return str(ctx.call(f"read log of {namespace}/{name}/{container}", ctx.core.read_namespaced_pod_log,
                            name, namespace, container=container)), ""
    except ClusterError as exc:
        if exc.status in (400, 404):
            return "", str(exc)
        raise


def wait_for_log(ctx: ProbeContext, namespace: str, name: str, container: str, timeout: float,
                 done: Callable[[str], bool], interval: float = 2.0) -> tuple[str, bool]:
    """Poll a probe container's log until ``done(text)`` or ``timeout``; returns (text, timed out).

    A log that could never be read (every read refused, e.g. "no logs found for container" from a kubelet that keeps
    no container output, as kwok's) is not a platform finding: that raises ``ClusterError``, so the verdict is
    ``error`` naming the refusal, never Not Implemented. A container still starting stays a timeout finding.
    """
    from ..kube import ClusterError
    from .runtime import pause

    deadline = time.monotonic() + timeout
    ever_read = False
    while True:
        text, refused = _read_log(ctx, namespace, name, container)
        ever_read = ever_read or not refused
        if done(text):
            return text, False
        if time.monotonic() >= deadline:
            if not ever_read and refused and "waiting to start" not in refused and "ContainerCreating" not in refused:
                raise ClusterError(f"could not read the output of probe {namespace}/{name}/{container} for "
                                   f"{timeout:g}s ({refused}); aiconform needs it to decide", kind="error")
            return text, True
        pause(min(interval, max(0.05, deadline - time.monotonic())))


def poll_probe_log(ctx: ProbeContext, namespace: str, name: str, container: str, timeout: float,
                   interval: float = 2.0) -> dict[str, Any]:
    """Log polling every 2 s up to ``timeout`` until the probe printed its RESULT line (see ``wait_for_log``)."""
    def done(text: str) -> bool:
        parsed = parse_probe_log(text)
        return parsed["count"] is not None or parsed["found"] is not None

    text, timed_out = wait_for_log(ctx, namespace, name, container, timeout, done, interval)
    parsed = parse_probe_log(text)
    return {**parsed, "log": trim(text),
            "timeout": f"timed out after {timeout:g}s waiting for a RESULT line in the log of {name}/{container}"
            if timed_out else ""}


def claims_of_pod(ctx: ProbeContext, namespace: str, pod: dict[str, Any], version: str) -> list[dict[str, Any]]:
    """The pod's generated ResourceClaims with their allocation and reservation."""
    out = []
    for cs in (pod.get("status") or {}).get("resourceClaimStatuses") or []:
        name = cs.get("resourceClaimName")
        if not name:
            continue
        claim = ctx.optional(f"read resourceclaim {namespace}/{name}", ctx.custom.get_namespaced_custom_object,
                             DRA_GROUP, version, namespace, "resourceclaims", name)
        if claim is not None:
            out.append(claim_summary(claim))
    return out


def claim_summary(claim: dict[str, Any]) -> dict[str, Any]:
    st = claim.get("status") or {}
    alloc = st.get("allocation") or {}
    results = (alloc.get("devices") or {}).get("results") or []
    return {
        "name": (claim.get("metadata") or {}).get("name"),
        "allocated": bool(alloc),
        "devices": [{"driver": r.get("driver"), "pool": r.get("pool"), "device": r.get("device"),
                     "request": r.get("request")} for r in results],
        "reserved_for": [{"resource": r.get("resource"), "name": r.get("name"), "uid": r.get("uid")}
                         for r in st.get("reservedFor") or []],
    }


def find_device(slices: list[dict[str, Any]], driver: str, pool: str, device: str) -> dict[str, Any] | None:
    for s in slices:
        if s.get("driver") == driver and s["pool"]["name"] == pool:
            for d in s.get("devices") or []:
                if d.get("name") == device:
                    return {**d, "slice": s["name"], "slice_node": s.get("node_name")}
    return None


def delete_pod_and_wait(ctx: ProbeContext, namespace: str, name: str, version: str | None, timeout: float) -> str:
    """Upstream deletePodAndWait: the pod is gone and its generated claims released (so the next
    subtest does not race a single-accelerator node). Returns '' or what was still held."""
    from .runtime import ProbeTimeout, wait_until
    pod = pod_dict(ctx, namespace, name)
    claim_names = [cs.get("resourceClaimName") for cs in ((pod or {}).get("status") or {}).get("resourceClaimStatuses") or []
                   if cs.get("resourceClaimName")]
    ctx.optional(f"delete pod {namespace}/{name}", ctx.core.delete_namespaced_pod, name, namespace,
                 grace_period_seconds=0)
    try:
        wait_until(lambda: pod_dict(ctx, namespace, name) is None, timeout=timeout, interval=1.0,
                   what=f"pod {name} to be deleted")
        if version:
            for cn in claim_names:
                def released(cn: str = cn) -> bool:
                    c = ctx.optional(f"read resourceclaim {namespace}/{cn}", ctx.custom.get_namespaced_custom_object,
                                     DRA_GROUP, version, namespace, "resourceclaims", cn)
                    return c is None or not (c.get("status") or {}).get("allocation")
                wait_until(released, timeout=timeout, interval=1.0, what=f"ResourceClaim {cn} to be released")
    except ProbeTimeout as exc:
        return str(exc)
    return ""


def as_dict(cfg: AcceleratorConfig) -> dict[str, str]:
    return asdict(cfg)
