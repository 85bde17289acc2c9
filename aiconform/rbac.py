"""Least-privilege RBAC for the verify phase, generated from the API calls the verifiers really make.

Input: request records ``{"method", "path", "query", "user_agent"}`` — from the simulator's request
log (``GET /_sim/requests?log=1``) after a verify run, or from a real cluster's audit log converted to
the same shape. Every aiconform API client sends ``User-Agent: aiconform/<version> (<component>)``, so
each rule can say which verifier needs it.

Output: a ClusterRole whose rules are commented line by line with the components that need them.
Probes create their namespaces at run time, so namespaced writes cannot be confined by a RoleBinding
made in advance; the bundle grants them cluster-wide and documents it (see rbac/README.md).
"""
from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import yaml

UA_RE = re.compile(r"aiconform/\S+ \((?P<component>[^)]+)\)")
_CORE = re.compile(r"^/api/v1(?P<rest>/.*)?$")
METRICS_GROUPS = ("custom.metrics.k8s.io", "external.metrics.k8s.io")
_GROUP = re.compile(r"^/apis/(?P<group>[^/]+)/(?P<version>[^/]+)(?P<rest>/.*)?$")


@dataclass(frozen=True)
class Access:
    verb: str
    group: str | None  # None for a non-resource URL
    resource: str  # plural or plural/subresource; the URL for non-resource access


def classify(method: str, path: str, query: str = "") -> Access:
    """One HTTP request → the RBAC verb and resource it needs (as the kube-apiserver authorizes it)."""
    method = method.upper()
    raw_path = path.split("?", 1)[0] or "/"
    path = raw_path.rstrip("/") or "/"
    match = _CORE.match(path)
    group = ""
    if not match:
        match = _GROUP.match(path)
        group = match.group("group") if match else ""
    rest = (match.group("rest") or "") if match else None
    if match is None or not rest:
        # /version, discovery (/api, /apis/<g>/<v>), OpenAPI: non-resource URLs
        # RBAC matches non-resource URLs literally: /version/ (the kubernetes client's) is not /version
        return Access(verb=method.lower(), group=None, resource=_generalize(raw_path))
    parts = [p for p in rest.split("/") if p]
    namespace = None
    if parts[0] == "namespaces" and len(parts) >= 3:
        namespace, parts = parts[1], parts[2:]
    resource = parts[0]
    name = parts[1] if len(parts) > 1 else None
    sub = parts[2] if len(parts) > 2 else None
    if sub:
        resource = f"{resource}/{sub}"
    del namespace  # RBAC rules here are cluster-wide; see module docstring
    watch = "watch=true" in query or "watch=1" in query
    if method == "GET":
        verb = "watch" if watch else ("get" if name else "list")
    elif method == "POST":
        verb = "create"
    elif method == "PUT":
        verb = "update"
    elif method == "PATCH":
        verb = "patch"
    elif method == "DELETE":
        verb = "delete" if name else "deletecollection"
    else:
        verb = method.lower()
    if group in METRICS_GROUPS:
        # <resource>/<metric name> is authorized per metric; metric names are inventory options, so all
        resource = "*"
    if sub == "proxy":
        verb = "get" if method == "GET" else "create"  # service/pod proxy is authorized as get/create
    return Access(verb=verb, group=group, resource=resource)


def _generalize(url: str) -> str:
    # Discovery of every group-version is one wildcard rule, as the system:discovery role has it.
    if url.startswith("/apis/") or url == "/apis":
        return "/apis/*" if url != "/apis" else "/apis"
    if url.startswith("/openapi"):
        return "/openapi/*"
    if url.startswith("/api/") or url == "/api":
        return "/api/*" if url != "/api" else "/api"
    return url


def component_of(user_agent: str) -> str:
    m = UA_RE.search(user_agent or "")
    if m:
        return m.group("component")
    # kubernetes.core modules (the verify phase's always-cleanup) keep the Python client's default agent
    return "kubernetes.core" if (user_agent or "").startswith("OpenAPI-Generator/") else "unknown"


def build_rules(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Aggregate records into ClusterRole rules: one rule per (apiGroup, resource) with its verbs."""
    verbs: dict[tuple[str | None, str], set[str]] = defaultdict(set)
    users: dict[tuple[str | None, str], set[str]] = defaultdict(set)
    for rec in records:
        access = classify(rec.get("method", "GET"), rec.get("path", "/"), rec.get("query", ""))
        key = (access.group, access.resource)
        verbs[key].add(access.verb)
        users[key].add(component_of(rec.get("user_agent", "")))
    rules = []
    for (group, res), vs in sorted(verbs.items(), key=lambda kv: (kv[0][0] is None, kv[0][0] or "", kv[0][1])):
        rule: dict[str, Any]
        if group is None:
            rule = {"nonResourceURLs": [res], "verbs": sorted(vs)}
        else:
            rule = {"apiGroups": [group], "resources": [res], "verbs": sorted(vs)}
        rule["_needed_by"] = sorted(users[(group, res)])
        rules.append(rule)
    return rules


def cluster_role_yaml(rules: list[dict[str, Any]], *, name: str = "aiconform-verify",
                      service_account: str = "aiconform-verify", namespace: str = "aiconform-system") -> str:
    """The bundle: ServiceAccount, ClusterRole (commented per rule) and ClusterRoleBinding."""
    header = (
        "# Generated by `aiconform rbac` from the API calls the verify phase made (do not edit by hand).\n"
        "# Each rule names the components that need it. The install phase needs cluster-admin instead.\n"
    )
    docs = [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}},
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": service_account, "namespace": namespace}},
    ]
    out = [header, "---\n", yaml.safe_dump(docs[0], sort_keys=False), "---\n",
           yaml.safe_dump(docs[1], sort_keys=False), "---\n",
           yaml.safe_dump({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
                           "metadata": {"name": name, "labels": {"app.kubernetes.io/managed-by": "aiconform"}}},
                          sort_keys=False),
           "rules:\n"]
    for rule in rules:
        needed = ", ".join(rule["_needed_by"])
        body = {k: v for k, v in rule.items() if not k.startswith("_")}
        text = yaml.safe_dump([body], sort_keys=False, default_flow_style=None).rstrip("\n")
        out.append(f"  # needed by: {needed}\n")
        out.append("".join(f"  {line}\n" for line in text.splitlines()))
    out.append("---\n")
    out.append(yaml.safe_dump({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
        "metadata": {"name": name},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": name},
        "subjects": [{"kind": "ServiceAccount", "name": service_account, "namespace": namespace}],
    }, sort_keys=False))
    return "".join(out)


def load_rules(bundle_text: str) -> list[dict[str, Any]]:
    """The ClusterRole rules of a bundle (what an RBAC authorizer enforces)."""
    for doc in yaml.safe_load_all(bundle_text):
        if doc and doc.get("kind") == "ClusterRole":
            return list(doc.get("rules") or [])
    raise ValueError("no ClusterRole in the RBAC bundle")
