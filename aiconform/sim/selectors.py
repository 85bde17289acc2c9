"""Label and field selectors as the apiserver parses them (string form from query parameters)."""
from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

Pred = Callable[[dict[str, Any]], bool]

_SET_RE = re.compile(r"^\s*(!?)([A-Za-z0-9_./-]+)\s*(?:(in|notin)\s*\(([^)]*)\)|(==|=|!=)\s*([A-Za-z0-9_.-]*))?\s*$")


class SelectorError(ValueError):
    pass


def _split_terms(expr: str) -> list[str]:
    """Split on commas that are not inside parentheses."""
    terms, depth, cur = [], 0, ""
    for ch in expr:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            terms.append(cur)
            cur = ""
        else:
            cur += ch
    if cur.strip():
        terms.append(cur)
    return [t for t in terms if t.strip()]


def parse_label_selector(expr: str | None) -> Callable[[dict[str, str]], bool]:
    """Return a predicate over a labels dict."""
    if not expr:
        return lambda labels: True
    checks: list[Callable[[dict[str, str]], bool]] = []
    for term in _split_terms(expr):
        m = _SET_RE.match(term)
        if not m:
            raise SelectorError(f"unable to parse requirement: {term!r}")
        neg, key, setop, setvals, op, val = m.groups()
        if neg:
            if setop or op:
                raise SelectorError(f"unable to parse requirement: {term!r}")
            checks.append(lambda lb, k=key: k not in lb)
        elif setop:
            vals = {v.strip() for v in setvals.split(",") if v.strip()}
            if setop == "in":
                checks.append(lambda lb, k=key, vs=vals: lb.get(k) in vs)
            else:
                checks.append(lambda lb, k=key, vs=vals: lb.get(k) not in vs)
        elif op in ("=", "=="):
            checks.append(lambda lb, k=key, v=val: lb.get(k) == v)
        elif op == "!=":
            checks.append(lambda lb, k=key, v=val: lb.get(k) != v)
        else:
            checks.append(lambda lb, k=key: k in lb)
    if len(checks) == 1:
        return checks[0]
    return lambda labels: all(c(labels) for c in checks)


def _field(obj: dict[str, Any], path: str) -> str:
    cur: Any = obj
    for part in path.split("."):
        if not isinstance(cur, dict):
            return ""
        cur = cur.get(part)
    if cur is None:
        return ""
    if isinstance(cur, bool):
        return "true" if cur else "false"
    return str(cur)


def parse_field_selector(expr: str | None) -> Pred:
    if not expr:
        return lambda obj: True
    checks: list[Pred] = []
    for term in _split_terms(expr):
        m = re.match(r"^\s*([A-Za-z0-9_.]+)\s*(==|=|!=)\s*(.*?)\s*$", term)
        if not m:
            raise SelectorError(f"invalid selector: {term!r}; can't understand {term!r}")
        path, op, val = m.groups()
        if op == "!=":
            checks.append(lambda o, p=path, v=val: _field(o, p) != v)
        else:
            checks.append(lambda o, p=path, v=val: _field(o, p) == v)
    return lambda obj: all(c(obj) for c in checks)


def match_label_selector_obj(selector: dict[str, Any] | None, labels: dict[str, str]) -> bool:
    """metav1.LabelSelector (matchLabels + matchExpressions). An empty selector matches everything."""
    if not selector:
        return True
    for k, v in (selector.get("matchLabels") or {}).items():
        if labels.get(k) != v:
            return False
    for e in selector.get("matchExpressions") or []:
        if not match_expression(e, labels.get(e.get("key", "")), e.get("key", "") in labels):
            return False
    return True


def match_expression(expr: dict[str, Any], value: str | None, present: bool) -> bool:
    """One matchExpressions entry (label or node-selector requirement)."""
    op = expr.get("operator")
    values = [str(v) for v in expr.get("values") or []]
    if op == "In":
        return present and value in values
    if op == "NotIn":
        return not present or value not in values
    if op == "Exists":
        return present
    if op == "DoesNotExist":
        return not present
    if op in ("Gt", "Lt") and present and values:
        try:
            a, b = int(value or ""), int(values[0])
        except ValueError:
            return False
        return a > b if op == "Gt" else a < b
    return False


def selector_to_string(selector: dict[str, Any] | None) -> str:
    """metav1.LabelSelector rendered as the string form (used in scale.status.selector)."""
    parts = [f"{k}={v}" for k, v in sorted((selector or {}).get("matchLabels", {}).items())]
    for e in (selector or {}).get("matchExpressions") or []:
        op, key, vals = e.get("operator"), e.get("key"), ",".join(e.get("values") or [])
        parts.append({"In": f"{key} in ({vals})", "NotIn": f"{key} notin ({vals})", "Exists": key,
                      "DoesNotExist": f"!{key}"}.get(op, key))
    return ",".join(parts)


# Field selectors each built-in resource supports besides metadata.name and metadata.namespace (the field label
# conversion functions kube-apiserver registers); other kinds support only those two.
FIELD_LABELS: dict[tuple[str, str], tuple[str, ...]] = {
    ("", "pods"): ("spec.nodeName", "spec.restartPolicy", "spec.schedulerName", "spec.serviceAccountName",
                   "spec.hostNetwork", "status.phase", "status.podIP", "status.podIPs", "status.nominatedNodeName"),
    ("", "events"): ("involvedObject.kind", "involvedObject.namespace", "involvedObject.name", "involvedObject.uid",
                     "involvedObject.apiVersion", "involvedObject.resourceVersion", "involvedObject.fieldPath",
                     "reason", "reportingComponent", "source", "type"),
    ("events.k8s.io", "events"): ("involvedObject.kind", "involvedObject.namespace", "involvedObject.name",
                                  "involvedObject.uid", "involvedObject.apiVersion", "involvedObject.resourceVersion",
                                  "involvedObject.fieldPath", "reason", "reportingComponent", "source", "type",
                                  "regarding.kind", "regarding.namespace", "regarding.name", "regarding.uid",
                                  "reportingController", "deprecatedSource"),
    ("", "secrets"): ("type",),
    ("", "nodes"): ("spec.unschedulable",),
    ("", "namespaces"): ("status.phase",),
    ("", "services"): ("spec.clusterIP", "spec.type"),
    ("", "replicationcontrollers"): ("status.replicas",),
    ("", "persistentvolumes"): ("name",),
    ("apps", "replicasets"): ("status.replicas",),
    ("batch", "jobs"): ("status.successful",),
    ("certificates.k8s.io", "certificatesigningrequests"): ("spec.signerName",),
    ("resource.k8s.io", "resourceslices"): ("spec.nodeName", "spec.driver"),
}


def check_field_selector(key: tuple[str, str], expr: str | None, selectable: tuple[str, ...] = ()) -> None:
    """400 BadRequest for a field the resource cannot be selected by, worded as kube-apiserver does."""
    if not expr:
        return
    allowed = ("metadata.name", "metadata.namespace", *FIELD_LABELS.get(key, ()), *selectable)
    for term in _split_terms(expr):
        m = re.match(r"^\s*([A-Za-z0-9_.]+)\s*(==|=|!=)", term)
        if m and m.group(1) not in allowed:
            if key in FIELD_LABELS or selectable:
                raise SelectorError(f'field label not supported: {m.group(1)}')
            raise SelectorError(f'"{m.group(1)}" is not a known field selector: only "metadata.name", '
                                '"metadata.namespace"')
