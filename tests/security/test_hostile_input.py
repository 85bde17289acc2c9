"""Hostile or broken input gives clear errors, never a crash, a hang or an unbounded artifact.

In-process where possible (run_verifier is the code path the Ansible modules run); the inventory case
goes through ansible-playbook because argument specs are enforced there.
"""
from __future__ import annotations

import glob
import importlib
import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiconform.results import Status, Verdict
from aiconform.verifiers import runtime
from aiconform.verifiers.exposition import ExpositionError, parse
from aiconform.verifiers.httpproxy import url_request
from aiconform.verifiers.runtime import dns_label, judge_facts, run_verifier
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aiconform import PROJECT_ROOT

JUDGES = sorted(Path(p).parent.name for p in glob.glob(str(PROJECT_ROOT / "plugins/module_utils/verifiers/*/judge.py")))
JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
                    max_leaves=20)
# Keys the judges look for, so the fuzz reaches past the first lookup.
KEYS = st.sampled_from(["endpoint", "scrape", "workload", "dra", "dra_version", "usable", "functional", "api",
                        "apis", "positive", "negative", "cleanup", "kueue", "gateway", "traffic", "platform",
                        "probe", "up", "down", "hpa", "subtests", "found", "ok", "text"]) | st.text(max_size=6)
FACTS = st.dictionaries(KEYS, JSON, max_size=8)


# -- judges and the exposition parser -------------------------------------------------------------
@pytest.mark.parametrize("requirement", JUDGES)
@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(facts=FACTS)
def test_judges_never_crash_on_malformed_facts(requirement: str, facts: dict[str, Any]) -> None:
    judge = importlib.import_module(f"aiconform.verifiers.{requirement}.judge").judge
    verdict = judge_facts(judge, facts)
    assert isinstance(verdict, Verdict) and isinstance(verdict.status, Status)
    if verdict.status == Status.ERROR:
        assert verdict.reasons and all(isinstance(r, str) and r for r in verdict.reasons)


def test_run_verifier_turns_a_judge_crash_into_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    class Conn:
        host, tls_verify, request_timeout = "https://x", True, 5

        def close(self) -> None:
            pass
    monkeypatch.setattr(runtime, "connect", lambda params, component, **kw: Conn())
    verifier = runtime.load("gang_scheduling")
    monkeypatch.setattr(verifier, "fetch", lambda ctx: {"positive": [1, 2], "kueue": "?"})
    result = run_verifier("gang_scheduling", {"run_id": "r1"})
    assert result.status == Status.ERROR
    assert "could not be judged" in result.reasons[0]


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=400) | st.lists(st.sampled_from(
    ["# TYPE a gauge\n", "# HELP a x\n", "a 1\n", 'a{b="c"} 2\n', "a{b=\"\n", "a NaN\n", "a +Inf\n", "\x00",
     "# TYPE a counter\n", "a_total 1 1700000000\n", "a{} x\n", "{}\n", "# EOF\n"]), max_size=12).map("".join))
def test_exposition_parser_only_raises_exposition_error(text: str) -> None:
    try:
        families = parse(text)
    except ExpositionError as exc:
        assert str(exc)
        return
    json.dumps(families, allow_nan=False)  # the facts stay valid JSON (no NaN/Inf)


# -- object names ---------------------------------------------------------------------------------
@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_dns_label_is_a_valid_label_or_a_clear_error(text: str) -> None:
    try:
        label = dns_label(text)
    except ValueError as exc:
        assert "cannot derive a DNS label" in str(exc)
        return
    assert runtime._DNS_LABEL.match(label) and len(label) <= 63


@pytest.mark.parametrize("run_id", ["20261127T041351Z", "../../etc; rm -rf /", "Ünïcødé run", "x" * 300, "--"])
def test_probe_namespace_names_from_hostile_run_ids(run_id: str) -> None:
    try:
        name = dns_label(f"aiconform-gang_scheduling-{run_id}")
    except ValueError:
        return
    assert runtime._DNS_LABEL.match(name), name


