"""Judge for accelerator_metrics: facts → verdict, pure.

Follows upstream ``TestAcceleratorPerformanceMetrics`` (requirements.md §4.2): a metric is
per-accelerator when a sample carries one of ``PER_ACCELERATOR_LABELS``; utilization and memory
(found by name pattern, or named by inventory) are required per accelerator; temperature, power and
interconnect bandwidth are reported when present. The workload-driven case of the requirement's
automated test (utilization changes while a compute task runs) is judged when a probe ran.
"""
from __future__ import annotations

from typing import Any

from aiconform.results import Check, Outcome, Status, Verdict
from aiconform.verifiers.exposition import ExpositionError, parse

PER_ACCELERATOR_LABELS = ("gpu", "UUID", "uuid", "device_id", "dev_id", "card_id", "GPU_I_ID", "minor_number",
                          "pci_bus_id")
_PER_ACC_LOWER = {label.lower() for label in PER_ACCELERATOR_LABELS}
# Label names that identify one accelerator, most specific first (UUID survives re-enumeration).
_IDENTITY_ORDER = ("uuid", "pci_bus_id", "gpu_i_id", "gpu", "device_id", "dev_id", "card_id", "minor_number")
_HOST_LABELS = ("hostname", "node", "instance")

# Upstream name patterns (substring of the lower-cased metric name).
CATEGORIES: dict[str, tuple[str, ...]] = {
    "utilization": ("util", "utilization"),
    "memory": ("mem", "memory", "fb", "vram", "hbm"),
    "temperature": ("temp",),
    "power": ("power", "watt", "energy"),
    "interconnect": ("nvlink", "pcie_tx", "pcie_rx", "bandwidth", "xgmi"),
}
REQUIRED = ("utilization", "memory")
OPTIONAL = ("temperature", "power", "interconnect")
# A memory clock or memory temperature is not memory usage, and a memory-copy utilisation is
# utilisation: these words keep such families out of the memory category.
_NOT_MEMORY = ("clock", "temp", "util")


def category_of(name: str) -> set[str]:
    lower = name.lower()
    found = {cat for cat, pats in CATEGORIES.items() if any(p in lower for p in pats)}
    if "memory" in found and any(word in lower for word in _NOT_MEMORY):
        found.discard("memory")
    return found


def accelerator_key(labels: dict[str, str]) -> str | None:
    """A stable key for the accelerator a sample describes, or None if it names none."""
    lowered = {k.lower(): v for k, v in labels.items()}
    ident = next((f"{k}={lowered[k]}" for k in _IDENTITY_ORDER if lowered.get(k) not in (None, "")), None)
    if ident is None:
        return None
    host = next((lowered[k] for k in _HOST_LABELS if lowered.get(k)), "")
    return f"{host}/{ident}" if host else ident


def is_per_accelerator(labels: dict[str, str]) -> bool:
    return any(k.lower() in _PER_ACC_LOWER and v != "" for k, v in labels.items())


def analyse(families: list[dict[str, Any]], overrides: dict[str, str] | None = None) -> dict[str, Any]:
    """Per category: matching families, which are per-accelerator, and the accelerators they cover."""
    overrides = {k: v for k, v in (overrides or {}).items() if v}
    out: dict[str, Any] = {cat: {"families": [], "per_accelerator": [], "without_labels": [], "accelerators": []}
                           for cat in CATEGORIES}
    for fam in merge_families(families):
        names = {fam["name"], *(s["name"] for s in fam["samples"])}
        if not fam["samples"]:
            continue
        cats: set[str] = set()
        for cat in CATEGORIES:
            if cat in overrides:
                if overrides[cat] in names:
                    cats.add(cat)
            else:
                cats |= category_of(fam["name"]) & {cat}
        for cat in cats:
            entry = out[cat]
            entry["families"].append(fam["name"])
            keys = sorted({k for s in fam["samples"] if is_per_accelerator(s["labels"])
                           for k in [accelerator_key(s["labels"])] if k})
            if keys:
                entry["per_accelerator"].append(fam["name"])
                entry["accelerators"] = sorted(set(entry["accelerators"]) | set(keys))
            else:
                entry["without_labels"].append(fam["name"])
    return out


