"""accelerator_metrics judge, table-driven on facts built from real DCGM exporter outputs.

Sources (parsed when ../shared is present, else those cases skip):
- stacks/..._kops_..._AcceleratorMetrics_ViaDCGM_output.md__dcgm_metrics.prom: full /metrics of a GPU
  Operator dcgm-exporter, one NVIDIA L4, no NVLink.
- stacks/linode_..._dcgm_metrics_pod_labels.prom: RTX 4000 Ada while a pod holds the GPU (pod/namespace/
  container labels) and DCGM_FI_DEV_NVLINK_BANDWIDTH_TOTAL.
- evidence/.../kops/tests/TestObservability_AcceleratorMetrics_ViaDCGM/output.md: the kOps transcript; the
  exposition is the output block after `kubectl logs`.
- evidence/NVIDIA-aicr/.../accelerator-metrics.md: a *sampled* DCGM block (no FB_USED line in it) and the
  Prometheus query JSON for DCGM_FI_DEV_GPU_UTIL / DCGM_FI_DEV_FB_USED on 8 H100s.
The inline exposition (SMALL_DCGM) restates the shape those files show (DCGM names, label set), with
values and identifiers of our own, so the suite also runs without ../shared.
"""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiconform.results import Outcome, Status
from aiconform.verifiers import accelerator_metrics as am
from aiconform.verifiers.accelerator_metrics import judge
from aiconform.verifiers.accelerator_metrics.fetch import dra_devices_per_node
from aiconform.verifiers.accelerator_metrics.judge import (
    PER_ACCELERATOR_LABELS,
    analyse,
    category_of,
    primary_utilization,
    utilization_series,
)
from aiconform.verifiers.exposition import ExpositionError, parse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aiconform import PROJECT_ROOT

SHARED = Path(__file__).resolve().parents[3].parent / "shared" / "fixtures"
KOPS_PROM = SHARED / "stacks" / ("cncf_k8s-ai-conformance__v1.35_kops_tests_TestObservability_AcceleratorMetrics_"
                                 "ViaDCGM_output.md__dcgm_metrics.prom")
LINODE_PROM = SHARED / "stacks" / "linode_lke-ai-conformance__README.md__dcgm_metrics_pod_labels.prom"
KOPS_MD = SHARED / "evidence/cncf-k8s-ai-conformance/v1.35/kops/tests/TestObservability_AcceleratorMetrics_ViaDCGM/output.md"
AICR_MD = SHARED / "evidence/NVIDIA-aicr/docs/conformance/cncf/evidence/accelerator-metrics.md"

LABELS = 'gpu="{i}",UUID="GPU-0000000{i}-aaaa-bbbb-cccc-00000000000{i}",pci_bus_id="00000000:0{i}:00.0",' \
         'device="nvidia{i}",modelName="NVIDIA L4",Hostname="node-a"'
SMALL_DCGM = "".join(
    f"# HELP {n} {h}\n# TYPE {n} gauge\n" + "".join(f"{n}{{{LABELS.format(i=i)}}} {v}\n" for i in (0, 1))
    for n, h, v in [("DCGM_FI_DEV_GPU_UTIL", "GPU utilization (in %).", 3),
                    ("DCGM_FI_DEV_FB_USED", "Framebuffer memory used (in MiB).", 1200),
                    ("DCGM_FI_DEV_GPU_TEMP", "GPU temperature (in C).", 40),
                    ("DCGM_FI_DEV_POWER_USAGE", "Power draw (in W).", 30.5)])


def _need(path: Path) -> str:
    if not path.is_file():
        pytest.skip(f"{path} absent")
    return path.read_text()


def kops_transcript_exposition() -> str:
    """The output block that follows `kubectl logs` in the kOps transcript."""
    text = _need(KOPS_MD)
    after = text.split("> kubectl logs", 1)[1]
    return next(chunk for chunk in after.split("```") if "# HELP" in chunk).strip("\n") + "\n"


def aicr_sampled_block() -> str:
    text = _need(AICR_MD)
    section = text.split("**Key GPU metrics from DCGM exporter (sampled)**", 1)[1]
    return re.search(r"```\n(.*?)```", section, flags=re.S).group(1)


