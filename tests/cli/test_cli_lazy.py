"""The CLI imports lazily (issue #19): `aiconform --version` and the commands whose dependencies are present
work when an optional import is missing; the command that needs it says what is missing, without a traceback."""
from __future__ import annotations

import subprocess
import sys

from aiconform import PROJECT_ROOT, __version__

BLOCK = "import sys\nfor name in {blocked!r}:\n    sys.modules[name] = None  # import raises ImportError\n"


def _cli(*args: str, blocked: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
    code = BLOCK.format(blocked=list(blocked)) + f"from aiconform.cli import main\nsys.exit(main({list(args)!r}))\n"
    return subprocess.run([sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120)


def test_version_without_optional_dependencies() -> None:
    proc = _cli("--version", blocked=("ansible_runner", "aiohttp", "kubernetes", "jinja2", "cryptography"))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f"aiconform {__version__}"


def test_version_imports_no_feature_module() -> None:
    code = ("import sys\nfrom aiconform.cli import main\ntry:\n    main(['--version'])\nexcept SystemExit:\n    pass\n"
            "print(sorted(m for m in sys.modules if m.startswith(('aiconform.sim', 'aiconform.runner', "
            "'aiconform.lab', 'ansible_runner', 'kubernetes'))))")
    proc = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120)
    assert proc.stdout.strip().splitlines()[-1] == "[]", proc.stdout


def test_a_command_with_a_missing_dependency_says_so() -> None:
    proc = _cli("sim", "--port", "0", blocked=("aiohttp",))
    assert proc.returncode == 2
    assert "aiconform sim: unavailable" in proc.stderr and "aiohttp" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_other_commands_still_work_and_help_lists_the_unavailable_one() -> None:
    proc = _cli("validate", "--help", blocked=("aiohttp", "ansible_runner"))
    assert proc.returncode == 0 and "PRODUCT.yaml" in proc.stdout, proc.stderr
    proc = _cli("--help", blocked=("aiohttp",))
    assert proc.returncode == 0
    assert "unavailable" in proc.stdout and "validate" in proc.stdout


def test_run_without_the_collections_runtime_says_what_to_do(tmp_path) -> None:
    # as an installed aiconform whose collection is missing: aiconform.catalog (the collection's module_utils) absent
    inventory = tmp_path / "inventory.yml"
    inventory.write_text("all: {hosts: {}}\n")
    proc = _cli("run", "-i", str(inventory), blocked=("aiconform.catalog",))
    assert proc.returncode == 2, proc.stderr  # Exit.PLAYBOOK_FAILED
    assert "aiconform run: cannot run" in proc.stderr and "aiconform.catalog" in proc.stderr
    assert "reinstall aiconform" in proc.stderr and "Traceback" not in proc.stderr