# -- metrics endpoints: size and time limits --------------------------------------------------------
class _Hostile(BaseHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802 - http.server API
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.end_headers()
        try:
            if self.path == "/gigabyte":  # 1 GiB, as fast as the socket takes it
                chunk = b"DCGM_FI_DEV_GPU_UTIL{gpu=\"0\"} 1\n" * 2048
                for _ in range((1 << 30) // len(chunk)):
                    self.wfile.write(chunk)
            elif self.path == "/trickle":  # never ends: a byte every 50 ms, always under any read timeout
                while True:
                    self.wfile.write(b"#")
                    self.wfile.flush()
                    time.sleep(0.05)
        except (BrokenPipeError, ConnectionResetError):
            pass


@pytest.fixture(scope="module")
def hostile_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Hostile)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_a_gigabyte_metrics_answer_stops_at_max_bytes(hostile_server: str) -> None:
    start = time.monotonic()
    res = url_request(hostile_server + "/gigabyte", timeout=20, max_bytes=1 << 20)
    assert res.truncated and len(res.body) == 1 << 20
    assert time.monotonic() - start < 10


def test_a_metrics_answer_that_never_ends_stops_at_the_deadline(hostile_server: str) -> None:
    start = time.monotonic()
    res = url_request(hostile_server + "/trickle", timeout=2, max_bytes=1 << 20)
    assert res.timed_out and not res.ok
    assert time.monotonic() - start < 5


def test_accelerator_metrics_scrape_reports_the_limit(hostile_server: str) -> None:
    from aiconform.verifiers.accelerator_metrics.fetch import scrape

    class Ctx:
        options = {"scrape_timeout": 2, "max_bytes": 1 << 16}
        conn = type("C", (), {"tls_verify": True})()
    out = scrape(Ctx(), {"kind": "url", "url": hostile_server + "/trickle"})
    assert not out["ok"] and out["error"].startswith("timed out after 2s")
    out = scrape(Ctx(), {"kind": "url", "url": hostile_server + "/gigabyte"})
    assert out["truncated"] and out["bytes"] <= 1 << 16


# -- an API server answering garbage, huge and odd objects (simulator) ------------------------------
@pytest.fixture(scope="module")
def sim_scenario() -> str:
    return "conformant"


def _verify(sim: Any, requirement: str, **options: Any) -> Any:
    return run_verifier(requirement, {"kubeconfig": str(sim.kubeconfig), "run_id": "hostile", "request_timeout": 10,
                                      "options": {"pod_running_timeout": 5, "log_timeout": 5, "cleanup_timeout": 10,
                                                  **options}})


@pytest.mark.parametrize("raw", ["<html><body>502 Bad Gateway</body></html>", '{"kind": "ResourceSliceList", "items": 7}',
                                 "\x00\xff garbage", '{"items": [{"spec": "nope"}]}'])
def test_garbage_from_the_api_server_is_an_error_with_a_reason(sim: Any, raw: str) -> None:
    sim.faults({"path": r"/resourceslices$", "verb": "list", "raw": raw})
    try:
        result = _verify(sim, "dra_support")
    finally:
        sim.faults()
    assert result.status in (Status.ERROR, Status.NOT_IMPLEMENTED, Status.PARTIAL), result.reasons
    assert result.reasons and result.reasons[0]
    json.dumps(result.to_dict())


def _slice(name: str, devices: list[dict[str, Any]]) -> dict[str, Any]:
    return {"apiVersion": "resource.k8s.io/v1", "kind": "ResourceSlice", "metadata": {"name": name},
            "spec": {"driver": "hostile.example.com", "nodeName": "gpu-worker-1",
                     "pool": {"name": "hostile", "generation": 1, "resourceSliceCount": 1}, "devices": devices}}


def _create(sim: Any, obj: dict[str, Any]) -> None:
    import urllib.request
    token = yaml.safe_load(sim.kubeconfig.read_text())["users"][0]["user"]["token"]
    req = urllib.request.Request(sim.url + "/apis/resource.k8s.io/v1/resourceslices", data=json.dumps(obj).encode(),
                                 headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(req, timeout=60) as resp:
        assert resp.status == 201


def test_odd_and_huge_resource_slices_give_a_bounded_verdict(sim: Any) -> None:
    odd = [{"name": "d0", "attributes": {"uuid": {"int": "not-a-number"}, "productName": "bare string",
                                         "index": [1, 2], "nested": {"a": {"b": {"c": None}}}, "": {"bool": "yes"}},
            "capacity": {"memory": {"value": {"huge": "x"}}, "cores": 3}},
           {"name": "d1", "attributes": None, "capacity": "lots"}]
    huge = [{"name": f"h{i}", "attributes": {"blob": {"string": "x" * 4096}}} for i in range(600)]  # ~2.5 MB
    _create(sim, _slice("hostile-odd", odd))
    _create(sim, _slice("hostile-huge", huge))
    result = _verify(sim, "dra_support")
    assert result.status in set(Status), result.reasons
    assert result.reasons and all(isinstance(r, str) for r in result.reasons)
    size = len(json.dumps(result.to_dict()))
    assert size < 4 << 20, f"results entry of {size} bytes"
    assert all(len(e.content) <= 70 * 1024 for e in result.evidence)


# -- malformed inventory values, through ansible-playbook -----------------------------------------
@pytest.mark.e2e
def test_malformed_inventory_values_are_rejected_by_argument_specs(tmp_path: Path) -> None:
    from aiconform.toolchain import ansible_env
    secret = "s3cr3t-token-in-a-list-5f1e"
    host = {"ansible_connection": "local", "ansible_python_interpreter": sys.executable,
            "aiconform_validate_certs": "maybe", "aiconform_platform": "not-a-dict",
            "aiconform_requirements": {"a": 1}, "aiconform_api_key": [secret]}
    inv = tmp_path / "inventory.yml"
    inv.write_text(yaml.safe_dump({"all": {"hosts": {"bad": host}}}))
    proc = subprocess.run(["ansible-playbook", "playbooks/preflight.yml", "-i", str(inv)], cwd=PROJECT_ROOT,
                          env={**ansible_env(), "ANSIBLE_NOCOLOR": "1"}, capture_output=True, text=True, timeout=300)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    for fragment in ("aiconform_validate_certs", "aiconform_platform", "aiconform_requirements"):
        assert fragment in out, out[-3000:]
    assert "'maybe' cannot be converted to a bool" in out or "maybe" in out
    assert secret not in out


