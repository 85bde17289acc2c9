"""Cluster connection shared by every module and the CLI, with errors a user can act on.

The connection options mirror kubernetes.core's (kubeconfig, context, host, api_key, validate_certs,
ca_cert) so one ``module_defaults`` group sets them for both collections.
"""
from __future__ import annotations

import email.utils
import json
import os
import re
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

try:
    import urllib3
    from kubernetes import client, config
    from kubernetes.client import rest
    from kubernetes.client.exceptions import ApiException
    from kubernetes.config.config_exception import ConfigException
except ImportError:  # the module reports the missing library (deps.py)
    urllib3 = client = config = rest = ApiException = ConfigException = None

from .about import __version__


def k8s_auth_env(*names: str, boolean: bool = False) -> Any:
    """An Ansible argument-spec ``fallback``: the environment as kubernetes.core reads it.

    kubernetes.core (``module_utils/k8s/client.py``, ``_create_auth_spec``) takes ``K8S_AUTH_<OPTION>``, else
    ``K8S_AUTH_<its kubernetes.core name>`` (``K8S_AUTH_VERIFY_SSL`` for ``validate_certs``), when the option is
    not given; a boolean is true unless the value is ``0``, ``false`` or ``no`` (any case). Same here, so the
    aiconform modules and kubernetes.core's talk to the same cluster with the same settings.
    """
    from ansible.module_utils.errors import AnsibleFallbackNotFound
    value = os.environ.get(names[0])
    for name in names[1:]:
        value = value or os.environ.get(name)
    if value is None:
        raise AnsibleFallbackNotFound
    return value.lower() not in ("0", "false", "no") if boolean else value


def k8s_auth_env_bool(*names: str) -> bool:
    """:func:`k8s_auth_env` for a boolean option."""
    return k8s_auth_env(*names, boolean=True)


def _env(option: str, alias: str | None = None, *, boolean: bool = False) -> tuple[Any, ...]:
    names = [f"K8S_AUTH_{option.upper()}"] + ([f"K8S_AUTH_{alias.upper()}"] if alias else [])
    return (k8s_auth_env_bool if boolean else k8s_auth_env, names)


# The connection options of every aiconform module (documented once: doc fragment aiconform.conformance.cluster).
# Options, aliases and environment variables as kubernetes.core's (args_common.AUTH_ARG_SPEC, AUTH_ARG_MAP).
CONNECTION_ARGSPEC: dict[str, dict[str, Any]] = {
    "kubeconfig": {"type": "path", "fallback": _env("kubeconfig")},
    "context": {"type": "str", "fallback": _env("context")},
    "host": {"type": "str", "fallback": _env("host")},
    "api_key": {"type": "str", "no_log": True, "fallback": _env("api_key")},
    "validate_certs": {"type": "bool", "default": True, "aliases": ["verify_ssl"],
                       "fallback": _env("validate_certs", "verify_ssl", boolean=True)},
    "ca_cert": {"type": "path", "aliases": ["ssl_ca_cert"], "fallback": _env("ca_cert", "ssl_ca_cert")},
    "client_cert": {"type": "path", "aliases": ["cert_file"], "fallback": _env("client_cert", "cert_file")},
    "client_key": {"type": "path", "aliases": ["key_file"], "fallback": _env("client_key", "key_file")},
    "request_timeout": {"type": "int", "default": 30},
}


class ClusterError(Exception):
    """A cluster problem described for a human: what failed, why, and what to do."""

    def __init__(self, message: str, *, kind: str = "error", status: int | None = None) -> None:
        super().__init__(message)
        self.kind = kind  # unreachable | forbidden | unauthorized | not_found | timeout | config | error
        self.status = status


