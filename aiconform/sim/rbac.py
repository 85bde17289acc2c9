"""RBAC authorization for tokens the simulator issues (simulator-only), plus a detailed request log.

``POST /_sim/tokens {"name": "aiconform-verify", "namespace": "aiconform-system", "rules": [...]}``
returns a bearer token for ``system:serviceaccount:<namespace>:<name>``; requests carrying it are
authorized against those ClusterRole rules the way kube-apiserver's RBAC authorizer does it (request
attributes from the URL as ``RequestInfoFactory`` derives them, ``rbac/v1`` rule matching, the real
Forbidden Status). Every other token (the kubeconfig's admin token) keeps full access, so existing
tests are unaffected. Issued tokens survive ``/_sim/reset``: they stand for identities, not objects.

``GET /_sim/requests?log=1`` returns every API request with its user agent and decision, the input of
``aiconform rbac generate``.
"""
from __future__ import annotations

import secrets
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

# Roles every authenticated identity has on a real cluster (system:discovery, system:basic-user,
# system:public-info-viewer), so a token fails where a real ServiceAccount would.
DEFAULT_RULES: list[dict[str, Any]] = [
    {"nonResourceURLs": ["/api", "/api/*", "/apis", "/apis/*", "/healthz", "/livez", "/readyz", "/version",
                         "/version/", "/openapi", "/openapi/*"], "verbs": ["get"]},
    {"apiGroups": ["authorization.k8s.io"], "resources": ["selfsubjectaccessreviews", "selfsubjectrulesreviews"],
     "verbs": ["create"]},
    {"apiGroups": ["authentication.k8s.io"], "resources": ["selfsubjectreviews"], "verbs": ["create"]},
]
LOG_LIMIT = 200_000  # records kept; a full verify run makes a few thousand
_NAMESPACE_SUBRESOURCES = {"status", "finalize"}


@dataclass(frozen=True)
class Attributes:
    """authorizer.Attributes of one request."""

    verb: str
    path: str
    resource_request: bool
    api_group: str = ""
    api_version: str = ""
    namespace: str = ""
    resource: str = ""
    subresource: str = ""
    name: str = ""


def request_attributes(method: str, path: str, query: Mapping[str, str] | str = "") -> Attributes:
    """The authorizer attributes of a request, following k8s.io/apiserver's RequestInfoFactory."""
    if isinstance(query, str):
        query = {k: v[-1] for k, v in parse_qs(query, keep_blank_values=True).items()}
    method = method.upper()
    parts = [p for p in path.strip("/").split("/") if p]
    nonresource = Attributes(verb=method.lower(), path=path, resource_request=False)
    if len(parts) < 3 or parts[0] not in ("api", "apis"):
        return nonresource
    prefix, parts = parts[0], parts[1:]
    group = ""
    if prefix == "apis":
        if len(parts) < 3:
            return nonresource
        group, parts = parts[0], parts[1:]
    version, parts = parts[0], parts[1:]
    if parts[0] in ("proxy", "watch"):
        if len(parts) < 2:
            return nonresource
        verb, parts = parts[0], parts[1:]
    else:
        verb = {"POST": "create", "GET": "get", "HEAD": "get", "PUT": "update", "PATCH": "patch",
                "DELETE": "delete"}.get(method, "")
    namespace = ""
    if parts[0] == "namespaces" and len(parts) > 1:
        namespace = parts[1]
        if len(parts) > 2 and parts[2] not in _NAMESPACE_SUBRESOURCES:
            parts = parts[2:]
    resource = parts[0]
    name = parts[1] if len(parts) >= 2 else ""
    sub = parts[2] if len(parts) >= 3 and verb != "proxy" else ""
    if not name and verb == "get":
        verb = "watch" if query.get("watch") in ("true", "1") else "list"
        name = _field_name(query.get("fieldSelector", ""))
    if not name and verb == "delete":
        verb = "deletecollection"
    return Attributes(verb=verb, path=path, resource_request=True, api_group=group, api_version=version,
                      namespace=namespace, resource=resource, subresource=sub, name=name)


def _field_name(selector: str) -> str:
    # list/watch with fieldSelector metadata.name=<x> is authorized with that name (resourceNames apply)
    for term in selector.split(","):
        key, op, value = term.partition("==") if "==" in term else term.partition("=")
        if op and key.strip() == "metadata.name" and not key.endswith("!"):
            return value.strip()
    return ""


