"""The lab's machine: runs inside the network namespace that ``aiconform lab up`` creates, and supervises
etcd, kube-apiserver, kube-controller-manager, kube-scheduler and kwok there.

Started as ``unshare --net [--user --map-root-user] --fork --kill-child=SIGTERM python -m
aiconform.labcluster.node ...`` (see ``cluster.py``); it inherits a socket listening on the host's loopback and
forwards every connection on it to the API server inside the namespace, so clients on the host use
``https://127.0.0.1:<port>`` while every address the cluster advertises (API server, nodes, pods, Services) lives
only inside the namespace. The namespace disappears with its last process: nothing leaks on a crash.

Every child gets ``PR_SET_PDEATHSIG=SIGKILL``; SIGTERM stops them in reverse start order.
"""
from __future__ import annotations

import argparse
import asyncio
import ctypes
import ipaddress
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import yaml

from aiconform.labcluster import gpus, pods, topology
from aiconform.labcluster.pki import PKI, generate
from aiconform.labcluster.programs import podexec

READY_PREFIX = "aiconform lab ready on "
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:  # preexec_fn: runs in the child between fork and exec
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def _sh(*cmd: str) -> None:
    res = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if res.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)}: {res.stderr.strip()}")


def setup_network(addresses: list[str]) -> None:
    """Loopback up and every lab address (control plane, nodes) on it: they exist only in this namespace."""
    _sh("ip", "link", "set", "lo", "up")
    for addr in addresses:
        _sh("ip", "addr", "add", f"{addr}/32", "dev", "lo")


def kubeconfig(server: str, pki: PKI, client_cert: Path, client_key: Path, *, embed: bool = False,
               name: str = "aiconform-lab") -> dict[str, Any]:
    import base64

    def field(path: Path, key: str) -> dict[str, str]:
        if embed:
            return {f"{key}-data": base64.b64encode(path.read_bytes()).decode()}
        return {key: str(path)}

    return {"apiVersion": "v1", "kind": "Config", "current-context": name,
            "clusters": [{"name": name, "cluster": {"server": server, **field(pki.ca.cert, "certificate-authority")}}],
            "users": [{"name": name, "user": {**field(client_cert, "client-certificate"),
                                              **field(client_key, "client-key")}}],
            "contexts": [{"name": name, "context": {"cluster": name, "user": name}}]}


def _write_yaml(path: Path, data: Any) -> Path:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        yaml.safe_dump_all(data, fh, sort_keys=False) if isinstance(data, list) else yaml.safe_dump(data, fh,
                                                                                                     sort_keys=False)
    return path


class Api:
    """A minimal HTTPS client for bootstrapping (stdlib only): admin certificate, JSON in and out."""

    def __init__(self, base: str, pki: PKI):
        self.base = base
        self.ctx = ssl.create_default_context(cafile=str(pki.ca.cert))
        self.ctx.load_cert_chain(str(pki.admin.cert), str(pki.admin.key))

    def request(self, method: str, path: str, body: Any = None, timeout: float = 10,
                content_type: str = "application/json") -> tuple[int, Any]:
        import http.client
        from urllib.parse import urlsplit

        u = urlsplit(self.base)
        conn = http.client.HTTPSConnection(u.hostname, u.port, context=self.ctx, timeout=timeout)
        try:
            data = json.dumps(body).encode() if body is not None else None
            conn.request(method, path, body=data, headers={"Content-Type": content_type,
                                                           "Accept": "application/json"})
            resp = conn.getresponse()
            raw = resp.read()
        finally:
            conn.close()
        try:
            return resp.status, json.loads(raw) if raw else None
        except json.JSONDecodeError:
            return resp.status, raw.decode(errors="replace")

    def create(self, path: str, obj: dict[str, Any]) -> dict[str, Any]:
        status, out = self.request("POST", path, obj)
        if status == 409:
            name = obj["metadata"]["name"]
            status, out = self.request("GET", f"{path}/{name}")
        if status >= 300:
            raise RuntimeError(f"POST {path} {obj.get('kind')}/{obj['metadata'].get('name')}: {status} {out}")
        return out


