"""Pods that really run: the lab's pod runner gives pods of known images a process with its own network namespace
and pod IP; the real exit code decides a Job's fate; the real API server calls a webhook served by a pod."""
from __future__ import annotations

import base64
import datetime as dt
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from helpers.lab import LabHandle
from test_lab_cluster import kget, kubectl, wait

from aiconform.labcluster import cluster

pytestmark = pytest.mark.lab

AGNHOST = "registry.k8s.io/e2e-test-images/agnhost:2.53"
BUSYBOX = "registry.k8s.io/e2e-test-images/busybox:1.36.1-1"
PYTHON = "python:3.13-alpine"


def in_lab(lab: LabHandle, *cmd: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cluster.netns_command(lab.running, *cmd), capture_output=True, text=True,
                          timeout=timeout, check=False)


def http_in_lab(lab: LabHandle, url: str) -> str:
    """GET ``url`` from inside the lab's network namespace; '' when it does not answer (yet)."""
    code = ("import sys, urllib.request\n"
            "try:\n  print(urllib.request.urlopen(sys.argv[1], timeout=3).read().decode(), end='')\n"
            "except OSError as e:\n  sys.exit(f'ERR {e}')\n")
    res = in_lab(lab, sys.executable, "-c", code, url)
    return res.stdout if res.returncode == 0 else ""


def apply(lab: LabHandle, *docs: dict) -> None:
    kubectl(lab, "apply", "-f", "-", input=yaml.safe_dump_all(docs))


def pod_of(lab: LabHandle, ns: str, selector: str) -> dict:
    return wait(lambda: next((p for p in kget(lab, "pods", "-n", ns, "-l", selector)["items"]
                              if p["status"].get("podIP") and not p["metadata"].get("deletionTimestamp")), None),
                timeout=60, what=f"a pod {selector} with an IP")


def program_pids(pod_uid: str) -> list[int]:
    """Processes the runner started for the pod (their command line names the pod's directory)."""
    pids = []
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                if f"/pods/{pod_uid}/".encode() in Path(f"/proc/{pid}/cmdline").read_bytes():
                    pids.append(int(pid))
            except OSError:
                pass
    return pids


def container_log(lab: LabHandle, pod: dict, container: str) -> str:
    """The program's output, from its log file (CRI format: ``<time> <stream> F <line>``)."""
    path = lab.state / "pods" / pod["metadata"]["uid"] / f"{container}.log"
    lines = path.read_text(errors="replace").splitlines() if path.exists() else []
    return "".join(line.split(" ", 3)[3] + "\n" for line in lines if line.count(" ") >= 3)


def job_finished(lab: LabHandle, ns: str, job: str, condition: str = "Complete") -> dict:
    """Wait for the Job to be Complete or Failed; assert ``condition``; return its (first) pod."""
    def ended() -> str:
        conds = kget(lab, "job", "-n", ns, job)["status"].get("conditions") or []
        return next((c["type"] for c in conds if c["type"] in ("Complete", "Failed") and c["status"] == "True"), "")

    got = wait(ended, 60, f"job {ns}/{job} to finish")
    pod = kget(lab, "pods", "-n", ns, "-l", f"job-name={job}")["items"][0]
    name = pod["spec"]["containers"][0]["name"]
    assert got == condition, f"job {ns}/{job} is {got}; its log:\n{container_log(lab, pod, name)}"
    return pod


