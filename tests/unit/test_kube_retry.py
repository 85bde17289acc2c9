"""aiconform.kube's retry policy (client-go's where it matters), against a scripted fake API server on loopback.

Each test scripts the answers of a small HTTP server (status, headers, delay, a dropped connection) and checks
what the client did: how many requests reached the server, how long it waited, what the caller got.
"""
from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from aiconform.kube import ClusterError, RetryPolicy, connect, describe_error, get_json
from kubernetes import client
from kubernetes.client.exceptions import ApiException


class FakeAPI:
    """Answers per "METHOD path" from a script; each entry is used once, the last one forever."""

    def __init__(self) -> None:
        self.script: dict[str, list[dict[str, Any]]] = {}
        self.seen: list[str] = []
        self.objects: dict[str, dict[str, Any]] = {}  # path -> object (created by POST)
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"null") if length else None
                path = self.path.split("?", 1)[0]
                key = f"{self.command} {path}"
                api.seen.append(key)
                steps = api.script.get(key) or []
                step = steps.pop(0) if len(steps) > 1 else (steps[0] if steps else {})
                if step.get("delay"):
                    time.sleep(step["delay"])
                if step.get("apply") and self.command == "POST":
                    api.store(path, body)
                if step.get("drop"):
                    self.connection.close()
                    self.close_connection = True
                    return
                status = step.get("status")
                if step.get("raw"):
                    status, payload = 200, None
                elif status is None:
                    status, payload = api.default(self.command, path, body)
                else:
                    payload = {"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": status,
                               "message": step.get("message", f"scripted {status}"), "reason": "Scripted"}
                data = step["raw"].encode() if step.get("raw") else json.dumps(payload).encode()
                self.send_response(status)
                for k, v in (step.get("headers") or {}).items():
                    self.send_header(k, v)
                self.send_header("Content-Type", "text/html" if step.get("raw") else "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _answer

        class Server(ThreadingHTTPServer):
            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # a client that timed out closed its end: expected in the slow-answer test

        self.server = Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def store(self, collection: str, body: dict[str, Any]) -> None:
        obj = dict(body)
        obj["metadata"] = {**obj.get("metadata", {}), "uid": "u-1", "resourceVersion": "1"}
        self.objects[f"{collection}/{obj['metadata']['name']}"] = obj

    def default(self, method: str, path: str, body: Any) -> tuple[int, Any]:
        if method == "POST":
            name = body["metadata"]["name"]
            if f"{path}/{name}" in self.objects:
                return 409, {"kind": "Status", "code": 409, "reason": "AlreadyExists", "message": "exists"}
            self.store(path, body)
            return 201, self.objects[f"{path}/{name}"]
        if path in self.objects:
            return 200, self.objects[path]
        if method == "GET" and path.endswith("/namespaces"):
            return 200, {"kind": "NamespaceList", "apiVersion": "v1", "metadata": {}, "items": []}
        if method == "GET":
            return 404, {"kind": "Status", "code": 404, "reason": "NotFound", "message": "not found"}
        return 200, {"kind": "Status", "status": "Success"}

    def count(self, key: str) -> int:
        return self.seen.count(key)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def fake() -> Any:
    api = FakeAPI()
    yield api
    api.close()


def _core(fake: FakeAPI, policy: RetryPolicy | None = None, sleeps: list[float] | None = None,
          cancel: threading.Event | None = None, timeout: int = 5) -> tuple[client.CoreV1Api, Any]:
    conn = connect({"host": fake.url, "request_timeout": timeout}, component="test",
                   policy=policy or RetryPolicy(), cancel=cancel)
    if sleeps is not None:
        conn.api._sleep = sleeps.append  # record the waits instead of sleeping
    return client.CoreV1Api(conn.api), conn


NS = "/api/v1/namespaces"
LABELS = {"aiconform.io/run-id": "r1"}


def _ns(name: str = "probe", labels: dict[str, str] | None = None, generate: bool = False) -> client.V1Namespace:
    meta = client.V1ObjectMeta(generate_name=name, labels=labels) if generate else client.V1ObjectMeta(
        name=name, labels=labels if labels is not None else LABELS)
    return client.V1Namespace(metadata=meta)


# -- reads ---------------------------------------------------------------------------------------------------
def test_transient_429_is_retried_after_the_servers_retry_after(fake):
    fake.script[f"GET {NS}"] = [{"status": 429, "headers": {"Retry-After": "2"}}] * 2 + [{}]
    sleeps: list[float] = []
    core, conn = _core(fake, sleeps=sleeps)
    assert core.list_namespace(_request_timeout=5).items == []
    assert fake.count(f"GET {NS}") == 3 and sleeps == [2.0, 2.0] and conn.api.retries == 2


def test_429_without_header_uses_the_status_details_then_the_default(fake):
    fake.script[f"GET {NS}"] = [{"status": 429}, {}]
    sleeps: list[float] = []
    core, _ = _core(fake, sleeps=sleeps, policy=RetryPolicy(default_delay=0.5))
    core.list_namespace()
    assert sleeps == [0.5]


def test_retry_after_is_capped(fake):
    fake.script[f"GET {NS}"] = [{"status": 429, "headers": {"Retry-After": "3600"}}, {}]
    sleeps: list[float] = []
    core, _ = _core(fake, sleeps=sleeps, policy=RetryPolicy(max_delay=7))
    core.list_namespace()
    assert sleeps == [7.0]


def test_5xx_is_retried_only_with_retry_after(fake):
    fake.script[f"GET {NS}"] = [{"status": 503, "headers": {"Retry-After": "1"}}, {}]
    sleeps: list[float] = []
    core, _ = _core(fake, sleeps=sleeps)
    core.list_namespace()
    assert fake.count(f"GET {NS}") == 2 and sleeps == [1.0]
    fake.seen.clear()
    fake.script[f"GET {NS}"] = [{"status": 500}, {}]
    with pytest.raises(ApiException) as err:
        core.list_namespace()
    assert err.value.status == 500 and fake.count(f"GET {NS}") == 1


def test_persistent_429_gives_up_after_max_retries_and_says_so(fake):
    fake.script[f"GET {NS}"] = [{"status": 429, "headers": {"Retry-After": "1"}}]
    sleeps: list[float] = []
    core, _ = _core(fake, sleeps=sleeps, policy=RetryPolicy(max_retries=3))
    with pytest.raises(ApiException) as err:
        core.list_namespace()
    assert err.value.status == 429 and fake.count(f"GET {NS}") == 4 and sleeps == [1.0] * 3
    message = str(describe_error(err.value, "list namespaces"))
    assert "retried 3 time(s)" in message and "gave up" in message and "429" in message


def test_persistent_429_stops_within_the_time_budget(fake):
    fake.script[f"GET {NS}"] = [{"status": 429, "headers": {"Retry-After": "1"}}]
    core, _ = _core(fake, policy=RetryPolicy(budget=2.5))
    started = time.monotonic()
    with pytest.raises(ApiException):
        core.list_namespace()
    assert time.monotonic() - started < 4
    assert fake.count(f"GET {NS}") == 3  # waits 1 + 1; a third wait would pass the 2.5 s budget


def test_a_dropped_get_is_reconnected(fake):
    fake.script[f"GET {NS}"] = [{"drop": True}, {}]
    core, conn = _core(fake, sleeps=[])
    assert core.list_namespace().items == []
    assert fake.count(f"GET {NS}") == 2 and conn.api.retries == 1


def test_get_json_follows_the_same_policy(fake):
    fake.script[f"GET {NS}"] = [{"status": 429, "headers": {"Retry-After": "1"}}, {}]
    _, conn = _core(fake, sleeps=[])
    assert get_json(conn.api, NS)["items"] == []
    assert fake.count(f"GET {NS}") == 2


def test_a_slow_answer_times_out_after_the_request_timeout_and_is_not_retried(fake):
    fake.script[f"GET {NS}"] = [{"delay": 3}]
    core, conn = _core(fake, timeout=1)
    started = time.monotonic()
    with pytest.raises(Exception) as err:  # noqa: PT011 - the urllib3 timeout, translated below
        core.list_namespace(_request_timeout=conn.request_timeout)
    assert time.monotonic() - started < 2.5
    assert describe_error(err.value, "list namespaces").kind == "timeout"
    assert fake.count(f"GET {NS}") == 1


def test_a_cancelled_run_does_not_wait_for_retries(fake):
    fake.script[f"GET {NS}"] = [{"status": 429, "headers": {"Retry-After": "5"}}]
    cancel = threading.Event()
    cancel.set()
    core, _ = _core(fake, cancel=cancel)
    started = time.monotonic()
    with pytest.raises(ApiException):
        core.list_namespace()
    assert time.monotonic() - started < 2 and fake.count(f"GET {NS}") == 1


# -- writes --------------------------------------------------------------------------------------------------
def test_idempotent_writes_are_retried_on_429(fake):
    path = f"{NS}/probe"
    fake.objects[path] = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "probe"}}
    for method in ("DELETE", "PATCH", "PUT"):
        fake.script[f"{method} {path}"] = [{"status": 429, "headers": {"Retry-After": "1"}}, {}]
    core, conn = _core(fake, sleeps=[])
    core.delete_namespace("probe")
    core.patch_namespace("probe", {"metadata": {"labels": {"a": "b"}}})
    core.replace_namespace("probe", _ns())
    assert [fake.count(f"{m} {path}") for m in ("DELETE", "PATCH", "PUT")] == [2, 2, 2]