class Supervisor:
    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.state = Path(args.state)
        self.logs = self.state / "logs"
        self.logs.mkdir(exist_ok=True)
        self.procs: list[tuple[str, subprocess.Popen[bytes]]] = []
        self.stopping = threading.Event()
        self.pod_thread: threading.Thread | None = None

    # -- processes -------------------------------------------------------------------------------------------
    def start(self, name: str, cmd: list[str], env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        log = open(self.logs / f"{name}.log", "ab")  # noqa: SIM115 - closed by the child's exit
        (self.state / "cmdlines").mkdir(exist_ok=True)
        (self.state / "cmdlines" / name).write_text(" ".join(cmd) + "\n", encoding="utf-8")
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                cwd=self.state, env=env, preexec_fn=_die_with_parent)  # noqa: PLW1509 - prctl only
        log.close()
        self.procs.append((name, proc))
        return proc

    def check_alive(self) -> None:
        for name, proc in self.procs:
            if proc.poll() is not None:
                tail = (self.logs / f"{name}.log").read_text(errors="replace")[-3000:]
                raise RuntimeError(f"{name} exited with code {proc.returncode}:\n{tail}")

    def stop_all(self, timeout: float = 15) -> None:
        self.stopping.set()
        if self.pod_thread is not None:
            self.pod_thread.join(timeout=timeout)  # the runner stops its pods' programs first
        for _name, proc in reversed(self.procs):
            if proc.poll() is None:
                proc.terminate()
        deadline = time.monotonic() + timeout
        for _name, proc in reversed(self.procs):
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def wait_for(self, what: str, fn: Any, timeout: float) -> Any:
        deadline = time.monotonic() + timeout
        last: Any = None
        while time.monotonic() < deadline:
            if self.stopping.is_set():
                raise KeyboardInterrupt
            self.check_alive()
            try:
                out = fn()
                if out:
                    return out
            except (OSError, ssl.SSLError, RuntimeError) as exc:
                last = exc
            time.sleep(0.3)
        raise RuntimeError(f"{what} not ready after {timeout:g}s" + (f" (last error: {last})" if last else ""))

    def install_stack(self, api: Api, controllers: list[str], run_pods: bool) -> dict[str, Any]:
        """What a stack applies itself at start (karpenter.py's, volcano.py's, coscheduling.py's, keda.py's objects),
        once its controllers run."""
        from aiconform.labcluster import build, coscheduling, karpenter, keda, volcano

        if "karpenter" in controllers:
            stack: Any = karpenter
            manifests, what = build.manifests_dir("karpenter"), "Karpenter"
        elif "volcano-scheduler" in controllers:
            stack, manifests, what = volcano, build.manifests_dir("volcano-scheduler"), "Volcano"
        elif "scheduler-plugins-scheduler" in controllers:
            stack, manifests, what = (coscheduling, build.manifests_dir("scheduler-plugins-scheduler"),
                                      "scheduler-plugins")
        elif "keda-operator" in controllers:
            stack, manifests, what = keda, build.manifests_dir("keda-operator"), "KEDA"
        else:
            return {}
        if not run_pods:
            raise RuntimeError(f"the {what} stack needs the lab's pod network to run its controllers' pods (see above)")
        # Volcano's admission Secret is issued by the lab's PKI (volcano.admission_tls)
        info = stack.install(api, manifests, self.state / "pki") if stack is volcano else stack.install(api, manifests)
        last: dict[str, str | None] = {"why": None}

        def ok() -> bool:
            last["why"] = stack.ready(api)
            return last["why"] is None

        try:
            self.wait_for(what, ok, 120)
        except RuntimeError as exc:
            pods_said = self.stack_pods_tail(api, getattr(stack, "NAMESPACE", ""))
            raise RuntimeError(f"{exc}: {last['why']}\n{pods_said}") from exc
        return dict(info)

    def stack_pods_tail(self, api: Api, namespace: str, lines: int = 12) -> str:
        """What the pod runner said about a stack's pods, and the last lines each of their containers logged (the
        state directory goes with the lab, so a failed start must say it)."""
        if not namespace:
            return ""
        runner = self.state / "logs" / "pods.log"
        said = [line[:300] for line in (runner.read_text(errors="replace").splitlines() if runner.exists() else [])
                if f" {namespace}/" in line]
        out = [f"pod runner, {namespace}/*:", *said[-lines:]]
        status, pods = api.request("GET", f"/api/v1/namespaces/{namespace}/pods")
        for pod in (pods or {}).get("items") or [] if status == 200 else []:
            for log in sorted((self.state / "pods" / pod["metadata"]["uid"]).glob("*.log")):
                text = log.read_text(errors="replace").splitlines()
                out += [f"{pod['metadata']['name']}, {log.name}:", *(line[:300] for line in text[-lines:])]
        return "\n".join(out)

    # -- the cluster -----------------------------------------------------------------------------------------
    def run(self) -> int:
        a = self.args
        topo = topology.Topology.build(a.kubernetes_version, gpus=a.gpus)
        setup_network(list(dict.fromkeys([topo.host_ip, *[n.ip for n in topo.nodes]])))
        try:
            pods.setup_bridge()
            run_pods = True
        except (RuntimeError, OSError, subprocess.TimeoutExpired) as exc:
            print(f"aiconform lab: no pod network ({exc}); every pod stays kwok-only", file=sys.stderr, flush=True)
            run_pods = False
        pki = generate(self.state / "pki", apiserver_ips=(topo.host_ip, topo.kubernetes_service_ip),
                       node_ips=tuple(dict.fromkeys([topo.host_ip, *(n.ip for n in topo.nodes)])))
        kube, kwok = a.kube, a.kwok
        api_url = f"https://{topo.host_ip}:{topology.APISERVER_PORT}"

        self.start("etcd", [kube, "etcd", f"--data-dir={self.state / 'etcd'}",
                            "--listen-client-urls=http://127.0.0.1:2379",
                            "--listen-peer-urls=http://127.0.0.1:2380", "--unsafe-no-fsync",
                            f"--quota-backend-bytes={2 * 1024**3}"])
        self.start("kube-apiserver", [kube, "kube-apiserver", *topology.apiserver_flags(topo, pki)])
        api = Api(api_url, pki)
        self.wait_for("kube-apiserver /readyz", lambda: api.request("GET", "/readyz")[0] == 200, 120)

        def kcfg(name: str, cert: Path, key: Path) -> str:
            return str(_write_yaml(self.state / f"{name}.kubeconfig", kubeconfig(api_url, pki, cert, key)))

        self.start("kube-controller-manager", [kube, "kube-controller-manager", *topology.kcm_flags(
            topo, pki, kcfg("controller-manager", pki.controller_manager.cert, pki.controller_manager.key))])
        self.start("kube-scheduler", [kube, "kube-scheduler", *topology.scheduler_flags(
            kcfg("scheduler", pki.scheduler.cert, pki.scheduler.key))])
        stages = self.state / "kwok.yaml"
        out = subprocess.run([kwok, "default-stages"], capture_output=True, text=True, check=True).stdout
        res = subprocess.run([kwok, "default-metrics"], capture_output=True, text=True, check=False, timeout=60)
        if res.returncode != 0:
            raise RuntimeError(f"{kwok} has no `default-metrics` sub-command (built before it was added): rebuild it "
                               f"with `aiconform lab build` ({res.stderr.strip()[-300:]})")
        metrics = res.stdout
        stages.write_text(topology.kwok_config(metrics) + pods.kwok_stages(out, list(pods.IMAGES) if run_pods else []),
                          encoding="utf-8")
        pod_logs = run_pods
        if run_pods:
            try:
                pods.install_logs_crd(api)
            except (RuntimeError, OSError, ssl.SSLError) as exc:
                print(f"aiconform lab: no `kubectl logs` for the pods it runs ({exc})", file=sys.stderr, flush=True)
                pod_logs = False
        kwok_env = None
        if pod_logs:  # `kubectl exec`: kwok finds commands on the shims' PATH (programs/podexec.py)
            kwok_env = {**os.environ, "PATH": str(podexec.shim_dir(self.state / "exec"))}
        self.start("kwok", [kwok, *topology.kwok_flags(topo, pki, kcfg("kwok", pki.kwok.cert, pki.kwok.key),
                                                      stages), *(["--enable-crds=Logs,Exec"] if pod_logs else [])],
                   env=kwok_env)
        topology.bootstrap(api, topo)
        self.wait_for("nodes Ready", lambda: topology.nodes_ready(api, topo), 120)
        self.wait_for("default ServiceAccount", lambda: api.request(
            "GET", "/api/v1/namespaces/default/serviceaccounts/default")[0] == 200, 60)

        if run_pods:
            controllers = {n: Path(b) for n, b in (c.split("=", 1) for c in a.controller)}
            runner = pods.PodRunner(api, self.state, pki.ca.cert, topo.host_ip, topology.APISERVER_PORT,
                                    self.stopping, preexec=_die_with_parent, controllers=controllers)
            self.pod_thread = threading.Thread(target=runner.run, name="pods", daemon=True)
            self.pod_thread.start()
            if any(n.gpus for n in topo.nodes):  # the emulated GPU Operator's DCGM exporter (labcluster/gpus.py)
                gpus.install_exporter(api)
                self.wait_for("the DCGM exporter's pods Ready", lambda: gpus.exporter_rolled_out(api), 120)
        stack_info = self.install_stack(api, [c.split("=", 1)[0] for c in a.controller], run_pods)
        host_server = f"https://127.0.0.1:{a.port}"
        _write_yaml(self.state / "admin.kubeconfig",
                    kubeconfig(host_server, pki, pki.admin.cert, pki.admin.key, embed=True))
        info = topo.describe() | {"server": host_server}
        real_ctl = [f"{Path(b).name} (the pods of its image run the binary built from its Go module)"
                    for b in (c.split("=", 1)[1] for c in a.controller)]
        info["real"] = [*info["real"], *real_ctl]
        if stack_info:
            info["stack"] = stack_info
        (self.state / "lab.json").write_text(json.dumps(info, indent=1))
        print(READY_PREFIX + host_server, flush=True)
        while not self.stopping.wait(1.0):
            self.check_alive()
        return 0


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        try:
            writer.close()
        except OSError:
            pass


