"""go-test style artifacts: render junit.xml / e2e.log, and parse junit.xml, results.json, e2e.log.

The parsers follow the cncf ``scripts/validate.go`` v1.37 hybrid-verification rules:
- junit: ``<testsuites>`` or a bare ``<testsuite>``; ``<failure>``/``<error>`` = fail, ``<skipped>`` = skip;
- ``go test -json``: Action pass/fail/skip; a package-level fail without test failures -> ``package <p>``;
- ``go test -v``: ``^\\s*--- (PASS|FAIL|SKIP): (\\S+)``;
- a name not recorded exactly aggregates its subtests: any fail -> fail, all skipped -> skip, else pass.
"""
from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass, field

PASS, FAIL, SKIP, UNKNOWN = "pass", "fail", "skip", "not found"
PACKAGE = "aiconform/conformance"
E2E_RESULT_LINE = re.compile(r"^\s*--- (PASS|FAIL|SKIP): (\S+)")
CANONICAL_ARTIFACTS = {"junit.xml": "junit", "results.json": "gotest-json", "e2e.log": "e2e-log"}


class ArtifactError(ValueError):
    """The artifact could not be parsed (the validator reports it as an invalid test artifact)."""


# --------------------------------------------------------------------------------------------- model

@dataclass
class SubTest:
    name: str  # go subtest name (spaces -> underscores), without the parent prefix
    outcome: str  # pass | fail | skip
    duration_s: float = 0.0
    message: str = ""


@dataclass
class GoTest:
    name: str  # TestGangScheduling
    outcome: str
    duration_s: float = 0.0
    message: str = ""
    subtests: list[SubTest] = field(default_factory=list)


def subtest_name(text: str) -> str:
    """What go's t.Run does to a subtest name: whitespace -> '_' (and no empty names)."""
    cleaned = re.sub(r"\s+", "_", text.strip())
    cleaned = "".join(ch if ch.isprintable() else "_" for ch in cleaned)
    return cleaned or "check"


# --------------------------------------------------------------------------------------------- render

def render_e2e_log(tests: Iterable[GoTest], *, package: str = PACKAGE, header: str = "") -> str:
    """``go test -v`` output. Results print after the RUN lines; subtest results indented by 4 spaces.

    ``header`` lines come first, as a test binary's own output would (parsers read only the result lines).
    """
    tests = list(tests)
    lines: list[str] = header.splitlines()
    total = 0.0
    for t in tests:
        total += t.duration_s
        lines.append(f"=== RUN   {t.name}")
        for s in t.subtests:
            lines.append(f"=== RUN   {t.name}/{s.name}")
        if t.message:
            lines.extend(f"    {_test_file(t.name)}: {m}" for m in t.message.splitlines() or [""])
        lines.append(f"--- {t.outcome.upper()}: {t.name} ({t.duration_s:.2f}s)")
        for s in t.subtests:
            lines.append(f"    --- {s.outcome.upper()}: {t.name}/{s.name} ({s.duration_s:.2f}s)")
            if s.message:
                lines.extend(f"        {_test_file(t.name)}: {m}" for m in s.message.splitlines())
    failed = any(t.outcome == FAIL for t in tests)
    lines.append("FAIL" if failed else "PASS")
    lines.append(f"FAIL\t{package}\t{total:.3f}s" if failed else f"ok  \t{package}\t{total:.3f}s")
    return "\n".join(lines) + "\n"


def _test_file(test_name: str) -> str:
    base = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", test_name.removeprefix("Test")).lower()
    return f"{base}_test.go"


