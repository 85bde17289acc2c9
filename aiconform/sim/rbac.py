"""RBAC authorization for tokens the simulator issues (simulator-only), plus a detailed request log.

``POST /_sim/tokens {"name": "aiconform-verify", "namespace": "aiconform-system", "rules": [...]}``
returns a bearer token for ``system:serviceaccount:<namespace>:<name>``; requests carrying it are
authorized against those ClusterRole rules the way kube-apiserver's RBAC authorizer does it (request
attributes from the URL as ``RequestInfoFactory`` derives them, ``rbac/v1`` rule matching, the real
Forbidden Status). The kubeconfig's admin token keeps full access and may impersonate
(``Impersonate-User``/``Impersonate-Group``, ``kubectl --as``): an impersonated user is authorized against the
stored Roles/ClusterRoles bound to it (``store_rules``), as kube-apiserver's RBAC authorizer does. Issued tokens survive ``/_sim/reset``: they stand for identities, not objects.

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
    details: dict[str, Any] = {"group": a.api_group, "kind": a.resource} if a.api_group else {"kind": a.resource}
    if a.name:
        details["name"] = a.name
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": f"{head}: {msg}", "reason": "Forbidden", "details": details, "code": 403}


@dataclass
class Identity:
    user: str
    rules: list[dict[str, Any]]


def user_groups(user: str, groups: list[str]) -> list[str]:
    """The groups an authenticated user has: the asked ones, ServiceAccount groups, system:authenticated."""
    out = list(groups)
    parts = user.split(":")
    if len(parts) == 4 and parts[:2] == ["system", "serviceaccount"]:
        out += ["system:serviceaccounts", f"system:serviceaccounts:{parts[2]}"]
    return [*out, "system:authenticated"]


def subject_matches(subject: Mapping[str, Any], user: str, groups: list[str], binding_ns: str) -> bool:
    kind, name = subject.get("kind"), subject.get("name")
    if kind == "User":
        return name == user
    if kind == "Group":
        return name in groups
    if kind == "ServiceAccount":
        return user == f"system:serviceaccount:{subject.get('namespace') or binding_ns}:{name}"
    return False


def store_rules(find: Any, items: Any, user: str, groups: list[str], namespace: str) -> list[dict[str, Any]]:
    """rbac/v1 rules granted to a user by the stored (Cluster)Roles and (Cluster)RoleBindings.

    ``find(plural, ns, name)`` and ``items(plural, ns)`` read objects of rbac.authorization.k8s.io.
    """
    def cluster_role_rules(name: str) -> list[dict[str, Any]]:
        role = find("clusterroles", "", name) or {}
        rules = list(role.get("rules") or [])
        for sel in (role.get("aggregationRule") or {}).get("clusterRoleSelectors") or []:
            from aiconform.sim.selectors import match_label_selector_obj
            for other in items("clusterroles", None):
                if other["metadata"]["name"] != name and match_label_selector_obj(sel, other["metadata"].get(
                        "labels") or {}):
                    rules += other.get("rules") or []
        return rules
    out: list[dict[str, Any]] = []
    for b in items("clusterrolebindings", None):
        if any(subject_matches(s, user, groups, "") for s in b.get("subjects") or []):
            out += cluster_role_rules((b.get("roleRef") or {}).get("name", ""))
    if namespace:
        for b in items("rolebindings", namespace):
            if not any(subject_matches(s, user, groups, namespace) for s in b.get("subjects") or []):
                continue
            ref = b.get("roleRef") or {}
            if ref.get("kind") == "ClusterRole":
                out += cluster_role_rules(ref.get("name", ""))
            else:
                out += (find("roles", namespace, ref.get("name", "")) or {}).get("rules") or []
    return out


@dataclass
class Requester:
    """Who makes a request: the admin (full access), an issued token, or a user the admin impersonates."""
    user: str
    groups: list[str]
    token_rules: list[dict[str, Any]] | None = None  # an issued token's rules
    admin: bool = False


@dataclass
class Authorizer:
    identities: dict[str, Identity] = field(default_factory=dict)
    log: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=LOG_LIMIT))
    # (user, groups, namespace) -> rules from the stored RBAC objects (set by the server)
    bound_rules: Any = None

    def requester(self, headers: Any) -> Requester:
        auth = headers.get("Authorization", "")
        ident = self.identities.get(auth[7:].strip()) if auth[:7].lower() == "bearer " else None
        if ident is not None:
            return Requester(ident.user, user_groups(ident.user, []), ident.rules)
        user = headers.get("Impersonate-User")
        if user:
            groups = headers.getall("Impersonate-Group", []) if hasattr(headers, "getall") else []
            return Requester(user, user_groups(user, list(groups)))
        return Requester("kubernetes-admin", ["system:masters", "system:authenticated"], admin=True)

    def allows(self, who: Requester, attrs: Attributes) -> bool:
        if who.admin or "system:masters" in who.groups:
            return True
        rules = list(DEFAULT_RULES)
        if who.token_rules is not None:
            rules += who.token_rules
        elif self.bound_rules is not None:
            rules += self.bound_rules(who.user, who.groups, attrs.namespace)
        return any(rule_allows(r, attrs) for r in rules)

    def issue(self, name: str, namespace: str, rules: list[dict[str, Any]]) -> tuple[str, str]:
        token = secrets.token_urlsafe(32)
        user = f"system:serviceaccount:{namespace}:{name}"
        self.identities[token] = Identity(user, [dict(r) for r in rules])
        return token, user

    def admit(self, method: str, path: str, query: Mapping[str, str], headers: Mapping[str, str]) -> dict[str, Any] | None:
        """Log the request; return the Forbidden Status when an issued token may not make it."""
        who = self.requester(headers)
        entry: dict[str, Any] = {"method": method, "path": path,
                                 "query": "&".join(f"{k}={v}" for k, v in query.items()),
                                 "user_agent": headers.get("User-Agent", ""),
                                 "user": "admin" if who.admin else who.user, "allowed": True}
        self.log.append(entry)
        if who.admin:
            return None
        attrs = request_attributes(method, path, query)
        if self.allows(who, attrs):
            return None
        entry["allowed"] = False
        return forbidden_status(who.user, attrs)

    def review(self, who: Requester, kind: str, spec: Mapping[str, Any]) -> dict[str, Any]:
        """The status of a (Self|Local)SubjectAccessReview."""
        if kind in ("SubjectAccessReview", "LocalSubjectAccessReview"):
            user = str(spec.get("user") or "")
            who = Requester(user, user_groups(user, list(spec.get("groups") or [])))
        ra = spec.get("resourceAttributes")
        if ra:
            attrs = Attributes(verb=ra.get("verb", ""), path="", resource_request=True, api_group=ra.get("group", ""),
                               api_version=ra.get("version", ""), namespace=ra.get("namespace", ""),
                               resource=ra.get("resource", ""), subresource=ra.get("subresource", ""),
                               name=ra.get("name", ""))
        else:
            nra = spec.get("nonResourceAttributes") or {}
            attrs = Attributes(verb=nra.get("verb", ""), path=nra.get("path", ""), resource_request=False)
        allowed = self.allows(who, attrs)
        status: dict[str, Any] = {"allowed": allowed}
        if allowed and not who.admin and "system:masters" not in who.groups:
            status["reason"] = "RBAC: allowed by the bound roles"
        elif allowed:
            status["reason"] = ""
        return status

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
