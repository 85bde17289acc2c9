"""Run several verifiers of one cluster concurrently in one process (the ``aiconform.conformance.verify`` module).

Why one process and threads: a probe spends nearly all its time waiting on the cluster (pods starting, HPA
syncs, node joins), while starting a Python process that imports Ansible and the kubernetes client costs
about a CPU-second. One process per cluster pays that once, and its probes share the wait. Each probe keeps
its own connection (its User-Agent names the verifier), namespace and cleanup; see runtime.run_verifier.

As each verifier finishes, its redacted result is also written to ``progress_dir/<NNNN>-<id>.json`` (when
given; NNNN counts finished verifiers from 0), so the playbook's wait loop (action plugin ``verify_status``)
can report each verdict as it comes while the others still run. The process's own result stays the authority.

Probes whose declared holdings conflict (verifiers/holdings.py: GPUs, node capacity, the autoscaler pool) never
run at the same time; the others do. A probe that timed out while aiconform's own pods held what it needs is
judged ``error`` naming them (``holders``), never Not Implemented.
"""
from __future__ import annotations

import json
import os
import signal
import tempfile
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from pathlib import Path
from typing import Any

from ..versions import with_registry
from . import holdings, runtime

# Options every verifier accepts besides its own OPTIONS.
COMMON_OPTIONS: dict[str, dict[str, Any]] = {"cleanup_timeout": {"type": "int", "default": 120}}


def known_ids() -> list[str]:
    from .. import catalog

    return catalog.all_ids()


def option_spec(requirement: str) -> dict[str, dict[str, Any]]:
    return {**runtime.argspec(runtime.load(requirement).OPTIONS), **COMMON_OPTIONS}


def validate_plans(plans: Mapping[str, Any], defaults: Mapping[str, Any] | None = None,
                   ) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """Each requirement's options checked against its argument spec; (validated options, errors).

    ``None`` values mean "not set" (the playbook omits unset inventory variables; a direct caller may pass
    null), so the option's default applies. Errors name the inventory variable that feeds the option.
    """
    from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

    ids = set(known_ids())
    validated: dict[str, dict[str, Any]] = {}
    errors: list[str] = []
    for requirement, options in plans.items():
        if requirement not in ids:
            errors.append(f"unknown requirement {requirement!r}; known ids: {', '.join(sorted(ids))}")
            continue
        if options is not None and not isinstance(options, Mapping):
            errors.append(f"{requirement}: options must be a mapping, got {type(options).__name__}")
            continue
        spec = option_spec(requirement)
        # run-wide values (cleanup_timeout) apply where the requirement's own options do not say otherwise
        common = {k: v for k, v in (defaults or {}).items() if k in spec and v is not None}
        given = {**common, **{k: v for k, v in (options or {}).items() if v is not None}}
        outcome = ArgumentSpecValidator(spec).validate(given)
        for message in outcome.error_messages:
            errors.append(f"{requirement}: {message} (inventory variables aiconform_{requirement}_<option>)")
        if not outcome.error_messages:
            validated[requirement] = dict(outcome.validated_parameters)
    return validated, errors


def mirrored_options(options: dict[str, Any], spec: Mapping[str, Mapping[str, Any]], registry: str) -> dict[str, Any]:
    """Pinned default probe images pulled from the air-gap mirror; images the user set stay as given."""
    out = dict(options)
    for name, value in options.items():
        if name.endswith("image") and isinstance(value, str) and value == spec.get(name, {}).get("default"):
            out[name] = with_registry(value, registry)
    return out


def _write_progress(progress_dir: str, seq: int, requirement: str, data: dict[str, Any]) -> None:
    # Atomic (rename) so a reader never sees half a file; 0600 like everything in a run directory. The name
    # <finish order>-<id>.json is what plugins/action/verify_status.py looks for.
    fd, tmp = tempfile.mkstemp(dir=progress_dir, prefix=f".{requirement}.", suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(data, fh)
    os.replace(tmp, Path(progress_dir) / f"{seq:04d}-{requirement}.json")


def run_all(plans: Mapping[str, dict[str, Any]], connection: Mapping[str, Any], *, run_id: str,
            concurrency: int = 8, registry: str = "", progress_dir: str | None = None, check_mode: bool = False,
            on_result: Callable[[str, dict[str, Any]], None] | None = None,
            holders: holdings.ClusterHolders | None = None) -> dict[str, dict[str, Any]]:
    """Run the validated plans (id -> options), at most ``concurrency`` at a time, never two that conflict.

    ``holders`` reads aiconform's own pods on the cluster, to tell a timeout they caused (None: not checked).
    Returns id -> redacted result dict, in the order the verifiers finished.
    """
    # import every verifier before the threads start (no import races); a wrong HOLDS fails here, before any probe
    holds = {requirement: holdings.declared(runtime.load(requirement)) for requirement in plans}
    results: dict[str, dict[str, Any]] = {}

    def holds_of(requirement: str) -> dict[str, str]:
        return holds.get(requirement) or holdings.declared(runtime.load(requirement))

    def one(requirement: str) -> dict[str, Any]:
        spec = option_spec(requirement)
        params = {**connection, "run_id": run_id,
                  "options": mirrored_options(dict(plans[requirement]), spec, registry)}
        before = holders.snapshot(requirement, holds[requirement], holds_of) if holders and not check_mode else []
        data = runtime.run_verifier(requirement, params, check_mode=check_mode).to_dict()
        if holders and not check_mode and holdings.timed_out(data):
            data = holdings.attribute(data, before + holders.snapshot(requirement, holds[requirement], holds_of))
        return data

    main = threading.current_thread() is threading.main_thread()
    old_term = signal.signal(signal.SIGTERM, lambda *_: runtime.CANCEL.set()) if main else None
    try:
        scheduler = holdings.Scheduler(holds, concurrency)
        with ThreadPoolExecutor(max_workers=scheduler.limit, thread_name_prefix="verify") as pool:
            futures: dict[Future[dict[str, Any]], str] = {}
            while True:
                futures.update({pool.submit(one, requirement): requirement for requirement in scheduler.ready()})
                if not futures:
                    break
                finished, _rest = wait(futures, return_when=FIRST_COMPLETED)
                for future in finished:
                    requirement = futures.pop(future)
                    scheduler.done(requirement)
                    data = future.result()  # run_verifier turns every failure into an error result
                    results[requirement] = data
                    if progress_dir:
                        _write_progress(progress_dir, len(results) - 1, requirement, data)
                    if on_result:
                        on_result(requirement, data)
    finally:
        if main:
            signal.signal(signal.SIGTERM, old_term)
    return results
