"""versions.yml, its loader, `aiconform artifacts` and the webhook certificate module (no cluster)."""
from __future__ import annotations

import base64
import json
import sys

import pytest
from cryptography import x509

from aiconform import PROJECT_ROOT, versions
from aiconform.cli import main

sys.path.insert(0, str(PROJECT_ROOT / "plugins" / "modules"))
import webhook_certificate  # noqa: E402


def test_every_component_pins_chart_and_images() -> None:
    data = versions.load()
    for name, entry in data.items():
        # lab: Go modules the lab builds (test_labcluster.py); execution_environment: the EE base image (tests/collection)
        if name in ("schema_version", "kubernetes", "lab", "execution_environment"):
            continue
        assert "chart" in entry or "crds" in entry or "images" in entry, name
        for img in entry.get("images", {}).values():
            assert {"registry", "repository", "tag"} <= set(img), (name, img)


def test_per_minor_choices_fall_back_to_default() -> None:
    assert versions.for_kubernetes("v1.33.9")["dra_api_version"] == "v1beta2"
    assert versions.for_kubernetes("1.36")["cluster_autoscaler_tag"] == "v1.36.1"
    default = versions.get("kubernetes.default_version")
    assert versions.kubernetes_minor(None) == default == versions.kubernetes_minor("v1.99")
    with pytest.raises(versions.VersionsError, match="kueue.chart.nope"):
        versions.get("kueue.chart.nope")


def test_role_defaults_derive_from_the_versions_file() -> None:
    defaults = (PROJECT_ROOT / "roles" / "kueue" / "defaults" / "main.yml").read_text()
    assert "lookup('aiconform.conformance.versions', 'kueue.chart.version')" in defaults


def test_artifacts_lists_every_image_and_chart_with_mirror(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["artifacts", "--format", "json", "--registry-mirror", "mirror.local", "--kubernetes-version", "v1.34"]) == 0
    items = json.loads(capsys.readouterr().out)
    images = [a["ref"] for a in items if a["kind"] == "image"]
    assert "mirror.local/kueue/kueue:v0.19.2" in images
    assert "mirror.local/autoscaling/cluster-autoscaler:v1.34.5" in images
    assert all(i.startswith("mirror.local/") for i in images)
    charts = {a["ref"] for a in items if a["kind"] == "chart"}
    assert "oci://registry.k8s.io/dra-driver-nvidia/charts/dra-driver-nvidia-gpu" in charts
    assert all(a["sha256"] is None for a in items if a["kind"] != "image")  # never invented
    assert main(["artifacts"]) == 0
    assert "registry.k8s.io/autoscaling/cluster-autoscaler:v1.33.6" in capsys.readouterr().out


def test_webhook_certificate_is_generated_once_and_kept() -> None:
    names = ["svc.ns.svc", "svc.ns.svc.cluster.local"]
    data = webhook_certificate.generate(names, 365)
    crt = x509.load_pem_x509_certificate(base64.b64decode(data["tls.crt"]))
    ca = x509.load_pem_x509_certificate(base64.b64decode(data["ca.crt"]))
    assert crt.issuer == ca.subject
    assert set(crt.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(x509.DNSName)) == set(names)
    assert webhook_certificate._still_valid(data, names, 30)
    assert not webhook_certificate._still_valid(data, ["other.ns.svc"], 30)
    assert not webhook_certificate._still_valid(data, names, 400)  # expiring: renew
