"""Judge for accelerator_metrics: facts → verdict, pure.

Follows upstream ``TestAcceleratorPerformanceMetrics`` (requirements.md §4.2): utilization and memory are
required per accelerator; temperature, power and interconnect bandwidth are reported when present. The
workload-driven case of the requirement's automated test (utilization changes while a compute task runs) is
judged when a probe ran.

Per accelerator means: a series per device, named by a device label of a known exporter (``EXPORTERS``:
NVIDIA DCGM ``UUID``/``gpu``, AMD device-metrics-exporter ``gpu_id``, Intel XPU Manager ``uuid``/``pci_bdf``/
``dev_file``) or the configured ``device_label``, whose value is one device (``all``, ``total`` or empty is an
aggregate, not a device); and, where the scraped series name their node, at least as many devices per node as
the node advertises (extended resources or DRA ResourceSlices, from fetch). Utilization and memory are matched
by metric name: the exporters' own names first; other names by whole words (``util``, ``activity`` / ``memory``,
``vram``...), never inside a word or in a violation/throttle counter (AMD ``gpu_violation_low_utilization_*``).
"""
from __future__ import annotations

import re
from typing import Any

from ...results import Check, Outcome, Status, Verdict
from ..exposition import ExpositionError, parse

# What each known exporter calls utilization and memory use, and the labels that name one device
# (dcgm-exporter default counters; ROCm device-metrics-exporter metricslist.md and configmap.md; Intel XPU
# Manager's exporter, rest/prometheus_exporter.py and doc/Prometheus_Exported_Metrics.csv, and its 2.x
# OpenTelemetry names).
EXPORTERS: dict[str, dict[str, tuple[str, ...]]] = {
    "NVIDIA DCGM exporter": {
        "utilization": ("DCGM_FI_DEV_GPU_UTIL", "DCGM_FI_PROF_GR_ENGINE_ACTIVE", "DCGM_FI_PROF_SM_ACTIVE",
                        "DCGM_FI_DEV_MEM_COPY_UTIL"),
        "memory": ("DCGM_FI_DEV_FB_USED", "DCGM_FI_DEV_FB_FREE", "DCGM_FI_DEV_FB_TOTAL"),
        "device_labels": ("UUID", "gpu", "pci_bus_id", "device"),
        "prefix": ("DCGM_",)},
    "AMD device-metrics-exporter": {
        "utilization": ("gpu_gfx_activity", "gpu_gfx_busy_instantaneous"),
        "memory": ("gpu_used_vram", "gpu_free_vram", "gpu_total_vram", "gpu_used_visible_vram"),
        "device_labels": ("gpu_uuid", "serial_number", "gpu_id"),
        "prefix": ()},
    "Intel XPU Manager": {
        # xpumanager's exporter (rest/prometheus_exporter.py): xpum_engine_ratio is GPU_UTILIZATION,
        # xpum_engine_group_ratio{type="compute"|"media"|...} the engine groups; 2.x OpenTelemetry: hw_*
        "utilization": ("xpum_engine_ratio", "xpum_engine_group_ratio", "hw_gpu_utilization_ratio"),
        "memory": ("xpum_memory_used_bytes", "xpum_memory_ratio", "hw_memory_usage_bytes"),
        "device_labels": ("uuid", "pci_bdf", "dev_file"),
        "prefix": ("xpum_",)},
}
KNOWN_NAMES = {cat: {n.lower(): exp for exp, d in EXPORTERS.items() for n in d[cat]} for cat in ("utilization", "memory")}
_STRICT_PREFIXES = tuple(p.lower() for d in EXPORTERS.values() for p in d["prefix"])
# Other exporters' device labels (and common generic ones).
GENERIC_DEVICE_LABELS = ("device_id", "dev_id", "card_id", "minor_number")
PER_ACCELERATOR_LABELS = tuple(dict.fromkeys(
    [lab for d in EXPORTERS.values() for lab in d["device_labels"]] + list(GENERIC_DEVICE_LABELS)))
_PER_ACC_LOWER = {label.lower() for label in PER_ACCELERATOR_LABELS}
# Label names that identify one accelerator, most specific first (a UUID survives re-enumeration).
# A partition or MIG instance index (gpu_partition_id, GPU_I_ID) qualifies a device but names none by itself.
_IDENTITY_ORDER = ("uuid", "gpu_uuid", "serial_number", "pci_bus_id", "pci_bdf", "gpu", "gpu_id", "deviceid",
                   "device_id", "dev_id", "card_id", "dev_file", "minor_number", "device")
# Values that stand for several devices (an aggregate series), never one.
AGGREGATE_IDS = ("", "all", "total", "any", "*", "none")
_HOST_LABELS = ("hostname", "node", "instance")

