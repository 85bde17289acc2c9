"""HTTP through the API server (service proxy) or to a URL from inventory, with size and time limits.

Used by verifiers that scrape exporters or query Prometheus. The kubernetes client's generated APIs
preload whole bodies and have no byte limit, so this streams the body and stops at ``max_bytes`` and
at the deadline. Answers are returned with their HTTP status: a 503 "no endpoints available" from
the proxy is a finding for the judge; authorization failures raise ClusterError (an ``error``).
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

try:
    import urllib3
    from kubernetes.client.exceptions import ApiException
except ImportError:  # the module reports the missing library (deps.py)
    urllib3 = ApiException = None

from ..kube import ClusterError, describe_error

# Statuses that mean the API server itself refused us: an error of aiconform's access, not a finding.
ACCESS_ERRORS = (401, 403)


@dataclass
class HttpResult:
    status: int
    body: bytes
    truncated: bool
    elapsed_s: float
    content_type: str = ""
    timed_out: bool = False

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300 and not self.timed_out


def service_proxy_path(namespace: str, service: str, port: str | int, path: str, scheme: str = "") -> str:
    """``/api/v1/namespaces/<ns>/services/[<scheme>:]<name>:<port>/proxy/<path>``."""
    target = f"{scheme + ':' if scheme else ''}{service}:{port}"
    return (f"/api/v1/namespaces/{quote(namespace, safe='')}/services/{quote(target, safe=':')}/proxy/"
            f"{path.lstrip('/')}")


def parse_service_ref(ref: str, default_namespace: str = "") -> tuple[str, str, str]:
    """``<ns>/<name>:<port>`` (the upstream flag format) → (namespace, name, port)."""
    ns, _sep, rest = ref.rpartition("/")
    name, _sep, port = rest.partition(":")
    ns = ns or default_namespace
    if not ns or not name or not port:
        raise ValueError(f"service reference {ref!r} is not <namespace>/<name>:<port>")
    return ns, name, port


def api_request(ctx: Any, method: str, path: str, *, query: dict[str, str] | None = None,
                body: Any = None, timeout: float = 30.0, max_bytes: int = 8 << 20,
                what: str = "") -> HttpResult:
    """One request to the API server (e.g. a service proxy path), streamed with limits."""
    api = ctx.conn.api
    what = what or f"{method} {path}"
    headers = {"Accept": "*/*"}
    if body is not None:
        headers["Content-Type"] = "application/json"
    start = time.monotonic()
    try:
        _m, url, hdrs, payload, _post = api.param_serialize(
            method, path, query_params=list((query or {}).items()), header_params=headers, body=body,
            auth_settings=["BearerToken"])
        resp = api.rest_client.request(method, url, headers=hdrs, body=payload, _request_timeout=timeout)
        raw: urllib3.HTTPResponse = resp.response
    except Exception as exc:  # noqa: BLE001 - translated into a ClusterError naming the call
        if _is_timeout(exc):
            return HttpResult(0, b"", False, time.monotonic() - start, timed_out=True)
        raise describe_error(exc, what, ctx.conn.host) from exc
    result = _drain(raw, start, timeout, max_bytes)
    if result.status in ACCESS_ERRORS:
        exc = ApiException(status=result.status, reason="Forbidden" if result.status == 403 else "Unauthorized")
        exc.body = result.text
        raise describe_error(exc, what, ctx.conn.host)
    return result


def url_request(url: str, *, method: str = "GET", query: dict[str, str] | None = None, body: bytes | None = None,
                timeout: float = 30.0, max_bytes: int = 8 << 20, bearer_token: str = "",
                verify: bool = True) -> HttpResult:
    """A request to a URL from inventory (an ingress, a port-forward), with the same limits."""
    headers = {"Accept": "*/*"}
    if bearer_token:
        headers["Authorization"] = f"Bearer {bearer_token}"
    pool = urllib3.PoolManager(cert_reqs="CERT_REQUIRED" if verify else "CERT_NONE", retries=False)
    start = time.monotonic()
    try:
        raw = pool.request(method, url, fields=query if method == "GET" else None, body=body, headers=headers,
                           timeout=urllib3.Timeout(total=timeout), preload_content=False)
    except Exception as exc:  # noqa: BLE001 - translated for the user
        if _is_timeout(exc):
            return HttpResult(0, b"", False, time.monotonic() - start, timed_out=True)
        raise ClusterError(f"{method} {url}: {type(exc).__name__}: {exc}", kind="unreachable") from exc
    return _drain(raw, start, timeout, max_bytes)


def _drain(raw: urllib3.HTTPResponse, start: float, timeout: float, max_bytes: int) -> HttpResult:
    chunks: list[bytes] = []
    size = 0
    truncated = timed_out = False
    # A body that trickles in forever never trips the socket read timeout, and stream() returns only
    # after a whole chunk: a watchdog shuts the connection at the deadline so the read returns.
    expired = threading.Event()

    def _expire() -> None:
        expired.set()
        try:
            raw.shutdown()
        except Exception:  # noqa: BLE001 - the read may have finished in between
            pass
    watchdog = threading.Timer(max(0.0, timeout - (time.monotonic() - start)), _expire)
    watchdog.daemon = True
    watchdog.start()
    try:
        for chunk in raw.stream(64 * 1024, decode_content=True):
            chunks.append(chunk)
            size += len(chunk)
            if size > max_bytes:
                truncated = True
                break
            if time.monotonic() - start > timeout:
                timed_out = True
                break
    except Exception as exc:  # noqa: BLE001 - a read timeout mid-body is a timeout, anything else too
        timed_out = _is_timeout(exc) or timed_out or expired.is_set()
        if not timed_out:
            raise
    finally:
        watchdog.cancel()
        timed_out = timed_out or expired.is_set()
        if truncated or timed_out:
            raw.close()  # the rest of the body is unread: never hand this connection back for reuse
        raw.release_conn()
    body = b"".join(chunks)[:max_bytes]
    return HttpResult(status=raw.status, body=body, truncated=truncated, elapsed_s=time.monotonic() - start,
                      content_type=raw.headers.get("Content-Type", ""), timed_out=timed_out)


def _is_timeout(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, (TimeoutError, urllib3.exceptions.TimeoutError)):
            return True
        if isinstance(seen, urllib3.exceptions.MaxRetryError) and isinstance(seen.reason, urllib3.exceptions.TimeoutError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def status_reason(result: HttpResult) -> str:
    """A short reason for a non-2xx answer, using the Status message the API server sends."""
    if result.timed_out:
        return f"no complete answer within {result.elapsed_s:.0f}s"
    import json

    try:
        body = json.loads(result.text)
        message = body.get("message") if isinstance(body, dict) else None
    except ValueError:
        message = None
    return f"HTTP {result.status}" + (f": {message or result.text.strip()[:200]}" if (message or result.text.strip())
                                      else "")
