"""Preflight: reach the cluster, learn its version, choose the requirement set and this run's selection."""
from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Any

from . import engines
from .kube import ClusterError, connect, describe_error, get_json

_MINOR = re.compile(r"^v?(\d+)\.(\d+)")


def kubernetes_minor(version: str) -> str:
    """'v1.35.3-eks-abc' → 'v1.35'."""
    m = _MINOR.match(str(version).strip())
    if not m:
        raise ValueError(f"not a Kubernetes version: {version!r} (expected e.g. v1.35 or v1.35.3)")
    return f"v{int(m.group(1))}.{int(m.group(2))}"


def run_id(at: datetime | None = None) -> str:
    return (at or datetime.now(timezone.utc)).strftime("%Y%m%dT%H%M%SZ")


def select(requirement_ids: list[str], *, run_tags: list[str], skip_tags: list[str],
           only: list[str] | None) -> list[str]:
    """Requirements this run verifies: inventory's list, else the ids named as tags, else all."""
    chosen = [r for r in requirement_ids if not only or r in only]
    if any(r in run_tags for r in requirement_ids):
        chosen = [r for r in chosen if r in run_tags]
    return [r for r in chosen if r not in skip_tags]


def gather(params: dict[str, Any]) -> dict[str, Any]:
    """Facts about the cluster; never raises for cluster problems (they are returned as 'error')."""
    facts: dict[str, Any] = {
        "name": params.get("cluster_name") or "",
        "reachable": False,
        "simulated": bool(params.get("simulated")),
        "tls_verify": params.get("validate_certs", True) is not False,
    }
    if facts["simulated"]:
        facts["engine"] = engines.engine_of({"simulated": True, "engine": params.get("engine")})
        facts["engine_label"] = engines.label(facts)
        if params.get("engine_components"):  # the lab: which components are real, which emulated
            facts["engine_components"] = [str(c) for c in params["engine_components"]]
    try:
        conn = connect(params, component="preflight")
    except ClusterError as exc:
        facts["error"] = str(exc)
        return facts
    facts["api_server"] = conn.host
    facts["tls_verify"] = conn.tls_verify
    try:
        try:
            info = get_json(conn.api, "/version", conn.request_timeout)
            facts["server_version"] = str(info["gitVersion"])
        except Exception as exc:  # noqa: BLE001
            raise describe_error(exc, "read the server version (GET /version)", conn.host) from exc
        facts["platform"] = str(info.get("platform") or "")
        try:
            nodes = get_json(conn.api, "/api/v1/nodes", conn.request_timeout).get("items") or []
            facts["nodes"] = _node_summary(nodes)
        except Exception as exc:  # noqa: BLE001 - a verify-only identity may not list nodes
            facts["nodes"] = {"error": str(describe_error(exc, "list nodes", conn.host))}
        facts["reachable"] = True
    except ClusterError as exc:
        facts["error"] = str(exc)
    finally:
        conn.close()
    return facts


def _node_summary(nodes: list[dict[str, Any]]) -> dict[str, Any]:
    def ready(node: dict[str, Any]) -> bool:
        return any(c.get("type") == "Ready" and c.get("status") == "True"
                   for c in (node.get("status") or {}).get("conditions") or [])

    def gpus(node: dict[str, Any]) -> int:
        return int(((node.get("status") or {}).get("allocatable") or {}).get("nvidia.com/gpu", "0") or 0)

    infos = [(n.get("status") or {}).get("nodeInfo") or {} for n in nodes]
    gpu_nodes = [n for n in nodes if gpus(n) > 0]
    return {
        "total": len(nodes),
        "ready": sum(1 for n in nodes if ready(n)),
        "accelerator_nodes": len(gpu_nodes),
        "accelerators": sum(gpus(n) for n in gpu_nodes),
        "kubelet_versions": sorted({i["kubeletVersion"] for i in infos if i.get("kubeletVersion")}),
        "container_runtimes": sorted({i["containerRuntimeVersion"] for i in infos if i.get("containerRuntimeVersion")}),
    }


def plan(cluster: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    """The run: id, requirement set of the cluster's minor (or the inventory override) and selection."""
    from . import catalog

    override = params.get("kubernetes_version")
    source = override or cluster.get("server_version")
    run: dict[str, Any] = {"id": run_id(), "started_at": datetime.now(timezone.utc).isoformat(),
                           "requirement_set": [], "selected": [], "warnings": []}
    if not source:
        run["warnings"].append("the requirement set is unknown: the cluster was not reachable and "
                               "aiconform_kubernetes_version is not set")
        return run
    cluster["kubernetes_version"] = kubernetes_minor(source)
    set_version, warning = catalog.resolve_version(cluster["kubernetes_version"])
    if warning:
        run["warnings"].append(warning)
    run["set_version"] = set_version
    requirements = catalog.requirement_set(set_version)
    ids = [r.id for r in requirements]
    unknown = sorted(set(params.get("requirements") or []) - set(catalog.all_ids()))
    if unknown:
        raise ValueError(f"aiconform_requirements names unknown requirement ids {unknown}; "
                         f"known ids: {', '.join(catalog.all_ids())}")
    run["requirement_set"] = [{"id": r.id, "level": r.level} for r in requirements]
    run["selected"] = select(ids, run_tags=list(params.get("run_tags") or []),
                             skip_tags=list(params.get("skip_tags") or []), only=params.get("requirements"))
    return run