def forward(listener: socket.socket, target: tuple[str, int], stop: threading.Event) -> threading.Thread:
    """Forward connections accepted on ``listener`` (a host-namespace socket) to ``target`` in this namespace."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            r2, w2 = await asyncio.open_connection(*target)
        except OSError:
            writer.close()
            return
        await asyncio.gather(_pipe(reader, w2), _pipe(r2, writer))

    async def main() -> None:
        server = await asyncio.start_server(handle, sock=listener)
        async with server:
            while not stop.is_set():
                await asyncio.sleep(0.5)

    t = threading.Thread(target=lambda: asyncio.run(main()), name="forward", daemon=True)
    t.start()
    return t


# How much ahead of the processes that started it the lab's machine runs (nice levels). A cluster's control plane
# and controllers do not share CPUs with its clients; on a 2-core machine running tests beside the lab, a starved
# API server makes Kueue and KubeRay miss their leader-lease renewals and restart (seen in CI). Best effort: only
# a privileged lab may lower its niceness; a rootless one keeps the caller's.
LAB_PRIORITY = 5


def _before_its_users() -> None:
    try:
        os.nice(-LAB_PRIORITY)
    except OSError:
        pass


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="aiconform.labcluster.node")
    p.add_argument("--state", required=True)
    p.add_argument("--listen-fd", type=int, required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--kube", required=True)
    p.add_argument("--kwok", required=True)
    p.add_argument("--kubernetes-version", required=True)
    p.add_argument("--gpus", type=int, default=2)
    p.add_argument("--controller", action="append", default=[], metavar="NAME=BINARY",
                   help="an upstream controller the pod runner runs for pods of its image (lab.controllers)")
    args = p.parse_args(argv)
    _before_its_users()
    sup = Supervisor(args)

    def on_signal(_sig: int, _frame: Any) -> None:
        sup.stopping.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    listener = socket.socket(fileno=args.listen_fd)
    ipaddress.ip_address(topology.HOST_IP)  # a constant; fails loudly if edited to garbage
    forward(listener, (topology.HOST_IP, topology.APISERVER_PORT), sup.stopping)
    code = 1
    try:
        code = sup.run()
    except KeyboardInterrupt:
        code = 0
    except (RuntimeError, OSError, subprocess.CalledProcessError) as exc:
        print(f"aiconform lab: {exc}", file=sys.stderr, flush=True)
        code = 1
    finally:
        sup.stop_all()
    return code


if __name__ == "__main__":
    sys.exit(main())
