"""advanced_inference_ingress judge, table-driven.

Sources (parsed when ../shared is present, else skipped): AICR inference-gateway.md lists the GIE CRDs a
kgateway/GIE install serves (`inferencepools.inference.networking.k8s.io` among them) and the Gateway status
shape. The InferencePool status shape (parents[].parentRef + Accepted/ResolvedRefs, reasons Accepted /
HTTPRouteNotAccepted / InvalidExtensionRef) is GIE v1's API as summarised in the reference stacks; the client
log lines are written per case in the probe's format.
"""
from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import pytest
from aiconform.results import Outcome, Status
from aiconform.verifiers import _networking as net
from aiconform.verifiers.advanced_inference_ingress import judge

SHARED = Path(__file__).resolve().parents[3].parent / "shared" / "fixtures"
AICR = SHARED / "evidence/NVIDIA-aicr/docs/conformance/cncf/evidence/inference-gateway.md"


def aicr_inference_kinds() -> dict[str, list[str]]:
    if not AICR.is_file():
        pytest.skip(f"{AICR} absent")
    m = re.search(r"\$ kubectl get crds \| grep inference\n(.*?)```", AICR.read_text(), re.S)
    assert m
    kinds = {}
    for line in m.group(1).splitlines():
        name = line.split()[0] if line.strip() else ""
        if name == "inferencepools.inference.networking.k8s.io":
            kinds["InferencePool"] = ["v1"]  # the non-x-k8s group is GIE's v1 API
    return kinds


def _parents(ok: bool = True, reason: str = "ResolvedRefs") -> list[dict[str, Any]]:
    return [{"parent": "aiconform-inference-gateway", "kind": "Gateway", "controllerName": "agentgateway.dev/agentgateway",
             "conditions": [{"type": "Accepted", "status": "True", "reason": "Accepted"},
                            {"type": "ResolvedRefs", "status": "True" if ok else "False", "reason": reason}]}]


def _log(codes: list[str]) -> dict[str, Any]:
    lines = [f"RESULT kind=completions n={i} code={c} backend=cmpl-{i}" for i, c in enumerate(codes, 1)]
    return {"phase": "Succeeded", "state": "phase=Succeeded", **net.parse_client_log("\n".join([*lines, "DONE"]))}


def base() -> dict[str, Any]:
    gie = {"group": "inference.networking.k8s.io", "served": True, "versions": ["v1"], "kinds": aicr_inference_kinds()}
    return {
        "options": {"gateway_class": "agentgateway", "model": "m", "completion_requests": 5},
        "discovery": {"missing": net.missing_kinds(gie, {"InferencePool": ("v1",)})},
        "gateway_class": {"name": "agentgateway", "found": True, "controllerName": "agentgateway.dev/agentgateway",
                          "conditions": [{"type": "Accepted", "status": "True", "reason": "Accepted"}], "available": []},
        "probe": {"gateway": "aiconform-inference-gateway"},
        "gateway": {"conditions": [{"type": "Accepted", "status": "True"}, {"type": "Programmed", "status": "True"}]},
        "route": {"parents": _parents()},
        "pool": {"parents": _parents()},
        "model_servers": {"pods": {}},
        "traffic": _log(["200"] * 5),
    }


def _set(f: dict[str, Any], key: str, value: Any) -> dict[str, Any]:
    out = copy.deepcopy(f)
    out[key] = value
    return out


CASES = [
    ("implemented", lambda f: f, Status.IMPLEMENTED, None, "5/5 completions"),
    ("no-gie-crds", lambda f: _set(f, "discovery", {"missing": ["InferencePool (inference.networking.k8s.io/v1)"]}),
     Status.NOT_IMPLEMENTED, "InferencePoolAPIServed", "install the Gateway API Inference Extension"),
    ("class-absent", lambda f: _set(f, "gateway_class", {"name": "agentgateway", "found": False, "available": [
        {"name": "kgateway", "controllerName": "kgateway.dev/kgateway"}]}),
     Status.NOT_IMPLEMENTED, "GatewayClassAccepted", "kgateway (kgateway.dev/kgateway)"),
    ("class-without-gie", lambda f: _set(f, "route", {"timeout": "timed out: Accepted=True, ResolvedRefs=False (InvalidKind: "
                                                                 "unsupported backendRef kind inference.networking.k8s.io/InferencePool)",
                                                      "parents": _parents(False, "InvalidKind")}),
     Status.NOT_IMPLEMENTED, "HTTPRouteAccepted", "InvalidKind"),
    ("epp-missing", lambda f: _set(f, "pool", {"timeout": "timed out: ResolvedRefs=False (InvalidExtensionRef)",
                                               "parents": _parents(False, "InvalidExtensionRef")}),
     Status.NOT_IMPLEMENTED, "InferencePoolAccepted", "InvalidExtensionRef"),
    ("model-server-not-ready", lambda f: _set(f, "model_servers", {"timeout": "timed out: ImagePullBackOff"}),
     Status.UNKNOWN, None, "ImagePullBackOff"),
    ("some-503", lambda f: _set(f, "traffic", _log(["200", "503", "200", "200", "200"])),
     Status.NOT_IMPLEMENTED, "CompletionsThroughGateway", "503×1"),
    ("too-few", lambda f: _set(f, "traffic", _log(["200", "200"])),
     Status.NOT_IMPLEMENTED, "CompletionsThroughGateway", "2/5"),
]


@pytest.mark.parametrize(("case", "modify", "status", "failing", "words"), CASES, ids=[c[0] for c in CASES])
def test_judge(case, modify, status, failing, words) -> None:
    v = judge(modify(base()))
    assert v.status is status, v.reasons
    assert words in " ".join(v.reasons)
    by = {c.name: c for c in v.checks}
    assert len(by) == 6
    if failing:
        assert by[failing].outcome is Outcome.FAIL
    assert (v.status is Status.IMPLEMENTED) == all(c.outcome is Outcome.PASS for c in v.checks)


@pytest.mark.parametrize("listing, status, needle", [
    ([{"name": "gke-l7-rilb", "controllerName": "networking.gke.io/gateway", "accepted": True},
      {"name": "gke-l7-regional-external-managed", "controllerName": "networking.gke.io/gateway", "accepted": True}],
     Status.UNKNOWN, "set aiconform_advanced_inference_ingress_gateway_class"),
    ([{"name": "istio", "controllerName": "istio.io/gateway-controller", "accepted": False,
       "conditions": [{"type": "Accepted", "status": "Unknown", "reason": "Pending"}]}],
     Status.NOT_IMPLEMENTED, "no GatewayClass is Accepted by its controller: istio"),
])
def test_no_class_chosen(listing: list[dict[str, Any]], status: Status, needle: str) -> None:
    from aiconform.verifiers import _networking as net
    facts = base()
    facts["gateway_class"] = {"name": "", "available": listing, "choice": net.choose_gateway_class(
        "", listing, "agentgateway", "aiconform_advanced_inference_ingress_gateway_class")}
    verdict = judge(facts)
    assert verdict.status is status and needle in verdict.reasons[0], verdict.reasons
