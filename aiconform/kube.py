"""Cluster connection shared by every module and the CLI, with errors a user can act on.

The connection options mirror kubernetes.core's (kubeconfig, context, host, api_key, validate_certs,
ca_cert) so one ``module_defaults`` group sets them for both collections.
"""
from __future__ import annotations

import socket
from dataclasses import dataclass
from typing import Any

import urllib3
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException
from kubernetes.config.config_exception import ConfigException

from aiconform import __version__

# Argument spec shared by every aiconform module that talks to a cluster (see doc_fragments/cluster.py).
CONNECTION_ARGSPEC: dict[str, dict[str, Any]] = {
    "kubeconfig": {"type": "path"},
    "context": {"type": "str"},
    "host": {"type": "str"},
    "api_key": {"type": "str", "no_log": True},
    "validate_certs": {"type": "bool", "default": True},
    "ca_cert": {"type": "path"},
    "request_timeout": {"type": "int", "default": 30},
}


class ClusterError(Exception):
    """A cluster problem described for a human: what failed, why, and what to do."""

    def __init__(self, message: str, *, kind: str = "error", status: int | None = None) -> None:
        super().__init__(message)
        self.kind = kind  # unreachable | forbidden | unauthorized | not_found | timeout | config | error
        self.status = status


@dataclass
class Connection:
    api: client.ApiClient
    host: str  # API server URL without credentials, safe to report
    tls_verify: bool
    request_timeout: int

    def close(self) -> None:
        self.api.close()


def connect(params: dict[str, Any], component: str = "cli") -> Connection:
    """Build an ApiClient from module params. Raises ClusterError with an actionable message.

    The User-Agent names the component (``verify/gang_scheduling``), so the API server's audit log, and
    ``aiconform rbac``, can tell which verifier made each call.
    """
    cfg = client.Configuration()
    try:
        if params.get("host"):
            cfg.host = params["host"]
        else:
            config.load_kube_config(config_file=params.get("kubeconfig"), context=params.get("context"),
                                    client_configuration=cfg, persist_config=False)
        if params.get("api_key"):
            # kubernetes>=35 reads "BearerToken" first (the kubeconfig's token lands there): replace both,
            # or a kubeconfig identity (often cluster-admin) would silently win over the given token.
            bearer = f"Bearer {params['api_key']}"
            cfg.api_key = {"authorization": bearer, "BearerToken": bearer}
            cfg.refresh_api_key_hook = None
    except (ConfigException, OSError, TypeError, ValueError) as exc:
        where = params.get("kubeconfig") or "the default kubeconfig (~/.kube/config or $KUBECONFIG)"
        ctx = f" context {params['context']!r}" if params.get("context") else ""
        raise ClusterError(f"cannot load {where}{ctx}: {exc}. Set aiconform_kubeconfig / aiconform_context "
                           "in the inventory to a readable kubeconfig.", kind="config") from exc
    if params.get("validate_certs") is False:
        cfg.verify_ssl = False
        urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
    if params.get("ca_cert"):
        cfg.ssl_ca_cert = params["ca_cert"]
    cfg.retries = False
    timeout = int(params.get("request_timeout") or 30)
    api = client.ApiClient(cfg)
    api.user_agent = f"aiconform/{__version__} ({component})"
    return Connection(api=api, host=_safe_host(cfg.host), tls_verify=bool(cfg.verify_ssl),
                      request_timeout=timeout)


def get_json(api: client.ApiClient, path: str, request_timeout: Any = None) -> Any:
    """GET a path and return decoded JSON (or text), without the typed models.

    The typed APIs import and validate hundreds of pydantic models (about half a CPU-second per process for
    CoreV1Api); a fact-gathering call that needs a few fields reads plain JSON instead.
    Raises ApiException on an HTTP error, like the typed calls.
    """
    method, url, headers, body, post = api.param_serialize(
        "GET", path, header_params={"Accept": "application/json, */*"}, auth_settings=["BearerToken"])
    response = api.call_api(method, url, headers, body, post, _request_timeout=request_timeout)
    response.read()
    return api.response_deserialize(response, {"2XX": "object"}).data


def _safe_host(host: str) -> str:
    # Strip any userinfo (user:password@) from the URL before it can reach a report.
    if "@" in host:
        scheme, _, rest = host.partition("://")
        return f"{scheme}://{rest.split('@', 1)[1]}"
    return host


def describe_error(exc: BaseException, what: str, host: str = "") -> ClusterError:
    """Translate client exceptions into a ClusterError naming the call, the cause and a remedy."""
    if isinstance(exc, ClusterError):
        return exc
    target = f" at {host}" if host else ""
    if isinstance(exc, ApiException):
        reason = _status_message(exc)
        if exc.status == 401:
            return ClusterError(f"{what}: unauthorized{target} ({reason}); the credentials in the kubeconfig "
                                "were rejected", kind="unauthorized", status=401)
        if exc.status == 403:
            return ClusterError(f"{what}: forbidden ({reason}); grant this permission to the identity in the "
                                "kubeconfig (see rbac/ for the verify role)", kind="forbidden", status=403)
        if exc.status == 404:
            return ClusterError(f"{what}: not found ({reason})", kind="not_found", status=404)
        if exc.status in (429, 500, 502, 503, 504):
            return ClusterError(f"{what}: API server error {exc.status}{target} ({reason})", kind="server",
                                status=exc.status)
        return ClusterError(f"{what}: HTTP {exc.status} ({reason})", status=exc.status)
    if isinstance(exc, (urllib3.exceptions.MaxRetryError, urllib3.exceptions.NewConnectionError,
                        ConnectionError, socket.error)):
        return ClusterError(f"{what}: API server unreachable{target} ({type(exc).__name__}: {exc}); check the "
                            "server URL, network and that the cluster is running", kind="unreachable")
    if isinstance(exc, (urllib3.exceptions.ReadTimeoutError, TimeoutError, socket.timeout)):
        return ClusterError(f"{what}: timed out{target}", kind="timeout")
    if isinstance(exc, (ValueError, KeyError, TypeError)):
        return ClusterError(f"{what}: unexpected response{target} ({type(exc).__name__}: {exc})",
                            kind="bad_response")
    return ClusterError(f"{what}: {type(exc).__name__}: {exc}")


def _status_message(exc: ApiException) -> str:
    import json

    try:
        body = json.loads(exc.body or "{}")
        return str(body.get("message") or exc.reason)
    except (ValueError, TypeError):
        return str(exc.reason)
