#!/usr/bin/python
# A self-signed CA and serving certificate for an admission webhook, kept stable across runs.
from __future__ import annotations

import base64
import datetime
from typing import Any

from ansible.module_utils.basic import AnsibleModule

try:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
    HAS_CRYPTO = True
except ImportError:  # pragma: no cover - cryptography ships with ansible-core
    HAS_CRYPTO = False


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)


def _still_valid(existing: dict[str, str], dns_names: list[str], renew_before_days: int) -> bool:
    try:
        ca = x509.load_pem_x509_certificate(base64.b64decode(existing["ca.crt"]))
        crt = x509.load_pem_x509_certificate(base64.b64decode(existing["tls.crt"]))
        serialization.load_pem_private_key(base64.b64decode(existing["tls.key"]), password=None)
    except (KeyError, ValueError, TypeError):
        return False
    sans = set(crt.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(x509.DNSName))
    horizon = _now() + datetime.timedelta(days=renew_before_days)
    return (set(dns_names) <= sans and crt.issuer == ca.subject
            and crt.not_valid_after_utc > horizon and ca.not_valid_after_utc > horizon)


def generate(dns_names: list[str], validity_days: int) -> dict[str, str]:
    now = _now() - datetime.timedelta(minutes=5)  # tolerate clock skew with the API server
    until = now + datetime.timedelta(days=validity_days)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "aiconform webhook CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now).not_valid_after(until)
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                       content_commitment=False, key_encipherment=False, data_encipherment=False,
                                       key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    crt = (x509.CertificateBuilder()
           .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, dns_names[0])]))
           .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
           .not_valid_before(now).not_valid_after(until)
           .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in dns_names]), critical=False)
           .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
           .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
           .sign(ca_key, hashes.SHA256()))
    pem = serialization.Encoding.PEM
    return {
        "ca.crt": _b64(ca.public_bytes(pem)),
        "tls.crt": _b64(crt.public_bytes(pem)),
        "tls.key": _b64(key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())),
    }


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "dns_names": {"type": "list", "elements": "str", "required": True},
            "existing": {"type": "dict", "default": {}},
            "validity_days": {"type": "int", "default": 3650},
            "renew_before_days": {"type": "int", "default": 30},
        },
        supports_check_mode=True,
    )
    if not HAS_CRYPTO:
        module.fail_json(msg="the cryptography Python package is required")
    p: dict[str, Any] = module.params
    existing = p["existing"] or {}
    if existing and _still_valid(existing, p["dns_names"], p["renew_before_days"]):
        data, changed = {k: existing[k] for k in ("ca.crt", "tls.crt", "tls.key")}, False
    else:
        data, changed = generate(p["dns_names"], p["validity_days"]), True
    module.exit_json(changed=changed, data=data, ca_bundle=data["ca.crt"])


if __name__ == "__main__":
    main()