@dataclass(frozen=True)
class RetryPolicy:
    """When and how long a request is retried, as client-go's REST client does (``rest.WithRetry``).

    - ``429 Too Many Requests`` (API Priority and Fairness, max-in-flight), and a 5xx answer that carries
      ``Retry-After``: the server asked to come back, the request was not processed. Retried after the server's
      ``Retry-After`` (else ``default_delay``), each wait capped at ``max_delay``.
    - A connection reset or closed before an answer: retried for GET/HEAD (client-go retries GETs on a
      connection reset/EOF) and DELETE (deleting twice is harmless: callers treat 404 as gone). A refused
      connection (server down) is not retried.
    - PUT/PATCH/DELETE are retried on 429/5xx+Retry-After like GET (they are idempotent).
    - POST (create) is never retried blindly: after a retryable failure the object is read back by name; if it
      exists with the labels the create asked for, the create took effect and that object is the answer; if it
      does not exist, the create is sent again; a create without a name (``generateName``) is not retried.
    - An admission webhook the API server could not reach (``500 failed calling webhook``: connection refused,
      no endpoints available, a reset, a timeout, a certificate being rotated): admission runs before anything
      is stored, so the request was not processed and is sent again (creates as above), for at most
      ``webhook_budget`` seconds. This goes beyond client-go on purpose: a webhook's pod restarting (a
      controller that lost its leader lease on a busy cluster, a rollout) would otherwise turn a verdict into
      ``error``; a webhook that stays unreachable still gives the API server's answer after that budget.
    - A webhook that denied a request because it has not seen the request's namespace yet (``admission webhook
      "..." denied the request: Namespace "<ns>" not found`` for the ``<ns>`` of the request's path: Kueue's pod
      webhook reads namespaces from its informer cache, which lags a namespace created a moment before). The API
      server's own NamespaceLifecycle admission, which runs before any webhook, had found the namespace, so the
      denial is the webhook's stale view: sent again, within ``webhook_budget``.
    - Not retried: other 5xx, 4xx, read timeouts (``request_timeout`` bounds every attempt).

    At most ``max_retries`` retries and ``budget`` seconds of waiting per request, so a persistent fault gives an
    error in bounded time.
    """

    max_retries: int = 10  # client-go's default
    max_delay: float = 10.0
    default_delay: float = 1.0
    budget: float = 60.0
    webhook_budget: float = 45.0  # covers a webhook pod restarting, with attempts that time out (10 s each)


DEFAULT_POLICY = RetryPolicy()  # connect()'s unless told otherwise (the fault matrix shortens it)
IDEMPOTENT = frozenset(("GET", "HEAD", "PUT", "PATCH", "DELETE"))
RECONNECT = frozenset(("GET", "HEAD", "DELETE"))
# A connection reset or closed before the answer (client-go: IsConnectionReset / IsProbableEOF). A refused
# connection is not retried: the server is down, and preflight should say so at once.
_CONNECTION_ERRORS = ((urllib3.exceptions.ProtocolError,) if urllib3 else ()) + (ConnectionResetError, ConnectionAbortedError)


# The API server's message when it could not reach a webhook for a reason that passes (its dispatcher's
# "failed calling webhook" + the transport error); a webhook that answered (denied, a bad response) is not here.
WEBHOOK_UNREACHABLE = re.compile(
    r'failed calling webhook "[^"]+": .*(?:connection refused|no endpoints available|connection reset|EOF|'
    r'i/o timeout|context deadline exceeded|Client\.Timeout exceeded|TLS handshake timeout|x509: )')


# A webhook's denial because its cache has not seen the request's namespace yet (see RetryPolicy).
WEBHOOK_STALE_NAMESPACE = re.compile(r'admission webhook "[^"]+" denied the request: [Nn]amespaces? "([^"]+)" not found')
_PATH_NAMESPACE = re.compile(r"/namespaces/([^/?]+)/")


def webhook_retry(status: int, body: bytes | None, attempt: int, policy: RetryPolicy,
                  url: str = "") -> float | None:
    """Seconds to wait before sending again a request refused because a webhook could not be reached, or denied
    it from a stale view of the request's namespace."""
    if status not in (400, 403, 404, 500) or not body:
        return None
    try:
        message = str((json.loads(body) or {}).get("message") or "")
    except (ValueError, TypeError, AttributeError):
        return None
    if status == 500 and WEBHOOK_UNREACHABLE.search(message):
        return min(policy.max_delay, policy.default_delay * (attempt + 1))
    stale, in_path = WEBHOOK_STALE_NAMESPACE.search(message), _PATH_NAMESPACE.search(url)
    if stale and in_path and stale.group(1) == in_path.group(1):
        return min(policy.max_delay, policy.default_delay * (attempt + 1))
    return None