def test_agnhost_pods_answer_on_their_pod_ips_and_reach_each_other(lab: LabHandle) -> None:
    ns = "pods-net"
    kubectl(lab, "create", "namespace", ns)
    kubectl(lab, "-n", ns, "create", "deployment", "echo", f"--image={AGNHOST}", "--replicas=2", "--",
            "/agnhost", "netexec", "--http-port=8080")

    def two_with_ips() -> list[dict]:
        items = kget(lab, "pods", "-n", ns, "-l", "app=echo")["items"]
        return items if len(items) == 2 and all(p["status"].get("podIP") for p in items) else []

    pods = wait(two_with_ips, timeout=60, what="two echo pods with IPs")
    assert len(pods) == 2
    ips = {p["metadata"]["name"]: p["status"]["podIP"] for p in pods}
    assert len(set(ips.values())) == 2
    for name, ip in ips.items():
        # the real process answers on the pod IP, with the pod's name as its hostname (own UTS namespace)
        assert wait(lambda ip=ip: http_in_lab(lab, f"http://{ip}:8080/hostname"), 30, f"{ip} answers") == name
        assert http_in_lab(lab, f"http://{ip}:8080/echo?msg=lab") == "lab"
    # pod to pod: a python pod asks one echo pod for the caller's address, which is its own pod IP
    target = next(iter(ips.values()))
    script = (f"import urllib.request; print(urllib.request.urlopen('http://{target}:8080/clientip', "
              "timeout=5).read().decode())")
    apply(lab, {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "caller", "namespace": ns},
                "spec": {"backoffLimit": 0, "template": {"spec": {"restartPolicy": "Never", "containers": [
                    {"name": "c", "image": PYTHON, "command": ["python", "-c", script]}]}}}})
    caller = job_finished(lab, ns, "caller")
    # kubectl logs: the API server asks kwok (the node's kubelet API), which reads the program's output
    logs = kubectl(lab, "-n", ns, "logs", caller["metadata"]["name"]).stdout
    assert logs.strip().rsplit(":", 1)[0] == caller["status"]["podIP"]
    # deleting a pod stops its process: no orphan
    victim = pods[0]
    uid = victim["metadata"]["uid"]
    assert program_pids(uid), "the runner started no process for the pod"
    kubectl(lab, "-n", ns, "delete", "pod", victim["metadata"]["name"], "--wait=true", "--timeout=60s")
    wait(lambda: not program_pids(uid), 30, "the deleted pod's process to end")
    kubectl(lab, "delete", "namespace", ns, "--wait=false")


@pytest.mark.parametrize(("code", "phase", "condition"), [(0, "Succeeded", "Complete"), (3, "Failed", "Failed")])
def test_job_of_a_known_image_ends_with_the_real_exit_code(lab: LabHandle, code: int, phase: str,
                                                           condition: str) -> None:
    ns = f"pods-exit-{code}"
    kubectl(lab, "create", "namespace", ns)
    apply(lab, {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "run", "namespace": ns},
                "spec": {"backoffLimit": 0, "template": {"spec": {"restartPolicy": "Never", "containers": [
                    {"name": "c", "image": BUSYBOX, "command": ["sh", "-c", f"sleep 2; exit {code}"]}]}}}})
    pod = job_finished(lab, ns, "run", condition)
    assert pod["status"]["phase"] == phase
    term = pod["status"]["containerStatuses"][0]["state"]["terminated"]
    assert term["exitCode"] == code
    assert term["reason"] == ("Completed" if code == 0 else "Error")
    kubectl(lab, "delete", "namespace", ns, "--wait=false")


