"""The lab's emulation of the Prometheus Operator's status reporting (stdlib only; run with the host's Python).

The real operator is not built for the lab (its Prometheus StatefulSet has an init container, which the lab's pod
runner does not run); the chart runs the Prometheus server itself. This writes what the operator would write on the
Prometheus object: conditions Available and Reconciled and the replica counts, from the server's Deployment, every
few seconds. No Deployment, or no ready replica: Available False.
"""
import datetime
import json
import os
import ssl
import sys
import time
import urllib.error
import urllib.request

SA = "/var/run/secrets/kubernetes.io/serviceaccount"
API = f"https://{os.environ['KUBERNETES_SERVICE_HOST']}:{os.environ['KUBERNETES_SERVICE_PORT']}"
NS, PROMETHEUS, WORKLOAD = os.environ["NAMESPACE"], os.environ["PROMETHEUS"], os.environ["WORKLOAD"]
PERIOD = float(os.environ.get("PERIOD", "5"))
TLS = ssl.create_default_context(cafile=f"{SA}/ca.crt")


def call(method, path, body=None):
    with open(f"{SA}/token", encoding="utf-8") as fh:
        token = fh.read().strip()
    req = urllib.request.Request(API + path, method=method, data=None if body is None else json.dumps(body).encode(),
                                 headers={"Authorization": f"Bearer {token}", "Accept": "application/json",
                                          "Content-Type": "application/merge-patch+json"})
    with urllib.request.urlopen(req, context=TLS, timeout=10) as resp:  # noqa: S310 - the API server
        return json.load(resp)


def observe():
    try:
        d = call("GET", f"/apis/apps/v1/namespaces/{NS}/deployments/{WORKLOAD}")
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            return {"replicas": 0, "availableReplicas": 0}, ("False", "NoPodReady", f"Deployment {WORKLOAD} not found")
        raise
    st = d.get("status") or {}
    want = int((d.get("spec") or {}).get("replicas", 1))
    ready = int(st.get("readyReplicas") or 0)
    counts = {"replicas": int(st.get("replicas") or 0), "availableReplicas": int(st.get("availableReplicas") or 0),
              "updatedReplicas": int(st.get("updatedReplicas") or 0), "unavailableReplicas": max(want - ready, 0)}
    if want > 0 and ready >= want:
        return counts, ("True", "", "")
    if ready > 0:
        return counts, ("Degraded", "SomePodsNotReady", f"{ready} of {want} pods ready")
    return counts, ("False", "NoPodReady", f"no pod of Deployment {WORKLOAD} is ready ({want} wanted)")


def main():
    last = None
    while True:
        try:
            counts, (status, reason, message) = observe()
            if last != (status, reason, message, counts.get("availableReplicas")):
                now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
                conds = [{"type": "Available", "status": status, "reason": reason, "message": message,
                          "lastTransitionTime": now, "observedGeneration": 1},
                         {"type": "Reconciled", "status": "True", "reason": "", "message": "",
                          "lastTransitionTime": now, "observedGeneration": 1}]
                call("PATCH", f"/apis/monitoring.coreos.com/v1/namespaces/{NS}/prometheuses/{PROMETHEUS}/status",
                     {"status": {**counts, "paused": False, "conditions": conds}})
                print(f"{NS}/{PROMETHEUS}: Available={status} {reason} {message}".rstrip(), flush=True)
                last = (status, reason, message, counts.get("availableReplicas"))
        except (OSError, ValueError, urllib.error.URLError) as exc:
            print(f"status of {NS}/{PROMETHEUS}: {exc}", file=sys.stderr, flush=True)
            last = None
        time.sleep(PERIOD)


if __name__ == "__main__":
    main()
