"""disaggregated_inference on the simulator: the verify job in-process; the first test through ansible-playbook.
The tests call ``helpers.conformance_e2e.verify_in_process`` (the verify job's code, the options the plan
task gives from the same inventory variables); the first runs ``ansible-playbook conformance.yml --tags
verify,disaggregated_inference``.

Kubernetes v1.36. In the disaggregated-llm-d scenario the
simulated llm-d decode pods answer completions routed through agentgateway and an InferencePool, and the
request id reaches a decode and a prefill pod's log (the P/D sidecar's forwarding, derived by
controllers/gateway.py, not run)."""
from __future__ import annotations

import pytest
from helpers.conformance_e2e import probe_namespaces, run_conformance, verify_in_process

pytestmark = pytest.mark.e2e
REQ = "disaggregated_inference"
KUBERNETES_VERSION = "v1.36.1"  # tests/verify/conftest.py's lab fixture starts the simulator at it
FAST = {"aiconform_disaggregated_inference_pod_timeout": 4, "aiconform_disaggregated_inference_client_timeout": 4}


@pytest.mark.parametrize("lab", ["disaggregated-llm-d"], indirect=True)
def test_llm_d_prefill_decode_is_implemented(lab, tmp_path):
    entry, out = run_conformance(lab, tmp_path, REQ, FAST)
    assert entry["status"] == "Implemented", (entry["reasons"], out[-3000:])
    assert all(c["outcome"] == "pass" for c in entry["checks"])
    assert "Received request aiconform-" in "\n".join(e["content"] for e in entry["evidence"])
    assert not probe_namespaces(lab, REQ)


@pytest.mark.parametrize("lab", ["conformant"], indirect=True)
def test_without_a_disaggregated_stack_is_unknown(lab, tmp_path):
    entry, out = verify_in_process(lab, tmp_path, REQ, FAST)
    assert entry["status"] == "unknown", (entry["reasons"], out[-3000:])
    assert "no disaggregated inference deployment found" in " ".join(entry["reasons"])
