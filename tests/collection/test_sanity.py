"""``ansible-test sanity`` passes on the collection as it ships (issue #19), and every module's and role's
documentation renders as text with ``ansible-doc``.

The ignore file (tests/sanity/ignore-2.19.txt) holds only justified entries, each with its reason. Every test
runs, pylint included (about 30-70 s of the run on the 2-core build machine; ruff lints the rest of the project).
"""
from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from helpers.sanity import layout, run_sanity

from aiconform import PROJECT_ROOT
from aiconform.toolchain import ansible_env

pytestmark = pytest.mark.e2e
MODULES = sorted(p.stem for p in (PROJECT_ROOT / "plugins" / "modules").glob("*.py"))
ROLES = sorted(p.parent.parent.name for p in (PROJECT_ROOT / "roles").glob("*/meta/argument_specs.yml"))


@pytest.fixture(scope="module")
def collection(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return layout(tmp_path_factory.mktemp("sanity"))


def test_ansible_test_sanity_passes(collection: Path) -> None:
    proc = run_sanity(collection)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-8000:]
    for test in ("validate-modules", "import", "yamllint", "shebang", "ansible-doc", "pep8", "symlinks", "pylint"):
        assert f'Running sanity test "{test}"' in out, f"{test} did not run:\n{out[-3000:]}"


def test_the_ignore_file_gives_a_reason_for_every_entry() -> None:
    for line in (PROJECT_ROOT / "tests" / "sanity" / "ignore-2.19.txt").read_text().splitlines():
        if line.strip():
            assert re.match(r"^\S+ \S+ # \S", line), f"entry without a reason: {line}"


def test_sanity_fails_on_a_broken_module(tmp_path: Path) -> None:
    """The check can fail: a module whose documentation does not parse is reported by validate-modules."""
    collection = layout(tmp_path)
    module = collection / "plugins" / "modules" / "verify_gpu_sharing.yml"  # its sidecar documentation
    module.write_text(module.read_text().replace("short_description:", "short_description: [unclosed", 1))
    proc = run_sanity(collection, "--test", "validate-modules", "plugins/modules/verify_gpu_sharing.py")
    assert proc.returncode != 0
    assert "verify_gpu_sharing.py" in proc.stdout + proc.stderr


def _ansible_doc(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ansible-doc", *args], cwd=PROJECT_ROOT, env={**ansible_env(), "ANSIBLE_NOCOLOR": "1"},
                          capture_output=True, text=True, timeout=300)


def test_every_module_renders_as_text() -> None:
    proc = _ansible_doc(*[f"aiconform.conformance.{m}" for m in MODULES])
    assert proc.returncode == 0 and "ERROR" not in proc.stderr, proc.stderr[-3000:]
    for module in MODULES:
        assert f"aiconform.conformance.{module}" in proc.stdout, module
    # the line that once parsed as a mapping renders as text
    assert "An accelerator type the upstream test does not know gives `unknown' (`RESULT: STATUS=UNKNOWN')." \
        in " ".join(proc.stdout.split()), "verify_driver_runtime_management's description line is missing"
    # the connection options and their environment variables (doc fragment) are in every cluster module's page
    assert proc.stdout.count("K8S_AUTH_KUBECONFIG") >= 20


def test_every_role_renders_as_text() -> None:
    proc = _ansible_doc("-t", "role", *[f"aiconform.conformance.{r}" for r in ROLES])
    assert proc.returncode == 0 and "ERROR" not in proc.stderr, proc.stderr[-3000:]
    for role in ROLES:
        assert f"ROLE: *aiconform.conformance.{role}*" in proc.stdout, role
    assert proc.stdout.count("ENTRY POINT: *main*") == len(ROLES)
    assert "Kueue with waitForPodsReady for all-or-nothing admission" in proc.stdout