def aicr_query_results(title: str) -> list[dict[str, Any]]:
    text = _need(AICR_MD)
    section = text.split(f"**{title}**", 1)[1]
    return json.loads(re.search(r"```\n(.*?)```", section, flags=re.S).group(1))["data"]["result"]


def exposition_from_query(results: list[dict[str, Any]]) -> str:
    """Prometheus query results (instant vectors) written back as exposition text, labels as Prometheus kept them."""
    lines = []
    for r in results:
        metric = dict(r["metric"])
        name = metric.pop("__name__")
        labels = ",".join(f'{k}="{v}"' for k, v in metric.items())
        lines.append(f"{name}{{{labels}}} {r['value'][1]}")
    return "\n".join(lines) + "\n"


def strip_per_accelerator_labels(text: str) -> str:
    """The same dump with every per-accelerator label removed (what a broken exporter config yields)."""
    out = []
    for fam in parse(text):
        out.append(f"# TYPE {fam['name']} {fam['type'] if fam['type'] != 'unknown' else 'untyped'}")
        for s in fam["samples"]:
            labels = {k: v for k, v in s["labels"].items() if k not in PER_ACCELERATOR_LABELS and k != "device"}
            body = ",".join(f'{k}="{v}"' for k, v in labels.items())
            out.append(f"{s['name']}{{{body}}} {s['value']}")
    return "\n".join(out) + "\n"


def facts_for(text: str, **extra: Any) -> dict[str, Any]:
    return {"endpoint": {"found": True, "kind": "service", "service": "gpu-operator/nvidia-dcgm-exporter:9400",
                         "description": "service gpu-operator/nvidia-dcgm-exporter:9400/metrics"},
            "scrape": {"ok": True, "status": 200, "text": text, "truncated": False, "bytes": len(text)},
            "utilization_metric_option": "", "memory_metric_option": "",
            "workload": {"attempted": False, "skipped_reason": "allocation_mode none"}, **extra}


def by_name(verdict: Any) -> dict[str, Any]:
    return {c.name: c for c in verdict.checks}


# ---- real dumps ----------------------------------------------------------------------------
@pytest.mark.parametrize("source, accelerators, interconnect", [
    ("kops_prom", 1, True),   # PCIe TX/RX bytes (no NVLink on L4)
    ("linode_prom", 1, True),
    ("kops_transcript", 1, True),
    ("aicr_prometheus", 16, False),  # 8 H100 on each of 2 nodes
    ("small", 2, False),
])
def test_real_dumps_are_implemented(source: str, accelerators: int, interconnect: bool) -> None:
    text = {
        "kops_prom": lambda: _need(KOPS_PROM),
        "linode_prom": lambda: _need(LINODE_PROM),
        "kops_transcript": kops_transcript_exposition,
        "aicr_prometheus": lambda: exposition_from_query(
            aicr_query_results("GPU Utilization (DCGM_FI_DEV_GPU_UTIL)")
            + aicr_query_results("GPU Memory Used (DCGM_FI_DEV_FB_USED)")),
        "small": lambda: SMALL_DCGM,
    }[source]()
    verdict = judge(facts_for(text))
    checks = by_name(verdict)
    assert verdict.status is Status.IMPLEMENTED, verdict.reasons
    assert checks["PerAcceleratorUtilization"].outcome is Outcome.PASS
    assert checks["PerAcceleratorMemory"].outcome is Outcome.PASS
    assert f"for {accelerators} accelerator(s)" in checks["PerAcceleratorUtilization"].reason
    assert (checks["OptionalInterconnect"].outcome is Outcome.PASS) == interconnect
    # the skipped workload case is stated, never a pass
    assert checks["WorkloadDrivenUtilization"].outcome is Outcome.SKIP
    assert any("skipped" in r for r in verdict.reasons)