def retry_after(status: int, headers: Any, body: bytes | None, policy: RetryPolicy) -> float | None:
    """Seconds to wait before retrying an answer with this status, or None when it must not be retried."""
    header = None
    try:
        header = headers.get("Retry-After") if headers is not None else None
    except AttributeError:
        header = None
    seconds: float | None = None
    if header:
        try:
            seconds = float(int(str(header).strip()))
        except ValueError:
            when = email.utils.parsedate_to_datetime(str(header)) if str(header).strip() else None
            seconds = max(0.0, when.timestamp() - time.time()) if when else None
    if status == 429 and seconds is None and body:
        try:  # the Status body's details.retryAfterSeconds, which kube-apiserver also sets
            seconds = float(((json.loads(body) or {}).get("details") or {}).get("retryAfterSeconds"))
        except (ValueError, TypeError, AttributeError):
            seconds = None
    if status == 429 or (500 <= status <= 599 and header):
        return min(policy.max_delay, max(0.0, seconds if seconds is not None else policy.default_delay))
    return None


class RetryingApiClient(client.ApiClient if client else object):  # type: ignore[misc]  # (deps.py: kubernetes missing)
    """An ApiClient whose every request follows ``RetryPolicy`` (typed APIs and ``get_json`` alike)."""

    def __init__(self, configuration: client.Configuration, policy: RetryPolicy | None = None,
                 cancel: threading.Event | None = None, sleep: Callable[[float], Any] | None = None) -> None:
        super().__init__(configuration)
        self.policy = policy or DEFAULT_POLICY
        self.cancel = cancel  # set: stop retrying (a cancelled run still gets one attempt per call)
        self._sleep = sleep
        self.retries = 0  # retries made by this client, for tests and benchmarks

    def _wait(self, seconds: float) -> bool:
        """Sleep; False when the run was cancelled (before or meanwhile): then the last failure stands."""
        if self.cancel is not None and self.cancel.is_set():
            return False
        if self._sleep is not None:
            self._sleep(seconds)
            return True
        if self.cancel is not None:
            return not self.cancel.wait(seconds)
        time.sleep(seconds)
        return True

    def call_api(self, method, url, header_params=None, body=None, post_params=None,  # type: ignore[override]
                 _request_timeout=None) -> rest.RESTResponse:
        policy = self.policy
        started = time.monotonic()
        attempt = 0
        while True:
            error: BaseException | None = None
            delay: float | None = None
            response: rest.RESTResponse | None = None
            limit = policy.budget
            try:
                response = super().call_api(method, url, header_params, body, post_params, _request_timeout)
            except _CONNECTION_ERRORS as exc:
                if method not in RECONNECT and not (method == "POST" and _created_name(body)):
                    raise
                error, delay = exc, policy.default_delay if attempt else 0.2
            if response is not None:
                if response.status < 400 or response.status not in (400, 403, 404, 429, *range(500, 600)):
                    return response
                data = response.read()
                delay = retry_after(response.status, response.headers, data, policy)
                if delay is None:
                    delay, limit = webhook_retry(response.status, data, attempt, policy, url), policy.webhook_budget
                if delay is None or (method not in IDEMPOTENT and not (method == "POST" and _created_name(body))):
                    return response
            if delay is None:
                raise AssertionError('delay is not None')
            if (attempt >= policy.max_retries or time.monotonic() - started + delay > limit
                    or not self._wait(delay)):
                return self._give_up(response, error, attempt, time.monotonic() - started)
            attempt += 1
            self.retries += 1
            if method == "POST":
                found = self._created(url, header_params, body, _request_timeout)
                if found is not None:
                    return found

    def deserialize(self, response_text: str, response_type: str, content_type: str | None) -> Any:
        """As ApiClient's, but an answer that should be a JSON object (custom objects, ``get_json``) and is not
        (an HTML error page from a proxy, a truncated body) raises ValueError instead of coming back as text."""
        data = super().deserialize(response_text, response_type, content_type)
        if response_type == "object" and not isinstance(data, (dict, list)):
            text = " ".join(str(data)[:120].split())
            raise ValueError(f"the API server answered {content_type or 'no content type'} that is not a JSON "
                             f"object: {text!r}")
        return data

    @staticmethod
    def _give_up(response: rest.RESTResponse | None, error: BaseException | None, retries: int,
                 elapsed: float) -> rest.RESTResponse:
        """The last failure, raised; ``describe_error`` adds how long it was retried."""
        exc: BaseException = error if error is not None else ApiException(http_resp=response)
        if retries:
            exc.aiconform_retried = (retries, elapsed)  # type: ignore[attr-defined]
        raise exc

    def _created(self, url: str, header_params: Any, body: Any, timeout: Any) -> rest.RESTResponse | None:
        """Check-then-create: the object a failed create may have made, if it exists and is ours."""
        name = _created_name(body)
        get_url = url.split("?", 1)[0].rstrip("/") + "/" + name
        headers = {k: v for k, v in (header_params or {}).items() if k.lower() != "content-type"}
        try:
            got = super().call_api("GET", get_url, headers, None, None, timeout)
        except _CONNECTION_ERRORS:
            return None  # unknown: the next attempt tells
        data = got.read()
        if got.status != 200:
            return None  # not there (404) or unknown: send the create again
        try:
            labels = ((json.loads(data) or {}).get("metadata") or {}).get("labels") or {}
        except (ValueError, AttributeError):
            return None
        wanted = ((_body_dict(body).get("metadata") or {}).get("labels")) or {}
        if all(labels.get(k) == v for k, v in wanted.items()):
            return got  # the earlier attempt created it
        raise ApiException(status=409, reason=f"AlreadyExists: {name} exists and was not created by this request "
                                              "(its labels differ); not retried")


