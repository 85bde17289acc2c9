"""``aiconform validate`` against the cncf validator's rules, case by case, and against hostile files.

Time bounds are CPU seconds of the test process (``time.process_time``): other jobs on a busy machine do not
make them flaky, and a loop that burns time still fails them.

Each case is a small PRODUCT.yaml written here from the rules (never a copied submission) with the cncf
validator's verdict beside it: ``accept``, ``reject`` (a validation error) or ``load`` (yaml.v3 fails:
"Error loading product"; aiconform: one line, exit code 2). Where aiconform decides otherwise on purpose,
``ours`` says so (a kept difference, documented in ``aiconform/report/validate.py``).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from aiconform.report import validate as v
from aiconform.report.productyaml import MAX_BYTES, MAX_DEPTH
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aiconform import catalog
from aiconform.cli import main

VERSION = "v1.35"
META = {
    "kubernetesVersion": "v1.35", "platformName": "Example Platform", "platformVersion": '"2.1"',
    "vendorName": "Example Inc.", "websiteUrl": "https://example.com", "repoUrl": "https://github.com/example/p",
    "documentationUrl": "https://docs.example.com", "productLogoUrl": "https://example.com/logo.svg",
    "description": "An example platform.", "contactEmailAddress": "conformance@example.com",
    "k8sConformanceUrl": "https://github.com/cncf/k8s-conformance/tree/master/v1.35/example",
}


def product_text(meta: dict[str, str] | None = None, overrides: dict[str, dict[str, str]] | None = None,
                 extra: str = "") -> str:
    """A valid v1.35 PRODUCT.yaml built from the catalog: every MUST Implemented with a local evidence file,
    every SHOULD left blank. ``overrides[id][field]`` replaces a field's YAML text (a value, or a block)."""
    meta = {**META, **(meta or {})}
    lines = ["metadata:"] + [f"  {k}: {val}" for k, val in meta.items() if val is not None]
    lines.append("spec:")
    category = ""
    for req in catalog.requirement_set(VERSION):
        if req.category != category:
            category = req.category
            lines.append(f"  {category}:")
        fields = {"id": req.id, "description": json.dumps(req.description), "level": req.level,
                  "status": "Implemented" if req.is_must else '""',
                  "evidence": f"[evidence/{req.id}.md]" if req.is_must else "[]", "notes": '""'}
        fields.update((overrides or {}).get(req.id, {}))
        lines.append(f"  - id: {fields.pop('id')}")
        lines.extend(f"    {k}: {val}" for k, val in fields.items() if val is not None)
    return "\n".join(lines) + "\n" + extra


def write_product(root: Path, text: str | bytes, files: dict[str, str] | None = None) -> Path:
    pdir = root / "v1.35" / "example"
    (pdir / "evidence").mkdir(parents=True, exist_ok=True)
    for req in catalog.requirement_set(VERSION):
        (pdir / "evidence" / f"{req.id}.md").write_text(f"# {req.id}\n")
    for rel, content in (files or {}).items():
        (pdir / rel).parent.mkdir(parents=True, exist_ok=True)
        (pdir / rel).write_text(content)
    path = pdir / "PRODUCT.yaml"
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return path


@dataclass
class Case:
    text: str | bytes | Callable[[Path], str]
    cncf: str  # accept | reject | load
    message: str = ""  # a substring of an error/load error (or of a warning when accepted)
    ours: str = ""  # aiconform's verdict when it differs on purpose
    files: dict[str, str] = field(default_factory=dict)
    strict: str = ""  # a stricter-check finding expected (WARNING (strict), an error with --strict)


def _ca(status: str, notes: str = '""', evidence: str = "[]") -> dict[str, dict[str, str]]:
    return {"cluster_autoscaling": {"status": status, "notes": notes, "evidence": evidence}}


def _symlink_out(root: Path) -> str:
    (root / "outside.md").write_text("secret\n")
    pdir = root / "v1.35" / "example"
    pdir.mkdir(parents=True, exist_ok=True)
    os.symlink(root / "outside.md", pdir / "link.md")
    return product_text(overrides={"gang_scheduling": {"evidence": "[link.md]"}})