def test_kops_dump_categories_follow_upstream_patterns() -> None:
    summary = analyse(parse(_need(KOPS_PROM)))
    assert "DCGM_FI_DEV_GPU_UTIL" in summary["utilization"]["per_accelerator"]
    assert "DCGM_FI_DEV_FB_USED" in summary["memory"]["per_accelerator"]
    # MEM_CLOCK / MEMORY_TEMP / MEM_COPY_UTIL are not memory usage
    assert not {"DCGM_FI_DEV_MEM_CLOCK", "DCGM_FI_DEV_MEMORY_TEMP", "DCGM_FI_DEV_MEM_COPY_UTIL"} \
        & set(summary["memory"]["families"])
    assert "DCGM_FI_DEV_GPU_TEMP" in summary["temperature"]["per_accelerator"]
    assert {"DCGM_FI_DEV_POWER_USAGE", "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION"} <= set(summary["power"]["per_accelerator"])
    # L4: no NVLink, but PCIe throughput counts as interconnect bandwidth
    assert summary["interconnect"]["per_accelerator"] == ["DCGM_FI_PROF_PCIE_TX_BYTES", "DCGM_FI_PROF_PCIE_RX_BYTES"]
    assert summary["utilization"]["accelerators"] == ["i-030791dc5a37cd257/uuid=GPU-c2f76b33-7953-256e-8f33-1343419b1a1c"]


def test_aicr_sampled_block_lacks_memory_usage() -> None:
    """AICR's sampled block shows util, temp and power but no FB_* line: memory usage is not evidenced there."""
    verdict = judge(facts_for(aicr_sampled_block()))
    assert verdict.status is Status.NOT_IMPLEMENTED
    assert by_name(verdict)["PerAcceleratorMemory"].outcome is Outcome.FAIL
    assert by_name(verdict)["PerAcceleratorUtilization"].outcome is Outcome.PASS


@pytest.mark.parametrize("source", ["kops_prom", "linode_prom", "small"])
def test_dump_without_per_gpu_labels_fails(source: str) -> None:
    text = {"kops_prom": lambda: _need(KOPS_PROM), "linode_prom": lambda: _need(LINODE_PROM),
            "small": lambda: SMALL_DCGM}[source]()
    verdict = judge(facts_for(strip_per_accelerator_labels(text)))
    assert verdict.status is Status.NOT_IMPLEMENTED
    checks = by_name(verdict)
    assert checks["PerAcceleratorUtilization"].outcome is Outcome.FAIL
    assert "no per-accelerator label" in checks["PerAcceleratorUtilization"].reason
    assert "DCGM_FI_DEV_GPU_UTIL" in " ".join(verdict.reasons)


def test_per_gpu_coverage_gap_fails() -> None:
    """GPU 1 reports utilization but no memory: not every accelerator is covered."""
    text = "\n".join(line for line in SMALL_DCGM.splitlines()
                     if not (line.startswith("DCGM_FI_DEV_FB_USED") and 'gpu="1"' in line)) + "\n"
    verdict = judge(facts_for(text))
    assert verdict.status is Status.NOT_IMPLEMENTED
    assert by_name(verdict)["EveryAcceleratorCovered"].outcome is Outcome.FAIL


def test_named_metrics_override_patterns() -> None:
    text = SMALL_DCGM.replace("DCGM_FI_DEV_FB_USED", "vendor_x_hbm_bytes_used")
    assert judge(facts_for(text, memory_metric_option="vendor_x_hbm_bytes_used")).status is Status.IMPLEMENTED
    verdict = judge(facts_for(text, memory_metric_option="DCGM_FI_DEV_FB_USED"))
    assert verdict.status is Status.NOT_IMPLEMENTED and "DCGM_FI_DEV_FB_USED" in verdict.reasons[0]