def _body_dict(body: Any) -> dict[str, Any]:
    if isinstance(body, dict):
        return body
    if isinstance(body, (str, bytes)):
        try:
            data = json.loads(body)
        except ValueError:
            return {}
        return data if isinstance(data, dict) else {}
    return {}


def _created_name(body: Any) -> str:
    """The name a create asks for ('' for generateName or no object body: such a create is not retried)."""
    name = (_body_dict(body).get("metadata") or {}).get("name")
    return name if isinstance(name, str) and name else ""


@dataclass
class Connection:
    api: client.ApiClient
    host: str  # API server URL without credentials, safe to report
    tls_verify: bool
    request_timeout: int

    def close(self) -> None:
        self.api.close()


def connect(params: dict[str, Any], component: str = "cli", *, policy: RetryPolicy | None = None,
            cancel: threading.Event | None = None) -> Connection:
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
    if params.get("client_cert"):
        cfg.cert_file = params["client_cert"]
    if params.get("client_key"):
        cfg.key_file = params["client_key"]
    cfg.retries = False  # urllib3's own retries off: RetryingApiClient decides (see RetryPolicy)
    timeout = int(params.get("request_timeout") or 30)
    api = RetryingApiClient(cfg, policy or DEFAULT_POLICY, cancel)
    api.user_agent = f"aiconform/{__version__} ({component})"
    return Connection(api=api, host=_safe_host(cfg.host), tls_verify=bool(cfg.verify_ssl),
                      request_timeout=timeout)


def get_json(api: client.ApiClient, path: str, request_timeout: Any = None) -> Any:
    """GET a path and return the decoded JSON object, without the typed models.

    The typed APIs import and validate hundreds of pydantic models (about half a CPU-second per process for
    CoreV1Api); a fact-gathering call that needs a few fields reads plain JSON instead.
    Raises ApiException on an HTTP error, like the typed calls, and ValueError when the answer is not JSON.
    """
    method, url, headers, body, post = api.param_serialize(
        "GET", path, header_params={"Accept": "application/json, */*"}, auth_settings=["BearerToken"])
    response = api.call_api(method, url, headers, body, post, _request_timeout=request_timeout)
    response.read()
    return api.response_deserialize(response, {"2XX": "object"}).data


def _safe_host(host: str) -> str:
    # Strip any userinfo (user:password@) from the URL before it can reach a report.
    if "@" in host:
        scheme, _sep, rest = host.partition("://")
        return f"{scheme}://{rest.split('@', 1)[1]}"
    return host


def describe_error(exc: BaseException, what: str, host: str = "") -> ClusterError:
    """Translate client exceptions into a ClusterError naming the call, the cause and a remedy."""
    if isinstance(exc, ClusterError):
        return exc
    retried = getattr(exc, "aiconform_retried", None)
    if retried:
        what = f"{what} (retried {retried[0]} time(s) over {retried[1]:.0f}s, then gave up)"
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
    if isinstance(exc, urllib3.exceptions.ProtocolError):
        return ClusterError(f"{what}: the API server closed the connection without an answer{target} "
                            f"({type(exc).__name__}: {exc})", kind="unreachable")
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
