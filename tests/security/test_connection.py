"""Connection security: TLS verification on unless turned off explicitly; the given token is the identity."""
from __future__ import annotations

from pathlib import Path

import yaml
from aiconform.kube import CONNECTION_ARGSPEC, connect

from aiconform import PROJECT_ROOT
from aiconform.sim.cli import write_kubeconfig


def test_tls_verification_is_on_by_default() -> None:
    assert CONNECTION_ARGSPEC["validate_certs"]["default"] is True
    spec = yaml.safe_load((PROJECT_ROOT / "roles/aiconform_preflight/meta/argument_specs.yml").read_text())
    assert spec["argument_specs"]["main"]["options"]["aiconform_validate_certs"]["default"] is True
    assert connect({"host": "https://api.example:6443", "api_key": "x"}).tls_verify is True
    assert connect({"host": "https://api.example:6443", "validate_certs": False}).tls_verify is False


def test_api_key_wins_over_the_kubeconfig_identity(tmp_path: Path) -> None:
    # kubernetes>=35 keeps the kubeconfig token under "BearerToken"; aiconform_api_key must replace it
    write_kubeconfig(tmp_path / "kubeconfig", "https://api.example:6443", "admin-token-from-kubeconfig")
    conn = connect({"kubeconfig": str(tmp_path / "kubeconfig"), "api_key": "verify-sa-token"})
    assert conn.api.configuration.auth_settings()["BearerToken"]["value"] == "Bearer verify-sa-token"


def test_token_parameters_are_no_log() -> None:
    assert CONNECTION_ARGSPEC["api_key"]["no_log"] is True
    spec = yaml.safe_load((PROJECT_ROOT / "roles/aiconform_preflight/meta/argument_specs.yml").read_text())
    assert spec["argument_specs"]["main"]["options"]["aiconform_api_key"]["no_log"] is True
