"""Judge for robust_controller: facts → verdict, pure.

Subtests as upstream ``TestRobustCRDControllerOperation``: ``OperatorPodsRunning``, ``CRDRegistered``,
``WebhookOperational`` (a ValidatingWebhookConfiguration for the CRD's group/resource with a non-empty
caBundle, served by the operator's own Service), ``WebhookRejectsInvalidCR`` (the error says "denied the request"
and names one of the operator's own webhooks: a Gatekeeper ``*/*`` webhook or Kueue's ``vraycluster.kb.io`` does
not count), ``ControllerReconcilesCR`` (ready/Complete with children created). Every one must pass.

With ``operator: auto`` (the default) the operator is detected: the one built-in profile (KubeRay, Kubeflow
Trainer) whose CRDs or pods are present. Several → Unknown naming them and the variable; none, but CRDs of
another AI operator → Unknown naming the generic profile's variables; nothing → Not Implemented.
"""
from __future__ import annotations

from typing import Any

from ...results import Check, Outcome, Status, Verdict
from .profiles import GENERIC_VARS, PROFILES

OPERATOR_VAR = "aiconform_robust_controller_operator"


def judge(facts: dict[str, Any]) -> Verdict:
    det = facts.get("detection") or {}
    if facts.get("requested", "auto") == "auto" and det and not det.get("chosen"):
        return _undetected(det)
    name = facts.get("operator_name") or facts.get("operator") or "the operator"
    checks: list[Check] = []
    reasons: list[str] = []
    undecided: list[str] = []
    pods = facts.get("pods") or []
    crds = facts.get("crds") or []

    if not pods and not any(c.get("present") for c in crds):
        why = (f"{name} is not installed: no pod labelled {facts.get('selector')} and none of the CRDs "
               f"{', '.join(c['name'] for c in crds)} exist")
        checks.append(Check("OperatorPodsRunning", Outcome.FAIL, why))
        for sub in ("CRDRegistered", "WebhookOperational", "WebhookRejectsInvalidCR", "ControllerReconcilesCR"):
            checks.append(Check(sub, Outcome.SKIP, "operator not installed"))
        return Verdict(Status.NOT_IMPLEMENTED, [why], checks)

    # OperatorPodsRunning
    bad = [p for p in pods if p.get("phase") != "Running" or not p.get("ready")]
    if not pods:
        _fail(checks, reasons, "OperatorPodsRunning", f"no {name} operator pod labelled {facts.get('selector')}")
    elif bad:
        _fail(checks, reasons, "OperatorPodsRunning", facts.get("pods_timeout") or
              "operator pods not Running and Ready: " + ", ".join(f"{p['name']} {p.get('phase')}" for p in bad))
    else:
        checks.append(Check("OperatorPodsRunning", Outcome.PASS,
                            f"{len(pods)} pod(s) Running and Ready in {facts.get('namespace')}"))

    # CRDRegistered
    missing = [c["name"] for c in crds if not c.get("established")]
    if missing:
        _fail(checks, reasons, "CRDRegistered", f"CRDs not Established: {', '.join(missing)}")
    else:
        checks.append(Check("CRDRegistered", Outcome.PASS, ", ".join(c["name"] for c in crds) + " Established"))

    # WebhookOperational: only a webhook served by the operator's own Service counts
    hooks = facts.get("webhooks") or []
    owned = [h for h in hooks if h.get("owned")]
    foreign = [h for h in hooks if not h.get("owned")]
    usable = [h for h in owned if h.get("ca_bundle")]
    if not hooks:
        _fail(checks, reasons, "WebhookOperational",
              f"no ValidatingWebhookConfiguration validates {name}'s custom resources ({_hint(facts)})")
    elif not owned:
        nearby = [h for h in foreign if h.get("same_namespace")]
        text = (f"{len(hooks)} webhook(s) match {name}'s resources, none served by the operator's own Service: "
                + "; ".join(_who(h) for h in hooks))
        if nearby:
            # A Service beside the operator that does not select its pods: maybe a separate webhook Deployment.
            checks.append(Check("WebhookOperational", Outcome.FAIL, text))
            undecided.append(text + f" ({_who(nearby[0])} is in the operator's namespace: if it is the operator's "
                             "webhook server, set aiconform_robust_controller_operator_selector to select its pods)")
        else:
            _fail(checks, reasons, "WebhookOperational", text + f" ({_hint(facts)})")
    elif not usable:
        _fail(checks, reasons, "WebhookOperational",
              f"webhook {owned[0]['configuration']}/{owned[0]['name']} has an empty caBundle")
    else:
        h = usable[0]
        checks.append(Check("WebhookOperational", Outcome.PASS,
                            f"{h['configuration']}/{h['name']} with a CA bundle, served by the operator's Service "
                            f"{h.get('service') or h.get('url')}"))

    # WebhookRejectsInvalidCR
    inv = facts.get("invalid")
    if inv is None:
        checks.append(Check("WebhookRejectsInvalidCR", Outcome.SKIP, "CRDs not Established: no custom resource sent"))
    elif inv.get("accepted"):
        _fail(checks, reasons, "WebhookRejectsInvalidCR", "an invalid custom resource was accepted (server dry run): "
              "no webhook rejected it")
    elif inv.get("by_webhook"):
        who = inv.get("webhook") or ""
        mine = {h["name"] for h in owned}
        others = [h for h in foreign if h["name"] == who]
        if who and who in mine:
            checks.append(Check("WebhookRejectsInvalidCR", Outcome.PASS, _short(inv.get("message", ""))))
        elif others and not any(h.get("same_namespace") for h in others):
            _fail(checks, reasons, "WebhookRejectsInvalidCR", f"rejected by {_who(others[0])}, not by the operator's "
                  "own webhook: " + _short(inv.get("message", "")))
        elif not who and owned and not foreign:
            checks.append(Check("WebhookRejectsInvalidCR", Outcome.PASS, _short(inv.get("message", ""))))
        else:
            text = (f"rejected by webhook {who or '(not named in the error)'}, which aiconform cannot tie to the "
                    "operator's Service: " + _short(inv.get("message", "")))
            checks.append(Check("WebhookRejectsInvalidCR", Outcome.FAIL, text))
            undecided.append(text)
    elif inv.get("webhook_unreachable"):
        _fail(checks, reasons, "WebhookRejectsInvalidCR", "the webhook could not be called: " + _short(inv.get("message", "")))
    else:
        _fail(checks, reasons, "WebhookRejectsInvalidCR", "rejected, but not by an admission webhook: "
              + _short(inv.get("message", "")))

    # ControllerReconcilesCR
    val = facts.get("valid")
    if val is None:
        checks.append(Check("ControllerReconcilesCR", Outcome.SKIP, "CRDs not Established: no custom resource sent"))
    elif not val.get("created"):
        _fail(checks, reasons, "ControllerReconcilesCR", f"the valid custom resource was refused: {_short(val.get('message', ''))}")
    elif val.get("ready"):
        checks.append(Check("ControllerReconcilesCR", Outcome.PASS, _reconciled_text(val)))
    else:
        kids = val.get("children") or {}
        text = f"{val.get('name')} not reconciled: {val.get('timeout', '')}"
        if kids.get("pods") or kids.get("services") or kids.get("jobsets"):
            # The controller acted (children exist) but they never got ready: image pulls, capacity. Undecided.
            checks.append(Check("ControllerReconcilesCR", Outcome.FAIL, text))
            undecided.append(text + " (the controller created children; they did not become ready in time)")
        else:
            _fail(checks, reasons, "ControllerReconcilesCR", text + " (no child object was created)")

    conds = facts.get("operator_conditions") or []
    cond_text = "; ".join(f"{c['deployment']} {c['type']}={c['status']}" for c in conds)
    if reasons:
        return Verdict(Status.NOT_IMPLEMENTED, reasons, checks)
    if undecided:
        return Verdict(Status.UNKNOWN, undecided, checks)
    return Verdict(Status.IMPLEMENTED, [f"{name}{_how(facts)}: operator running, CRDs established, its webhook rejects invalid "
                                        f"resources, {_reconciled_text(val or {})}"
                                        + (f"; operator conditions: {cond_text}" if cond_text else "")], checks)