def _symlink_in(root: Path) -> str:
    pdir = root / "v1.35" / "example"
    (pdir / "docs").mkdir(parents=True, exist_ok=True)
    (pdir / "docs" / "gang.md").write_text("# gang\n")
    os.symlink("docs/gang.md", pdir / "gang-link.md")
    return product_text(overrides={"gang_scheduling": {"evidence": "[gang-link.md]"}})


GANG = "gang_scheduling"
LAUGHS = "\n".join(["lol: &l0 [a, a, a, a, a, a, a, a, a, a]"]
                   + [f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 10) + "]" for i in range(1, 9)])
CASES: dict[str, Case] = {
    # ---- accepted by the cncf validator (each one was a false rejection or a crash before)
    "valid": Case(product_text(), "accept"),
    "description block scalar (trailing newline)": Case(product_text(overrides={GANG: {
        "description": "|\n      " + catalog.requirement(VERSION, GANG).description}}), "accept"),
    "description folded over lines": Case(product_text(overrides={GANG: {
        "description": ">-\n      " + catalog.requirement(VERSION, GANG).description.replace(" ", "\n      ", 4)}}),
        "accept"),
    "description shortened by the vendor": Case(product_text(overrides={GANG: {"description": "Gang scheduling."}}),
                                                 "accept", strict="description differs"),
    "level differs from the template": Case(product_text(overrides={"gpu_sharing": {"level": "MUST"}}), "accept",
                                            strict="level 'MUST' differs"),
    "repoUrl N/A": Case(product_text({"repoUrl": "N/A"}), "accept"),
    "repoUrl absent": Case(product_text({"repoUrl": None}), "accept"),
    "repoUrl empty": Case(product_text({"repoUrl": '""'}), "accept"),
    "snake_case metadata keys": Case(product_text({"contactEmailAddress": None, "k8sConformanceUrl": None}).replace(
        "metadata:\n", "metadata:\n  contact_email_address: a@example.com\n  k8s_conformance_url: "
        "https://github.com/cncf/k8s-conformance/tree/main/v1.35/example\n"), "accept"),
    "conditional MUST N/A with notes": Case(product_text(overrides=_ca("N/A", "no autoscaler on bare metal")),
                                            "accept", message="is MUST level and marked N/A"),
    "duplicate id: the last one counts": Case(product_text().replace(
        f"  - id: {GANG}\n", f"  - id: {GANG}\n    status: Not Implemented\n  - id: {GANG}\n", 1), "accept",
        strict="'gang_scheduling' appears 2 times"),
    "evidence symlink inside the product dir": Case(_symlink_in, "accept"),
    "directory as evidence": Case(product_text(overrides={GANG: {"evidence": "[evidence]"}}), "accept"),
    "file:// evidence with own vX.Y/dir prefix": Case(product_text(overrides={GANG: {
        "evidence": "[file://v1.35/example/evidence/gang_scheduling.md]"}}), "accept"),
    "multi-document: the first counts": Case(product_text(extra="---\nnot: [valid\n"), "accept"),
    "yes is a string in yaml.v3": Case(product_text({"platformVersion": "yes"}), "accept"),
    "unknown keys and ids ignored": Case(product_text(extra="x-extra: {a: 1, a: 2}\n").replace(
        "  accelerators:\n", "  accelerators:\n  - id: my_extra\n    status: whatever\n"), "accept",
        strict="not in the v1.35 template"),
    "null evidence items dropped": Case(product_text(overrides={"gpu_sharing": {"evidence": "[~]"}}), "accept"),
    "UTF-8 BOM": Case(b"\xef\xbb\xbf" + product_text().encode(), "accept"),
    "small aliases": Case(product_text(extra="").replace(
        f"evidence: [evidence/{GANG}.md]", f"evidence: &ev [evidence/{GANG}.md]", 1).replace(
        "evidence: [evidence/pod_autoscaling.md]", "evidence: *ev", 1), "accept"),
    # ---- rejected by the cncf validator
    "MUST level lowered to SHOULD and left blank": Case(product_text(overrides={GANG: {
        "level": "SHOULD", "status": '""', "evidence": "[]"}}), "reject",
        "'gang_scheduling' is MUST level but status is ''", strict="level 'SHOULD' differs"),
    "conditional MUST N/A without notes": Case(product_text(overrides=_ca("N/A")), "reject",
                                               "Notes required for 'cluster_autoscaling'"),
    "conditional MUST Not Implemented": Case(product_text(overrides=_ca("Not Implemented", "none")), "reject",
                                             "It must be 'Implemented', or 'N/A' with a justification"),
    "other MUST N/A with notes": Case(product_text(overrides={GANG: {"status": "N/A", "notes": "n/a"}}), "reject",
                                      "'gang_scheduling' is MUST level but status is 'N/A'"),
    "duplicate id: the last one is not implemented": Case(product_text().replace(
        f"  - id: {GANG}\n", f"  - id: {GANG}\n    status: Implemented\n  - id: {GANG}\n    status: Not Implemented\n"
        f"    description: x\n    level: MUST\n    evidence: []\n    notes: \"\"\n  - id: ignored_{GANG}\n", 1),
        "reject", "'gang_scheduling' is MUST level but status is 'Not Implemented'"),
    "SHOULD blank status with evidence": Case(product_text(overrides={"gpu_sharing": {
        "evidence": f"[evidence/{GANG}.md]"}}), "reject", "Invalid status '' for 'gpu_sharing'"),
    "invalid status": Case(product_text(overrides={GANG: {"status": "Done"}}), "reject", "Invalid status 'Done'"),
    "k8sConformanceUrl missing": Case(product_text({"k8sConformanceUrl": None}), "reject",
                                      "Missing metadata field: k8sConformanceUrl"),
    "k8sConformanceUrl blob URL": Case(product_text({"k8sConformanceUrl": "https://github.com/cncf/k8s-conformance/"
                                                     "blob/master/v1.35/x"}), "reject", "Invalid k8sConformanceUrl"),
    "placeholder vendorName": Case(product_text({"vendorName": '"[Vendor Name]"'}), "reject", "placeholder value"),
    "placeholder repoUrl": Case(product_text({"repoUrl": '"[Repository URL]"'}), "reject", "placeholder value"),
    "platformVersion a float": Case(product_text({"platformVersion": "4.20"}), "reject",
                                    "platformVersion is not a string"),
    "platformVersion a date": Case(product_text({"platformVersion": "2026-01-31"}), "reject",
                                   "platformVersion is not a string"),
    "evidence file missing": Case(product_text(overrides={GANG: {"evidence": "[nope.md]"}}), "reject",
                                  "nope.md (not found at"),
    "evidence escapes with ..": Case(product_text(overrides={GANG: {"evidence": "[../other/x.md]"}}), "reject",
                                     "escapes the product directory"),
    "evidence in another product": Case(product_text(overrides={GANG: {"evidence": "[v1.35/other/x.md]"}}), "reject",
                                        "references a different product directory"),
    "missing requirement": Case(product_text().replace(f"  - id: {GANG}\n", "  - id: not_gang\n", 1), "reject",
                                "Missing requirement 'gang_scheduling'"),
    "missing category": Case(product_text().replace("  operator:\n", "  operators:\n"), "reject",
                             "Missing spec category: operator", strict="'operators' is not in the v1.35 template"),
    "failing test in e2e.log": Case(product_text(overrides={GANG: {"evidence": "[e2e.log]"}}), "reject",
                                    "contains failing tests: TestOther",
                                    files={"e2e.log": "--- PASS: TestGangScheduling (1.0s)\n--- FAIL: TestOther (1s)\n"}),
    "mapped test skipped while Implemented": Case(product_text(overrides={GANG: {"evidence": "[e2e.log]"}}), "reject",
                                                  "is Implemented but test 'TestGangScheduling' was skipped",
                                                  files={"e2e.log": "--- SKIP: TestGangScheduling (0s)\n"}),
    # ---- the file cannot be loaded (yaml.v3 errors: "Error loading product")
    "evidence the string N/A": Case(product_text(overrides={"gpu_sharing": {"status": "N/A", "notes": "no",
                                                                             "evidence": '"N/A"'}}), "load",
                                    "evidence must be a list of strings"),
    "duplicate metadata key": Case(product_text(extra="").replace("metadata:\n", "metadata:\n  vendorName: Other\n", 1),
                                   "load", "mapping key 'vendorName' already defined at line 2"),
    "duplicate key in a requirement": Case(product_text(overrides={GANG: {"status": "Implemented\n    status: N/A"}}),
                                           "load", "mapping key 'status' already defined"),
    "duplicate top-level key": Case(product_text(extra="metadata: {}\n"), "load", "mapping key 'metadata'"),
    "description a mapping": Case(product_text(overrides={GANG: {"description": "{text: x}"}}), "load",
                                  "description must be a string"),
    "spec a list": Case("metadata: {}\nspec: [a, b]\n", "load", "spec must be a mapping"),
    "document a scalar": Case("just text\n", "load", "the document must be a mapping"),
    "syntax error": Case("metadata: [unclosed\n", "load", "line 2"),
    "not UTF-8": Case(product_text().encode().replace(b"Example Platform", b"Example \xff Platform"), "load",
                      "not valid UTF-8 (byte 0xff"),
    "control character": Case(product_text({"platformName": "a\x07b"}), "load", "control character #x0007"),
    "alias inside its own anchor": Case("metadata: &m\n  self: *m\nspec: {}\n", "load", "refers to a value that contains it"),
    "billion laughs as evidence": Case(product_text(overrides={GANG: {"evidence": "*l8"}}, extra="").replace(
        "metadata:\n", f"x-bomb:\n  {LAUGHS.replace(chr(10), chr(10) + '  ')}\nmetadata:\n", 1), "load",
        "evidence item must be a string, not a list"),
    "billion laughs in metadata": Case(product_text({"description": "*l8"}).replace(
        "metadata:\n", "metadata:\n  " + LAUGHS.replace("\n", "\n  ") + "\n", 1), "load", "aliasing"),
    # ---- kept differences: aiconform refuses what the cncf validator accepts by accident
    "long non-URL evidence string": Case(product_text(overrides={GANG: {"evidence": "[" + "see our docs " * 25 + "]"}}),
                                         "accept", "a name in the path is too long", ours="reject"),
    "evidence symlink to outside the product dir": Case(_symlink_out, "accept",
                                                        "symbolic link that leads outside", ours="reject"),
    "nesting deeper than MAX_DEPTH": Case(product_text({"description": "[" * (MAX_DEPTH + 5) + "]" * (MAX_DEPTH + 5)}),
                                          "reject", "nested more than", ours="load"),
}


