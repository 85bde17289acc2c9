"""Stand-ins for the images that work on GPUs (the lab has none): load programs and the DCGM exporter.

A load holds a shared lock (``flock`` LOCK_SH) on each of its own ``/dev/nvidia<minor>`` — the device
nodes its allocation put into its ``/dev`` (``labcluster/devices.py``, ``labcluster/gpus.py``) — while its kernel
runs, as a CUDA context holds the device; the pod runner reads those locks into the node's device state. A
container without a GPU device node has nothing to lock: its load reaches no GPU.

- ``dcgmproftester`` (image ``gpu_operator.images.dcgm``, command ``dcgmproftester12``/``11``): ``-t <test>``
  ``-d <seconds>`` (default 30): busy for d seconds on every GPU it was given, then exit 0; without a GPU it fails
  as the real one does (exit 1).
- ``cuda-load`` (image ``verifier_probes.images.cuda_devel``): a container whose script compiles a CUDA program with
  ``nvcc`` (pod_autoscaling's ``load-programs.yaml`` ``nvidia``) runs the kernel loop's stand-in: every second it reads
  ``/etc/aiconform-load/load``: ``1`` keeps its GPUs busy, ``c`` burns one CPU core with the GPUs idle, anything
  else idles. Any other command runs with the host's programs (``launch.py``).
- ``dcgm-exporter`` (image ``gpu_operator.images.dcgm_exporter``): serves ``GET /metrics`` on
  ``DCGM_EXPORTER_LISTEN`` (``:9400``), collecting every ``DCGM_EXPORTER_INTERVAL`` ms (default 30000, as the real
  one) from its node's device state (``/var/lib/kubelet/pod-resources/aiconform-gpus.json``, the DaemonSet's
  hostPath): the real exporter's series for each GPU of its node (``aiconform/gpumetrics.py``), utilization 100
  while a load runs on a GPU. Pod labels as the real exporter's: only with ``DCGM_EXPORTER_KUBERNETES=true``; a GPU
  held through DRA only with ``KUBERNETES_ENABLE_DRA=true`` and a ServiceAccount token that may list and watch
  ResourceSlices (the real one's informer, which retries until RBAC allows it; asked of the API server with the
  pod's own token).
"""
from __future__ import annotations

import fcntl
import http.server
import json
import os
import signal
import sys
import threading
import time
from typing import Any

_TRUE = {"1", "t", "T", "TRUE", "true", "True"}  # Go strconv.ParseBool, as urfave/cli reads the env
STATE_FILE = "/var/lib/kubelet/pod-resources/aiconform-gpus.json"
LOAD_SWITCH = "/etc/aiconform-load/load"


class Devices:
    """The container's GPU device nodes, locked while a load runs on them."""

    def __init__(self, dev: str = "/dev") -> None:
        names = sorted((n for n in os.listdir(dev) if n.startswith("nvidia") and n[6:].isdigit()),
                       key=lambda n: int(n[6:])) if os.path.isdir(dev) else []
        self.paths = [os.path.join(dev, n) for n in names]
        self.fds: list[int] = []

    def busy(self) -> None:
        if self.fds:
            return
        for p in self.paths:
            fd = os.open(p, os.O_RDONLY)
            fcntl.flock(fd, fcntl.LOCK_SH)
            self.fds.append(fd)

    def idle(self) -> None:
        for fd in self.fds:
            os.close(fd)  # drops the lock
        self.fds = []


def _stop_on_term() -> threading.Event:
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    return stop


def dcgmproftester(argv: list[str]) -> int:
    test, duration = "1004", 30.0
    it = iter(argv)
    for a in it:
        if a in ("-t", "--testId"):
            test = next(it, test)
        elif a in ("-d", "--duration"):
            try:
                duration = float(next(it, "30"))
            except ValueError:
                print("dcgmproftester (lab stand-in): -d needs seconds", file=sys.stderr)
                return 1
    devs = Devices()
    if not devs.paths:
        print("dcgmproftester (lab stand-in): no GPU is visible to this container (no /dev/nvidia<N>): "
              "Skipping creating a context: no GPUs found", file=sys.stderr, flush=True)
        return 1
    stop = _stop_on_term()
    devs.busy()
    gpus = ", ".join(os.path.basename(p) for p in devs.paths)
    print(f"dcgmproftester (lab stand-in): test {test} on {gpus} for {duration:g} s", flush=True)
    stop.wait(duration)
    devs.idle()
    print("dcgmproftester (lab stand-in): done" if not stop.is_set() else "dcgmproftester: stopped", flush=True)
    return 0 if not stop.is_set() else 143


def is_cuda_load(argv: list[str]) -> bool:
    """The load program of pod_autoscaling: a script that compiles a CUDA program with nvcc and runs it."""
    return any("nvcc" in a for a in argv)