def render_junit(tests: Iterable[GoTest], *, package: str = PACKAGE, timestamp: str = "",
                 properties: dict[str, str] | None = None) -> str:
    """JUnit XML as gotestsum writes it: one testcase per test and per subtest (``Parent/sub``)."""
    tests = list(tests)
    cases: list[tuple[str, str, float, str]] = []
    for t in tests:
        cases.append((t.name, t.outcome, t.duration_s, t.message))
        cases.extend((f"{t.name}/{s.name}", s.outcome, s.duration_s, s.message) for s in t.subtests)
    failures = sum(1 for c in cases if c[1] == FAIL)
    skipped = sum(1 for c in cases if c[1] == SKIP)
    total_time = f"{sum(t.duration_s for t in tests):.3f}"
    root = ET.Element("testsuites", tests=str(len(cases)), failures=str(failures), errors="0",
                      skipped=str(skipped), time=total_time)
    suite = ET.SubElement(root, "testsuite", name=package, tests=str(len(cases)), failures=str(failures),
                          errors="0", skipped=str(skipped), time=total_time, timestamp=timestamp)
    if properties:
        props = ET.SubElement(suite, "properties")
        for k, v in properties.items():
            ET.SubElement(props, "property", name=k, value=str(v))
    for name, outcome, duration, message in cases:
        case = ET.SubElement(suite, "testcase", classname=package, name=name, time=f"{duration:.3f}")
        first = message.splitlines()[0] if message else ""
        if outcome == FAIL:
            el = ET.SubElement(case, "failure", message=first or "Failed", type="")
            el.text = message
        elif outcome == SKIP:
            ET.SubElement(case, "skipped", message=first or "Skipped")
    ET.indent(root, space="  ")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


# --------------------------------------------------------------------------------------------- parse

@dataclass
class ArtifactReport:
    tests: dict[str, str] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)

    def record(self, name: str, outcome: str) -> None:
        # a later outcome overrides an earlier one for the same name, but a fail is never downgraded
        if self.tests.get(name) == FAIL:
            return
        self.tests[name] = outcome
        if outcome == FAIL:
            self.failures.append(name)

    def outcome_for(self, name: str) -> str:
        if name in self.tests:
            return self.tests[name]
        prefix = name + "/"
        subs = [o for n, o in self.tests.items() if n.startswith(prefix)]
        if not subs:
            return UNKNOWN
        if FAIL in subs:
            return FAIL
        if all(o == SKIP for o in subs):
            return SKIP
        return PASS


def artifact_kind(path: str) -> str | None:
    """Only the canonical basenames are test artifacts (case-insensitive)."""
    return CANONICAL_ARTIFACTS.get(path.replace("\\", "/").rsplit("/", 1)[-1].lower())


def parse_artifact(kind: str, text: str) -> ArtifactReport:
    return {"junit": parse_junit, "gotest-json": parse_gotest_json, "e2e-log": parse_e2e_log}[kind](text)


def parse_junit(text: str) -> ArtifactReport:
    try:
        root = ET.fromstring(text.encode("utf-8") if isinstance(text, str) else text)
    except ET.ParseError as exc:
        raise ArtifactError(f"parsing JUnit XML: {exc}") from exc
    report = ArtifactReport()

    def walk(node: ET.Element) -> None:
        for case in node.findall("testcase"):
            if case.find("failure") is not None or case.find("error") is not None:
                report.record(case.get("name", ""), FAIL)
            elif case.find("skipped") is not None:
                report.record(case.get("name", ""), SKIP)
            else:
                report.record(case.get("name", ""), PASS)
        for suite in node.findall("testsuite"):
            walk(suite)

    walk(root)
    if not report.tests:
        raise ArtifactError("parsing JUnit XML: no <testcase> elements found")
    return report


def parse_gotest_json(text: str) -> ArtifactReport:
    report = ArtifactReport()
    package_failures: list[str] = []
    for line_no, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line:
            continue
        try:
            event = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ArtifactError(f"parsing go test JSON at line {line_no}: {exc}") from exc
        if not isinstance(event, dict):
            raise ArtifactError(f"parsing go test JSON at line {line_no}: not an object")
        action = event.get("Action")
        if action not in (PASS, FAIL, SKIP):
            continue
        if not event.get("Test"):
            if action == FAIL:
                package_failures.append(str(event.get("Package", "")))
            continue
        report.record(str(event["Test"]), action)
    if not report.failures:
        report.failures.extend(f"package {p}" for p in package_failures)
    if not report.tests and not report.failures:
        raise ArtifactError("parsing go test JSON: no test events found")
    return report


def parse_e2e_log(text: str) -> ArtifactReport:
    report = ArtifactReport()
    for line in text.splitlines():
        m = E2E_RESULT_LINE.match(line)
        if m:
            report.record(m.group(2), m.group(1).lower())
    if not report.tests:
        raise ArtifactError("parsing e2e log: no '--- PASS/FAIL/SKIP:' result lines found")
    return report