def test_volumes_and_the_token_are_at_their_paths_in_the_pods_own_filesystem(lab: LabHandle) -> None:
    ns = "pods-files"
    kubectl(lab, "create", "namespace", ns)
    kubectl(lab, "-n", ns, "create", "configmap", "cfg", "--from-literal=greeting=hello")
    marker = f"/tmp/aiconform-pods-test-{os.getpid()}"
    script = ("cat /etc/aiconform-demo/greeting; echo; cat /var/run/secrets/kubernetes.io/serviceaccount/namespace;"
              " echo; echo scratch > /data/f && cat /data/f; echo made > /etc/aiconform-demo-new && echo wrote;"
              f" echo x > {marker} && cat {marker} >/dev/null && echo tmp;"
              " awk -v h=$HOSTNAME -v ip=$POD_IP '$1 == ip && $2 == h {print \"hosts\"}' /etc/hosts")
    apply(lab, {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "files", "namespace": ns},
                "spec": {"backoffLimit": 0, "template": {"spec": {
                    "restartPolicy": "Never",
                    "volumes": [{"name": "cfg", "configMap": {"name": "cfg"}}, {"name": "d", "emptyDir": {}}],
                    "containers": [{"name": "c", "image": BUSYBOX, "command": ["sh", "-c", script],
                                    "env": [{"name": "POD_IP",
                                             "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}}],
                                    "volumeMounts": [{"name": "cfg", "mountPath": "/etc/aiconform-demo"},
                                                     {"name": "d", "mountPath": "/data"}]}]}}}})
    pod = job_finished(lab, ns, "files")
    assert container_log(lab, pod, "c").split() == ["hello", ns, "scratch", "wrote", "tmp", "hosts"]
    # the pod wrote into its own filesystem (a writable layer, as a container's): the host's is untouched
    for path in ("/etc/aiconform-demo", "/etc/aiconform-demo-new", "/data/f", "/var/run/secrets/kubernetes.io",
                 marker):
        assert not Path(path).exists(), path
    kubectl(lab, "delete", "namespace", ns, "--wait=false")


def test_kubectl_exec_runs_in_the_pods_own_namespaces(lab: LabHandle) -> None:
    """`kubectl exec` (through the real API server and kwok's kubelet API) runs the command inside the pod: its
    hostname, its IP, its volumes, its environment — not the lab host's."""
    ns = "pods-exec"
    kubectl(lab, "create", "namespace", ns)
    kubectl(lab, "-n", ns, "create", "configmap", "cfg", "--from-literal=greeting=hello")
    apply(lab, {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "shell", "namespace": ns},
                "spec": {"volumes": [{"name": "cfg", "configMap": {"name": "cfg"}}],
                         "containers": [{"name": "c", "image": BUSYBOX, "command": ["sleep", "3600"],
                                         "workingDir": "/etc/aiconform-exec",
                                         "env": [{"name": "GREETING_FROM", "value": "pod-env"}],
                                         "volumeMounts": [{"name": "cfg", "mountPath": "/etc/aiconform-exec"}]}]}})
    pod = pod_of(lab, ns, "run!=none")
    ip = pod["status"]["podIP"]
    res = wait(lambda: (r := kubectl(lab, "-n", ns, "exec", "shell", "--", "sh", "-c",
                                     "hostname; cat greeting; echo; echo $GREETING_FROM; ip -4 -o addr show eth0; pwd",
                                     check=False)).returncode == 0 and r, 30, "kubectl exec")
    lines = res.stdout.splitlines()
    assert lines[:3] == ["shell", "hello", "pod-env"], res.stdout
    assert f" {ip}/" in lines[3], res.stdout
    assert lines[4] == "/etc/aiconform-exec", res.stdout  # the container's workingDir
    # a /dev of its own, as a container's: the standard nodes, none of the host's other devices
    res = kubectl(lab, "-n", ns, "exec", "shell", "--", "sh", "-c", "ls /dev | sort | tr '\\n' ' '")
    assert res.stdout.split() == sorted(["full", "null", "random", "tty", "urandom", "zero", "pts", "shm", "fd",
                                         "stdin", "stdout", "stderr", "ptmx"]), res.stdout
    # stdin reaches the command; a failure comes back as one (kwok names the exit status instead of passing it on)
    res = kubectl(lab, "-n", ns, "exec", "-i", "shell", "--", "sh", "-c", "read x; echo got-$x; exit 3",
                  check=False, input="abc\n")
    assert res.returncode != 0 and "got-abc" in res.stdout, (res.returncode, res.stdout, res.stderr)
    assert "exit status 3" in res.stderr, res.stderr
    assert not Path("/etc/aiconform-exec").exists()
    kubectl(lab, "delete", "namespace", ns, "--wait=false")


