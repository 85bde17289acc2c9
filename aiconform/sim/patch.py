"""PATCH semantics: RFC 6902 JSON patch, RFC 7386 merge patch, and an approximation of strategic merge.

Strategic merge here merges lists of objects by the merge key upstream uses for the common fields
(``name``, ``containerPort``, ``port``, ``mountPath``, ``type``, ``uid``); ``$patch: replace|delete`` are
honoured; the other directives are dropped. Server-side apply is approximated by the same merge.
"""
from __future__ import annotations

import copy
from typing import Any

import jsonpatch

# Merge keys for lists of objects, by field name (from the upstream API types' patchMergeKey).
MERGE_KEYS: dict[str, str] = {
    "containers": "name", "initContainers": "name", "ephemeralContainers": "name", "volumes": "name",
    "env": "name", "volumeMounts": "mountPath", "volumeDevices": "devicePath", "imagePullSecrets": "name",
    "conditions": "type", "ownerReferences": "uid", "hostAliases": "ip", "resourceClaims": "name",
    "topologySpreadConstraints": "topologyKey", "taints": "key", "ports": "containerPort",
}
# Primitive lists with patchStrategy=merge (set union).
MERGE_PRIMITIVES = {"finalizers"}


class PatchError(ValueError):
    pass


def _lenient(obj: Any, ops: Any) -> Any:
    """kube-apiserver's JSON patch (evanphx/json-patch) lets ``replace`` set a missing member of an object."""
    if not isinstance(ops, list):
        return ops
    out = []
    for op in ops:
        if isinstance(op, dict) and op.get("op") == "replace" and isinstance(op.get("path"), str):
            parent_path, _, last = op["path"].rpartition("/")
            try:
                parent = jsonpatch.JsonPointer(parent_path).resolve(obj) if parent_path else obj
            except (jsonpatch.JsonPointerException, TypeError, KeyError, IndexError):
                parent = None
            if isinstance(parent, dict) and last.replace("~1", "/").replace("~0", "~") not in parent:
                op = {**op, "op": "add"}
        out.append(op)
    return out


def json_patch(obj: dict[str, Any], ops: Any) -> dict[str, Any]:
    try:
        return jsonpatch.JsonPatch(_lenient(obj, ops)).apply(copy.deepcopy(obj))
    except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException, TypeError, KeyError, IndexError) as e:
        raise PatchError(str(e)) from e


def merge_patch(target: Any, patch: Any) -> Any:
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = dict(target) if isinstance(target, dict) else {}
    for k, v in patch.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = merge_patch(out.get(k), v)
    return out


def _merge_key(field_name: str, items: list[Any]) -> str | None:
    key = MERGE_KEYS.get(field_name)
    dicts = [i for i in items if isinstance(i, dict) and not i.get("$patch")]
    if field_name == "ports" and dicts and all("port" in i and "containerPort" not in i for i in dicts):
        return "port"  # Service ports merge by port
    if key and all(key in i for i in dicts):
        return key
    if not key and dicts and all("name" in i for i in dicts):
        return "name"
    return None


def strategic_merge(target: Any, patch: Any, field_name: str = "") -> Any:
    if isinstance(patch, dict):
        if patch.get("$patch") == "replace":
            return {k: copy.deepcopy(v) for k, v in patch.items() if k != "$patch"}
        if patch.get("$patch") == "delete":
            return None
        out = dict(target) if isinstance(target, dict) else {}
        for k, v in patch.items():
            if k.startswith("$") or k.startswith("$setElementOrder/") or k.startswith("$deleteFromPrimitiveList/"):
                continue
            if v is None:
                out.pop(k, None)
                continue
            merged = strategic_merge(out.get(k), v, k)
            if merged is None and isinstance(v, dict) and v.get("$patch") == "delete":
                out.pop(k, None)
            else:
                out[k] = merged
        return out
    if isinstance(patch, list):
        if any(isinstance(i, dict) and i.get("$patch") == "replace" for i in patch):
            return [copy.deepcopy(i) for i in patch if not (isinstance(i, dict) and "$patch" in i)]
        if field_name in MERGE_PRIMITIVES and isinstance(target, list):
            return list(target) + [i for i in patch if i not in target]
        key = _merge_key(field_name, patch + (target if isinstance(target, list) else []))
        if key is None or not isinstance(target, list):
            return [strategic_merge(None, i) if isinstance(i, dict) else copy.deepcopy(i) for i in patch
                    if not (isinstance(i, dict) and i.get("$patch") == "delete")]
        server = [copy.deepcopy(i) for i in target]
        server_index = {i.get(key): n for n, i in enumerate(server) if isinstance(i, dict)}
        deleted: set[Any] = set()
        patched: list[Any] = []  # the patch's items, merged, in the patch's order
        for item in patch:
            if not isinstance(item, dict):
                continue
            if item.get("$patch") == "delete":
                deleted.add(item.get(key))
                continue
            k = item.get(key)
            patched.append(strategic_merge(server[server_index[k]], item) if k in server_index
                           else strategic_merge(None, item))
        in_patch = {i.get(key) for i in patched} | deleted
        server_only = [i for i in server if not (isinstance(i, dict) and i.get(key) in in_patch)]
        # upstream's normalizeElementOrder: patch items and server-only items merged by their index on the server,
        # items new to the server first
        out_list: list[Any] = []
        a = b = 0
        while a < len(patched) and b < len(server_only):
            left = server_index.get(patched[a].get(key), -1)
            right = server_index.get(server_only[b].get(key) if isinstance(server_only[b], dict) else None, -1)
            if left < right:
                out_list.append(patched[a])
                a += 1
            else:
                out_list.append(server_only[b])
                b += 1
        return out_list + patched[a:] + server_only[b:]
    return copy.deepcopy(patch)


def apply_patch(target: dict[str, Any] | None, applied: dict[str, Any]) -> dict[str, Any]:
    """Server-side apply approximation: strategic merge of the applied configuration onto the live object."""
    return strategic_merge(target or {}, applied)
