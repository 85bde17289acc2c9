"""Machinery shared by every verifier: probe namespaces, waits, evidence, and fetch → judge.

A verifier is a module ``aiconform.verifiers.<requirement id>`` defining:

- ``REQUIREMENT`` (the id) and ``TEST_NAME`` (go-test style name used in junit.xml / e2e.log),
- ``OPTIONS``: its own options, ``declared_options(__file__)``: read from the package's ``verifier.yml``, the
  one declaration of each option (argument spec with the upstream test's timeouts, ``description`` in Ansible
  doc markup, optional ``sample``, ``fallback``, ``variable``; see that file's header). ``python -m
  aiconform.collection options`` generates the module, its option documentation, the verify plan and the
  sample inventory from it; ``argspec`` leaves out the documentation keys,
- ``fetch(ctx: ProbeContext) -> dict``: talks to the cluster, runs probe workloads, returns facts,
- ``judge(facts: dict) -> Verdict``: a pure function from facts to a verdict with reasons.

``run_verifier`` wires them together, always cleans up the probe namespace, and converts cluster
errors into an ``error`` verdict (never ``Implemented``).
"""
from __future__ import annotations

import copy
import importlib
import re
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, TypeVar

try:
    from kubernetes import client
    from kubernetes.client.exceptions import ApiException
except ImportError:  # the module reports the missing library (deps.py)
    client = ApiException = None

from ..kube import ClusterError, Connection, connect, describe_error, get_json
from ..results import Check, Evidence, Outcome, RequirementResult, Status, Verdict, now
from .k8s import plain

MANAGED_BY = {"app.kubernetes.io/managed-by": "aiconform"}
RUN_LABEL = "aiconform.io/run-id"
REQUIREMENT_LABEL = "aiconform.io/requirement"
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")

T = TypeVar("T")


class ProbeTimeout(Exception):
    """A wait ran out; the message says what was still missing."""


class Interrupted(Exception):
    """SIGTERM/SIGINT during a probe: raised so cleanup still runs."""


# Set by a SIGTERM: every probe of the process (several run as threads, see verifiers/orchestrate.py) stops at
# its next wait and cleans up. An Event because signal handlers run only in the main thread; API calls are not
# refused once it is set, since cleanup code in finally blocks still needs them.
CANCEL = threading.Event()


def pause(seconds: float, *, interruptible: bool = True) -> None:
    """time.sleep for probes: returns early and raises Interrupted once the run is cancelled."""
    if interruptible:
        if CANCEL.wait(max(0.0, seconds)):
            raise Interrupted("interrupted: the verify run was cancelled (SIGTERM)")
    else:
        time.sleep(max(0.0, seconds))


def dns_label(text: str) -> str:
    """A valid DNS-1123 label from arbitrary text (ids use '_', names need '-')."""
    label = re.sub(r"[^a-z0-9-]+", "-", text.lower()).strip("-")[:63].strip("-")
    if not _DNS_LABEL.match(label):
        raise ValueError(f"cannot derive a DNS label from {text!r}")
    return label