def test_a_dropped_patch_is_not_retried(fake):
    fake.script[f"PATCH {NS}/probe"] = [{"drop": True}, {}]
    core, _ = _core(fake, sleeps=[])
    with pytest.raises(Exception) as err:  # noqa: PT011 - translated below
        core.patch_namespace("probe", {"metadata": {"labels": {"a": "b"}}})
    assert describe_error(err.value, "patch").kind == "unreachable"
    assert fake.count(f"PATCH {NS}/probe") == 1


def test_create_after_429_checks_then_creates(fake):
    fake.script[f"POST {NS}"] = [{"status": 429, "headers": {"Retry-After": "1"}}, {}]
    core, _ = _core(fake, sleeps=[])
    got = core.create_namespace(_ns())
    assert got.metadata.name == "probe"
    assert fake.seen == [f"POST {NS}", f"GET {NS}/probe", f"POST {NS}"]


def test_create_that_took_effect_before_the_connection_dropped_is_not_sent_twice(fake):
    fake.script[f"POST {NS}"] = [{"apply": True, "drop": True}, {}]
    core, _ = _core(fake, sleeps=[])
    got = core.create_namespace(_ns())
    assert got.metadata.name == "probe" and got.metadata.uid == "u-1"
    assert fake.seen == [f"POST {NS}", f"GET {NS}/probe"]