# Optional categories: name patterns (substring of the lower-cased metric name), as upstream.
CATEGORIES: dict[str, tuple[str, ...]] = {
    "utilization": ("util", "utilization", "activity", "busy"),
    "memory": ("mem", "memory", "fb", "vram", "hbm"),
    "temperature": ("temp",),
    "power": ("power", "watt", "energy"),
    "interconnect": ("nvlink", "pcie_tx", "pcie_rx", "bandwidth", "xgmi"),
}
REQUIRED = ("utilization", "memory")
OPTIONAL = ("temperature", "power", "interconnect")
# Whole words of a metric name (utilization and memory of an unknown exporter are matched by words).
_WORDS = {"utilization": {"util", "utilization", "activity", "busy"},
          "memory": {"mem", "memory", "fb", "vram", "hbm"}}
# Words that make a family something else: a violation/throttle counter, an encoder/decoder engine, a clock,
# a temperature or bandwidth (a memory clock or memory temperature is not memory usage).
_NOT = {"utilization": {"violation", "throttle", "throttling", "low", "enc", "dec", "encoder", "decoder", "jpeg",
                        "vcn", "mma"},
        "memory": {"clock", "temp", "temperature", "util", "utilization", "bandwidth", "activity", "copy",
                   "violation", "errors", "error", "ecc", "max", "read", "write", "reserved", "remapped"}}


def _words(name: str) -> set[str]:
    return {w for w in re.split(r"[^a-z0-9]+", name.lower()) if w}


def category_of(name: str) -> set[str]:
    lower = name.lower()
    found = {cat for cat in OPTIONAL if any(p in lower for p in CATEGORIES[cat])}
    strict = lower.startswith(_STRICT_PREFIXES)  # a known exporter's family: only its own names count
    words = _words(name)
    for cat in REQUIRED:
        if lower in KNOWN_NAMES[cat] or (not strict and words & _WORDS[cat] and not words & _NOT[cat]):
            found.add(cat)
    if "memory" in found and "temperature" in found:
        found.discard("memory")
    return found


def exporter_of(names: set[str]) -> str:
    """The known exporter whose utilization or memory names appear, or ""."""
    for exp, d in EXPORTERS.items():
        if {n.lower() for n in d["utilization"] + d["memory"]} & {n.lower() for n in names}:
            return exp
    return ""


def accelerator_key(labels: dict[str, str], device_label: str = "") -> str | None:
    """A stable key for the one accelerator a sample describes, or None if it names none (or an aggregate)."""
    lowered = {k.lower(): v for k, v in labels.items()}
    order = (device_label.lower(),) if device_label else _IDENTITY_ORDER
    ident = next((f"{k}={lowered[k]}" for k in order if k in lowered and not is_aggregate(lowered[k])), None)
    if ident is None:
        return None
    host = next((lowered[k] for k in _HOST_LABELS if lowered.get(k)), "")
    return f"{host}/{ident}" if host else ident


def is_aggregate(value: str) -> bool:
    return value.strip().lower() in AGGREGATE_IDS


def is_per_accelerator(labels: dict[str, str], device_label: str = "") -> bool:
    if device_label:
        return any(k.lower() == device_label.lower() and not is_aggregate(v) for k, v in labels.items())
    return any(k.lower() in _PER_ACC_LOWER and not is_aggregate(v) for k, v in labels.items())


def aggregate_labels(samples: list[dict[str, Any]]) -> list[str]:
    """Device labels carrying an aggregate value (``gpu="all"``), as label=value."""
    return sorted({f'{k}="{v}"' for s in samples for k, v in s["labels"].items()
                   if k.lower() in _PER_ACC_LOWER and is_aggregate(v)})


def host_of(labels: dict[str, str]) -> str:
    lowered = {k.lower(): v for k, v in labels.items()}
    return next((lowered[k] for k in _HOST_LABELS if lowered.get(k)), "")


def analyse(families: list[dict[str, Any]], overrides: dict[str, str] | None = None,
            device_label: str = "") -> dict[str, Any]:
    """Per category: matching families, which are per-accelerator, and the accelerators they cover."""
    overrides = {k: v for k, v in (overrides or {}).items() if v}
    out: dict[str, Any] = {cat: {"families": [], "per_accelerator": [], "without_labels": [], "accelerators": [],
                                 "aggregates": []} for cat in CATEGORIES}
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
            keys = sorted({k for s in fam["samples"] if is_per_accelerator(s["labels"], device_label)
                           for k in [accelerator_key(s["labels"], device_label)] if k})
            entry["aggregates"] = sorted(set(entry["aggregates"]) | set(aggregate_labels(fam["samples"])))
            if keys:
                entry["per_accelerator"].append(fam["name"])
                entry["accelerators"] = sorted(set(entry["accelerators"]) | set(keys))
            else:
                entry["without_labels"].append(fam["name"])
    return out


