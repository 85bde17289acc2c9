"""Accelerator device nodes a lab container gets: the DRA allocation, as the driver's CDI spec would inject it.

The lab has no GPUs. What is real is the decision: the real kube-scheduler allocates devices of the lab's
ResourceSlices to ResourceClaims and writes ``status.allocation``. What is emulated is the last step, the DRA
driver's kubelet plugin handing the container runtime a CDI spec that adds the device nodes: a container gets, in
its own ``/dev`` (a tmpfs, as a container runtime makes it, ``programs/launch.py``), an empty file for each device
allocated to a claim it lists in ``resources.claims`` — ``/dev/nvidia<minor>`` plus the control nodes for the
NVIDIA DRA driver, ``/dev/dri/renderD<n>`` and ``/dev/dri/card<n>`` for AMD's and Intel's — and nothing else.
So a probe that lists device nodes sees exactly what the scheduler granted it; nothing here decides who gets what.
The host's own device nodes never reach a pod. One exception, off by default and for tests of isolation: a node
configured as the NVIDIA Container Toolkit's legacy mode (``TOOLKIT_CONFIG`` below) also hands a container the
node's GPUs that its ``NVIDIA_VISIBLE_DEVICES`` names, as that misconfiguration does on a real node.
"""
from __future__ import annotations

import re
from typing import Any

Obj = dict[str, Any]


def _attr(dev: Obj, key: str) -> Any:
    v = (dev.get("attributes") or {}).get(key)
    if isinstance(v, dict):
        return next(iter(v.values()), None)
    return v


def _index(dev: Obj) -> int:
    for key in ("minor", "index", "cardIndex"):
        v = _attr(dev, key)
        if isinstance(v, int) or (isinstance(v, str) and v.isdigit()):
            return int(v)
    m = re.search(r"(\d+)$", dev.get("name", ""))
    return int(m.group(1)) if m else 0


def _nvidia(dev: Obj) -> list[str]:
    return [f"nvidia{_index(dev)}", "nvidiactl", "nvidia-uvm", "nvidia-uvm-tools"]


def _dri(dev: Obj, kfd: bool = False) -> list[str]:
    i = _index(dev)
    render = _attr(dev, "renderIndex")
    render = int(render) if isinstance(render, int) or str(render).isdigit() else 128 + i
    return [f"dri/card{i}", f"dri/renderD{render}", *(["kfd"] if kfd else [])]


# DRA driver -> the device nodes its CDI spec gives a container for one allocated device
DRIVERS = {
    "gpu.nvidia.com": _nvidia,
    "gpu.amd.com": lambda d: _dri(d, kfd=True),
    "gpu.intel.com": _dri,
}


def container_results(pod: Obj, container: Obj, claims: dict[str, Obj], slices: list[Obj]) -> list[Obj]:
    """The devices allocated to ``container`` of ``pod``: its claims (``resources.claims``, optionally one request)
    resolved through ``status.resourceClaimStatuses`` to ResourceClaims (``claims``, by name), their
    ``status.allocation.devices.results`` to the devices of ``slices`` (by driver, pool and name). Each:
    {claim, driver, pool, device, minor (the device's index), nodes (paths under /dev, [] for unknown drivers)}."""
    spec, status = pod.get("spec") or {}, pod.get("status") or {}
    generated = {s.get("name"): s.get("resourceClaimName") for s in status.get("resourceClaimStatuses") or []}
    named = {c.get("name"): c.get("resourceClaimName") for c in spec.get("resourceClaims") or []}
    devices = {(s.get("spec", {}).get("driver"), (s.get("spec", {}).get("pool") or {}).get("name"), d.get("name")): d
               for s in slices for d in s.get("spec", {}).get("devices") or []}
    out: list[Obj] = []
    for ref in (container.get("resources") or {}).get("claims") or []:
        claim_name = named.get(ref.get("name")) or generated.get(ref.get("name"))
        claim = claims.get(claim_name or "")
        if not claim:
            continue
        request = ref.get("request")
        results = ((((claim.get("status") or {}).get("allocation") or {}).get("devices") or {}).get("results") or [])
        for r in results:
            if request and r.get("request", "").split("/")[0] != request:
                continue
            nodes = DRIVERS.get(r.get("driver", ""))
            dev = devices.get((r.get("driver"), r.get("pool"), r.get("device"))) or {"name": r.get("device", "")}
            out.append({"claim": claim_name, "driver": r.get("driver", ""), "pool": r.get("pool", ""),
                        "device": r.get("device", ""), "minor": _index(dev), "nodes": nodes(dev) if nodes else []})
    return out


def container_devices(pod: Obj, container: Obj, claims: dict[str, Obj], slices: list[Obj]) -> list[str]:
    """Paths under ``/dev`` for ``container`` of ``pod``: the device nodes of its allocated devices
    (``container_results``)."""
    out: list[str] = []
    for r in container_results(pod, container, claims, slices):
        out += [n for n in r["nodes"] if n not in out]
    return out


# The NVIDIA Container Toolkit's legacy injection, which a node can have on top of the DRA driver's CDI injection:
# with this key true in the node's /etc/nvidia-container-runtime/config.toml (the toolkit's own default), the
# runtime hands an unprivileged container the GPUs its NVIDIA_VISIBLE_DEVICES names, whatever it was allocated —
# the misconfiguration secure_accelerator_access's env-var bypass probe looks for. A lab node has it when the lab's
# state holds ``nodes/<node>/`` + TOOLKIT_CONFIG with the key true (``toolkit_accepts_envvar``); by default it has
# no such file: only the DRA allocation reaches a container.
TOOLKIT_CONFIG = "etc/nvidia-container-runtime/config.toml"
ACCEPT_ENVVAR = "accept-nvidia-visible-devices-envvar-when-unprivileged"


def toolkit_accepts_envvar(config: str) -> bool:
    """Whether a toolkit config.toml (its text) lets unprivileged containers pick GPUs by NVIDIA_VISIBLE_DEVICES."""
    import tomllib

    try:
        doc = tomllib.loads(config)
    except tomllib.TOMLDecodeError:
        return False
    return doc.get(ACCEPT_ENVVAR) is True


def envvar_devices(value: str | None, node: str, slices: list[Obj]) -> list[str]:
    """Paths under ``/dev`` the legacy toolkit gives a container on ``node`` whose NVIDIA_VISIBLE_DEVICES is
    ``value``: ``all``, or a comma list of indexes, UUIDs or device names; nothing for unset, ``void``, ``none``."""
    if value is None or value.strip() in ("", "void", "none"):
        return []
    wanted = {v.strip() for v in value.split(",")}
    out: list[str] = []
    for s in slices:
        spec = s.get("spec") or {}
        if spec.get("driver") != "gpu.nvidia.com" or spec.get("nodeName") != node:
            continue
        for dev in spec.get("devices") or []:
            keys = {str(_index(dev)), str(_attr(dev, "uuid") or ""), dev.get("name", "")}
            if "all" in wanted or wanted & keys:
                out += [n for n in _nvidia(dev) if n not in out]
    return out
