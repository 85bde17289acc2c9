"""Redaction applied where evidence is recorded: tokens, keys, passwords and Secret data never leave here.

Two layers: structured redaction of Kubernetes objects (Secret data, kubeconfig credentials,
known sensitive keys) and a text pass for credentials that appear inside command output.
"""
from __future__ import annotations

import re
from typing import Any

REDACTED = "<redacted>"

# Keys whose values are credentials wherever they appear (kubeconfig users, registry auth, helm values).
SENSITIVE_KEYS = {
    "token", "bearer_token", "api_key", "apikey", "password", "passwd", "secret", "client-key-data",
    "client-certificate-data", "client_key", "client_cert", "auth", "authorization", "id-token",
    "refresh-token", "access-token", "private_key", "privatekey", ".dockerconfigjson", ".dockercfg",
    "registry_password", "caBundle_private",
}
_SENSITIVE_SUFFIXES = ("_password", "_token", "_secret", "-password", "-token", "_key_data", "Password", "Token")

_TEXT_PATTERNS = [
    # Authorization headers and bearer tokens in commands/logs
    (re.compile(r"(?i)(authorization:\s*bearer\s+)[A-Za-z0-9._~+/=-]+"), r"\1" + REDACTED),
    (re.compile(r"(?i)(--token[= ])\S+"), r"\1" + REDACTED),
    (re.compile(r"(?i)\b(bearer\s+)[A-Za-z0-9._~+/=-]{8,}"), r"\1" + REDACTED),
    # kubeconfig / YAML / JSON fields
    (re.compile(r"(?im)^(\s*(?:client-key-data|client-certificate-data|token|id-token|refresh-token|password)\s*:\s*).+$"),
     r"\1" + REDACTED),
    (re.compile(r'(?i)("(?:token|password|client-key-data|client-certificate-data|auth)"\s*:\s*)"[^"]*"'),
     r'\1"' + REDACTED + '"'),
    # credentials in URLs (https://user:password@host), e.g. a metrics or Prometheus URL from inventory
    (re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s:@]+:[^/\s@]+@"), r"\1" + REDACTED + "@"),
    # PEM private keys
    (re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?-----END [A-Z ]*PRIVATE KEY-----", re.S),
     "-----BEGIN PRIVATE KEY-----" + REDACTED + "-----END PRIVATE KEY-----"),
    # JWTs (ServiceAccount tokens)
    (re.compile(r"\beyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}"), REDACTED),
]


def is_sensitive_key(key: str) -> bool:
    lowered = key.lower()
    return lowered in SENSITIVE_KEYS or key.endswith(_SENSITIVE_SUFFIXES) or lowered.endswith(
        tuple(s.lower() for s in _SENSITIVE_SUFFIXES))


def redact_text(text: str) -> str:
    if not text:
        return text
    for pattern, repl in _TEXT_PATTERNS:
        text = pattern.sub(repl, text)
    return text


def redact_value(value: Any) -> Any:
    """Redact a JSON-like structure. Kubernetes Secrets lose data/stringData entirely."""
    if isinstance(value, dict):
        if value.get("kind") == "Secret":
            out = {k: redact_value(v) for k, v in value.items() if k not in ("data", "stringData")}
            for key in ("data", "stringData"):
                if key in value and isinstance(value[key], dict):
                    out[key] = {k: REDACTED for k in value[key]}
            return out
        if isinstance(value.get("name"), str) and is_sensitive_key(value["name"]) and value.get("value"):
            # name/value pairs (container env, Helm --set lists): REGISTRY_PASSWORD=... is a credential
            return {**{k: redact_value(v) for k, v in value.items()}, "value": REDACTED}
        return {k: (REDACTED if isinstance(k, str) and is_sensitive_key(k) and v not in (None, "", [], {})
                    else redact_value(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [redact_value(v) for v in value]
    if isinstance(value, str):
        return redact_text(value)
    return value
