"""Redaction where evidence is recorded: credentials in name/value pairs and URLs (fixes found by issue 11)."""
from __future__ import annotations

from aiconform.redact import REDACTED, redact_value
from aiconform.results import Evidence, RequirementResult, Status


def test_env_style_name_value_pairs_are_redacted_in_recorded_objects() -> None:
    pod = {"kind": "Pod", "spec": {"containers": [{"name": "c", "env": [
        {"name": "REGISTRY_PASSWORD", "value": "hunter2"}, {"name": "HF_TOKEN", "value": "hf_abc"},
        {"name": "LOG_LEVEL", "value": "debug"}]}]}}
    env = redact_value(pod)["spec"]["containers"][0]["env"]
    assert [e["value"] for e in env] == [REDACTED, REDACTED, "debug"]


def test_url_credentials_are_redacted_in_evidence_and_facts() -> None:
    url = "https://scraper:s3cr3t-pw@prometheus.example:9090/api/v1/query"
    ev = Evidence(title="query", content=f"GET {url}", command=f"curl {url}")
    assert "s3cr3t-pw" not in ev.content + ev.command and "prometheus.example:9090" in ev.content
    result = RequirementResult(id="x", status=Status.ERROR, facts={"endpoint": {"url": url}})
    assert "s3cr3t-pw" not in str(result.to_dict())


def test_reasons_quoting_a_url_with_credentials_are_redacted() -> None:
    from aiconform.results import Check, Outcome
    url = "https://u:pw-in-reason@metrics.example/metrics"
    result = RequirementResult(id="x", status=Status.ERROR, reasons=[f"GET {url}: ConnectionRefusedError"],
                               checks=[Check("MetricsEndpoint", Outcome.FAIL, f"GET {url} failed")])
    assert "pw-in-reason" not in str(result.to_dict())