# ---- endpoint and scrape outcomes ----------------------------------------------------------
@pytest.mark.parametrize("facts, status, needle", [
    ({"endpoint": {"found": False, "reason": "no accelerator metrics exporter: Service gpu-operator/nvidia-dcgm-"
                                             "exporter not found"}}, Status.NOT_IMPLEMENTED, "not found"),
    ({"endpoint": {"found": True, "description": "svc"}, "scrape": {"ok": False, "error": "HTTP 503: no endpoints "
                                                                    "available for service \"nvidia-dcgm-exporter\""}},
     Status.NOT_IMPLEMENTED, "no endpoints available"),
    ({"endpoint": {"found": True, "description": "svc"}, "scrape": {"ok": False, "error": "timed out after 30s"}},
     Status.NOT_IMPLEMENTED, "timed out after 30s"),
    ({"endpoint": {"found": True, "description": "svc"}, "scrape": {"ok": True, "truncated": True, "max_bytes": 10,
                                                                    "text": "# HELP"}},
     Status.UNKNOWN, "more than 10 bytes"),
    ({"endpoint": {"found": True, "description": "svc"}, "scrape": {"ok": True, "text": 'DCGM_FI_DEV_GPU_UTIL{gpu="0" 1\n'}},
     Status.ERROR, "exposition format"),
    ({"endpoint": {"found": True, "description": "svc"}, "scrape": {"ok": True, "text": ""}},
     Status.NOT_IMPLEMENTED, "no utilization metric"),
])
def test_endpoint_and_scrape_outcomes(facts: dict[str, Any], status: Status, needle: str) -> None:
    verdict = judge(facts)
    assert verdict.status is status
    assert needle in " ".join(verdict.reasons)
    assert verdict.status is not Status.IMPLEMENTED


def test_malformed_real_dump_is_an_error_with_the_reason() -> None:
    text = _need(KOPS_PROM).replace('DCGM_FI_DEV_GPU_UTIL{gpu="0",', 'DCGM_FI_DEV_GPU_UTIL{gpu="0,', 1)
    verdict = judge(facts_for(text))
    assert verdict.status is Status.ERROR
    assert "did not return valid Prometheus exposition format" in verdict.reasons[0]


# ---- workload-driven case ------------------------------------------------------------------
def _workload(text_before: str, text_during: str, *, pod: str = "accelerator-load",
              namespace: str = "aiconform-accelerator-metrics-r1") -> dict[str, Any]:
    before, during = parse(text_before), parse(text_during)
    metric = primary_utilization(before)
    return {"attempted": True, "allocation": "device-plugin", "metric": metric, "pod": pod, "namespace": namespace,
            "window_s": 120, "baseline": utilization_series(before, metric),
            "samples": [{"t": 10.0, "series": utilization_series(during, metric)}]}


def busy(text: str, pod: str, namespace: str, value: int) -> str:
    """The same exporter output while a pod holds GPU 0: DCGM adds container/namespace/pod labels (Linode dump)."""
    out = []
    for line in text.splitlines():
        if line.startswith("DCGM_FI_DEV_GPU_UTIL{") and 'gpu="0"' in line:
            line = re.sub(r"\} \S+$", f',container="load",namespace="{namespace}",pod="{pod}",pod_uid=""}} {value}', line)
        out.append(line)
    return "\n".join(out) + "\n"


def test_workload_changes_utilization_of_the_probe_gpu() -> None:
    base = _need(KOPS_PROM)  # idle L4: DCGM_FI_DEV_GPU_UTIL 0
    wl = _workload(base, busy(base, "accelerator-load", "aiconform-accelerator-metrics-r1", 97))
    verdict = judge(facts_for(base, workload=wl))
    assert verdict.status is Status.IMPLEMENTED
    check = by_name(verdict)["WorkloadDrivenUtilization"]
    assert check.outcome is Outcome.PASS and "went from 0.0 to 97.0" in check.reason and "held it" in check.reason


def test_workload_without_change_is_not_implemented() -> None:
    base = _need(KOPS_PROM)
    verdict = judge(facts_for(base, workload=_workload(base, base)))
    assert verdict.status is Status.NOT_IMPLEMENTED
    assert by_name(verdict)["WorkloadDrivenUtilization"].outcome is Outcome.FAIL
    assert "did not change" in verdict.reasons[-1]


def test_workload_change_on_another_pods_gpu_does_not_count() -> None:
    base = SMALL_DCGM
    wl = _workload(base, busy(base, "someone-else", "default", 80))
    assert judge(facts_for(base, workload=wl)).status is Status.NOT_IMPLEMENTED