def test_unknown_image_stays_kwok_only_and_says_so(lab: LabHandle) -> None:
    ns = "pods-kwok"
    kubectl(lab, "create", "namespace", ns)
    kubectl(lab, "-n", ns, "run", "web", "--image=nginx:1.27")
    events = wait(lambda: [e for e in kget(lab, "events", "-n", ns)["items"] if e["reason"] == "KwokOnly"],
                  30, "a KwokOnly event")
    assert events[0]["involvedObject"]["name"] == "web"
    assert "nginx:1.27" in events[0]["message"]
    pod = kget(lab, "pod", "-n", ns, "web")
    assert pod["status"]["phase"] == "Running"  # kwok's status
    assert not program_pids(pod["metadata"]["uid"])
    kubectl(lab, "delete", "namespace", ns, "--wait=false")


def test_two_container_pod_shares_its_network_not_its_files(lab: LabHandle) -> None:
    """Every container of a pod of known images runs, in the pod's one network namespace (one IP, localhost shared)
    with its own env, mounts, logs, exec and status; an emptyDir both mount is shared, as on a kubelet."""
    ns = "pods-duo"
    kubectl(lab, "create", "namespace", ns)
    script = ("import os, time, urllib.request\n"
              "print(os.environ['ROLE'], flush=True)\n"
              "for _ in range(100):\n"
              "    try:\n"
              "        print(urllib.request.urlopen('http://localhost:8080/hostname', timeout=2).read().decode(),"
              " flush=True)\n"
              "        break\n"
              "    except OSError:\n"
              "        time.sleep(0.2)\n"
              "open('/shared/x', 'w').write('from-side')\n"
              "print('web-only' if os.path.exists('/only-web') else 'no-web-mount', flush=True)\n"
              "time.sleep(3600)\n")
    apply(lab, {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "duo", "namespace": ns},
                "spec": {"volumes": [{"name": "shared", "emptyDir": {}}, {"name": "own", "emptyDir": {}}],
                         "containers": [
                             {"name": "web", "image": AGNHOST, "args": ["netexec", "--http-port=8080"],
                              "env": [{"name": "ROLE", "value": "web"}],
                              "volumeMounts": [{"name": "shared", "mountPath": "/shared-web"},
                                               {"name": "own", "mountPath": "/only-web"}]},
                             {"name": "side", "image": PYTHON, "command": ["python", "-c", script],
                              "env": [{"name": "ROLE", "value": "side"}],
                              "volumeMounts": [{"name": "shared", "mountPath": "/shared"}]}]}})
    pod = pod_of(lab, ns, "!none")
    ip, uid = pod["status"]["podIP"], pod["metadata"]["uid"]
    log = wait(lambda: (r := kubectl(lab, "-n", ns, "logs", "duo", "-c", "side", check=False)).returncode == 0
               and len(r.stdout.split()) >= 3 and r.stdout, 60, "the side container's log")
    # localhost is the pod's: the side container reached the web container's server, which names the pod
    assert log.split() == ["side", "duo", "no-web-mount"], log
    assert wait(lambda: http_in_lab(lab, f"http://{ip}:8080/hostname"), 30, "the pod IP answers") == "duo"
    res = kubectl(lab, "-n", ns, "exec", "duo", "-c", "web", "--", "sh", "-c",
                  "echo $ROLE; cat /shared-web/x; echo; ls /shared 2>/dev/null || echo no-shared; "
                  "ip -4 -o addr show eth0")
    lines = res.stdout.splitlines()
    assert lines[:3] == ["web", "from-side", "no-shared"], res.stdout
    assert f" {ip}/" in lines[3], res.stdout
    res = kubectl(lab, "-n", ns, "exec", "duo", "-c", "side", "--", "sh", "-c",
                  "echo $ROLE; ls /only-web 2>/dev/null || echo no-web-mount; ip -4 -o addr show eth0")
    lines = res.stdout.splitlines()
    assert lines[:2] == ["side", "no-web-mount"] and f" {ip}/" in lines[2], res.stdout
    web_log = kubectl(lab, "-n", ns, "logs", "duo", "-c", "web").stdout  # its own log: the server's lines
    assert "Started HTTP server on port 8080" in web_log and "GET /hostname" in web_log, web_log
    assert "side" not in web_log.split(), web_log
    statuses = {c["name"]: c for c in kget(lab, "pod", "-n", ns, "duo")["status"]["containerStatuses"]}
    assert set(statuses) == {"web", "side"}
    assert all("running" in c["state"] and c["ready"] for c in statuses.values()), statuses
    # two container processes (their pid files: `python -c` replaced the launcher's command line) and the sandbox
    pids = {int(f.read_text()) for f in (lab.state / "pods" / uid / "containers").glob("*/pid")}
    assert len(pids) == 2 and pids <= {p for p in pids if Path(f"/proc/{p}").exists()}, pids
    pids |= set(program_pids(uid))
    assert len(pids) == 3, pids
    kubectl(lab, "-n", ns, "delete", "pod", "duo", "--wait=true", "--timeout=60s")
    wait(lambda: not [p for p in pids if Path(f"/proc/{p}").exists()], 30, "the deleted pod's processes to end")
    kubectl(lab, "delete", "namespace", ns, "--wait=false")


