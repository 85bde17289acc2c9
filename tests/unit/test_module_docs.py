"""Module documentation is valid and matches the argument specs (what ansible-test validate-modules checks)."""
from __future__ import annotations

import json
import subprocess

import pytest
from aiconform.verifiers.ansible_module import argument_spec

from aiconform import PROJECT_ROOT, catalog
from aiconform.toolchain import ansible_env

MODULES = sorted(p.stem for p in (PROJECT_ROOT / "plugins" / "modules").glob("*.py") if not p.stem.startswith("_"))


@pytest.fixture(scope="module")
def docs() -> dict:
    proc = subprocess.run(["ansible-doc", "--json", *[f"aiconform.conformance.{m}" for m in MODULES]],
                          cwd=PROJECT_ROOT, env=ansible_env(), capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0 and "ERROR" not in proc.stderr, proc.stderr
    return {k.rsplit(".", 1)[1]: v for k, v in json.loads(proc.stdout).items()}


@pytest.mark.parametrize("module", MODULES)
def test_documentation_examples_and_return_parse(docs, module):
    doc = docs[module]
    assert doc["doc"]["short_description"] and doc["examples"] and doc["return"] is not None


@pytest.mark.parametrize("requirement", catalog.all_ids())
def test_verifier_options_match_the_argument_spec(docs, requirement):
    documented = docs[f"verify_{requirement}"]["doc"]["options"]
    spec = argument_spec(requirement)
    assert set(documented) == set(spec), (sorted(set(documented) - set(spec)), sorted(set(spec) - set(documented)))
    for name, opt in spec.items():
        assert documented[name].get("type", "str") == opt.get("type", "str"), name
        if "default" in opt and opt["default"] not in (None, ""):
            assert documented[name].get("default") == opt["default"], f"{name}: doc default differs"
    assert docs[f"verify_{requirement}"]["doc"]["attributes"]["check_mode"]["support"] == "full"


def test_verify_module_options_match_its_argument_spec(docs):
    from aiconform.verifiers.ansible_module import VERIFY_ARGSPEC

    documented = docs["verify"]["doc"]["options"]
    assert set(documented) == set(VERIFY_ARGSPEC), (sorted(set(documented) ^ set(VERIFY_ARGSPEC)))
    for name, opt in VERIFY_ARGSPEC.items():
        assert documented[name].get("type", "str") == opt.get("type", "str"), name
        if "default" in opt:
            assert documented[name].get("default") == opt["default"], name
    assert docs["verify"]["doc"]["attributes"]["async"]["support"] == "full"