def test_workload_change_without_pod_attribution_is_accepted_and_says_so() -> None:
    base = SMALL_DCGM
    during = base.replace(f'DCGM_FI_DEV_GPU_UTIL{{{LABELS.format(i=1)}}} 3', f'DCGM_FI_DEV_GPU_UTIL{{{LABELS.format(i=1)}}} 88')
    verdict = judge(facts_for(base, workload=_workload(base, during)))
    assert verdict.status is Status.IMPLEMENTED
    assert "attributes no pod" in by_name(verdict)["WorkloadDrivenUtilization"].reason


def test_workload_probe_never_ran_is_unknown() -> None:
    wl = {"attempted": True, "timeout": "timed out after 300s waiting for compute probe to run: phase Pending; "
                                        "load waiting: ErrImagePull"}
    verdict = judge(facts_for(SMALL_DCGM, workload=wl))
    assert verdict.status is Status.UNKNOWN and "ErrImagePull" in verdict.reasons[-1]


# ---- pure helpers and options --------------------------------------------------------------
@pytest.mark.parametrize("name, cats", [
    ("DCGM_FI_DEV_GPU_UTIL", {"utilization"}), ("DCGM_FI_DEV_FB_USED", {"memory"}),
    ("DCGM_FI_DEV_MEM_COPY_UTIL", {"utilization"}), ("DCGM_FI_DEV_MEM_CLOCK", set()),
    ("DCGM_FI_DEV_MEMORY_TEMP", {"temperature"}), ("DCGM_FI_DEV_POWER_USAGE", {"power"}),
    ("DCGM_FI_DEV_NVLINK_BANDWIDTH_TOTAL", {"interconnect"}), ("DCGM_FI_PROF_PCIE_TX_BYTES", {"interconnect"}),
    ("amdgpu_vram_used_bytes", {"memory"}), ("amd_xgmi_bandwidth", {"interconnect"}),
    # by name, not substring: a violation counter, reserved framebuffer, encoder engine are not these
    ("gpu_violation_low_utilization_percentage", set()), ("GPU_VIOLATION_LOW_UTILIZATION_ACCUMULATED", set()),
    ("DCGM_FI_DEV_FB_RESERVED", set()), ("DCGM_FI_DEV_ENC_UTIL", set()), ("DCGM_FI_DEV_DEC_UTIL", set()),
    ("gpu_gfx_activity", {"utilization"}), ("gpu_used_vram", {"memory"}), ("gpu_vram_max_bandwidth", {"interconnect"}),
    ("xpum_engine_ratio", {"utilization"}), ("xpum_engine_group_ratio", {"utilization"}),
    ("xpum_memory_used_bytes", {"memory"}), ("xpum_memory_ratio", {"memory"}),
    ("xpum_memory_bandwidth_ratio", {"interconnect"}), ("hw_gpu_utilization_ratio", {"utilization"}),
    ("vendor_accel_busy_percent", {"utilization"}), ("futility_index", set()),
])
def test_category_patterns(name: str, cats: set[str]) -> None:
    assert category_of(name) == cats


def test_probe_image_default_is_the_gpu_operator_dcgm_pin() -> None:
    versions = yaml.safe_load((PROJECT_ROOT / "aiconform/data/versions.yml").read_text())
    img = versions["gpu_operator"]["images"]["dcgm"]
    assert am.OPTIONS["probe_image"]["default"] == f"{img['registry']}/{img['repository']}:{img['tag']}"


def test_upstream_defaults() -> None:
    assert am.OPTIONS["scrape_timeout"]["default"] == 30
    assert am.TEST_NAME == "TestAcceleratorPerformanceMetrics"


# ---- fuzzing the exposition path -----------------------------------------------------------
exposition_alphabet = st.sampled_from(list('abcXYZ_:{}="\\ ,.#\n0123456789+-eEInfNa') + ["HELP ", "TYPE ", "gpu",
                                                                                      "UUID", "DCGM_FI_DEV_GPU_UTIL"])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(exposition_alphabet, max_size=80).map("".join))
def test_fuzz_judge_never_crashes(text: str) -> None:
    verdict = judge(facts_for(text))
    assert verdict.status in set(Status)
    assert verdict.reasons
    try:
        parse(text)
    except ExpositionError:
        assert verdict.status is Status.ERROR and "exposition format" in verdict.reasons[0]


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_fuzz_arbitrary_unicode(text: str) -> None:
    verdict = judge(facts_for(text))
    assert verdict.status in set(Status)
    assert verdict.status is not Status.IMPLEMENTED or "DCGM" in text or "util" in text.lower()


