"""ai_service_metrics stub: a tiny inference-like HTTP server exposing Prometheus metrics (stdlib only).

POST/GET /v1/infer counts one request and observes its latency; GET /metrics serves
ai_conformance_inference_requests_total (counter), ai_conformance_inference_request_duration_seconds
(histogram) and ai_conformance_inference_queue_depth (gauge), labelled conformance_run="$RUN_ID".
"""
import json
import os
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

RUN = os.environ.get("RUN_ID", "unknown").replace("\\", "").replace('"', "")
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
LOCK = threading.Lock()
STATE = {"count": 0, "sum": 0.0, "buckets": [0] * len(BUCKETS), "inflight": 0}


def render():
    lab = f'conformance_run="{RUN}"'
    with LOCK:
        s = dict(STATE, buckets=list(STATE["buckets"]))
    out = ["# HELP ai_conformance_inference_requests_total Inference requests served.",
           "# TYPE ai_conformance_inference_requests_total counter",
           f"ai_conformance_inference_requests_total{{{lab}}} {s['count']}",
           "# HELP ai_conformance_inference_request_duration_seconds Inference request latency.",
           "# TYPE ai_conformance_inference_request_duration_seconds histogram"]
    for le, n in zip(BUCKETS, s["buckets"], strict=True):
        out.append(f'ai_conformance_inference_request_duration_seconds_bucket{{{lab},le="{le}"}} {n}')
    out += [f'ai_conformance_inference_request_duration_seconds_bucket{{{lab},le="+Inf"}} {s["count"]}',
            f"ai_conformance_inference_request_duration_seconds_sum{{{lab}}} {s['sum']:.6f}",
            f"ai_conformance_inference_request_duration_seconds_count{{{lab}}} {s['count']}",
            "# HELP ai_conformance_inference_queue_depth Requests waiting or in progress.",
            "# TYPE ai_conformance_inference_queue_depth gauge",
            f"ai_conformance_inference_queue_depth{{{lab}}} {s['inflight']}"]
    return "\n".join(out) + "\n"


class Handler(BaseHTTPRequestHandler):
    def _send(self, code, body, ctype):
        data = body.encode()
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _infer(self):
        start = time.monotonic()
        with LOCK:
            STATE["inflight"] += 1
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(min(length, 65536))
        time.sleep(0.002)  # a token of work, so latency is non-zero
        elapsed = time.monotonic() - start
        with LOCK:
            STATE["inflight"] -= 1
            STATE["count"] += 1
            STATE["sum"] += elapsed
            for i, le in enumerate(BUCKETS):
                if elapsed <= le:
                    STATE["buckets"][i] += 1
            n = STATE["count"]
        self._send(200, json.dumps({"result": "ok", "request": n}), "application/json")

    def do_GET(self):
        if self.path.startswith("/metrics"):
            self._send(200, render(), "text/plain; version=0.0.4; charset=utf-8")
        elif self.path.startswith("/v1/infer"):
            self._infer()
        else:
            self._send(404, "not found\n", "text/plain")

    def do_POST(self):
        if self.path.startswith("/v1/infer"):
            self._infer()
        else:
            self._send(404, "not found\n", "text/plain")

    def log_message(self, *args):
        pass


if __name__ == "__main__":
    ThreadingHTTPServer(("", int(os.environ.get("PORT", "8080"))), Handler).serve_forever()