@pytest.mark.parametrize(("second", "phase"), [(0, "Succeeded"), (4, "Failed")])
def test_a_pods_phase_comes_from_all_its_containers(lab: LabHandle, second: int, phase: str) -> None:
    """restartPolicy Never: the pod runs until every container ended, then Succeeded when all exited 0, else
    Failed; each container has its own exit code and log."""
    ns = f"pods-phase-{second}"
    kubectl(lab, "create", "namespace", ns)
    apply(lab, {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "two", "namespace": ns},
                "spec": {"restartPolicy": "Never", "containers": [
                    {"name": "first", "image": BUSYBOX, "command": ["sh", "-c", "echo one"]},
                    {"name": "second", "image": BUSYBOX,
                     "command": ["sh", "-c", f"sleep 6; echo two; exit {second}"]}]}})

    def statuses() -> dict:
        pod = kget(lab, "pod", "-n", ns, "two")
        return {"phase": pod["status"].get("phase"),
                **{c["name"]: c for c in pod["status"].get("containerStatuses") or []}}

    early = wait(lambda: (s := statuses()).get("first", {}).get("state", {}).get("terminated") and s, 30,
                 "the first container to end")
    if "terminated" not in early["second"]["state"]:  # the second still runs: so does the pod
        assert early["phase"] == "Running", early
    done = wait(lambda: (s := statuses())["phase"] in ("Succeeded", "Failed") and s, 60, "the pod to end")
    assert done["phase"] == phase, done
    assert done["first"]["state"]["terminated"]["exitCode"] == 0
    assert done["second"]["state"]["terminated"]["exitCode"] == second
    assert done["second"]["state"]["terminated"]["reason"] == ("Completed" if second == 0 else "Error")
    assert kubectl(lab, "-n", ns, "logs", "two", "-c", "first").stdout.strip() == "one"
    assert kubectl(lab, "-n", ns, "logs", "two", "-c", "second").stdout.strip() == "two"
    kubectl(lab, "delete", "namespace", ns, "--wait=false")