@settings(max_examples=100, deadline=None)
@given(st.integers(min_value=0, max_value=len(SMALL_DCGM) - 1), st.sampled_from(['{', '"', '}', '\n', ' ', '=']))
def test_fuzz_corrupted_dump(pos: int, char: str) -> None:
    text = SMALL_DCGM[:pos] + char + SMALL_DCGM[pos + 1:]
    verdict = judge(facts_for(text))
    try:
        parse(text)
    except ExpositionError:
        assert verdict.status is Status.ERROR
        return
    assert verdict.status in (Status.IMPLEMENTED, Status.NOT_IMPLEMENTED)


# ---- other exporters, aggregates, one series per advertised device -------------------------
# AMD device-metrics-exporter: metric and label names as its docs list them (metricslist.md; labels gpu_id,
# serial_number, card_model, hostname, gpu_partition_id always set); values and identifiers are our own.
AMD_LABELS = ('serial_number="69205{i}",gpu_id="{i}",gpu_partition_id="0",card_model="102-G30211-00",'
              'hostname="mi300-node",job_id="",pod="",namespace="",container=""')
SMALL_AMD = "".join(
    f"# HELP {n} {h}\n# TYPE {n} gauge\n" + "".join(f"{n}{{{AMD_LABELS.format(i=i)}}} {v}\n" for i in (0, 1))
    for n, h, v in [("gpu_gfx_activity", "Graphics engine usage percentage", 0),
                    ("gpu_used_vram", "Total VRAM memory used in MB", 284),
                    ("gpu_total_vram", "Total VRAM available in MB", 196592),
                    ("gpu_violation_low_utilization_percentage", "GPU Low Utilization Percentage", 100),
                    ("gpu_junction_temperature", "Hotspot temperature", 41),
                    ("gpu_package_power", "Package power", 140)])
# Intel XPU Manager's exporter (xpumanager rest/prometheus_exporter.py): device labels uuid, dev_name, pci_dev,
# vendor, pci_bdf, dev_file, node; a series per device and one per tile (sub_dev); engine utilization scaled to
# a 0-1 ratio; power also per card (labels node and card only: no device).
XPUM_DEV = ('uuid="01000000-0000-0000-0000-00000000004{i}",dev_name="Intel(R) Data Center GPU Max 1550",'
            'pci_dev="0x0bd5",vendor="Intel(R) Corporation",pci_bdf="0000:4d:0{i}.0",dev_file="card{i}",node="pvc-node"')
SMALL_XPUM = "".join(
    f"# HELP {n} {h}\n# TYPE {n} gauge\n" + "".join(
        f"{n}{{{XPUM_DEV.format(i=i)}{extra}{tile}}} {v}\n" for i in (0, 1) for tile in ("", ',sub_dev="0"'))
    for n, h, extra, v in [
        ("xpum_engine_ratio", "GPU active time of the elapsed time (in %), per GPU tile", "", 0.0),
        ("xpum_engine_group_ratio", "Avg utilization of engine group (in %), per GPU tile", ',type="compute"', 0.0),
        ("xpum_memory_used_bytes", "Used GPU memory (in bytes), per GPU tile", "", 1048576)]) + (
    "# HELP xpum_power_watts Avg GPU power (in watts), per GPU and per card\n# TYPE xpum_power_watts gauge\n"
    + "".join(f"xpum_power_watts{{{XPUM_DEV.format(i=i)}}} 98.5\n" for i in (0, 1))
    + 'xpum_power_watts{node="pvc-node",card="2147483649"} 197.0\n')


def test_amd_exporter_is_implemented_by_its_own_names_and_gpu_id() -> None:
    facts = facts_for(SMALL_AMD, advertised={"mi300-node": {"count": 2, "sources": ["2 amd.com/gpu"]}})
    verdict = judge(facts)
    assert verdict.status is Status.IMPLEMENTED, verdict.reasons
    checks = by_name(verdict)
    assert checks["PerAcceleratorUtilization"].reason == "gpu_gfx_activity for 2 accelerator(s)"
    assert "gpu_used_vram" in checks["PerAcceleratorMemory"].reason
    assert checks["SeriesPerAdvertisedDevice"].outcome is Outcome.PASS
    assert "(AMD device-metrics-exporter)" in verdict.reasons[0]
    assert analyse(parse(SMALL_AMD))["utilization"]["accelerators"] == ["mi300-node/serial_number=692050",
                                                                        "mi300-node/serial_number=692051"]


