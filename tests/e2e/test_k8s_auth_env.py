"""K8S_AUTH_* environment fallbacks (issue #19): aiconform's modules read the connection from the environment
exactly as kubernetes.core does, so with only K8S_AUTH_* set both collections talk to the same cluster.

The kubeconfig has two contexts; its current one points at a port where nothing listens, so a module that
ignored K8S_AUTH_CONTEXT would fail to connect. A token given as K8S_AUTH_API_KEY never reaches the output.
"""
from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
import yaml

from aiconform import PROJECT_ROOT

pytestmark = pytest.mark.e2e

PLAYBOOK = """
- name: Connection from the environment only
  hosts: localhost
  gather_facts: false
  vars:
    ansible_python_interpreter: "{{ ansible_playbook_python }}"
  tasks:
    - name: Cluster facts
      aiconform.conformance.cluster_facts:
        cluster_name: env-only
      register: facts
    - name: A verifier
      aiconform.conformance.verify_driver_runtime_management:
        run_id: envonly
      register: verdict
    - name: kubernetes.core on the same settings
      kubernetes.core.k8s_info:
        kind: Node
      register: nodes
      ignore_errors: true
    - name: Show what was reached
      ansible.builtin.debug:
        msg: "{{ {'reachable': facts.ansible_facts.aiconform_cluster.reachable,
                  'error': facts.ansible_facts.aiconform_cluster.error | default(''),
                  'status': verdict.status, 'nodes': nodes.resources | default([]) | length} | to_json }}"
"""


@pytest.fixture(scope="module")
def sim_scenario() -> str:
    return "conformant"


def _run(sim, tmp_path: Path, env_vars: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    playbook = tmp_path / "env-only.yml"
    playbook.write_text(PLAYBOOK)
    env = sim.subprocess_env()
    for name in [k for k in env if k.startswith("K8S_AUTH_")] + ["KUBECONFIG"]:
        env.pop(name, None)
    env.update(env_vars, ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0")
    return subprocess.run(["ansible-playbook", str(playbook), "-i", "localhost,", "-c", "local", *args],
                          cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=600)


def _shown(proc: subprocess.CompletedProcess[str]) -> dict:
    for line in proc.stdout.splitlines():
        line = line.strip()
        if line.startswith('"msg": '):
            return json.loads(json.loads(line[len('"msg": '):]))
    raise AssertionError(proc.stdout[-4000:] + proc.stderr[-2000:])


def _two_context_kubeconfig(sim, tmp_path: Path) -> Path:
    cfg = yaml.safe_load(sim.kubeconfig.read_text())
    real = cfg["contexts"][0]["name"]
    cfg["clusters"].append({"name": "nowhere", "cluster": {"server": "http://127.0.0.1:9"}})
    cfg["contexts"].append({"name": "nowhere", "context": {"cluster": "nowhere", "user": real}})
    cfg["current-context"] = "nowhere"
    path = tmp_path / "two-contexts.kubeconfig"
    path.write_text(yaml.safe_dump(cfg))
    os.chmod(path, 0o600)
    return path


def test_kubeconfig_and_context_from_the_environment(sim, tmp_path: Path) -> None:
    kubeconfig = _two_context_kubeconfig(sim, tmp_path)
    real = yaml.safe_load(sim.kubeconfig.read_text())["contexts"][0]["name"]
    proc = _run(sim, tmp_path, {"K8S_AUTH_KUBECONFIG": str(kubeconfig), "K8S_AUTH_CONTEXT": real})
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    shown = _shown(proc)
    assert shown["reachable"] is True, shown
    assert shown["status"] == "Implemented", (shown, proc.stdout[-3000:])
    assert shown["nodes"] > 0


def test_without_the_context_the_current_one_is_used(sim, tmp_path: Path) -> None:
    """The control: K8S_AUTH_CONTEXT is what made the difference (the current context reaches nothing)."""
    kubeconfig = _two_context_kubeconfig(sim, tmp_path)
    proc = _run(sim, tmp_path, {"K8S_AUTH_KUBECONFIG": str(kubeconfig)})
    shown = _shown(proc)
    assert shown["reachable"] is False and "127.0.0.1:9" in shown["error"], shown
    assert shown["status"] == "error" and shown["nodes"] == 0, shown


def test_host_and_api_key_from_the_environment_and_the_key_never_shown(sim, tmp_path: Path) -> None:
    token = sim.admin("/_sim/tokens", {"name": "env-test", "namespace": "default",
                                       "rules": [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]},
                                                 {"nonResourceURLs": ["*"], "verbs": ["*"]}]})["token"]
    proc = _run(sim, tmp_path, {"K8S_AUTH_HOST": sim.url, "K8S_AUTH_API_KEY": token}, "-vvv")
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    shown = _shown(proc)
    assert shown["reachable"] is True and shown["status"] == "Implemented", shown
    assert token not in proc.stdout + proc.stderr
    log = json.dumps(sim.admin("/_sim/requests?log=1"))
    assert "system:serviceaccount:default:env-test" in log, "no call was made with the K8S_AUTH_API_KEY token"


def test_verify_ssl_env_is_read_as_kubernetes_core_reads_it(monkeypatch: pytest.MonkeyPatch) -> None:
    from aiconform.kube import CONNECTION_ARGSPEC
    from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
    for value, expected in (("no", False), ("False", False), ("0", False), ("yes", True), ("anything", True)):
        monkeypatch.setenv("K8S_AUTH_VERIFY_SSL", value)
        assert ArgumentSpecValidator(CONNECTION_ARGSPEC).validate({}).validated_parameters["validate_certs"] \
            is expected, value
    monkeypatch.setenv("K8S_AUTH_VALIDATE_CERTS", "no")  # the option's own name first, as kubernetes.core
    monkeypatch.setenv("K8S_AUTH_VERIFY_SSL", "yes")
    assert ArgumentSpecValidator(CONNECTION_ARGSPEC).validate({}).validated_parameters["validate_certs"] is False
    # an explicit option wins over the environment
    assert ArgumentSpecValidator(CONNECTION_ARGSPEC).validate({"validate_certs": True}) \
        .validated_parameters["validate_certs"] is True
    monkeypatch.setenv("K8S_AUTH_CERT_FILE", "/c.pem")
    assert ArgumentSpecValidator(CONNECTION_ARGSPEC).validate({}).validated_parameters["client_cert"] == "/c.pem"


def test_every_cluster_module_uses_the_one_connection_spec() -> None:
    """Each module talking to a cluster documents the fragment and builds its spec from CONNECTION_ARGSPEC."""
    modules = PROJECT_ROOT / "plugins" / "modules"
    for path in sorted(modules.glob("*.py")):
        text = path.read_text()
        if "aiconform.conformance.cluster\n" not in text and "aiconform.conformance.cluster\r" not in text:
            continue
        assert ("CONNECTION_ARGSPEC" in text or "run_module(" in text or "run_verify_module(" in text), path.name


