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

import json
import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from aiconform import COLLECTION_ROOT, MODULE_UTILS

BUNDLE = COLLECTION_ROOT / "rbac" / "verify.yaml"  # the shipped bundle (rbac/README.md)
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


VERIFIERS_DIR = MODULE_UTILS / "verifiers"


def delegated_accesses(component: str, verifiers_dir: Path = VERIFIERS_DIR) -> list[Access]:
    """What the Roles a verifier creates grant (from its ``manifests/*.yaml``).

    kube-apiserver's escalation check (not an authorizer decision, so invisible in a request log and not
    emulated by the simulator) lets an identity create a Role or bind it only when it holds every permission
    in it, unless it has ``escalate``/``bind``, which would let it grant itself anything in any namespace.
    Holding the Role's (read-only) permissions is the least-privilege way.
    """
    if not component.startswith("verify/"):
        return []
    out: list[Access] = []
    for manifest in sorted((verifiers_dir / component.split("/", 1)[1] / "manifests").glob("*.yaml")):
        for doc in yaml.safe_load_all(manifest.read_text(encoding="utf-8")):
            for obj in doc if isinstance(doc, list) else [doc]:
                if not isinstance(obj, dict) or obj.get("kind") not in ("Role", "ClusterRole"):
                    continue
                for rule in obj.get("rules") or []:
                    out += [Access(verb, group, res) for group in rule.get("apiGroups") or []
                            for res in rule.get("resources") or [] for verb in rule.get("verbs") or []]
    return out


def build_rules(records: list[dict[str, Any]], verifiers_dir: Path = VERIFIERS_DIR) -> list[dict[str, Any]]:
    """Aggregate records into ClusterRole rules: one rule per (apiGroup, resource) with its verbs.

    A component that created Roles also gets what those Roles grant (see delegated_accesses).
    """
    verbs: dict[tuple[str | None, str], set[str]] = defaultdict(set)
    users: dict[tuple[str | None, str], set[str]] = defaultdict(set)
    role_creators: set[str] = set()
    for rec in records:
        access = classify(rec.get("method", "GET"), rec.get("path", "/"), rec.get("query", ""))
        key = (access.group, access.resource)
        verbs[key].add(access.verb)
        component = component_of(rec.get("user_agent", ""))
        users[key].add(component)
        if access.group == "rbac.authorization.k8s.io" and access.resource in ("roles", "clusterroles") \
                and access.verb == "create":
            role_creators.add(component)
    for component in sorted(role_creators):
        for access in delegated_accesses(component, verifiers_dir):
            key = (access.group, access.resource)
            verbs[key].add(access.verb)
            users[key].add(f"{component} (held to create its Role)")
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


def grants(rules: list[dict[str, Any]]) -> set[tuple[str | None, str, str]]:
    """Every (apiGroup or None for a non-resource URL, resource or URL, verb) a list of rules names."""
    out: set[tuple[str | None, str, str]] = set()
    for rule in rules:
        if "nonResourceURLs" in rule:
            out.update((None, url, verb) for url in rule["nonResourceURLs"] for verb in rule.get("verbs") or [])
            continue
        out.update((group, res, verb) for group in rule.get("apiGroups") or [] for res in rule.get("resources") or []
                   for verb in rule.get("verbs") or [])
    return out


def missing_grants(granted: list[dict[str, Any]], needed: list[dict[str, Any]]) -> list[str]:
    """What ``needed`` asks for and ``granted`` lacks, as readable lines (empty when granted ⊇ needed).

    Both sides come from build_rules (one literal group/resource per rule), so set containment is the
    RBAC answer; no wildcard matching is needed.
    """
    lacking = grants(needed) - grants(granted)
    return [f"{verb} {res}" if group is None else f"{verb} {res}.{group or 'core'}"
            for group, res, verb in sorted(lacking, key=lambda g: (g[0] is None, g[0] or "", g[1], g[2]))]


def load_rules(bundle_text: str) -> list[dict[str, Any]]:
    """The ClusterRole rules of a bundle (what an RBAC authorizer enforces)."""
    for doc in yaml.safe_load_all(bundle_text):
        if doc and doc.get("kind") == "ClusterRole":
            return list(doc.get("rules") or [])
    raise ValueError("no ClusterRole in the RBAC bundle")


def read_records(text: str) -> list[dict[str, Any]]:
    """Records from a JSON list, a ``{"log": [...]}`` object, or JSON lines."""
    text = text.strip()
    if not text:
        return []
    try:
        data = json.loads(text)
    except ValueError:
        data = [json.loads(line) for line in text.splitlines() if line.strip()]
    if isinstance(data, dict):
        data = data.get("log", [])
    if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
        raise ValueError("expected a list of request records or {\"log\": [...]}")
    return data


def generate(records: list[dict[str, Any]]) -> str:
    # Requests the authorizer refused are still needed: a log from a run with a too-small role says what.
    return cluster_role_yaml(build_rules(records))