def run_case(tmp_path: Path, case: Case, **kw: object) -> v.ValidationResult:
    text = case.text(tmp_path) if callable(case.text) else case.text
    path = write_product(tmp_path, text, case.files)
    return v.validate_file(path, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize("name", list(CASES))
def test_verdict_as_the_cncf_validator(tmp_path: Path, name: str) -> None:
    case = CASES[name]
    start = time.process_time()
    res = run_case(tmp_path, case)
    assert time.process_time() - start < 1.0
    expected = case.ours or case.cncf
    got = "load" if res.load_error else ("accept" if res.ok else "reject")
    assert got == expected, res.load_error or res.lines()
    if expected == "load":
        assert case.message in res.load_error and "\n" not in res.load_error
    elif expected == "reject":
        assert any(case.message in e for e in res.errors), res.errors
    elif case.message:
        assert any(case.message in w for w in res.warnings), res.warnings
    if case.strict:
        assert any(case.strict in s for s in res.stricter), res.stricter
        assert not run_case(tmp_path / "strict", case, strict=True).ok
    elif expected == "accept":
        assert not res.stricter, res.stricter
        assert run_case(tmp_path / "strict", case, strict=True).ok


def test_the_table_covers_every_verdict_and_the_kept_differences() -> None:
    verdicts = {c.cncf for c in CASES.values()}
    assert verdicts == {"accept", "reject", "load"}
    assert {n for n, c in CASES.items() if c.ours} == {
        "long non-URL evidence string", "evidence symlink to outside the product dir", "nesting deeper than MAX_DEPTH"}


# ------------------------------------------------------------------------------------------ hostile: bounds

@pytest.mark.parametrize("name", ["billion laughs as evidence", "billion laughs in metadata"])
def test_alias_bombs_are_refused_fast_and_small(tmp_path: Path, name: str) -> None:
    text = CASES[name].text
    assert isinstance(text, str) and len(text) < 20_000  # 10**9 "a" once expanded
    path = write_product(tmp_path, text)
    tracemalloc.start()
    start = time.process_time()
    try:
        res = v.validate_file(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert CASES[name].message in res.load_error and time.process_time() - start < 1.0
    assert peak < 100 * 1024 * 1024, peak


def test_cli_process_on_an_alias_bomb_stays_under_100_mb(tmp_path: Path) -> None:
    path = write_product(tmp_path, CASES["billion laughs in metadata"].text)  # type: ignore[arg-type]
    # Measured from a small launcher: Linux counts the memory of the process that forked the child in the child's
    # ru_maxrss (exec records the old mm's peak), so a fork straight from a big pytest worker would measure the worker.
    launcher = ("import json, os, subprocess, sys\n"
                "p = subprocess.Popen(sys.argv[1:], stdout=subprocess.PIPE, stderr=subprocess.PIPE)\n"
                "_, status, u = os.wait4(p.pid, 0)\n"
                "print(json.dumps({'rc': os.waitstatus_to_exitcode(status), 'err': p.stderr.read().decode(),\n"
                "                  'maxrss': u.ru_maxrss, 'cpu': u.ru_utime + u.ru_stime}))\n")
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", launcher, sys.executable, "-m", "aiconform.cli", "validate", str(path)],
                         capture_output=True, text=True, timeout=120)
    elapsed = time.perf_counter() - start
    got = json.loads(out.stdout)
    err = got["err"]
    assert got["rc"] == 2, err
    assert err.count("\n") == 1 and str(path) in err and "aliasing" in err and "Traceback" not in err
    assert got["maxrss"] < 100 * 1024, got["maxrss"]  # KiB on Linux
    assert got["cpu"] < 5 and elapsed < 60  # CPU: interpreter start included


def test_oversized_file_is_refused_before_parsing(tmp_path: Path) -> None:
    path = write_product(tmp_path, product_text(extra="# " + "x" * MAX_BYTES + "\n"))
    res = v.validate_file(path)
    assert "larger than 256 KiB" in res.load_error


def test_a_fifo_named_e2e_log_does_not_hang(tmp_path: Path) -> None:
    import threading

    path = write_product(tmp_path, product_text(overrides={GANG: {"evidence": "[e2e.log]"}}))
    os.mkfifo(path.parent / "e2e.log")
    box: list[v.ValidationResult] = []
    worker = threading.Thread(target=lambda: box.append(v.validate_file(path)), daemon=True)
    worker.start()
    worker.join(timeout=10)
    if worker.is_alive():  # unblock the reader so the test process can end, then fail
        with open(path.parent / "e2e.log", "w"):
            pass
        pytest.fail("validate_file blocked on a FIFO")
    assert any("e2e.log (not a regular file)" in e for e in box[0].errors), box[0].errors


def test_nul_byte_in_evidence_is_a_clear_error(tmp_path: Path) -> None:
    res = v.validate_file(write_product(tmp_path, product_text(overrides={GANG: {"evidence": '["a\\0b.md"]'}})))
    assert any("not a usable path" in e for e in res.errors), res.errors


# ------------------------------------------------------------------------------------------ hostile: generated

_YAML_BITS = st.sampled_from(["\n", "  ", "- ", ": ", "&a ", "*a", "&b ", "*b", "[", "]", "{", "}", ",", "'", '"',
                              "|", ">", "---\n", "...\n", "#", "!!str ", "!!int ", "!!binary ", "<<: ", "? ", "~",
                              "\t", "\\", "%YAML 1.2\n", "\xff", "\x00", "é", "metadata", "spec", "id", "evidence",
                              "status", "N/A", "Implemented", "gang_scheduling", "1.35", "2024-01-01", "0x1F"])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(bits=st.lists(_YAML_BITS, max_size=60), data=st.data())
def test_generated_documents_never_crash_or_hang(tmp_path: Path, bits: list[str], data: st.DataObject) -> None:
    base = product_text()
    at = data.draw(st.integers(0, len(base)))
    text = base[:at] + "".join(bits) + base[at:]
    path = write_product(tmp_path, text.encode("utf-8", "surrogatepass"))
    start = time.process_time()
    res = v.validate_file(path)
    assert time.process_time() - start < 1.0
    assert res.load_error or isinstance(res.ok, bool)
    assert "\n" not in res.load_error


_scalar = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=30))
_tree = st.recursive(_scalar, lambda kids: st.one_of(st.lists(kids, max_size=4),
                                                     st.dictionaries(st.text(max_size=8), kids, max_size=4)),
                     max_leaves=30)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(meta=_tree, spec=_tree)
