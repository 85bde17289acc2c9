"""Every command in the README's code blocks (and its tag examples) runs, offline, against the simulator.

Each command line of a ```sh block is matched by exactly one entry of COMMANDS: run here for real against a
simulated cluster, checked as far as it can be offline (syntax, task list, argument parsing), or covered by a
named test file. A README command nobody checks fails test_every_readme_command_is_checked.
"""
from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from aiconform import PROJECT_ROOT, lab
from aiconform.runner.engine import tags_for

pytestmark = pytest.mark.e2e
README = PROJECT_ROOT / "README.md"

# pattern of a README command line -> how it is checked here
COMMANDS: dict[str, str] = {
    r"^make conformance$": "covered: tests/e2e/test_lab.py runs `aiconform conformance` (what it calls) end to end",
    r"^make test$": "covered: it is this test suite (Makefile target test)",
    r"^cp -r inventory/sample inventory/mycluster$": "run: the mycluster fixture",
    r"^make conformance INVENTORY=inventory/mycluster$": "run: test_make_conformance_with_an_inventory",
    r"^\. \.venv/bin/activate && ansible-playbook conformance\.yml -i inventory/mycluster$": "run: test_playbook",
    r"^aiconform run -i inventory/\S+( .*)?$": "parsed and mapped to tags: test_aiconform_run_commands; run end to "
                                               "end by tests/cli/test_cli_run.py (aiconform run -i … --only …)",
    r"^\.venv/bin/aiconform lab (build|up|down|status)\b.*$": "covered: tests/lab/test_lab_cluster.py (needs the lab's "
                                                                "Go build; skips with the reason without it)",
    r"^\.venv/bin/aiconform conformance --engine lab$": "covered: tests/lab/test_lab_verify.py",
    r"^ansible-galaxy collection (build|install aiconform-conformance-\S+\.tar\.gz)$":
        "covered: tests/collection/test_installed_collection.py (build, install into an empty directory)",
    r"^pip install ansible-core -r requirements\.txt$": "covered: tests/collection/test_installed_collection.py "
                                                        "(its clean virtual environment)",
    r"^pip install dist/aiconform-\S+\.whl$": "covered: tests/collection/test_wheel.py (the wheel built, installed "
                                              "--no-deps into a fresh venv beside the runtime dependencies)",
    r"^ansible-galaxy collection install kubernetes\.core$": "covered: tests/collection/test_wheel.py (kubernetes.core "
                                                            "where that command puts it, ~/.ansible/collections)",
    r"^cd /anywhere && aiconform conformance$": "covered: tests/collection/test_wheel.py (`aiconform conformance` from "
                                                "an empty directory, reports there)",
    r"^ansible-playbook aiconform\.conformance\.conformance -i inventory/mycluster$":
        "covered: tests/collection/test_installed_collection.py (run) and tests/collection/test_fresh_clone.py",
}


def _readme_commands() -> list[str]:
    out = []
    for block in re.findall(r"```sh\n(.*?)```", README.read_text(), re.S):
        for line in block.splitlines():
            line = re.sub(r"\s+#.*$", "", line).strip()
            if line and not line.startswith("#"):
                out.append(line)
    return out


def test_every_readme_command_is_checked() -> None:
    commands = _readme_commands()
    assert len(commands) >= 10, commands
    unchecked = [c for c in commands if sum(bool(re.match(p, c)) for p in COMMANDS) != 1]
    assert not unchecked, f"README commands no test checks (add them to COMMANDS): {unchecked}"
    for how in COMMANDS.values():
        for path in re.findall(r"tests/\S+\.py", how):
            assert (PROJECT_ROOT / path).is_file(), path


@pytest.fixture(scope="module")
def sim_scenario() -> str:
    return "conformant"