def test_a_pod_with_init_containers_stays_kwok_only_and_says_so(lab: LabHandle) -> None:
    ns = "pods-init"
    kubectl(lab, "create", "namespace", ns)
    apply(lab, {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "init", "namespace": ns},
                "spec": {"initContainers": [{"name": "setup", "image": BUSYBOX, "command": ["true"]}],
                         "containers": [{"name": "c", "image": BUSYBOX, "command": ["sleep", "3600"]}]}})
    events = wait(lambda: [e for e in kget(lab, "events", "-n", ns)["items"] if e["reason"] == "KwokOnly"],
                  30, "a KwokOnly event")
    assert "init containers (setup)" in events[0]["message"], events[0]
    assert not program_pids(kget(lab, "pod", "-n", ns, "init")["metadata"]["uid"])
    kubectl(lab, "delete", "namespace", ns, "--wait=false")


def _webhook_cert(dns: str) -> tuple[bytes, bytes, bytes]:
    """A CA, and a serving certificate for ``dns`` it signed: (ca pem, cert pem, key pem)."""
    now = dt.datetime.now(dt.timezone.utc)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "webhook-test-ca")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(hours=1))
          .not_valid_after(now + dt.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .sign(ca_key, hashes.SHA256()))
    cert = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, dns)]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(hours=1)).not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(dns)]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    pem = serialization.Encoding.PEM
    return (ca.public_bytes(pem), cert.public_bytes(pem),
            key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))


def test_the_real_api_server_calls_a_webhook_served_by_a_pod(lab: LabHandle) -> None:
    """--enable-aggregator-routing: the API server dials the Service's endpoint, i.e. the pod IP, where the
    webhook program the runner started answers over TLS with the certificate from the pod's Secret volume."""
    ns = "pods-webhook"
    ca, cert, key = _webhook_cert(f"deny.{ns}.svc")
    kubectl(lab, "create", "namespace", ns)
    kubectl(lab, "label", "namespace", ns, "webhook-test=deny")
    b64 = lambda b: base64.b64encode(b).decode()  # noqa: E731
    apply(lab,
          {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "tls", "namespace": ns},
           "type": "kubernetes.io/tls", "data": {"tls.crt": b64(cert), "tls.key": b64(key)}},
          {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "deny", "namespace": ns, "labels": {"app": "deny"}},
           "spec": {"containers": [{"name": "webhook", "image": AGNHOST,
                                    "args": ["webhook", "--tls-cert-file=/certs/tls.crt",
                                             "--tls-private-key-file=/certs/tls.key", "--port=8443"],
                                    "volumeMounts": [{"name": "tls", "mountPath": "/certs", "readOnly": True}]}],
                    "volumes": [{"name": "tls", "secret": {"secretName": "tls"}}]}},
          {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "deny", "namespace": ns},
           "spec": {"selector": {"app": "deny"}, "ports": [{"port": 443, "targetPort": 8443}]}})
    pod = pod_of(lab, ns, "app=deny")
    wait(lambda: "Started HTTPS server" in container_log(lab, pod, "webhook"), 30, "the webhook program listens")
    wait(lambda: any(ep.get("addresses") == [pod["status"]["podIP"]] for s in
                     kget(lab, "endpointslices", "-n", ns, "-l", "kubernetes.io/service-name=deny")["items"]
                     for ep in s.get("endpoints") or []), 30, "the Service's EndpointSlice")
    apply(lab, {"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingWebhookConfiguration",
                "metadata": {"name": "pods-webhook-deny"},
                "webhooks": [{"name": "deny.aiconform.test", "admissionReviewVersions": ["v1"],
                              "sideEffects": "None", "failurePolicy": "Fail", "timeoutSeconds": 5,
                              "namespaceSelector": {"matchLabels": {"webhook-test": "deny"}},
                              "rules": [{"apiGroups": [""], "apiVersions": ["v1"], "operations": ["CREATE"],
                                         "resources": ["configmaps"]}],
                              "clientConfig": {"caBundle": b64(ca), "service": {
                                  "name": "deny", "namespace": ns, "path": "/always-deny", "port": 443}}}]})
    try:
        def denied() -> str:
            res = kubectl(lab, "-n", ns, "create", "configmap", f"c{time.monotonic_ns()}", check=False)
            return res.stderr if "this webhook denies all requests" in res.stderr else ""

        err = wait(denied, 60, "the webhook to deny a ConfigMap")
        assert "deny.aiconform.test" in err
        assert "admission /always-deny: CREATE configmaps -> False" in container_log(lab, pod, "webhook")
        # a namespace the webhook does not select is not affected
        kubectl(lab, "create", "configmap", "pods-webhook-free", "-n", "default")
        kubectl(lab, "delete", "configmap", "pods-webhook-free", "-n", "default")
    finally:
        kubectl(lab, "delete", "validatingwebhookconfiguration", "pods-webhook-deny", check=False)
        kubectl(lab, "delete", "namespace", ns, "--wait=false", check=False)