def test_create_finding_someone_elses_object_is_a_conflict(fake):
    fake.objects[f"{NS}/probe"] = {"metadata": {"name": "probe", "labels": {"aiconform.io/run-id": "other"}}}
    fake.script[f"POST {NS}"] = [{"drop": True}, {}]
    core, _ = _core(fake, sleeps=[])
    with pytest.raises(ApiException) as err:
        core.create_namespace(_ns())
    assert err.value.status == 409 and fake.count(f"POST {NS}") == 1


def test_create_with_generate_name_is_never_retried(fake):
    fake.script[f"POST {NS}"] = [{"status": 429, "headers": {"Retry-After": "1"}}, {}]
    core, _ = _core(fake, sleeps=[])
    with pytest.raises(ApiException) as err:
        core.create_namespace(_ns("probe-", generate=True))
    assert err.value.status == 429 and fake.seen == [f"POST {NS}"]
    fake.seen.clear()
    fake.script[f"POST {NS}"] = [{"drop": True}, {}]
    with pytest.raises(Exception):  # noqa: B017, PT011 - the dropped connection itself
        core.create_namespace(_ns("probe-", generate=True))
    assert fake.seen == [f"POST {NS}"]


def test_describe_error_keeps_kind_for_plain_errors():
    exc = ApiException(status=403, reason="Forbidden")
    err = describe_error(exc, "list nodes")
    assert isinstance(err, ClusterError) and err.kind == "forbidden" and "retried" not in str(err)


def test_a_non_json_answer_is_a_bad_response_not_text(fake):
    fake.script["GET /apis/example.com/v1/widgets"] = [{"raw": "<html><body>502 Bad Gateway</body></html>"}]
    _, conn = _core(fake)
    with pytest.raises(ValueError, match="not a JSON object") as err:
        client.CustomObjectsApi(conn.api).list_cluster_custom_object("example.com", "v1", "widgets")
    described = describe_error(err.value, "list widgets")
    assert described.kind == "bad_response" and "text/html" in str(described)
    with pytest.raises(ValueError, match="not a JSON object"):
        get_json(conn.api, "/apis/example.com/v1/widgets")


# -- admission webhooks the API server could not reach -------------------------------------------------------
def _webhook_down(cause: str, name: str = "mjob.kb.io") -> dict[str, Any]:
    # kube-apiserver's dispatcher message (admission/plugin/webhook), as a real cluster printed it
    return {"status": 500, "message": f'Internal error occurred: failed calling webhook "{name}": failed to call '
                                      f'webhook: Post "https://kueue-webhook-service.kueue-system.svc:443/'
                                      f'mutate-batch-v1-job?timeout=10s": {cause}'}


