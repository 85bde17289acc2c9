"""Validating admission webhooks, as kube-apiserver calls them, for the webhooks the simulator emulates.

Admission webhooks are not generally emulated: a webhook server is an operator's code. A module that
emulates one registers a ``Validator`` here; it runs only when a ValidatingWebhookConfiguration in the
simulated cluster registers that webhook for the object (rule match, non-empty ``caBundle``), like the
real API server, which calls nothing that is not registered. The validator raises ``ApiError`` to deny.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiconform.sim.api import Cluster
from aiconform.sim.discovery import ResourceDef

Obj = dict[str, Any]
# (cluster, resource, namespace, object, operation) -> None, or raise ApiError to deny.
Validator = Callable[[Cluster, ResourceDef, str, Obj, str], None]
VALIDATORS: list[Validator] = []


def register(validator: Validator) -> Validator:
    if validator not in VALIDATORS:
        VALIDATORS.append(validator)
    return validator


def admit(c: Cluster, rd: ResourceDef, ns: str, obj: Obj, operation: str = "CREATE") -> None:
    for validator in VALIDATORS:
        validator(c, rd, ns, obj, operation)


def registered_webhooks(c: Cluster, rd: ResourceDef, operation: str) -> list[Obj]:
    """Webhooks of every ValidatingWebhookConfiguration whose rules match this resource and operation."""
    out = []
    for cfg in c.objects("admissionregistration.k8s.io", "validatingwebhookconfigurations"):
        for wh in cfg.get("webhooks") or []:
            for rule in wh.get("rules") or []:
                if (_matches(rule.get("apiGroups"), rd.group) and _matches(rule.get("resources"), rd.plural)
                        and _matches(rule.get("operations"), operation)):
                    out.append({**wh, "configuration": cfg["metadata"]["name"]})
                    break
    return out


def _matches(values: list[str] | None, value: str) -> bool:
    return bool(values) and ("*" in values or value in values)


def reach(c: Cluster, wh: Obj) -> tuple[str | None, list[Obj]]:
    """Whether the API server could call this webhook: (why the call fails, or None; the ready pods serving it).
    An empty caBundle fails TLS verification; a missing Service or one without ready endpoints cannot be reached."""
    from aiconform.sim.controllers import proxy  # noqa: PLC0415 - proxy imports controllers that import this module

    cfg = wh.get("clientConfig") or {}
    ref = cfg.get("service") or {}
    url = (f"https://{ref.get('name')}.{ref.get('namespace')}.svc:{ref.get('port', 443)}{ref.get('path', '')}"
           "?timeout=10s")
    if not cfg.get("caBundle"):
        return f'Post "{url}": tls: failed to verify certificate: x509: certificate signed by unknown authority', []
    svc = c.find("", "services", ref.get("namespace", ""), ref.get("name", ""))
    if svc is None:
        return f'Post "{url}": service "{ref.get("name")}" not found', []
    served = proxy.endpoints(c, svc)
    if not served:
        return f'Post "{url}": no endpoints available for service "{ref.get("name")}"', []
    return None, served