def test_pod_runs_with_its_service_account_rbac(lab: LabHandle) -> None:
    """The pod's token is a TokenRequest for its ServiceAccount: the real API server applies that account's RBAC."""
    ns = "pods-rbac"
    kubectl(lab, "create", "namespace", ns)
    kubectl(lab, "-n", ns, "create", "serviceaccount", "reader")
    kubectl(lab, "-n", ns, "create", "role", "cm-reader", "--verb=list", "--resource=configmaps")
    kubectl(lab, "-n", ns, "create", "rolebinding", "cm-reader", "--role=cm-reader",
            f"--serviceaccount={ns}:reader")
    script = ("import json, os, ssl, sys, urllib.request, urllib.error\n"
              "sa = '/var/run/secrets/kubernetes.io/serviceaccount/'  # where in-cluster clients look\n"
              "token = open(sa + 'token').read()\n"
              "ctx = ssl.create_default_context(cafile=sa + 'ca.crt')\n"
              "env = os.environ\n"
              "base = 'https://%s:%s' % (env['KUBERNETES_SERVICE_HOST'], env['KUBERNETES_SERVICE_PORT'])\n"
              "for res in sys.argv[1:]:\n"
              "    req = urllib.request.Request(base + '/api/v1/namespaces/" + ns + "/' + res,\n"
              "                                 headers={'Authorization': 'Bearer ' + token})\n"
              "    try:\n"
              "        print(res, urllib.request.urlopen(req, context=ctx, timeout=5).status)\n"
              "    except urllib.error.HTTPError as e:\n"
              "        print(res, e.code)\n")
    apply(lab, {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "rbac", "namespace": ns},
                "spec": {"backoffLimit": 0, "template": {"spec": {
                    "restartPolicy": "Never", "serviceAccountName": "reader",
                    "containers": [{"name": "c", "image": PYTHON,
                                    "command": ["python", "-c", script, "configmaps", "secrets"]}]}}}})
    pod = job_finished(lab, ns, "rbac")
    out = container_log(lab, pod, "c")
    assert "configmaps 200" in out and "secrets 403" in out, out
    token = (lab.state / "pods" / pod["metadata"]["uid"] / "root" / "var/run/secrets/kubernetes.io/serviceaccount"
             / "token")
    assert token.stat().st_mode & 0o077 == 0
    assert token.read_text() not in out and token.read_text() not in lab.log("pods")
    kubectl(lab, "delete", "namespace", ns, "--wait=false")