@pytest.mark.parametrize("cause", [
    "dial tcp 10.244.1.2:9443: connect: connection refused",
    'no endpoints available for service "kueue-webhook-service"',
    "context deadline exceeded",
    "tls: failed to verify certificate: x509: certificate signed by unknown authority",
])
def test_a_create_refused_because_a_webhook_was_unreachable_is_sent_again(fake, cause):
    fake.script[f"POST {NS}"] = [_webhook_down(cause), _webhook_down(cause), {}]
    sleeps: list[float] = []
    core, conn = _core(fake, sleeps=sleeps)
    assert core.create_namespace(_ns()).metadata.name == "probe"
    # check-then-create between the attempts (admission refused it, so nothing was stored)
    assert fake.seen == [f"POST {NS}", f"GET {NS}/probe", f"POST {NS}", f"GET {NS}/probe", f"POST {NS}"]
    assert sleeps == [1.0, 2.0] and conn.api.retries == 2


def test_a_webhook_that_stays_unreachable_gives_the_servers_answer_within_the_webhook_budget(fake):
    fake.script[f"POST {NS}"] = [_webhook_down("connect: connection refused")]
    core, _ = _core(fake, policy=RetryPolicy(default_delay=0.2, webhook_budget=1.0))
    started = time.monotonic()
    with pytest.raises(ApiException) as err:
        core.create_namespace(_ns())
    assert err.value.status == 500 and "connection refused" in err.value.body
    assert fake.count(f"POST {NS}") == 3  # waits 0.2 + 0.4; a third (0.6) would pass the 1 s budget
    assert time.monotonic() - started < 2
    assert "retried 2 time(s)" in str(describe_error(err.value, "create namespace"))


@pytest.mark.parametrize("step", [
    # a webhook that answered: its refusal is the verdict's evidence, never retried
    {"status": 500, "message": 'Internal error occurred: failed calling webhook "v.example.com": received invalid '
                               "webhook response: expected response.uid=\"a\", got \"b\""},
    {"status": 400, "message": 'admission webhook "vraycluster.kb.io" denied the request: bad spec'},
    {"status": 500, "message": "etcdserver: request timed out"},  # not a webhook
])
def test_a_webhook_that_answered_or_another_500_is_not_retried(fake, step):
    fake.script[f"POST {NS}"] = [step, {}]
    core, conn = _core(fake, sleeps=[])
    with pytest.raises(ApiException):
        core.create_namespace(_ns())
    assert fake.seen == [f"POST {NS}"] and conn.api.retries == 0


def test_a_create_without_a_name_is_not_sent_again_when_a_webhook_was_unreachable(fake):
    fake.script[f"POST {NS}"] = [_webhook_down("connect: connection refused"), {}]
    core, _ = _core(fake, sleeps=[])
    with pytest.raises(ApiException):
        core.create_namespace(_ns(generate=True))
    assert fake.seen == [f"POST {NS}"]


# -- a webhook whose cache has not seen the request's namespace yet ------------------------------------------------
PODS = "/api/v1/namespaces/probe-ns/pods"


def _pod() -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "load", "namespace": "probe-ns"},
            "spec": {"containers": [{"name": "c", "image": "busybox"}]}}


def _stale(ns: str = "probe-ns") -> dict[str, Any]:
    # as a lab run printed it: Kueue's pod webhook, right after the probe created its namespace
    return {"status": 404, "message": f'admission webhook "mpod.kb.io" denied the request: Namespace "{ns}" '
                                      "not found"}


def test_a_create_denied_by_a_webhook_that_has_not_seen_its_namespace_is_sent_again(fake):
    fake.script[f"POST {PODS}"] = [_stale(), {}]
    sleeps: list[float] = []
    core, conn = _core(fake, sleeps=sleeps)
    assert core.create_namespaced_pod("probe-ns", _pod()).metadata.name == "load"
    assert fake.seen == [f"POST {PODS}", f"GET {PODS}/load", f"POST {PODS}"] and conn.api.retries == 1


@pytest.mark.parametrize("step", [
    _stale("another-ns"),  # another namespace: not the request's, nothing stale about it
    {"status": 404, "message": 'namespaces "probe-ns" not found'},  # the API server's own NamespaceLifecycle
    {"status": 403, "message": 'admission webhook "mpod.kb.io" denied the request: pods are not allowed'},
])
def test_other_namespace_denials_are_not_retried(fake, step):
    fake.script[f"POST {PODS}"] = [step, {}]
    core, conn = _core(fake, sleeps=[])
    with pytest.raises(ApiException):
        core.create_namespaced_pod("probe-ns", _pod())
    assert fake.seen == [f"POST {PODS}"] and conn.api.retries == 0