def rule_allows(rule: Mapping[str, Any], a: Attributes) -> bool:
    """rbac/v1 helpers: VerbMatches, APIGroupMatches, ResourceMatches, ResourceNameMatches, NonResourceURLMatches."""
    verbs = rule.get("verbs") or []
    if "*" not in verbs and a.verb not in verbs:
        return False
    if not a.resource_request:
        return any(u == "*" or u == a.path or (u.endswith("*") and a.path.startswith(u[:-1]))
                   for u in rule.get("nonResourceURLs") or [])
    groups = rule.get("apiGroups") or []
    if "*" not in groups and a.api_group not in groups:
        return False
    combined = f"{a.resource}/{a.subresource}" if a.subresource else a.resource
    if not any(r == "*" or r == combined or (a.subresource and r == f"*/{a.subresource}")
               for r in rule.get("resources") or []):
        return False
    names = rule.get("resourceNames") or []
    return not names or a.name in names


def forbidden_status(user: str, a: Attributes) -> dict[str, Any]:
    """The Status kube-apiserver answers (responsewriters.Forbidden + apierrors.NewForbidden)."""
    if not a.resource_request:
        msg = f'User "{user}" cannot {a.verb} path "{a.path}"'
        return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                "message": f"forbidden: {msg}", "reason": "Forbidden", "details": {}, "code": 403}
    resource = f"{a.resource}/{a.subresource}" if a.subresource else a.resource
    scope = f'in the namespace "{a.namespace}"' if a.namespace else "at the cluster scope"
    msg = f'User "{user}" cannot {a.verb} resource "{resource}" in API group "{a.api_group}" {scope}'
    qualified = f"{a.resource}.{a.api_group}" if a.api_group else a.resource
    head = f'{qualified} "{a.name}" is forbidden' if a.name else f"{qualified} is forbidden"
    details: dict[str, Any] = {"group": a.api_group, "kind": a.resource}
    if a.name:
        details["name"] = a.name
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": f"{head}: {msg}", "reason": "Forbidden", "details": details, "code": 403}


@dataclass
class Identity:
    user: str
    rules: list[dict[str, Any]]


@dataclass
class Authorizer:
    identities: dict[str, Identity] = field(default_factory=dict)
    log: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=LOG_LIMIT))

    def issue(self, name: str, namespace: str, rules: list[dict[str, Any]]) -> tuple[str, str]:
        token = secrets.token_urlsafe(32)
        user = f"system:serviceaccount:{namespace}:{name}"
        self.identities[token] = Identity(user, [dict(r) for r in rules])
        return token, user

    def admit(self, method: str, path: str, query: Mapping[str, str], headers: Mapping[str, str]) -> dict[str, Any] | None:
        """Log the request; return the Forbidden Status when an issued token may not make it."""
        auth = headers.get("Authorization", "")
        ident = self.identities.get(auth[7:].strip()) if auth[:7].lower() == "bearer " else None
        entry: dict[str, Any] = {"method": method, "path": path,
                                 "query": "&".join(f"{k}={v}" for k, v in query.items()),
                                 "user_agent": headers.get("User-Agent", ""),
                                 "user": ident.user if ident else "admin", "allowed": True}
        self.log.append(entry)
        if ident is None:
            return None
        attrs = request_attributes(method, path, query)
        if any(rule_allows(r, attrs) for r in [*DEFAULT_RULES, *ident.rules]):
            return None
        entry["allowed"] = False
        return forbidden_status(ident.user, attrs)

    def admin(self, method: str, path: str, query: Mapping[str, str], body: Any) -> dict[str, Any] | None:
        """``/_sim/tokens`` and the request log; None lets the server handle the path (after side effects)."""
        if path == "/_sim/tokens":
            if method == "POST":
                b = body or {}
                token, user = self.issue(str(b.get("name") or "aiconform-verify"),
                                         str(b.get("namespace") or "aiconform-system"), list(b.get("rules") or []))
                return {"token": token, "user": user}
            if method == "DELETE":
                self.identities.clear()
            return {"users": sorted({i.user for i in self.identities.values()})}
        if path in ("/_sim/requests", "/_sim/reset") and method in ("DELETE", "POST"):
            self.log.clear()
        if path == "/_sim/requests" and method == "GET" and query.get("log") in ("1", "true"):
            return {"log": list(self.log)}
        return None