def test_amd_low_utilization_violation_is_not_utilization() -> None:
    """Without gpu_gfx_activity, the 'low utilization' violation counter must not stand in for utilization."""
    text = "".join(line + "\n" for line in SMALL_AMD.splitlines() if "gpu_gfx_activity" not in line)
    verdict = judge(facts_for(text))
    assert verdict.status is Status.NOT_IMPLEMENTED
    assert by_name(verdict)["PerAcceleratorUtilization"].outcome is Outcome.FAIL
    assert "no utilization metric" in by_name(verdict)["PerAcceleratorUtilization"].reason


def test_intel_xpum_exporter_is_implemented() -> None:
    verdict = judge(facts_for(SMALL_XPUM, advertised={"pvc-node": {"count": 2, "sources": ["2 gpu.intel.com/i915"]}}))
    assert verdict.status is Status.IMPLEMENTED, verdict.reasons
    assert "(Intel XPU Manager)" in verdict.reasons[0]
    checks = by_name(verdict)
    assert "for 2 accelerator(s)" in checks["PerAcceleratorUtilization"].reason, checks
    assert "xpum_memory_used_bytes" in checks["PerAcceleratorMemory"].reason
    # the names the previous catalog invented are not the exporter's: on their own they are no utilization
    invented = SMALL_XPUM.replace("xpum_engine_group_ratio", "xpum_engine_group_compute_all_ratio").replace(
        "xpum_engine_ratio", "xpum_engine_all_ratio")
    assert by_name(judge(facts_for(invented)))["PerAcceleratorUtilization"].outcome is Outcome.FAIL


def aggregate(text: str) -> str:
    """The dump as an exporter behind a recording rule that sums GPUs: gpu="all", no other device label."""
    out = []
    for fam in parse(text):
        out.append(f"# TYPE {fam['name']} {fam['type'] if fam['type'] != 'unknown' else 'untyped'}")
        for s in fam["samples"]:
            labels = {k: v for k, v in s["labels"].items() if k not in PER_ACCELERATOR_LABELS}
            body = ",".join(f'{k}="{v}"' for k, v in {"gpu": "all", **labels}.items())
            out.append(f"{s['name']}{{{body}}} {s['value']}")
    return "\n".join(out) + "\n"


@pytest.mark.parametrize("source", ["kops_prom", "small"])
def test_aggregate_gpu_all_is_not_per_accelerator(source: str) -> None:
    text = {"kops_prom": lambda: _need(KOPS_PROM), "small": lambda: SMALL_DCGM}[source]()
    verdict = judge(facts_for(aggregate(text)))
    assert verdict.status is Status.NOT_IMPLEMENTED
    reason = by_name(verdict)["PerAcceleratorUtilization"].reason
    assert 'aggregate values gpu="all" name no single device' in reason


@pytest.mark.parametrize("advertised, outcome, status", [
    ({"i-030791dc5a37cd257": {"count": 1, "sources": ["1 nvidia.com/gpu"]}}, Outcome.PASS, Status.IMPLEMENTED),
    ({"i-030791dc5a37cd257": {"count": 2, "sources": ["2 nvidia.com/gpu"]}}, Outcome.FAIL, Status.NOT_IMPLEMENTED),
    ({"other-node": {"count": 4, "sources": ["4 nvidia.com/gpu"]}}, Outcome.SKIP, Status.IMPLEMENTED),
    ({}, Outcome.SKIP, Status.IMPLEMENTED),
])
def test_kops_series_per_advertised_device(advertised: dict[str, Any], outcome: Outcome, status: Status) -> None:
    """kOps: one L4 on node i-030791dc5a37cd257 (DCGM's Hostname); a node advertising 2 needs 2 series."""
    verdict = judge(facts_for(_need(KOPS_PROM), advertised=advertised))
    check = by_name(verdict)["SeriesPerAdvertisedDevice"]
    assert check.outcome is outcome and verdict.status is status, (check.reason, verdict.reasons)
    if outcome is Outcome.FAIL:
        assert "node i-030791dc5a37cd257 advertises 2 (2 nvidia.com/gpu), series for 1" in check.reason


