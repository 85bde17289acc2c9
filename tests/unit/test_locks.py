"""Issue #19: the lock files are hashed, and split: requirements.lock is what `pip install aiconform` needs
(pyproject.toml's dependencies and theirs), requirements-dev.lock the [test] extra's tools beyond it. `make lock`
writes both (uv pip compile --generate-hashes); `make setup` installs them with --require-hashes."""
from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from helpers.locks import LockError, normalize, parse, read

from aiconform import PROJECT_ROOT, bootstrap

HASH = "0" * 64


def _names(requirements: list[str]) -> set[str]:
    return {normalize(re.split(r"[<>=!~ \[;]", r.strip(), maxsplit=1)[0]) for r in requirements}


@pytest.fixture(scope="module")
def project() -> dict:
    return tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]


@pytest.mark.parametrize("lock", ["requirements.lock", "requirements-dev.lock"])
def test_every_pin_is_exact_and_hashed(lock: str) -> None:
    pins = read(lock)  # raises LockError naming any line that is not name==version with a sha256
    assert len(pins) >= 20, f"{lock}: only {len(pins)} pins"
    for pin in pins.values():
        assert pin.hashes, pin
        assert all(re.fullmatch(r"[0-9a-f]{64}", h) for h in pin.hashes), pin
    # every platform's files, not only this machine's wheel: compiled packages carry many hashes
    if lock == "requirements.lock":
        assert len(pins["cryptography"].hashes) > 5 and len(pins["pyyaml"].hashes) > 5


def test_the_runtime_lock_covers_pyprojects_dependencies(project: dict) -> None:
    wanted = _names(project["dependencies"])
    runtime = read("requirements.lock")
    assert wanted <= set(runtime), f"not pinned in requirements.lock: {sorted(wanted - set(runtime))}"


def test_the_dev_lock_covers_the_test_extra_and_only_what_the_runtime_lock_does_not(project: dict) -> None:
    runtime, dev = read("requirements.lock"), read("requirements-dev.lock")
    wanted = _names(project["optional-dependencies"]["test"])
    assert wanted <= set(dev), f"not pinned in requirements-dev.lock: {sorted(wanted - set(dev))}"
    assert not set(runtime) & set(dev), "pinned in both locks"
    assert not wanted & set(runtime), "a development tool is in the runtime lock"


@pytest.mark.parametrize("line", [
    "pytest==9.2.0",  # no hash
    "pytest>=9 --hash=sha256:" + HASH,  # not exact
    "pytest==9.2.0 --hash=sha256:abc",  # not a sha256
    "pytest==9.2.0 --hash=md5:" + "0" * 32,
    "-e . --hash=sha256:" + HASH,
])
def test_the_parser_refuses_what_is_not_a_hashed_pin(line: str) -> None:
    with pytest.raises(LockError):
        parse(line + "\n")


def test_the_parser_reads_uvs_layout() -> None:
    text = ("# a comment\nColorama==0.4.6 ; sys_platform == 'win32' \\\n    --hash=sha256:" + HASH + " \\\n"
            "    --hash=sha256:" + "1" * 64 + "\n    # via pytest\nruamel.yaml==0.19.1 \\\n    --hash=sha256:" + HASH + "\n")
    first, second = parse(text)
    assert (first.name, first.version, first.marker, len(first.hashes)) == ("colorama", "0.4.6",
                                                                           "sys_platform == 'win32'", 2)
    assert (second.name, second.version, second.marker) == ("ruamel-yaml", "0.19.1", None)


def test_make_lock_generates_hashes_and_setup_requires_them(tmp_path: Path) -> None:
    makefile = (PROJECT_ROOT / "Makefile").read_text(encoding="utf-8")
    recipe = makefile[makefile.index("\nlock:"):]
    assert "--generate-hashes" in makefile and "-o requirements.lock" in recipe and "-o requirements-dev.lock" in recipe
    (deps, deps_cmd), (own, own_cmd) = bootstrap.install_commands(bootstrap.Paths(tmp_path))
    assert "--require-hashes" in deps_cmd
    assert deps_cmd[deps_cmd.index("--require-hashes") + 1:] == [
        "-r", str(tmp_path / "requirements.lock"), "-r", str(tmp_path / "requirements-dev.lock")]
    assert own_cmd[-3:] == ["--no-deps", "-e", str(tmp_path)]
