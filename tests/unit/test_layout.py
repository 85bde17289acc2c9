"""The wiring a newcomer and the users rely on: entry point, tags, one verifier per requirement."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from aiconform.verifiers.runtime import load

from aiconform import PROJECT_ROOT, catalog
from aiconform.toolchain import ansible_env

COMPONENT_TAGS = ["gpu_operator", "nvidia_dra_driver", "kueue", "gateway_api", "kgateway", "metrics_server",
                  "kube_prometheus_stack", "prometheus_adapter", "kuberay", "cluster_autoscaler"]


def _playbook(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ansible-playbook", "conformance.yml", "-i", "inventory/sample", *args],
                          cwd=PROJECT_ROOT, env=ansible_env(), capture_output=True, text=True, timeout=300)


def test_conformance_playbook_passes_syntax_check():
    proc = _playbook("--syntax-check")
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_every_phase_requirement_and_component_is_a_tag():
    proc = _playbook("--list-tags")
    assert proc.returncode == 0, proc.stderr
    tags = set()
    for line in proc.stdout.splitlines():
        if "TAGS: [" in line:
            tags |= {t.strip() for t in line.split("TAGS: [", 1)[1].rstrip("]").split(",") if t.strip()}
    missing = ({"install", "verify", "report"} | set(catalog.all_ids()) | set(COMPONENT_TAGS)) - tags
    assert not missing, f"tags missing from conformance.yml: {sorted(missing)}"


@pytest.mark.parametrize("requirement", catalog.all_ids())
def test_every_requirement_has_module_verifier_and_task(requirement):
    """One verifier per id, findable by name (and never two: AICR mapped two ids to one check)."""
    module = PROJECT_ROOT / "plugins" / "modules" / f"verify_{requirement}.py"
    package = PROJECT_ROOT / "plugins" / "module_utils" / "verifiers" / requirement
    assert module.is_file(), f"missing {module.relative_to(PROJECT_ROOT)}"
    assert (package / "judge.py").is_file() and (package / "fetch.py").is_file()
    # its plan task: the options of this requirement, from aiconform_<id>_<option> inventory variables
    tasks = [t for f in (PROJECT_ROOT / "playbooks" / "verify_plan").glob("*.yml")
             for t in (yaml.safe_load(f.read_text()) or []) if t.get("name") == f"Plan the {requirement} verifier"]
    assert len(tasks) == 1, f"expected one task planning {requirement}, found {len(tasks)}"
    plan = tasks[0]
    assert requirement in plan.get("tags", []) and plan["when"] == f"'{requirement}' in aiconform_run.selected"
    assert f"combine({{'{requirement}': aiconform_options}})" in plan["ansible.builtin.set_fact"]["aiconform_verify_plan"]
    options = plan["vars"]["aiconform_options"] or {}
    spec = load(requirement).OPTIONS
    assert set(options) <= set(spec), f"unknown options planned: {sorted(set(options) - set(spec))}"
    missing = [o for o in spec if o not in options]
    assert not missing, f"options with no inventory variable: {missing}"
    runtime = yaml.safe_load((PROJECT_ROOT / "meta" / "runtime.yml").read_text())
    assert f"verify_{requirement}" in runtime["action_groups"]["cluster"]


def test_cli_help_lists_commands():
    proc = subprocess.run([sys.executable, "-m", "aiconform.cli", "--help"], capture_output=True, text=True)
    assert proc.returncode == 0
    assert "conformance" in proc.stdout


def test_ci_runs_the_readme_test_command():
    readme = (PROJECT_ROOT / "README.md").read_text()
    ci = (PROJECT_ROOT / ".ci" / "run").read_text()
    assert "make test" in readme and "\nmake test\n" in ci


def test_repository_does_not_carry_third_party_fixtures():
    shared = PROJECT_ROOT.parent / "shared" / "fixtures"
    if not shared.is_dir():
        pytest.skip("../shared is absent")
    import hashlib

    def digests(paths):
        return {hashlib.sha256(p.read_bytes()).hexdigest() for p in paths if p.is_file() and p.stat().st_size > 200}

    tracked = subprocess.run(["git", "ls-files"], cwd=PROJECT_ROOT, capture_output=True, text=True).stdout.split()
    if not tracked:
        pytest.skip("not a git checkout")
    copies = digests(Path(PROJECT_ROOT, t) for t in tracked) & digests(shared.rglob("*"))
    assert not copies, "files copied byte for byte from ../shared/fixtures are committed"