@pytest.fixture(scope="module")
def mycluster(sim, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`cp -r inventory/sample inventory/mycluster`, then the edit the README asks for (hosts.yml's kubeconfig and
    context), pointing at the simulator; its components are declared provided by the platform (a simulated
    cluster has them already: install only checks them)."""
    root = tmp_path_factory.mktemp("readme")
    subprocess.run(["cp", "-r", str(PROJECT_ROOT / "inventory" / "sample"), str(root / "mycluster")], check=True)
    hosts = root / "mycluster" / "hosts.yml"
    data = yaml.safe_load(hosts.read_text())
    cluster = data["all"]["children"]["clusters"]["hosts"]["gpu-cluster-1"]
    context = yaml.safe_load(sim.kubeconfig.read_text())["current-context"]
    cluster.update(aiconform_kubeconfig=str(sim.kubeconfig), aiconform_context=context, aiconform_simulated=True,
                   **lab.provided_by_platform_vars())
    hosts.write_text(yaml.safe_dump(data))
    return root / "mycluster"


def _playbook(sim, inventory: Path, *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    env = {**sim.subprocess_env(), "ANSIBLE_NOCOLOR": "1", "ANSIBLE_FORCE_COLOR": "0"}
    return subprocess.run(["ansible-playbook", "conformance.yml", "-i", str(inventory), *args], cwd=PROJECT_ROOT,
                          env=env, capture_output=True, text=True, timeout=timeout)


def test_playbook(sim, mycluster: Path) -> None:
    """`ansible-playbook conformance.yml -i inventory/mycluster`: syntax and the task list (the full run is
    `aiconform conformance`'s, tests/e2e/test_lab.py)."""
    proc = _playbook(sim, mycluster, "--syntax-check")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    proc = _playbook(sim, mycluster, "--list-tasks")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for play in ("Preflight", "Install phase", "Verify phase", "Report phase"):
        assert f"): {play}" in proc.stdout, play


def test_make_conformance_with_an_inventory() -> None:
    """`make conformance INVENTORY=…` is `aiconform conformance -i …` (the Makefile), which takes that inventory."""
    makefile = (PROJECT_ROOT / "Makefile").read_text()
    assert "$(VENV)/aiconform conformance $(if $(INVENTORY),-i $(INVENTORY))" in makefile
    from aiconform.cli import build_parser
    args = build_parser("conformance").parse_args(["conformance", "-i", "inventory/mycluster"])
    assert args.inventory == "inventory/mycluster"


def test_aiconform_run_commands() -> None:
    """Each `aiconform run` line parses and maps to the tags the README says (`--only` = `--tags verify,<ids>`,
    which test_tags_verify_gang_scheduling_verifies_it_only_and_reports runs; tests/cli/test_cli_run.py runs
    `aiconform run -i … --only …` end to end)."""
    from aiconform.cli import build_parser
    lines = [c for c in _readme_commands() if c.startswith("aiconform run ")]
    assert len(lines) >= 4, lines
    seen = set()
    for line in lines:
        args = build_parser("run").parse_args(line.split()[1:])
        assert args.inventory.startswith("inventory/")
        if "--only" in line:
            assert tags_for(args.phase, args.only.split(",")) == ["verify", "gang_scheduling", "dra_support"]
            seen.add("only")
        if "--phase verify" in line:
            assert tags_for(args.phase, []) == ["verify"] and args.forks == 20
            seen.add("phase")
        if "--verify-concurrency" in line:
            assert args.verify_concurrency == 4
            seen.add("concurrency")
    assert seen == {"only", "phase", "concurrency"}


def test_tags_install_kueue_installs_kueue_only(sim, mycluster: Path) -> None:
    """The README: "`--tags install,kueue` installs Kueue only" (Ansible ORs tags; install.yml narrows it)."""
    proc = _playbook(sim, mycluster, "--tags", "install,kueue")
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    roles = set(re.findall(r"^TASK \[(\w+) : ", proc.stdout, re.M)) - {"aiconform_preflight"}
    assert roles == {"kueue"}, roles
    assert "TASK [Kueue]" in proc.stdout and "TASK [Write the conformance report]" not in proc.stdout


def test_tags_name_the_components_installed(sim, mycluster: Path) -> None:
    """The control: the components named are the ones installed (two here), whatever they are."""
    proc = _playbook(sim, mycluster, "--tags", "install,kuberay,metrics_server")
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    roles = set(re.findall(r"^TASK \[(\w+) : ", proc.stdout, re.M)) - {"aiconform_preflight"}
    assert roles == {"kuberay", "metrics_server"}, roles


def test_tags_verify_gang_scheduling_verifies_it_only_and_reports(sim, mycluster: Path) -> None:
    """The README: "`--tags verify,gang_scheduling` verifies gang scheduling only and still writes its report"."""
    reports = mycluster.parent / "reports-tags"
    proc = _playbook(sim, mycluster, "--tags", "verify,gang_scheduling", "-e",
                     json.dumps({"aiconform_reports_dir": str(reports)}))
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    (results,) = reports.glob("*/latest/results.json")
    verified = [r["id"] for r in json.loads(results.read_text())["requirements"] if r["status"] != "not verified"]
    assert verified == ["gang_scheduling"], verified
    shutil.rmtree(reports)
