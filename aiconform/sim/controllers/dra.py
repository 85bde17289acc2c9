"""Dynamic Resource Allocation: the resourceclaim controller (claims from ResourceClaimTemplates) and the
scheduler's allocator (devices from ResourceSlices that satisfy each request's DeviceClass).

DeviceClass and request ``selectors`` are CEL upstream; only the forms ``device.driver == "<d>"`` and
``device.attributes["<domain>"].<name> == <value>`` are evaluated here (other expressions are treated as true).
Claims are handled in whichever served version they were written (v1/v1beta2 ``exactly``, or v1beta1 flat).
"""
from __future__ import annotations

import copy
import re
from typing import Any

from aiconform.sim.api import ApiError, Cluster, now, owner_ref

Obj = dict[str, Any]
GROUP = "resource.k8s.io"
_DRIVER = re.compile(r"""device\.driver\s*==\s*["']([^"']+)["']""")
_ATTR = re.compile(r"""device\.attributes\[["']([^"']+)["']\]\.(\w+)\s*==\s*["']?([^"')\s&|]+)["']?""")


def _claim_names(pod: Obj) -> list[tuple[str, str | None]]:
    statuses = {s["name"]: s.get("resourceClaimName") for s in (pod.get("status") or {}).get("resourceClaimStatuses") or []}
    return [(rc["name"], rc.get("resourceClaimName") or statuses.get(rc["name"]))
            for rc in (pod.get("spec") or {}).get("resourceClaims") or []]


def publish_slices(c: Cluster) -> None:
    """A DRA driver's kubelet plugin runs on every node its DaemonSet selects: a node that joins later (added by an
    autoscaler) gets its ResourceSlice too, from the scenario's ``resource_slices`` specs."""
    from aiconform.sim.scenario import slice_objects

    specs = getattr(c, "slice_specs", None)
    rd = c.registry.get(GROUP, "resourceslices")
    if not specs or rd is None:
        return
    have = {((s.get("spec") or {}).get("nodeName"), (s.get("spec") or {}).get("driver"))
            for s in c.objects(GROUP, "resourceslices")}
    for node in c.objects("", "nodes"):
        if node["metadata"].get("deletionTimestamp"):
            continue
        for spec in specs:
            if (node["metadata"]["name"], spec["driver"]) in have:
                continue
            for obj in slice_objects(spec, [node], rd.api_version()):
                try:
                    c.create(rd, "", obj)
                except ApiError:
                    pass


def sync(c: Cluster, mgr: Any) -> None:
    publish_slices(c)
    if c.registry.get(GROUP, "resourceclaims") is None:
        return
    claim_rd = c.rd(GROUP, "resourceclaims")
    pods = {p["metadata"]["uid"]: p for p in c.objects("", "pods")}
    for pod in pods.values():
        spec = pod.get("spec") or {}
        if not spec.get("resourceClaims") or pod["metadata"].get("deletionTimestamp"):
            continue
        ns = pod["metadata"]["namespace"]
        statuses = list((pod.get("status") or {}).get("resourceClaimStatuses") or [])
        changed = False
        for rc in spec["resourceClaims"]:
            tname = rc.get("resourceClaimTemplateName")
            if not tname or any(s["name"] == rc["name"] for s in statuses):
                continue
            tmpl = c.find(GROUP, "resourceclaimtemplates", ns, tname)
            if tmpl is None:
                continue
            tmeta = (tmpl.get("spec") or {}).get("metadata") or {}
            body = {"apiVersion": tmpl["apiVersion"], "kind": "ResourceClaim",
                    "metadata": {"generateName": f"{pod['metadata']['name']}-{rc['name']}-",
                                 "labels": dict(tmeta.get("labels") or {}),
                                 "annotations": {**(tmeta.get("annotations") or {}),
                                                 "resource.kubernetes.io/pod-claim-name": rc["name"]},
                                 "ownerReferences": [owner_ref(pod)]},
                    "spec": copy.deepcopy((tmpl.get("spec") or {}).get("spec") or {})}
            try:
                claim = c.create(claim_rd, ns, body)
            except ApiError:
                continue
            statuses.append({"name": rc["name"], "resourceClaimName": claim["metadata"]["name"]})
            changed = True
        if changed:
            c.update_status(c.rd("", "pods"), pod, {**(pod.get("status") or {}), "resourceClaimStatuses": statuses})
    # release reservations of pods that are gone or finished; deallocate unreserved claims
    for claim in c.objects(GROUP, "resourceclaims"):
        st = claim.get("status") or {}
        reserved = st.get("reservedFor") or []
        keep = [r for r in reserved if r.get("uid") in pods
                and (pods[r["uid"]].get("status") or {}).get("phase") not in ("Succeeded", "Failed")]
        if keep != reserved:
            new_st = {**st, "reservedFor": keep}
            if not keep:
                new_st.pop("reservedFor")
                new_st.pop("allocation", None)
            c.update_status(claim_rd, claim, new_st)