def test_generated_shapes_never_crash(tmp_path: Path, meta: object, spec: object) -> None:
    text = json.dumps({"metadata": meta, "spec": spec})  # JSON is YAML
    start = time.process_time()
    res = v.validate_file(write_product(tmp_path, text))
    assert time.process_time() - start < 1.0
    assert res.load_error or res.errors  # never a valid submission


# ------------------------------------------------------------------------------------------ vendorName

LANDSCAPE = """landscape:
  - category:
    name: Provisioning
    subcategories:
      - subcategory:
        name: Automation
        items:
          - item:
            name: Not A Member Inc.
  - category:
    name: CNCF Members
    subcategories:
      - subcategory:
        name: Gold
        items:
          - item:
            name: Example Inc. (member)
          - item:
            name: Other Org (supporter)
"""


def test_vendor_membership_from_an_injected_landscape(tmp_path: Path) -> None:
    members = v.cncf_members(LANDSCAPE)
    assert members == {"Example Inc.", "Other Org"}
    path = write_product(tmp_path, product_text())
    assert v.validate_file(path, cncf_members=members).ok
    res = v.validate_file(path, cncf_members={"Other Org", "Not A Member Inc."})
    assert any("vendorName 'Example Inc.' does not match any CNCF member" in e for e in res.errors)
    offline = v.validate_file(path)
    assert offline.ok and any("was not checked against the CNCF Landscape" in n for n in offline.notes)
    with pytest.raises(v.LandscapeError, match="CNCF Members"):
        v.cncf_members("landscape: []\n")


