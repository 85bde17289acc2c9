"""Kubernetes helpers every verifier uses, written once: client objects as dicts, conditions, quantities,
manifests and pods. (The DRA helpers are in ``_accelerator.py``, the Gateway API's in ``_networking.py``; both
build on these.)"""
from __future__ import annotations

import copy
import math
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from .. import datafiles

# -- objects --------------------------------------------------------------------------------------------------------


def plain(obj: Any) -> Any:
    """A kubernetes client model as the API returns it (a dict, camelCase, as kubectl shows it); other values as
    they are."""
    if hasattr(obj, "to_dict") and hasattr(obj, "attribute_map"):
        from kubernetes import client
        return client.ApiClient().sanitize_for_serialization(obj)
    return obj


def manifest(package_file: str, name: str, folder: str = "manifests") -> dict[str, Any]:
    """A fresh, mutable copy of ``<folder>/<name>`` beside the verifier package's module ``package_file``."""
    return copy.deepcopy(datafiles.load_yaml(package_file, folder, name))


# -- conditions -----------------------------------------------------------------------------------------------------


def conds(conditions: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    """Conditions reduced to type/status/reason/message (what evidence and judges need)."""
    return [{k: c.get(k) for k in ("type", "status", "reason", "message") if c.get(k) not in (None, "")}
            for c in conditions or []]


def conditions(obj: dict[str, Any] | None) -> list[dict[str, Any]]:
    """An object's ``status.conditions``, reduced as ``conds``."""
    return conds(((obj or {}).get("status") or {}).get("conditions"))


def cond(conditions_: list[dict[str, Any]] | None, ctype: str) -> dict[str, Any] | None:
    return next((c for c in conditions_ or [] if c.get("type") == ctype), None)


def is_true(conditions_: list[dict[str, Any]] | None, ctype: str) -> bool:
    c = cond(conditions_, ctype)
    return bool(c and c.get("status") == "True")


def condition_true(obj: dict[str, Any] | None, ctype: str) -> bool:
    """The object's condition ``ctype`` is True."""
    return is_true(((obj or {}).get("status") or {}).get("conditions"), ctype)


# -- quantities -----------------------------------------------------------------------------------------------------
_QUANTITY = re.compile(r"^([+-]?[0-9.]+(?:[eE][+-]?[0-9]+)?)([a-zA-Z]*)$")
_SUFFIX = {"": 1, "n": Decimal("1e-9"), "u": Decimal("1e-6"), "m": Decimal("1e-3"), "k": 10**3, "M": 10**6,
           "G": 10**9, "T": 10**12, "P": 10**15, "E": 10**18, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30,
           "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}


def quantity(value: Any) -> Decimal:
    """Kubernetes resource.Quantity → Decimal in base units (cores, bytes, devices); ValueError when it is none."""
    if value is None or value == "":
        return Decimal(0)
    if isinstance(value, int | float):
        return Decimal(str(value))
    m = _QUANTITY.match(str(value).strip())
    if not m or m.group(2) not in _SUFFIX:
        raise ValueError(f"not a Kubernetes quantity: {value!r}")
    try:
        return Decimal(m.group(1)) * Decimal(_SUFFIX[m.group(2)])
    except InvalidOperation as exc:
        raise ValueError(f"not a Kubernetes quantity: {value!r}") from exc


def count(value: Any) -> int:
    """A device count (``nvidia.com/gpu: "2"``, a label value) as an int; 0 when absent or not a quantity."""
    try:
        return int(quantity(value))
    except ValueError:
        return 0


def millis(value: Any) -> int:
    return math.ceil(quantity(value) * 1000)


# -- pods -----------------------------------------------------------------------------------------------------------


def pod_ready(pod: dict[str, Any] | None) -> bool:
    return condition_true(pod, "Ready")


def pod_phase(pod: dict[str, Any] | None) -> str:
    return str(((pod or {}).get("status") or {}).get("phase") or "")


def pod_state(pod: dict[str, Any] | None) -> str:
    """A one-line account of why a pod is where it is: phase, node, conditions that are not True, containers
    waiting or terminated."""
    if not pod:
        return "pod not found"
    status = pod.get("status") or {}
    parts = [f"phase={status.get('phase') or 'unknown'}", f"node={(pod.get('spec') or {}).get('nodeName') or '-'}"]
    for c in status.get("conditions") or []:
        if c.get("type") == "PodScheduled" and c.get("status") == "False":
            parts.append(f"unschedulable ({c.get('reason', '')}: {c.get('message', '')})")
        elif c.get("status") != "True" and c.get("reason"):
            parts.append(f"{c.get('type')}={c.get('reason')}: {c.get('message', '')}".strip())
    for cs in status.get("containerStatuses") or []:
        state = cs.get("state") or {}
        if state.get("waiting"):
            parts.append(f"{cs.get('name')} waiting ({state['waiting'].get('reason', '')})")
        if state.get("terminated"):
            term = state["terminated"]
            parts.append(f"{cs.get('name')} exited {term.get('exitCode')} ({term.get('reason', '')})")
    return ", ".join(parts)