def merge_families(families: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One entry per family name: the parser starts a new family when samples of one name are not adjacent."""
    merged: dict[str, dict[str, Any]] = {}
    for fam in families:
        if fam["name"] in merged:
            merged[fam["name"]]["samples"].extend(fam["samples"])
        else:
            merged[fam["name"]] = {**fam, "samples": list(fam["samples"])}
    return list(merged.values())


def primary_utilization(families: list[dict[str, Any]], override: str = "") -> str | None:
    """The utilization family the workload case watches: the named one, else DCGM's GPU_UTIL-like one."""
    if override:
        return override if any(override == f["name"] or any(s["name"] == override for s in f["samples"])
                               for f in families) else None
    candidates = [f["name"] for f in families if "utilization" in category_of(f["name"])
                  and any(is_per_accelerator(s["labels"]) for s in f["samples"])]
    preferred = [n for n in candidates if "gpu_util" in n.lower()]
    return (preferred or sorted(candidates) or [None])[0]


def utilization_series(families: list[dict[str, Any]], metric: str) -> list[dict[str, Any]]:
    """Per-accelerator values of one utilization family, with the workload labels DCGM adds."""
    series = []
    for fam in families:
        for s in fam["samples"]:
            if metric not in (fam["name"], s["name"]) or not is_per_accelerator(s["labels"]):
                continue
            lab = s["labels"]
            series.append({"key": accelerator_key(lab), "value": s["value"],
                           "pod": lab.get("pod") or lab.get("exported_pod") or "",
                           "namespace": lab.get("namespace") or lab.get("exported_namespace") or ""})
    return series


# ---------------------------------------------------------------------------------------------
def judge(facts: dict[str, Any]) -> Verdict:
    checks: list[Check] = []
    endpoint = facts.get("endpoint") or {}
    if not endpoint.get("found"):
        reason = endpoint.get("reason") or "no accelerator metrics endpoint was found"
        checks.append(Check("MetricsEndpoint", Outcome.FAIL, reason))
        return Verdict(Status.NOT_IMPLEMENTED, [reason], checks)
    where = endpoint.get("description", "the metrics endpoint")
    scrape = facts.get("scrape") or {}
    if not scrape.get("ok"):
        reason = f"scraping {where} failed: {scrape.get('error') or 'no response'}"
        checks.append(Check("MetricsEndpoint", Outcome.FAIL, reason))
        return Verdict(Status.NOT_IMPLEMENTED, [reason], checks)
    if scrape.get("truncated"):
        reason = (f"{where} returned more than {scrape.get('max_bytes')} bytes; the exposition was cut, so per-"
                  "accelerator coverage cannot be decided (raise aiconform_accelerator_metrics_max_bytes)")
        checks.append(Check("MetricsEndpoint", Outcome.FAIL, reason))
        return Verdict(Status.UNKNOWN, [reason], checks)
    try:
        families = parse(scrape.get("text", ""))
    except ExpositionError as exc:
        reason = f"{where} did not return valid Prometheus exposition format: {exc}"
        checks.append(Check("MetricsEndpoint", Outcome.FAIL, reason))
        return Verdict(Status.ERROR, [reason], checks)
    checks.append(Check("MetricsEndpoint", Outcome.PASS,
                        f"{where} served {len(families)} metric families in Prometheus exposition format"))

    overrides = {"utilization": facts.get("utilization_metric_option", ""),
                 "memory": facts.get("memory_metric_option", "")}
    summary = analyse(families, overrides)
    reasons: list[str] = []
    failed = False
    for cat in REQUIRED:
        entry = summary[cat]
        name = f"PerAccelerator{cat.capitalize()}"
        if entry["per_accelerator"]:
            checks.append(Check(name, Outcome.PASS, f"{', '.join(entry['per_accelerator'][:4])} for "
                                f"{len(entry['accelerators'])} accelerator(s)"))
        elif entry["families"]:
            failed = True
            msg = (f"{cat} metrics {', '.join(entry['without_labels'][:4])} carry no per-accelerator label "
                   f"({', '.join(PER_ACCELERATOR_LABELS)})")
            checks.append(Check(name, Outcome.FAIL, msg))
            reasons.append(msg)
        else:
            failed = True
            wanted = overrides.get(cat) or "/".join(CATEGORIES[cat])
            msg = f"no {cat} metric ({wanted}) is exposed"
            checks.append(Check(name, Outcome.FAIL, msg))
            reasons.append(msg)
    if not failed:
        # Every accelerator reported for utilization must also report memory, and vice versa.
        util, mem = set(summary["utilization"]["accelerators"]), set(summary["memory"]["accelerators"])
        missing = sorted((util - mem) | (mem - util))
        if missing:
            failed = True
            msg = f"accelerators without both utilization and memory series: {', '.join(missing[:8])}"
            checks.append(Check("EveryAcceleratorCovered", Outcome.FAIL, msg))
            reasons.append(msg)
        else:
            checks.append(Check("EveryAcceleratorCovered", Outcome.PASS,
                                f"{len(util)} accelerator(s) report utilization and memory"))
    for cat in OPTIONAL:
        entry = summary[cat]
        name = f"Optional{cat.capitalize()}"
        if entry["per_accelerator"]:
            checks.append(Check(name, Outcome.PASS, ", ".join(entry["per_accelerator"][:4])))
        else:
            checks.append(Check(name, Outcome.SKIP, f"no per-accelerator {cat} metric exposed (optional, "
                                "\"if the hardware makes them available\")"))
    if failed:
        return Verdict(Status.NOT_IMPLEMENTED, [f"{where}: {r}" for r in reasons], checks)

    status, wl_reasons = _judge_workload(facts.get("workload") or {}, checks)
    optional = [c for c in OPTIONAL if summary[c]["per_accelerator"]]
    head = (f"{where} exposes per-accelerator utilization and memory for "
            f"{len(summary['utilization']['accelerators'])} accelerator(s)"
            + (f"; also {', '.join(optional)}" if optional else ""))
    return Verdict(status, [head, *wl_reasons], checks)


def _judge_workload(wl: dict[str, Any], checks: list[Check]) -> tuple[Status, list[str]]:
    name = "WorkloadDrivenUtilization"
    if not wl.get("attempted"):
        why = wl.get("skipped_reason") or "the compute probe did not run"
        checks.append(Check(name, Outcome.SKIP, why))
        # The upstream test judges presence only; the skip is stated, never counted as a pass.
        return Status.IMPLEMENTED, [f"workload-driven case skipped: {why}"]
    if wl.get("timeout"):
        why = f"the compute probe did not run, so the workload-driven case is undecided: {wl['timeout']}"
        checks.append(Check(name, Outcome.FAIL, why))
        return Status.UNKNOWN, [why]
    change = utilization_change(wl)
    if change is None:
        why = (f"utilization of the probe's accelerator did not change within {wl.get('window_s', '?')}s while "
               f"the compute probe {wl.get('pod', '')} ran (metric {wl.get('metric')})")
        checks.append(Check(name, Outcome.FAIL, why))
        return Status.NOT_IMPLEMENTED, [why]
    checks.append(Check(name, Outcome.PASS, change))
    return Status.IMPLEMENTED, [change]


def utilization_change(wl: dict[str, Any]) -> str | None:
    """A sentence describing the change, or None. Prefers the series attributed to the probe pod."""
    baseline = {s["key"]: s["value"] for s in wl.get("baseline") or [] if s.get("key")}
    pod, ns = wl.get("pod", ""), wl.get("namespace", "")
    fallback = None
    for sample in wl.get("samples") or []:
        for s in sample.get("series") or []:
            before, now_ = baseline.get(s.get("key")), s.get("value")
            if now_ is None:
                continue
            changed = (before is None and now_ > 0) or (before is not None and now_ != before)
            if not changed:
                continue
            text = f"{wl.get('metric')} for {s['key']} went from {before} to {now_}"
            if s.get("pod") == pod and (not ns or s.get("namespace") in (ns, "")):
                return f"{text} while the compute probe {pod} held it"
            if fallback is None and not s.get("pod") and now_ > 0:
                fallback = f"{text} while the compute probe {pod} ran (the exporter attributes no pod to the series)"
    return fallback