def devices_per_host(accelerators: list[str]) -> dict[str, int]:
    """host → number of distinct devices, from keys ``host/label=value`` (keys without a host are left out)."""
    out: dict[str, set[str]] = {}
    for key in accelerators:
        host, sep, ident = key.partition("/")
        if sep and "=" not in host:
            out.setdefault(host, set()).add(ident)
    return {h: len(ids) for h, ids in out.items()}


def merge_families(families: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One entry per family name: the parser starts a new family when samples of one name are not adjacent."""
    merged: dict[str, dict[str, Any]] = {}
    for fam in families:
        if fam["name"] in merged:
            merged[fam["name"]]["samples"].extend(fam["samples"])
        else:
            merged[fam["name"]] = {**fam, "samples": list(fam["samples"])}
    return list(merged.values())


def primary_utilization(families: list[dict[str, Any]], override: str = "", device_label: str = "") -> str | None:
    """The utilization family the workload case watches: the named one, else DCGM's GPU_UTIL-like one."""
    if override:
        return override if any(override == f["name"] or any(s["name"] == override for s in f["samples"])
                               for f in families) else None
    candidates = [f["name"] for f in families if "utilization" in category_of(f["name"])
                  and any(is_per_accelerator(s["labels"], device_label) for s in f["samples"])]
    known = {n.lower() for d in EXPORTERS.values() for n in d["utilization"][:1]}  # GPU_UTIL, gfx_activity...
    preferred = [n for n in candidates if n.lower() in known]
    return (preferred or sorted(candidates) or [None])[0]


def utilization_series(families: list[dict[str, Any]], metric: str, device_label: str = "") -> list[dict[str, Any]]:
    """Per-accelerator values of one utilization family, with the workload labels DCGM adds."""
    series = []
    for fam in families:
        for s in fam["samples"]:
            if metric not in (fam["name"], s["name"]) or not is_per_accelerator(s["labels"], device_label):
                continue
            lab = s["labels"]
            series.append({"key": accelerator_key(lab, device_label), "value": s["value"],
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
    device_label = facts.get("device_label_option") or ""
    summary = analyse(families, overrides, device_label)
    exporter = exporter_of({f["name"] for f in families})
    labels_text = (f"the configured label {device_label}" if device_label else ", ".join(PER_ACCELERATOR_LABELS))
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
            agg = entry["aggregates"]
            msg = (f"{cat} metrics {', '.join(entry['without_labels'][:4])} carry no per-accelerator label "
                   f"({labels_text})" + (f": aggregate values {', '.join(agg[:4])} name no single device" if agg else ""))
            checks.append(Check(name, Outcome.FAIL, msg))
            reasons.append(msg)
        else:
            failed = True
            wanted = overrides.get(cat) or ", ".join(sorted({n for d in EXPORTERS.values() for n in d[cat][:2]}))
            msg = (f"no {cat} metric ({wanted}, or a name with the word "
                   f"{'/'.join(sorted(_WORDS[cat]))}) is exposed")
            checks.append(Check(name, Outcome.FAIL, msg))
            reasons.append(msg)
    if not failed:
        failed = _per_device(facts.get("advertised") or {}, summary, checks, reasons)
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
    head = (f"{where}{f' ({exporter})' if exporter else ''} exposes per-accelerator utilization and memory for "
            f"{len(summary['utilization']['accelerators'])} accelerator(s)"
            + (f"; also {', '.join(optional)}" if optional else ""))
    return Verdict(status, [head, *wl_reasons], checks)


def _per_device(advertised: dict[str, Any], summary: dict[str, Any], checks: list[Check], reasons: list[str]) -> bool:
    """SeriesPerAdvertisedDevice: each scraped node has a utilization series for every device it advertises.
    Returns True when it failed."""
    name = "SeriesPerAdvertisedDevice"
    per_host = devices_per_host(summary["utilization"]["accelerators"])
    tied = {h: n for h, n in per_host.items() if h in advertised}
    if not advertised:
        checks.append(Check(name, Outcome.SKIP, "no node advertises accelerators (extended resources or DRA "
                                                "ResourceSlices), so the series cannot be counted against devices"))
        return False
    if not tied:
        checks.append(Check(name, Outcome.SKIP, "the series name no node that advertises accelerators (host labels "
                            f"{', '.join(sorted(per_host)) or 'absent'}; nodes {', '.join(sorted(advertised)[:5])})"))
        return False
    short = {h: (n, advertised[h]) for h, n in tied.items() if n < int(advertised[h].get("count") or 0)}
    if short:
        msg = "fewer utilization series than devices: " + "; ".join(
            f"node {h} advertises {a['count']} ({', '.join(a.get('sources') or [])}), series for {n}"
            for h, (n, a) in sorted(short.items()))
        checks.append(Check(name, Outcome.FAIL, msg))
        reasons.append(msg)
        return True
    checks.append(Check(name, Outcome.PASS, "; ".join(f"node {h}: {n} series for {advertised[h]['count']} advertised "
                                                      "device(s)" for h, n in sorted(tied.items()))))
    return False


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
