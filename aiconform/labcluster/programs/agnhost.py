"""A stand-in for the agnhost test image (registry.k8s.io/e2e-test-images/agnhost), written for the lab.

Subcommands, with the flags and answers of upstream's:

- ``netexec [--http-port 8080] [--tls-cert-file F --tls-private-key-file K]``: HTTP(S) on the port; ``/`` (the
  time), ``/hostname`` and ``/hostName`` (the hostname = the pod's name), ``/echo?msg=M[&code=C]``, ``/clientip``
  (``ip:port`` of the caller), ``/healthz``, ``/exit?code=C`` and ``/shutdown`` (exit with the code).
- ``webhook [--port 443] --tls-cert-file F --tls-private-key-file K``: an admission webhook over HTTPS;
  ``/always-allow`` allows and ``/always-deny`` denies every request (message ``this webhook denies all
  requests``), answering with the request's uid in an ``admission.k8s.io/v1`` AdmissionReview.
- ``pause``: sleeps until SIGTERM/SIGINT, then exits 0.

The UDP/SCTP servers, ``/dial``, ``/shell``, ``/upload`` and the other subcommands are not there.
"""
from __future__ import annotations

import argparse
import json
import signal
import socket
import socketserver
import ssl
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from aiconform.labcluster.programs import pod_path


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def server_bind(self) -> None:
        # HTTPServer.server_bind looks its name up (getfqdn): the lab's pods have no DNS, and that waits ~10 s
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = "localhost", self.server_address[1]


def _serve(handler: type[BaseHTTPRequestHandler], port: int, cert: str, key: str) -> int:
    server = _Server(("0.0.0.0", port), handler)  # noqa: S104 - the pod's own namespace
    if cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(pod_path(cert), pod_path(key) if key else None)
        server.socket = ctx.wrap_socket(server.socket, server_side=True)
    exit_code: dict[str, int] = {}

    def stop(code: int) -> None:
        exit_code["code"] = code
        threading.Thread(target=server.shutdown, daemon=True).start()

    server.stop = stop  # type: ignore[attr-defined]
    signal.signal(signal.SIGTERM, lambda *_: stop(0))
    print(f"Started HTTP{'S' if cert else ''} server on port {port}", flush=True)
    server.serve_forever()
    return exit_code.get("code", 0)


class _Base(BaseHTTPRequestHandler):
    def reply(self, body: str | bytes, code: int = 200, ctype: str = "text/plain; charset=utf-8") -> None:
        data = body.encode() if isinstance(body, str) else body
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, fmt: str, *args: Any) -> None:
        print(f"{self.command} {self.path}", flush=True)


class _Netexec(_Base):
    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        u = urlsplit(self.path)
        q = {k: v[0] for k, v in parse_qs(u.query).items()}
        if u.path in ("/hostname", "/hostName"):
            self.reply(socket.gethostname())
        elif u.path == "/echo":
            code = q.get("code", "")
            if code and not code.lstrip("-").isdigit():
                self.reply(f"argument 'code' must be an integer or empty, got {code!r}\n")
                return
            self.reply(q.get("msg", ""), int(code) if code else 200)
        elif u.path == "/clientip":
            host, port = self.client_address[:2]
            host = host.removeprefix("::ffff:")
            self.reply(f"{host}:{port}" if ":" not in host else f"[{host}]:{port}")
        elif u.path == "/healthz":
            self.reply("")
        elif u.path in ("/exit", "/shutdown"):
            code = q.get("code", "0") if u.path == "/exit" else "0"
            if not code.isdigit():
                self.reply(f"argument 'code' must be an integer [0-127] or empty, got {code!r}\n")
                return
            self.reply("")
            self.server.stop(int(code))  # type: ignore[attr-defined]
        elif u.path == "/":
            self.reply(f"NOW: {time.strftime('%Y-%m-%d %H:%M:%S %z')}")
        else:
            self.reply("404 page not found\n", 404)

    do_POST = do_GET  # noqa: N815


class _Webhook(_Base):
    def do_POST(self) -> None:  # noqa: N802
        u = urlsplit(self.path)
        try:
            review = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
            uid = review["request"]["uid"]
        except (ValueError, KeyError, TypeError):
            self.reply("expected an admission.k8s.io/v1 AdmissionReview\n", 400)
            return
        if u.path == "/always-allow":
            response: dict[str, Any] = {"uid": uid, "allowed": True}
        elif u.path == "/always-deny":
            response = {"uid": uid, "allowed": False,
                        "status": {"code": 403, "message": "this webhook denies all requests"}}
        else:
            self.reply("404 page not found\n", 404)
            return
        print(f"admission {u.path}: {review['request'].get('operation')} "
              f"{review['request'].get('resource', {}).get('resource')} -> {response['allowed']}", flush=True)
        self.reply(json.dumps({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
                               "response": response}), ctype="application/json")


def _pause() -> int:
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    while not stop.wait(3600):
        pass
    return 0


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="agnhost")
    sub = p.add_subparsers(dest="cmd", required=True)
    n = sub.add_parser("netexec")
    n.add_argument("--http-port", type=int, default=8080)
    w = sub.add_parser("webhook")
    w.add_argument("--port", type=int, default=443)
    for sp in (n, w):
        sp.add_argument("--tls-cert-file", default="")
        sp.add_argument("--tls-private-key-file", default="")
    sub.add_parser("pause")
    args, unknown = p.parse_known_args(argv)
    if unknown:
        print(f"agnhost (lab stand-in): ignoring flags it does not implement: {' '.join(unknown)}", flush=True)
    if args.cmd == "netexec":
        return _serve(_Netexec, args.http_port, args.tls_cert_file, args.tls_private_key_file)
    if args.cmd == "webhook":
        if not args.tls_cert_file:
            print("agnhost webhook: --tls-cert-file is required", file=sys.stderr)
            return 1
        return _serve(_Webhook, args.port, args.tls_cert_file, args.tls_private_key_file)
    return _pause()