@dataclass
class ProbeContext:
    conn: Connection
    requirement: str
    run_id: str
    options: dict[str, Any]
    check_mode: bool = False
    evidence: list[Evidence] = field(default_factory=list)
    namespaces: list[str] = field(default_factory=list)
    cleanup_errors: list[str] = field(default_factory=list)

    # -- API access -------------------------------------------------------------------------
    @property
    def core(self) -> client.CoreV1Api:
        return client.CoreV1Api(self.conn.api)

    @property
    def custom(self) -> client.CustomObjectsApi:
        return client.CustomObjectsApi(self.conn.api)

    @property
    def apps(self) -> client.AppsV1Api:
        return client.AppsV1Api(self.conn.api)

    @property
    def batch(self) -> client.BatchV1Api:
        return client.BatchV1Api(self.conn.api)

    def call(self, what: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Make one API call; failures become ClusterError naming the call."""
        kwargs.setdefault("_request_timeout", self.conn.request_timeout)
        try:
            return fn(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - translated for the user, re-raised
            raise describe_error(exc, what, self.conn.host) from exc

    def raw_get(self, path: str, what: str | None = None) -> Any:
        """GET a path (discovery, aggregated APIs, service proxy) and return decoded JSON or text."""
        return self.call(what or f"GET {path}", self._get_object, path)

    def api_group(self, group: str) -> dict[str, Any] | None:
        """The discovery document of ``/apis/<group>``, or None when the server does not serve the group.

        A 404 there for a group that ``/apis`` lists is not an absence (a CRD being removed, an aggregated API
        down, a proxy in the way): it raises ClusterError, so the verdict is ``error``, never "not installed".
        """
        try:
            doc = self.raw_get(f"/apis/{group}", f"discover API group {group}")
        except ClusterError as exc:
            if exc.kind != "not_found":
                raise
            listed = self.raw_get("/apis", "discover API groups")
            if group in {g.get("name") for g in (listed or {}).get("groups") or [] if isinstance(g, dict)}:
                raise ClusterError(f"{exc}; yet /apis lists {group}: the API server's discovery is inconsistent "
                                   "(a CRD being removed, an aggregated API down?), so aiconform cannot tell "
                                   "whether it is served", status=404) from exc
            return None
        if not isinstance(doc, dict):
            raise ClusterError(f"discover API group {group}: unexpected response (not a JSON object)",
                               kind="bad_response")
        return doc

    def api_resources(self, group: str, version: str) -> dict[str, Any]:
        """``/apis/<group>/<version>``, for a version the group's document lists (so a 404 is an error too)."""
        doc = self.raw_get(f"/apis/{group}/{version}", f"discover {group}/{version} resources")
        if not isinstance(doc, dict):
            raise ClusterError(f"discover {group}/{version} resources: unexpected response (not a JSON object)",
                               kind="bad_response")
        return doc

    def _get_object(self, path: str, _request_timeout: Any = None) -> Any:
        return get_json(self.conn.api, path, _request_timeout)

    def optional(self, what: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T | None:
        """Like call(), but a 404 (missing CRD/object) returns None instead of raising."""
        try:
            return self.call(what, fn, *args, **kwargs)
        except ClusterError as exc:
            if exc.kind == "not_found":
                return None
            raise

    # -- evidence ---------------------------------------------------------------------------
    def record(self, title: str, content: Any, *, kind: str = "text", command: str = "") -> None:
        if not isinstance(content, str):
            import yaml

            from ..redact import redact_value
            content = yaml.safe_dump(redact_value(plain(content)), sort_keys=False, default_flow_style=False)
            kind = "object" if kind == "text" else kind
        self.evidence.append(Evidence(title=title, kind=kind, content=content, command=command))

    # -- probe namespace --------------------------------------------------------------------
    def probe_namespace(self, suffix: str = "") -> str:
        """Create this run's probe namespace (labelled so an always-section can find it)."""
        name = dns_label(f"aiconform-{self.requirement}-{self.run_id}{'-' + suffix if suffix else ''}")
        body = client.V1Namespace(metadata=client.V1ObjectMeta(name=name, labels={
            **MANAGED_BY, RUN_LABEL: dns_label(self.run_id), REQUIREMENT_LABEL: dns_label(self.requirement)}))
        self.call(f"create namespace {name}", self.core.create_namespace, body)
        self.namespaces.append(name)
        return name

    def cleanup(self, timeout: float = 60.0) -> None:
        for name in reversed(self.namespaces):
            try:
                self.core.delete_namespace(name, _request_timeout=self.conn.request_timeout)
            except ApiException as exc:
                if exc.status != 404:
                    self.cleanup_errors.append(f"delete namespace {name}: HTTP {exc.status}")
                    continue
            except Exception as exc:  # noqa: BLE001 - cleanup must continue
                self.cleanup_errors.append(f"delete namespace {name}: {type(exc).__name__}: {exc}")
                continue
            try:
                wait_until(lambda n=name: _namespace_gone(self, n), timeout=timeout, interval=1.0,
                           what=f"namespace {name} to be deleted", interruptible=False)
            except ProbeTimeout as exc:
                self.cleanup_errors.append(str(exc))
        self.namespaces.clear()


def _namespace_gone(ctx: ProbeContext, name: str) -> bool:
    try:
        ctx.core.read_namespace(name, _request_timeout=ctx.conn.request_timeout)
        return False
    except ApiException as exc:
        return exc.status == 404


def wait_until(predicate: Callable[[], T], *, timeout: float, interval: float = 2.0, what: str,
               missing: Callable[[], str] | None = None, interruptible: bool = True) -> T:
    """Poll predicate until truthy. On timeout, raise ProbeTimeout saying what was still missing.

    Cleanup waits pass ``interruptible=False``: a cancelled run must still finish removing its probes.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            detail = f": {missing()}" if missing else ""
            raise ProbeTimeout(f"timed out after {timeout:g}s waiting for {what}{detail}")
        pause(min(interval, max(0.05, deadline - time.monotonic())), interruptible=interruptible)


# Keys of an OPTIONS entry that document it and are not part of the Ansible argument spec.
DOC_KEYS = ("description", "sample", "fallback", "variable")


def declared_options(anchor: str) -> dict[str, dict[str, Any]]:
    """The options declared in the verifier.yml beside ``anchor`` (a verifier package's ``__file__``)."""
    from .. import datafiles

    return resolve_options(datafiles.load_yaml(anchor, "verifier.yml")["options"])


def resolve_options(declared: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """verifier.yml's options as OPTIONS: ``default_image: <versions.yml path>`` becomes ``default``, the pinned image."""
    from ..versions import component_image

    options: dict[str, dict[str, Any]] = {}
    for name, spec in declared.items():
        spec = copy.deepcopy(spec)  # the parsed file is cached
        if "default_image" in spec:
            spec["default"] = component_image(spec.pop("default_image"))
        options[name] = spec
    return options


def argspec(options: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The Ansible argument spec of a verifier's OPTIONS (its documentation keys left out)."""
    return {name: {k: v for k, v in spec.items() if k not in DOC_KEYS} for name, spec in options.items()}


def load(requirement: str) -> ModuleType:
    # Relative to this package, so the same code loads as aiconform.verifiers (CLI, tests) and as the collection's
    # module_utils (Ansible); ``every`` imports each package statically so AnsiballZ ships them all.
    return importlib.import_module(f".{requirement}", __package__)


def _raise_interrupted(signum: int, _frame: Any) -> None:
    CANCEL.set()
    raise Interrupted(f"interrupted by signal {signum}")


def judge_facts(judge: Callable[[dict[str, Any]], Verdict], facts: Any) -> Verdict:
    """Call a judge; facts of an unexpected shape (a hostile or broken cluster) give ``error`` with the reason.

    Judges are written against the facts their fetch produces; cluster data of another shape (a list
    where an object was expected, a missing field) must not crash the run nor be judged by accident.
    """
    try:
        verdict = judge(facts)
    except Exception as exc:  # noqa: BLE001 - any judge failure is reported, never raised
        return Verdict(Status.ERROR, [f"the facts could not be judged (unexpected data from the cluster?): "
                                      f"{type(exc).__name__}: {str(exc)[:300]}"])
    if not isinstance(verdict, Verdict):
        return Verdict(Status.ERROR, [f"judge returned {type(verdict).__name__}, not a Verdict"])
    if verdict.status == Status.ERROR and not verdict.reasons:
        verdict.reasons = ["the judge gave no reason"]
    return verdict


def run_verifier(requirement: str, params: dict[str, Any], *, check_mode: bool = False) -> RequirementResult:
    """fetch → judge for one requirement, with cleanup always, and never a silent Implemented."""
    verifier = load(requirement)
    result = RequirementResult(id=requirement, status=Status.UNKNOWN, test_name=verifier.TEST_NAME,
                               started_at=now())
    if check_mode:
        result.reasons = ["check mode: probes create workloads, so nothing was verified"]
        result.finished_at = now()
        return result
    # In the main thread a SIGTERM interrupts at once; probe threads stop through CANCEL (see pause()).
    main = threading.current_thread() is threading.main_thread()
    old_term = signal.signal(signal.SIGTERM, _raise_interrupted) if main else None
    ctx: ProbeContext | None = None
    facts: dict[str, Any] = {}
    try:
        # A cancelled run stops waiting on retries (one attempt per call), so a SIGTERM is not held up by them.
        conn = connect(params, component=f"verify/{requirement}", cancel=CANCEL)
        ctx = ProbeContext(conn=conn, requirement=requirement, run_id=params.get("run_id") or "manual",
                           options=dict(params.get("options") or {}))
        facts = verifier.fetch(ctx)
        verdict = judge_facts(verifier.judge, facts)
        result.status, result.reasons, result.checks = verdict.status, verdict.reasons, verdict.checks
    except ClusterError as exc:
        result.status, result.reasons = Status.ERROR, [str(exc)]
    except ProbeTimeout as exc:
        # A timeout inside fetch is a finding, but without the full facts the judge cannot decide.
        result.status, result.reasons = Status.ERROR, [str(exc)]
        result.checks.append(Check(name="probe", outcome=Outcome.FAIL, reason=str(exc)))
    except Interrupted as exc:
        result.status, result.reasons = Status.ERROR, [str(exc)]
    except Exception as exc:  # noqa: BLE001 - a verifier bug must not crash the whole run
        result.status, result.reasons = Status.ERROR, [f"verifier crashed: {type(exc).__name__}: {exc}"]
    finally:
        if ctx is not None:
            ctx.cleanup(timeout=float(ctx.options.get("cleanup_timeout", 60)))
            result.evidence = ctx.evidence
            if ctx.cleanup_errors:
                result.reasons.append("cleanup incomplete: " + "; ".join(ctx.cleanup_errors))
            ctx.conn.close()
        if main:
            signal.signal(signal.SIGTERM, old_term)
    result.facts = facts
    result.finished_at = now()
    return result