def test_cli_landscape_file_and_loopback_url(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--landscape FILE offline; an http URL is fetched with the validator's User-Agent (loopback only)."""
    import http.server
    import threading

    path = write_product(tmp_path, product_text({"vendorName": "Unknown Vendor"}))
    landscape = tmp_path / "landscape.yml"
    landscape.write_text(LANDSCAPE)
    assert main(["validate", "--landscape", str(landscape), str(path)]) == 1
    assert "vendorName 'Unknown Vendor' does not match" in capsys.readouterr().out
    agents: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            agents.append(self.headers.get("User-Agent", ""))
            body = LANDSCAPE.encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a: object) -> None:
            return None

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        good = write_product(tmp_path / "g", product_text())
        url = f"http://127.0.0.1:{server.server_port}/landscape.yml"
        assert main(["validate", "--landscape", url, str(good)]) == 0
        assert agents == [v.USER_AGENT]
    finally:
        server.shutdown()
        server.server_close()
    assert main(["validate", "--landscape", str(tmp_path / "missing.yml"), str(good)]) == 2
    assert "cannot read landscape file" in capsys.readouterr().err


# ------------------------------------------------------------------------------------------ CLI

def test_cli_exit_codes_and_one_line_load_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = write_product(tmp_path / "a", product_text())
    shortened = write_product(tmp_path / "b", CASES["description shortened by the vendor"].text)  # type: ignore[arg-type]
    bad = write_product(tmp_path / "c", CASES["evidence the string N/A"].text)  # type: ignore[arg-type]
    assert main(["validate", str(good), str(shortened)]) == 0
    out = capsys.readouterr().out
    assert "WARNING (strict): Requirement 'gang_scheduling': description differs" in out
    assert main(["validate", "--strict", str(shortened)]) == 1
    assert "ERROR (strict): Requirement 'gang_scheduling': description differs" in capsys.readouterr().out
    assert main(["validate", str(good), str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"aiconform validate: {bad}: line ")
    assert main(["validate", str(tmp_path / "nope" / "PRODUCT.yaml")]) == 2
    assert "cannot read the file" in capsys.readouterr().err


# ------------------------------------------------------------------------------------------ parser bounds

@pytest.mark.parametrize("loader", ["libyaml", "pure-python"])
@pytest.mark.parametrize("name", ["valid", "small aliases", "multi-document: the first counts", "not UTF-8",
                                  "control character", "duplicate metadata key", "billion laughs in metadata",
                                  "alias inside its own anchor", "syntax error", "evidence the string N/A"])
def test_both_parsers_give_the_same_verdict(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, loader: str,
                                            name: str) -> None:
    from aiconform.report import productyaml

    if loader == "pure-python":
        monkeypatch.setattr(productyaml, "_Loader", productyaml._PyLoader)
    case = CASES[name]
    res = run_case(tmp_path, case)
    got = "load" if res.load_error else ("accept" if res.ok else "reject")
    assert got == (case.ours or case.cncf), res.load_error or res.lines()
    assert case.message in (res.load_error if got == "load" else " ".join(res.warnings + res.errors))


@pytest.mark.parametrize(("what", "text"), [
    ("a list of 100 000 values", "metadata:\n  x: [" + ",".join(["1"] * 100_000) + "]\n"),
    ("50 000 keys", "metadata: {" + ",".join(f"k{i}: 1" for i in range(25_000)) + "}\n"),
    ("10 000 anchors", "metadata:\n" + "".join(f"  k{i}: &a{i} x\n" for i in range(10_000))),
    ("deep flow nesting", "[" * 200_000),
    ("deep block nesting", "".join(" " * i + "a:\n" for i in range(500))),
])
def test_large_or_deep_files_are_refused_within_a_second(tmp_path: Path, what: str, text: str) -> None:
    assert len(text.encode()) <= MAX_BYTES, what
    start = time.process_time()
    res = v.validate_file(write_product(tmp_path, text))
    assert time.process_time() - start < 1.0, what
    assert "more than" in res.load_error or "nest" in res.load_error, res.load_error


# ------------------------------------------------------------------------------------------ scalar typing

# a metadata value is accepted only when gopkg.in/yaml.v3 decodes it to a Go string (checked against yaml.v3 v3.0.1)
STRING_SCALARS = ["yes", "No", "on", "tRue", "nUll", "_1", "._5", "1e400", "0x", "0b2", "0x10000000000000000",
                  "2024-13-01", "2024-02-30", "2024-01-01T10:00:00+25:00", "12:30", "v1.35", "1.2.3", "'1.0'", '"true"',
                  "!!str 1", "!foo bar", "!!binary aGk="]
NON_STRING_SCALARS = ["true", "TRUE", "~", "null", "1", "-0", "08", "0o17", "0x1F", "0b101", "1_000", "1_", "1.",
                      ".5", "+.5e3", ".inf", "-.INF", ".NaN", "18446744073709551616", "2024-1-2", "2024-02-29",
                      "2024-01-01T10:00:00Z", "2024-01-01t1:2:3+01:00", "2024-01-01  10:00:00", "!!int '12'"]


@pytest.mark.parametrize(("scalar", "is_string"), [(s, True) for s in STRING_SCALARS]
                         + [(s, False) for s in NON_STRING_SCALARS])
def test_metadata_scalars_typed_as_yaml_v3(tmp_path: Path, scalar: str, is_string: bool) -> None:
    res = v.validate_file(write_product(tmp_path, product_text({"platformName": scalar})))
    if is_string:
        assert res.ok, res.lines()
    else:
        assert res.errors == ["Metadata field platformName is not a string"] or \
            res.errors == ["Missing metadata field: platformName (or platform_name)"], res.errors
