"""Helpers shared by the scheduling and orchestration verifiers (gang_scheduling, pod_autoscaling,
cluster_autoscaling): manifest loading, quantities, pod/event/condition summaries.

Kept outside the requirement packages because ``aiconform.verifiers.<id>`` must stay one per requirement.
"""
from __future__ import annotations

from typing import Any

from .k8s import condition_true, conditions, manifest, millis, plain, quantity
from .runtime import ProbeContext

# names of k8s.py that the verifiers call through this module
__all__ = ["condition_true", "conditions", "manifest", "millis", "plain", "quantity"]


def pod_summary(pod: dict[str, Any]) -> dict[str, Any]:
    spec, status, meta = pod.get("spec") or {}, pod.get("status") or {}, pod.get("metadata") or {}
    unsched = [c for c in status.get("conditions") or [] if c.get("type") == "PodScheduled"
               and c.get("status") == "False"]
    out = {"name": meta.get("name"), "phase": status.get("phase"), "node": spec.get("nodeName") or "",
           "start": status.get("startTime") or ""}
    if unsched:
        out["unschedulable"] = {"reason": unsched[0].get("reason", ""), "message": unsched[0].get("message", "")}
    return out


def owned_pods(ctx: ProbeContext, namespace: str, owner_uid: str) -> list[dict[str, Any]]:
    """Pods in namespace whose ownerReferences name owner_uid (labels differ across versions)."""
    pods = ctx.call(f"list pods in {namespace}", ctx.core.list_namespaced_pod, namespace)
    out = []
    for pod in plain(pods).get("items") or []:
        refs = (pod.get("metadata") or {}).get("ownerReferences") or []
        if any(r.get("uid") == owner_uid for r in refs):
            out.append(pod)
    return out


def events(ctx: ProbeContext, namespace: str, names: set[str] | None = None) -> list[dict[str, Any]]:
    """core/v1 Events in namespace (optionally only those about the named objects), oldest first."""
    data = plain(ctx.call(f"list events in {namespace}", ctx.core.list_namespaced_event, namespace))
    out = []
    for ev in data.get("items") or []:
        obj = ev.get("involvedObject") or {}
        if names is not None and obj.get("name") not in names:
            continue
        out.append({"type": ev.get("type"), "reason": ev.get("reason"), "object": f"{obj.get('kind')}/{obj.get('name')}",
                    "message": ev.get("message"), "time": ev.get("lastTimestamp") or ev.get("eventTime") or "",
                    "count": ev.get("count") or 1})
    out.sort(key=lambda e: str(e["time"]))
    return out


def events_table(evs: list[dict[str, Any]]) -> str:
    """kubectl get events style lines, as the evidence transcripts show them."""
    return "\n".join(f"{e['type'] or '':<9} {e['reason'] or '':<18} {e['object']:<40} {e['message'] or ''}"
                     for e in evs) or "(no events)"


def api_group_versions(ctx: ProbeContext, group: str) -> list[str]:
    """Versions of an API group the server serves ([] when the group is absent)."""
    data = ctx.api_group(group)
    if data is None:
        return []
    return [v.get("version") for v in data.get("versions") or [] if v.get("version")]


def served_groups(ctx: ProbeContext) -> set[str]:
    data = ctx.raw_get("/apis", "discover API groups")
    return {g.get("name") for g in (data or {}).get("groups") or [] if g.get("name")}


def gpu_toleration() -> dict[str, str]:
    return {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}