def test_a_deployment_pod_whose_program_exits_is_restarted(lab: LabHandle) -> None:
    """restartPolicy Always: the runner starts the program again and counts the restart, as a kubelet does."""
    ns = "pods-restart"
    kubectl(lab, "create", "namespace", ns)
    kubectl(lab, "-n", ns, "create", "deployment", "echo", f"--image={AGNHOST}", "--", "/agnhost", "netexec",
            "--http-port=8080")
    pod = pod_of(lab, ns, "app=echo")
    ip, name = pod["status"]["podIP"], pod["metadata"]["name"]
    wait(lambda: http_in_lab(lab, f"http://{ip}:8080/hostname") == name, 30, "the echo pod answers")
    http_in_lab(lab, f"http://{ip}:8080/exit?code=2")

    def restarted() -> dict:
        st = (kget(lab, "pod", "-n", ns, name)["status"].get("containerStatuses") or [{}])[0]
        return st if st.get("restartCount") == 1 and "running" in st.get("state", {}) else {}

    st = wait(restarted, 30, "the restart to be counted")
    assert st["lastState"]["terminated"]["exitCode"] == 2
    assert "GET /exit" in kubectl(lab, "-n", ns, "logs", "--previous", name).stdout
    # 60 s: on a loaded CI machine the restarted program took more than 30 s to serve again
    assert wait(lambda: http_in_lab(lab, f"http://{ip}:8080/hostname"), 60, "the restarted program") == name
    kubectl(lab, "delete", "namespace", ns, "--wait=false")


def test_stopping_the_lab_leaves_no_pod_process(tmp_path: Path) -> None:
    """The runner stops its programs when the lab stops (and PR_SET_PDEATHSIG kills them if it cannot)."""
    own = LabHandle(tmp_path, gpus=0)
    try:
        kubectl(own, "run", "echo", f"--image={AGNHOST}", "--", "netexec")
        pod = pod_of(own, "default", "run=echo")
        uid = pod["metadata"]["uid"]
        wait(lambda: program_pids(uid), 30, "the pod's process")
    finally:
        own.stop()
    assert not program_pids(uid)
    assert not own.state.exists()
    # stopped gracefully: the machine got the SIGTERM and exited 0 (unshare returns its child's status); a machine
    # never signalled is SIGKILLed after stop_process's timeout (-9)
    assert own.running.proc.returncode == 0, own.running.proc.returncode


def test_a_restarted_container_sees_the_volume_as_its_secret_is_now(lab: LabHandle) -> None:
    """As a kubelet's volume manager: a container that exits at once keeps its volumes synced while it waits to be
    restarted, so its next start reads what was written since (KEDA's metrics server starts while the operator's
    Secret is still empty and exits; its restart must find the certificates)."""
    ns = "pods-volume-restart"
    kubectl(lab, "create", "namespace", ns)
    kubectl(lab, "-n", ns, "create", "secret", "generic", "certs")  # exists, empty: the pod is not held
    apply(lab, {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "waits", "namespace": ns},
                "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "waits"}},
                         "template": {"metadata": {"labels": {"app": "waits"}}, "spec": {
                             "tolerations": [{"operator": "Exists"}],
                             "containers": [{"name": "c", "image": BUSYBOX, "command": [
                                 "sh", "-c", "cat /certs/ca.crt || exit 1; sleep 3600"],
                                 "volumeMounts": [{"name": "certs", "mountPath": "/certs"}]}],
                             "volumes": [{"name": "certs", "secret": {"secretName": "certs"}}]}}}})
    pod = pod_of(lab, ns, "app=waits")
    name = pod["metadata"]["name"]

    def crashed() -> bool:
        st = (kget(lab, "pod", "-n", ns, name)["status"].get("containerStatuses") or [{}])[0]
        return st.get("restartCount", 0) >= 1
    wait(crashed, 30, "the container to exit for want of the file")
    data = base64.b64encode(b"the CA\n").decode()
    kubectl(lab, "-n", ns, "patch", "secret", "certs", "-p", f'{{"data": {{"ca.crt": "{data}"}}}}')

    def running() -> dict:
        st = (kget(lab, "pod", "-n", ns, name)["status"].get("containerStatuses") or [{}])[0]
        return st if "running" in st.get("state", {}) and "the CA" in kubectl(lab, "-n", ns, "logs", name).stdout \
            else {}
    assert wait(running, 60, "the restarted container to read the Secret's file")["restartCount"] >= 1
    kubectl(lab, "delete", "namespace", ns, "--wait=false")