def cuda_load(argv: list[str], switch: str = LOAD_SWITCH, dev: str = "/dev") -> int:
    devs = Devices(dev)
    stop = _stop_on_term()
    print(f"cuda load (lab stand-in of the nvcc-built kernel loop): GPUs {[os.path.basename(p) for p in devs.paths]}, "
          f"switch {switch}", flush=True)
    mode = ""
    x = 0.0
    while not stop.is_set():
        try:
            with open(switch, encoding="utf-8", errors="replace") as fh:
                now = fh.read(1)
        except OSError:
            now = ""
        if now != mode:
            print(f"cuda load: mode {now or '(idle)'!r}", flush=True)
            mode = now
        if now == "1":
            devs.busy()
            stop.wait(1.0)
        elif now == "c":
            devs.idle()
            end = time.monotonic() + 1.0
            while time.monotonic() < end:
                x += 1.0
        else:
            devs.idle()
            stop.wait(1.0)
    devs.idle()
    return 143


# -- the exporter -------------------------------------------------------------------------------------------
def _can_watch_resourceslices() -> bool:
    """The real exporter's ResourceSlice informer needs list and watch: asked of the API server with the pod's own
    token (SelfSubjectAccessReview, which every authenticated identity may create); no token, no informer."""
    import ssl
    import urllib.request

    sa = "/var/run/secrets/kubernetes.io/serviceaccount"
    host, port = os.environ.get("KUBERNETES_SERVICE_HOST"), os.environ.get("KUBERNETES_SERVICE_PORT")
    try:
        with open(f"{sa}/token", encoding="utf-8") as fh:
            token = fh.read().strip()
    except OSError:
        return False
    if not host or not port:
        return False
    ctx = ssl.create_default_context(cafile=f"{sa}/ca.crt")
    for verb in ("list", "watch"):
        review = {"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
                  "spec": {"resourceAttributes": {"group": "resource.k8s.io", "resource": "resourceslices",
                                                  "verb": verb}}}
        req = urllib.request.Request(f"https://{host}:{port}/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
                                     data=json.dumps(review).encode(), method="POST",
                                     headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=5, context=ctx) as resp:  # noqa: S310 - the lab's API server
                if not (json.load(resp).get("status") or {}).get("allowed"):
                    return False
        except (OSError, ValueError):
            return False
    return True


def mapping_from_env(env: dict[str, str], can_list: Any = _can_watch_resourceslices) -> set[str]:
    if env.get("DCGM_EXPORTER_KUBERNETES") not in _TRUE:
        return set()
    out = {"device-plugin"}
    if env.get("KUBERNETES_ENABLE_DRA") in _TRUE and can_list():
        out.add("dra")
    return out


def _flag(argv: list[str], names: tuple[str, ...], default: str) -> str:
    """The value of the last of ``names`` in ``argv`` (``-a V``, ``--address V`` or ``--address=V``)."""
    value, it = default, iter(argv)
    for a in it:
        if a in names:
            value = next(it, value)
        elif a.startswith(tuple(f"{n}=" for n in names if n.startswith("--"))):
            value = a.split("=", 1)[1]
    return value


def _listen(argv: list[str], env: dict[str, str]) -> int:
    addr = _flag(argv, ("-a", "--address"), env.get("DCGM_EXPORTER_LISTEN", ":9400"))
    return int(addr.rsplit(":", 1)[-1] or 9400)


def _interval(argv: list[str], env: dict[str, str]) -> float:
    try:
        return max(0.1, int(_flag(argv, ("-c", "--collect-interval"), env.get("DCGM_EXPORTER_INTERVAL", "30000")))
                   / 1000)
    except ValueError:
        return 30.0


def dcgm_exporter(argv: list[str], state_file: str = STATE_FILE) -> int:
    from aiconform.labcluster import gpus

    env = dict(os.environ)
    port, interval = _listen(argv, env), _interval(argv, env)
    mapping = mapping_from_env(env)
    hostname = env.get("NODE_NAME", "")
    current = {"text": ""}
    stop = _stop_on_term()
    dra_wanted = "dra" not in mapping and "device-plugin" in mapping and env.get("KUBERNETES_ENABLE_DRA") in _TRUE

    def collect() -> None:
        nonlocal mapping
        if dra_wanted and "dra" not in mapping:  # an informer retries until its RBAC allows it
            mapping = mapping_from_env(env)
        try:
            with open(state_file, encoding="utf-8") as fh:
                state = json.load(fh)
        except (OSError, ValueError) as exc:
            print(f"dcgm-exporter (lab stand-in): no device state ({exc}): is {os.path.dirname(state_file)} "
                  "mounted?", file=sys.stderr, flush=True)
            return
        current["text"] = gpus.exposition(state, mapping, hostname)

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            if self.path.split("?")[0] not in ("/metrics", "/metrics/"):
                self.send_error(404)
                return
            body = current["text"].encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    collect()
    server = http.server.ThreadingHTTPServer(("0.0.0.0", port), Handler)  # noqa: S104 - the pod's own address
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print(f"dcgm-exporter (lab stand-in): :{port}/metrics every {interval:g} s, pod mapping "
          f"{sorted(mapping) or 'off'}", flush=True)
    while not stop.wait(interval):
        collect()
    server.shutdown()
    return 0
