"""The lab's volcano stack, pure parts: its wrapper module, what `lab up --stack volcano` applies, how the runner
recognises its pods, and the scheduler configuration (with and without the gang plugin)."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from aiconform import versions
from aiconform.labcluster import build, pods, volcano

TLS = {"ca.crt": b"CA", "tls.crt": b"CRT", "tls.key": b"KEY"}


def _objects() -> list[tuple[str, dict]]:
    return volcano.objects(TLS)


def _deployments() -> dict[str, dict]:
    return {obj["metadata"]["name"]: obj for _path, obj in _objects() if obj["kind"] == "Deployment"}


def test_the_stack_runs_volcanos_scheduler_controller_and_webhook_manager_from_their_pins() -> None:
    names = ["volcano-scheduler", "volcano-controller-manager", "volcano-webhook-manager"]
    assert build.stack_controllers("volcano") == names
    assert build.wrapper_groups(names) == [sorted(names)]  # one wrapper module: shared compiled packages
    for name, deployment, main in (("volcano-scheduler", volcano.SCHEDULER, "scheduler"),
                                   ("volcano-controller-manager", volcano.CONTROLLERS, "controller-manager"),
                                   ("volcano-webhook-manager", volcano.ADMISSION, "webhook-manager")):
        pin = build.upstream_pin(name)
        assert (pin["module"], pin["package"]) == ("volcano.sh/volcano", f"volcano.sh/volcano/cmd/{main}")
        assert pin["reference_version"] == "v1.15.1" and pin["deviation"], pin
        assert pin["version"] == build.upstream_pin("volcano-scheduler")["version"]
        ctr = _deployments()[deployment]["spec"]["template"]["spec"]["containers"][0]
        # the Deployment's image is upstream's, the one the pod runner backs with the built binary, any registry
        assert pods.controller_of(ctr["image"]) == name
        assert pods.controller_of("mirror.example/" + ctr["image"].split("/", 1)[1]) == name
        assert ctr["image"].endswith(f":{pin['version']}")
        assert ctr["readinessProbe"]["httpGet"]["port"] == volcano.HEALTHZ_PORT
        if name != "volcano-webhook-manager":
            assert "--leader-elect=false" in ctr["args"] and f"--scheduler-name={volcano.SCHEDULER_NAME}" in ctr["args"]
        else:  # pflag refuses unknown flags: the webhook-manager has no leader election
            assert not [a for a in ctr["args"] if a.startswith("--leader-elect")], ctr["args"]
    assert "403" in build.upstream_pin("volcano-scheduler")["deviation"]
    # the pod images are not artifacts the install phase mirrors
    assert not [a for a in versions.artifacts() if "volcanosh" in a.ref]


def test_the_wrapper_pins_kubernetes_staging_and_the_served_api_module(monkeypatch: pytest.MonkeyPatch,
                                                                       tmp_path: Path) -> None:
    def fake_download(go: str, module: str, version: str) -> Path:
        f = tmp_path / (module.replace("/", "_") + ".mod")
        body = ("require (\n\tk8s.io/api v0.0.0\n\tk8s.io/kube-scheduler v0.0.0\n\tk8s.io/utils v0.0.0-2025\n)\n"
                if module == "k8s.io/kubernetes" else "go 1.24.0\n")
        f.write_text(f"module {module}\n\n{body}")
        return f

    monkeypatch.setattr(build, "_download_mod", fake_download)
    t = build.wrapper_target(build.stack_controllers("volcano"))
    kube = versions.get("lab.kubernetes")[build.upstream_pin("volcano-scheduler")["kubernetes"]]
    assert f"\tk8s.io/kubernetes {kube['version']}" in t.go_mod
    assert f"\tk8s.io/api => k8s.io/api {kube['staging']}" in t.go_mod
    assert f"\tk8s.io/kube-scheduler => k8s.io/kube-scheduler {kube['staging']}" in t.go_mod
    assert "k8s.io/utils =>" not in t.go_mod
    assert "\tvolcano.sh/apis => volcano.sh/apis v1.14.0" in t.go_mod and "\tvolcano.sh/apis v1.14.0" in t.go_mod
    assert ("tool (\n\tvolcano.sh/volcano/cmd/controller-manager\n\tvolcano.sh/volcano/cmd/scheduler\n"
            "\tvolcano.sh/volcano/cmd/webhook-manager\n)") in t.go_mod
    assert t.sums.exists(), t.sums  # pinned hashes committed


def test_the_scheduler_configuration_and_its_gangless_variant() -> None:
    cm = next(obj for _p, obj in _objects() if obj["kind"] == "ConfigMap" and obj["metadata"]["name"] == volcano.CONFIGMAP)
    conf = yaml.safe_load(cm["data"][volcano.CONF_FILE])
    assert [a.strip() for a in conf["actions"].split(",")] == ["enqueue", "allocate", "backfill"]
    plugins = [p["name"] for t in conf["tiers"] for p in t["plugins"]]
    assert {"gang", "priority", "predicates", "proportion", "nodeorder"} <= set(plugins), plugins
    broken = yaml.safe_load(volcano.scheduler_conf(without=("gang",)))
    assert [p["name"] for t in broken["tiers"] for p in t["plugins"]] == [p for p in plugins if p != "gang"]
    sched = _deployments()[volcano.SCHEDULER]["spec"]["template"]["spec"]
    mount = sched["containers"][0]["volumeMounts"][0]
    assert f"--scheduler-conf={mount['mountPath']}/{volcano.CONF_FILE}" in sched["containers"][0]["args"]
    assert sched["volumes"][0]["configMap"]["name"] == cm["metadata"]["name"]
    # no Queue of the lab's: the scheduler creates Queue default itself (through the queue webhooks)
    assert not [obj for _p, obj in _objects() if obj["kind"] == "Queue"]
    assert f"--default-queue={volcano.QUEUE}" in sched["containers"][0]["args"]


def test_the_admission_webhooks_as_the_chart_lays_them_out() -> None:
    objs = _objects()
    kinds = [obj["kind"] for _p, obj in objs]
    # the webhook configurations exist before any Volcano program runs
    assert max(i for i, k in enumerate(kinds) if k.endswith("WebhookConfiguration")) < kinds.index("Deployment")
    adm = _deployments()[volcano.ADMISSION]["spec"]["template"]["spec"]
    args = adm["containers"][0]["args"]
    enabled = next(a for a in args if a.startswith("--enabled-admission=")).split("=", 1)[1].split(",")
    assert enabled == list(volcano.ENABLED_ADMISSIONS) and "/podgroups/validate" in enabled
    certs = next(m for m in adm["containers"][0]["volumeMounts"] if m["name"] == "admission-certs")["mountPath"]
    for flag, key in (("--tls-cert-file", "tls.crt"), ("--tls-private-key-file", "tls.key"), ("--ca-cert-file", "ca.crt")):
        assert f"{flag}={certs}/{key}" in args
    assert f"--webhook-service-name={volcano.ADMISSION_SERVICE}" in args and f"--webhook-namespace={volcano.NAMESPACE}" in args
    assert adm["containers"][0]["readinessProbe"]["httpGet"]["scheme"] == "HTTPS"
    secret = next(obj for _p, obj in objs if obj["kind"] == "Secret")
    assert secret["metadata"]["name"] == volcano.ADMISSION_SECRET == next(
        v["secret"]["secretName"] for v in adm["volumes"] if v["name"] == "admission-certs")
    assert sorted(secret["data"]) == ["ca.crt", "tls.crt", "tls.key"]
    svc = next(obj for _p, obj in objs if obj["kind"] == "Service")
    assert svc["spec"]["selector"] == _deployments()[volcano.ADMISSION]["spec"]["selector"]["matchLabels"]
    assert svc["spec"]["ports"][0]["targetPort"] == volcano.ADMISSION_PORT
    assert f"--port={volcano.ADMISSION_PORT}" in args
    configs = {obj["metadata"]["name"]: (path, obj) for path, obj in volcano.webhook_configurations()}
    # one per enabled admission, named as the webhook-manager looks them up (volcano-admission-service-<path>)
    assert sorted(configs) == sorted("volcano-admission-service" + p.replace("/", "-") for p in enabled)
    path, pg = configs["volcano-admission-service-podgroups-validate"]
    assert path.endswith("/validatingwebhookconfigurations") and pg["kind"] == "ValidatingWebhookConfiguration"
    hook = pg["webhooks"][0]
    assert hook["clientConfig"]["service"] == {"name": volcano.ADMISSION_SERVICE, "namespace": volcano.NAMESPACE,
                                               "path": "/podgroups/validate", "port": 443}
    assert "caBundle" not in hook["clientConfig"]  # the webhook-manager writes it from --ca-cert-file
    assert hook["failurePolicy"] == "Fail" and hook["rules"][0]["resources"] == ["podgroups"]
    assert volcano.NAMESPACE in hook["namespaceSelector"]["matchExpressions"][0]["values"]
    assert configs["volcano-admission-service-queues-mutate"][1]["kind"] == "MutatingWebhookConfiguration"
    assert "namespaceSelector" not in configs["volcano-admission-service-hypernodes-validate"][1]["webhooks"][0]


def test_the_admission_certificate_serves_the_service_name(tmp_path: Path) -> None:
    from cryptography import x509

    tls = volcano.admission_tls(tmp_path)
    ca = x509.load_pem_x509_certificate(tls["ca.crt"])
    cert = x509.load_pem_x509_certificate(tls["tls.crt"])
    assert cert.issuer == ca.subject and cert.issuer != cert.subject
    cert.verify_directly_issued_by(ca)
    sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(x509.DNSName)
    assert f"{volcano.ADMISSION_SERVICE}.{volcano.NAMESPACE}.svc" in sans
    assert b"PRIVATE KEY" in tls["tls.key"]


def test_missing_crds_say_what_to_build(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="aiconform lab build --stack volcano"):
        volcano.crds(tmp_path)


class _Api:
    def __init__(self, objs: dict[str, dict]) -> None:
        self.objs = objs

    def request(self, method: str, path: str) -> tuple[int, dict]:
        for k, v in self.objs.items():
            if path.endswith(k):
                return 200, v
        return 404, {}


def test_ready_waits_for_the_pods_the_ca_bundles_and_the_open_queue() -> None:
    ready = {"status": {"readyReplicas": 1}}
    assert "volcano-admission has no Ready pod" in str(volcano.ready(_Api({})))
    assert "volcano-controllers has no Ready pod" in str(volcano.ready(_Api({"volcano-admission": ready})))
    assert "volcano-scheduler has no Ready pod" in str(volcano.ready(_Api({"volcano-admission": ready,
                                                                           "volcano-controllers": ready})))
    pods_ok = {"volcano-admission": ready, "volcano-controllers": ready, "volcano-scheduler": ready}
    assert "has no caBundle yet" in str(volcano.ready(_Api(pods_ok)))
    hooks = {obj["metadata"]["name"]: {"webhooks": [{"clientConfig": {"caBundle": "Q0E="}}]}
             for _p, obj in volcano.webhook_configurations()}
    unpatched = {**hooks, "volcano-admission-service-queues-validate": {"webhooks": [{"clientConfig": {}}]}}
    assert "queues-validate has no caBundle yet" in str(volcano.ready(_Api({**pods_ok, **unpatched})))
    both = {**pods_ok, **hooks}
    assert "Queue default is not Open" in str(volcano.ready(_Api({**both, "queues/default": {"status": {}}})))
    assert volcano.ready(_Api({**both, "queues/default": {"status": {"state": "Open"}}})) is None