def _undetected(det: dict[str, Any]) -> Verdict:
    """operator: auto found zero or several built-in operators."""
    cands = det.get("candidates") or []
    skip = [Check(sub, Outcome.SKIP, "no operator chosen") for sub in
            ("OperatorPodsRunning", "CRDRegistered", "WebhookOperational", "WebhookRejectsInvalidCR",
             "ControllerReconcilesCR")]
    if cands:
        found = "; ".join(f"{c['name']} (CRDs {', '.join(c.get('crds') or []) or 'none'}, pods "
                          f"{', '.join(c.get('pods') or []) or 'none'})" for c in cands)
        return Verdict(Status.UNKNOWN, [f"several AI operators found, none clearly complete: {found}; set "
                                        f"{OPERATOR_VAR} to the one to test ({', '.join(c['operator'] for c in cands)})"],
                       skip)
    others = det.get("other_operators") or []
    if others:
        found = ", ".join(f"{o['name']} ({o['crd']})" for o in others)
        return Verdict(Status.UNKNOWN, [f"no KubeRay or Kubeflow Trainer, but CRDs of other AI operators: {found}; "
                                        f"aiconform has no built-in profile for them: set {GENERIC_VARS}"], skip)
    looked = "; ".join(f"{n}: CRDs {', '.join(w['crds'])}, pods -l {w['selector']}"
                       for n, w in (det.get("looked_for") or {}).items())
    return Verdict(Status.NOT_IMPLEMENTED, [f"no AI operator found (looked for {looked}); for another operator set "
                                            f"{GENERIC_VARS}"], skip)


def _how(facts: dict[str, Any]) -> str:
    if facts.get("requested", "auto") == "auto" and facts.get("detection"):
        return " (detected)"
    return f" ({OPERATOR_VAR}: {facts.get('requested')})" if facts.get("requested") else ""


def _who(h: dict[str, Any]) -> str:
    return (f"{h.get('configuration')}/{h.get('name')} (service {h.get('service') or h.get('url') or 'none'}"
            + (", rules for every API group" if h.get("wildcard") else "") + ")")


def _hint(facts: dict[str, Any]) -> str:
    prof = PROFILES.get(facts.get("operator") or "kuberay")
    return facts.get("install_hint") or (prof.install_hint if prof else "install the operator's webhook")


def _fail(checks: list[Check], reasons: list[str], name: str, why: str) -> None:
    checks.append(Check(name, Outcome.FAIL, why))
    reasons.append(f"{name}: {why}")


def _short(text: str, limit: int = 300) -> str:
    return text if len(text) <= limit else text[:limit] + "…"


def _reconciled_text(val: dict[str, Any]) -> str:
    st, kids = val.get("status") or {}, val.get("children") or {}
    if "state" in st:
        pods = kids.get("pods") or []
        return (f"{val.get('name')} state {st.get('state')}, {st.get('availableWorkerReplicas', 0)}/"
                f"{st.get('desiredWorkerReplicas', 0)} workers, {len(pods)} pod(s), services "
                f"{', '.join(kids.get('services') or [])}")
    return f"{val.get('name')} Complete, children {kids.get('jobsets') or kids.get('pods')}"
