"""One declaration per verifier option (issue #19): each verifier's verifier.yml; the modules, their option
documentation, the verify plan and the sample inventory are generated from it, and OPTIONS (the argument spec) is
read from it."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from aiconform.verifiers.ansible_module import COMMON_ARGSPEC, argument_spec
from aiconform.verifiers.runtime import DOC_KEYS, argspec, load

from aiconform import PROJECT_ROOT, catalog, collection, verifier_options

COMMAND = ".venv/bin/python -m aiconform.collection options"


def _copy_tree(tmp_path: Path) -> Path:
    """The generator's inputs and outputs in a scratch collection root."""
    root = tmp_path / "c"
    for rid in catalog.all_ids():
        rel = Path("plugins/module_utils/verifiers") / rid / "verifier.yml"
        (root / rel.parent).mkdir(parents=True)
        shutil.copy(PROJECT_ROOT / rel, root / rel)
    for path in verifier_options.generated():
        rel = path.relative_to(PROJECT_ROOT)
        (root / rel.parent).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, root / rel)
    return root


def test_the_generated_files_are_current() -> None:
    code, message = verifier_options.check()
    assert code == 0, message
    assert collection.main(["options", "--check"]) == 0, f"run: {COMMAND}"


def test_regenerating_gives_identical_files(tmp_path: Path) -> None:
    root = _copy_tree(tmp_path)
    assert verifier_options.write(root) == []
    assert verifier_options.differences(root) == []


def test_an_option_added_without_regenerating_fails_the_check_naming_the_command(tmp_path: Path) -> None:
    root = _copy_tree(tmp_path)
    declared = root / "plugins/module_utils/verifiers/gpu_sharing/verifier.yml"
    data = yaml.safe_load(declared.read_text())
    data["options"]["probe_node"] = {"type": "str", "default": "", "description": ["Node the probe pods run on."]}
    declared.write_text(yaml.safe_dump(data, sort_keys=False))
    code, message = verifier_options.check(root)
    assert code == 1 and COMMAND in message, message
    for stale in ("plugins/modules/verify_gpu_sharing.yml", "playbooks/verify_plan/accelerators.yml",
                  "inventory/sample/group_vars/all/verify_accelerators.yml"):
        assert stale in message, message
    # one command brings every place up to date: the option is documented, planned and in the sample inventory
    verifier_options.write(root)
    assert verifier_options.check(root)[0] == 0
    docs = yaml.safe_load((root / "plugins/modules/verify_gpu_sharing.yml").read_text())["DOCUMENTATION"]
    assert docs["options"]["probe_node"]["description"][0] == "Node the probe pods run on."
    plan = yaml.safe_load((root / "playbooks/verify_plan/accelerators.yml").read_text())
    task = next(t for t in plan if t["name"] == "Plan the gpu_sharing verifier")
    assert task["vars"]["aiconform_options"]["probe_node"] == "{{ aiconform_gpu_sharing_probe_node | default(omit) }}"
    assert "# aiconform_gpu_sharing_probe_node:" in (
        root / "inventory/sample/group_vars/all/verify_accelerators.yml").read_text()


def test_a_generated_file_edited_by_hand_fails_the_check(tmp_path: Path) -> None:
    root = _copy_tree(tmp_path)
    for name, old, new in (("verify_dra_support.yml", "short_description: ", "short_description: Edited. "),
                           ("verify_dra_support.py", "def main()", "def main():  # edited\n    pass\n\n\ndef _main()")):
        module = root / "plugins/modules" / name
        text = module.read_text()
        module.write_text(text.replace(old, new, 1))
        code, message = verifier_options.check(root)
        assert code == 1 and f"plugins/modules/{name}" in message, message
        module.write_text(text)


def test_a_leftover_option_fragment_is_stale(tmp_path: Path) -> None:
    """The per-verifier doc fragment of earlier versions is gone: options are documented in each sidecar file."""
    root = _copy_tree(tmp_path)
    (root / "plugins/doc_fragments").mkdir(parents=True, exist_ok=True)
    (root / "plugins/doc_fragments/verifier_options.py").write_text(f'"""{verifier_options.GENERATED}"""\n')
    assert "plugins/doc_fragments/verifier_options.py" in verifier_options.check(root)[1]
    # a hand-written file where generated ones live is not generation's to remove
    (root / "plugins/modules/verify_status.yml").write_text("DOCUMENTATION: {}\n")
    assert "verify_status" not in verifier_options.check(root)[1]
    verifier_options.write(root)
    assert (root / "plugins/modules/verify_status.yml").exists()
    assert not (root / "plugins/doc_fragments/verifier_options.py").exists()