def _requests(claim: Obj) -> list[dict[str, Any]]:
    out = []
    for r in ((claim.get("spec") or {}).get("devices") or {}).get("requests") or []:
        exact = r.get("exactly") or r  # v1/v1beta2 nest under "exactly"; v1beta1 is flat
        if "firstAvailable" in r and not r.get("exactly"):
            exact = (r["firstAvailable"] or [{}])[0]
        out.append({"name": r.get("name"), "deviceClassName": exact.get("deviceClassName"),
                    "mode": exact.get("allocationMode", "ExactCount"), "count": int(exact.get("count", 1)),
                    "selectors": exact.get("selectors") or []})
    return out


def _cel_ok(selectors: list[dict[str, Any]], driver: str, attrs: dict[str, Any]) -> bool:
    for s in selectors:
        expr = ((s.get("cel") or {}).get("expression")) or ""
        for d in _DRIVER.findall(expr):
            if d != driver:
                return False
        for domain, name, value in _ATTR.findall(expr):
            a = attrs.get(name) if domain == driver else attrs.get(f"{domain}/{name}", attrs.get(name))
            if a is None:
                return False
            actual = next(iter(a.values())) if isinstance(a, dict) else a
            if str(actual).lower() != value.lower():
                return False
    return True


def _devices(c: Cluster, node: str) -> list[tuple[str, str, str, dict[str, Any]]]:
    """(driver, pool, device name, attributes) for devices local to the node or available to all nodes."""
    out = []
    for s in c.objects(GROUP, "resourceslices"):
        spec = s.get("spec") or {}
        if spec.get("nodeName") and spec["nodeName"] != node:
            continue
        if not spec.get("nodeName") and not spec.get("allNodes") and not spec.get("nodeSelector"):
            continue
        for d in spec.get("devices") or []:
            body = d.get("basic") or d
            out.append((spec.get("driver", ""), (spec.get("pool") or {}).get("name", ""), d.get("name", ""),
                        body.get("attributes") or {}))
    return out


def _in_use(c: Cluster) -> set[tuple[str, str, str]]:
    used = set()
    for claim in c.objects(GROUP, "resourceclaims"):
        alloc = (claim.get("status") or {}).get("allocation") or {}
        for r in (alloc.get("devices") or {}).get("results") or []:
            used.add((r.get("driver"), r.get("pool"), r.get("device")))
    return used


def plan_for_pod(c: Cluster, pod: Obj, node: Obj) -> list[tuple[Obj, dict[str, Any]]] | None:
    """Allocations for the pod's unallocated claims on this node; None when they cannot all be satisfied."""
    if not (pod.get("spec") or {}).get("resourceClaims"):
        return []
    ns, node_name = pod["metadata"]["namespace"], node["metadata"]["name"]
    taken = _in_use(c)
    plan = []
    for _, claim_name in _claim_names(pod):
        if claim_name is None:
            return None
        claim = c.find(GROUP, "resourceclaims", ns, claim_name)
        if claim is None:
            return None
        alloc = (claim.get("status") or {}).get("allocation")
        if alloc:
            names = [v for t in (alloc.get("nodeSelector") or {}).get("nodeSelectorTerms") or []
                     for f in t.get("matchFields") or [] for v in f.get("values") or []]
            if names and node_name not in names:
                return None
            continue
        results = []
        for req in _requests(claim):
            dclass = c.find(GROUP, "deviceclasses", "", req["deviceClassName"] or "")
            if dclass is None:
                return None
            class_sel = (dclass.get("spec") or {}).get("selectors") or []
            matches = [(drv, pool, dev) for drv, pool, dev, attrs in _devices(c, node_name)
                       if (drv, pool, dev) not in taken and _cel_ok(class_sel, drv, attrs)
                       and _cel_ok(req["selectors"], drv, attrs)]
            want = len(matches) if req["mode"] == "All" else req["count"]
            if len(matches) < want or want == 0:
                return None
            for drv, pool, dev in matches[:want]:
                taken.add((drv, pool, dev))
                results.append({"request": req["name"], "driver": drv, "pool": pool, "device": dev})
        allocation = {"devices": {"results": results},
                      "nodeSelector": {"nodeSelectorTerms": [{"matchFields": [
                          {"key": "metadata.name", "operator": "In", "values": [node_name]}]}]},
                      "allocationTimestamp": now()}
        if not claim["apiVersion"].endswith("/v1"):
            allocation.pop("allocationTimestamp")
        plan.append((claim, allocation))
    return plan


def commit(c: Cluster, pod: Obj, plan: list[tuple[Obj, dict[str, Any]]]) -> None:
    rd = c.rd(GROUP, "resourceclaims") if c.registry.get(GROUP, "resourceclaims") else None
    if rd is None:
        return
    for claim, allocation in plan:
        cur = c.find(GROUP, "resourceclaims", claim["metadata"]["namespace"], claim["metadata"]["name"]) or claim
        c.update_status(rd, cur, {**(cur.get("status") or {}), "allocation": allocation})
    ref = {"resource": "pods", "name": pod["metadata"]["name"], "uid": pod["metadata"]["uid"]}
    for _, name in _claim_names(pod):
        cur = c.find(GROUP, "resourceclaims", pod["metadata"]["namespace"], name or "")
        if cur is None:
            continue
        st = cur.get("status") or {}
        if ref not in (st.get("reservedFor") or []):
            c.update_status(rd, cur, {**st, "reservedFor": [*(st.get("reservedFor") or []), ref]})