def test_aicr_two_nodes_of_eight_h100() -> None:
    text = exposition_from_query(aicr_query_results("GPU Utilization (DCGM_FI_DEV_GPU_UTIL)")
                                 + aicr_query_results("GPU Memory Used (DCGM_FI_DEV_FB_USED)"))
    hosts = sorted({s["labels"]["Hostname"] for f in parse(text) for s in f["samples"]})
    assert len(hosts) == 2
    ok = judge(facts_for(text, advertised={h: {"count": 8, "sources": ["8 nvidia.com/gpu"]} for h in hosts}))
    assert by_name(ok)["SeriesPerAdvertisedDevice"].outcome is Outcome.PASS, ok.reasons
    short = judge(facts_for(text, advertised={hosts[0]: {"count": 9, "sources": ["9 nvidia.com/gpu"]}}))
    assert short.status is Status.NOT_IMPLEMENTED


VKS_SLICES = SHARED / "stacks" / "cncf_k8s-ai-conformance__v1.36_vks_dra_support.md__resourceslices.yaml"


def test_vks_resourceslices_count_whole_gpus_per_node() -> None:
    slices = yaml.safe_load(_need(VKS_SLICES))["items"]
    per = dra_devices_per_node(slices)
    assert per and all(set(d) == {"gpu.nvidia.com"} and d["gpu.nvidia.com"] == 1 for d in per.values())
    # a MIG partition published beside its GPU is not another device
    mig = {**slices[0], "spec": {**slices[0]["spec"], "devices": [
        *slices[0]["spec"]["devices"], {"name": "gpu-0-mig-1g", "attributes": {"type": {"string": "mig"}}}]}}
    assert dra_devices_per_node([mig])[slices[0]["spec"]["nodeName"]] == {"gpu.nvidia.com": 1}


def test_amd_and_intel_resourceslices_count_whole_gpus() -> None:
    """AMD's DRA driver (docs/driver-attributes.md): full GPUs type amdgpu, partitions type amdgpu-partition;
    Intel's (doc/gpu/USAGE.md example): devices without a type attribute. Device names and values are our own."""
    amd = {"spec": {"driver": "gpu.amd.com", "nodeName": "mi300", "devices": [
        {"name": "gpu-1-128", "attributes": {"type": {"string": "amdgpu"}, "cardIndex": {"int": 1}}},
        {"name": "gpu-2-129", "attributes": {"type": {"string": "amdgpu"}, "cardIndex": {"int": 2}}},
        {"name": "gpu-9-136", "attributes": {"type": {"string": "amdgpu-partition"}}}]}}
    intel = {"spec": {"driver": "gpu.intel.com", "nodeName": "arc", "devices": [
        {"name": "0000-03-00-0-0x56a0", "attributes": {"driver": {"string": "i915"}}}]}}
    other = {"spec": {"driver": "dra.net", "nodeName": "arc", "devices": [{"name": "eth1"}]}}
    assert dra_devices_per_node([amd, intel, other]) == {"mi300": {"gpu.amd.com": 2}, "arc": {"gpu.intel.com": 1}}


def test_configured_device_label() -> None:
    text = SMALL_DCGM.replace("UUID=", "accel_uuid=").replace('gpu="', 'slot="').replace("pci_bus_id=", "bus=") \
        .replace('device="', 'dev="')
    assert judge(facts_for(text)).status is Status.NOT_IMPLEMENTED
    verdict = judge(facts_for(text, device_label_option="accel_uuid"))
    assert verdict.status is Status.IMPLEMENTED, verdict.reasons
    assert "for 2 accelerator(s)" in by_name(verdict)["PerAcceleratorUtilization"].reason
    assert "the configured label nope" in judge(facts_for(text, device_label_option="nope")).reasons[0]