def test_a_plan_file_of_no_category_is_stale(tmp_path: Path) -> None:
    root = _copy_tree(tmp_path)
    (root / "playbooks/verify_plan/scheduling.yml").write_text("---\n[]\n")
    assert "playbooks/verify_plan/scheduling.yml" in verifier_options.check(root)[1]


@pytest.mark.parametrize("change, error", [
    ({"descripton": ["typo"]}, "unknown key 'descripton'"),
    ({"description": "not a list"}, "description must be a list of strings"),
])
def test_an_invalid_declaration_is_refused_with_the_reason(tmp_path: Path, change: dict, error: str) -> None:
    root = _copy_tree(tmp_path)
    declared = root / "plugins/module_utils/verifiers/workload_sandboxing/verifier.yml"
    data = yaml.safe_load(declared.read_text())
    name = next(iter(data["options"]))
    data["options"][name].update(change)
    declared.write_text(yaml.safe_dump(data, sort_keys=False))
    code, message = verifier_options.check(root)
    assert code == 1 and error in message and f"option {name}" in message, message


@pytest.mark.parametrize("requirement", catalog.all_ids())
def test_options_and_the_argument_spec_derive_from_verifier_yml(requirement: str) -> None:
    declared = verifier_options.declaration(requirement)["options"]
    options = load(requirement).OPTIONS
    assert list(options) == list(declared)
    spec = argument_spec(requirement)
    assert set(spec) == set(COMMON_ARGSPEC) | set(declared)
    for name in declared:
        assert not set(spec[name]) & set(DOC_KEYS), name
        assert spec[name] == argspec(options)[name]
        assert spec[name]["type"] == declared[name]["type"]
        if "default" in declared[name]:
            assert spec[name]["default"] == declared[name]["default"]
        elif "default_image" in declared[name]:  # a pinned image from versions.yml
            assert ":" in spec[name]["default"] and "default_image" not in spec[name], name
        else:
            assert "default" not in spec[name], name


def test_the_verify_playbook_imports_one_plan_file_per_catalog_category() -> None:
    play = yaml.safe_load((PROJECT_ROOT / "playbooks" / "verify.yml").read_text())[0]
    block = play["tasks"][0]["block"]
    imported = {t["ansible.builtin.import_tasks"] for t in block if "ansible.builtin.import_tasks" in t}
    plans = {str(p.relative_to(PROJECT_ROOT / "playbooks")) for p in verifier_options.generated()
             if "verify_plan" in p.parts}
    assert imported == plans and len(plans) == len(catalog.categories())


def test_the_sample_inventory_is_grouped_by_the_catalog_categories() -> None:
    files = sorted(p.name for p in (PROJECT_ROOT / "inventory/sample/group_vars/all").glob("verify_*.yml"))
    stems = sorted(f"verify_{stem}.yml" for _key, _title, stem in verifier_options._categories())
    assert files == stems


def _plan_tasks() -> dict[str, dict[str, str]]:
    """requirement id -> option -> the template of the generated plan task (playbooks/verify_plan/*.yml)."""
    tasks: dict[str, dict[str, str]] = {}
    for path in sorted((PROJECT_ROOT / "playbooks" / "verify_plan").glob("*.yml")):
        for task in yaml.safe_load(path.read_text()):
            rid = task["tags"][0]
            tasks[rid] = task["vars"]["aiconform_options"]
    return tasks


@pytest.mark.parametrize("rid", catalog.all_ids())
def test_planned_options_are_what_the_plan_task_gives(rid: str) -> None:
    """verify_in_process (tests/verify) plans options in Python: the same as the generated plan task's templates
    (Jinja's default filter, as Ansible's), with no variable set, with only the shared fallbacks, with every one."""
    import jinja2

    templates = _plan_tasks()[rid]
    spec = load(rid).OPTIONS
    own = {verifier_options.variable(rid, name, s): f"own-{name}" for name, s in spec.items()}
    shared = {s["fallback"]: f"shared-{s['fallback']}" for s in spec.values() if s.get("fallback")}
    env = jinja2.Environment(undefined=jinja2.StrictUndefined)
    for variables in ({}, shared, {**shared, **own}, {**own, "aiconform_unrelated": 1}):
        rendered = {name: env.from_string(t).render(**variables, omit="__omit__") for name, t in templates.items()}
        by_playbook = {k: v for k, v in rendered.items() if v != "__omit__"}
        assert verifier_options.planned_options(rid, variables) == by_playbook, variables
    assert set(templates) == set(spec)
