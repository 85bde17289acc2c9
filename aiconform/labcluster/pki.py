"""The lab's certificates, as kubeadm lays them out: a cluster CA, a front-proxy CA, serving and client certs.

Everything is written into the lab's private state directory (0700, files 0600) and removed with it.
"""
from __future__ import annotations

import datetime as dt
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

_DAY = dt.timedelta(days=1)


@dataclass(frozen=True)
class Pair:
    cert: Path
    key: Path


def _write(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)


def _key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _key_pem(key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _name(cn: str, orgs: tuple[str, ...] = ()) -> x509.Name:
    attrs = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, o) for o in orgs]
    return x509.Name([*attrs, x509.NameAttribute(NameOID.COMMON_NAME, cn)])


class CA:
    def __init__(self, directory: Path, name: str, cn: str):
        self.key = _key()
        now = dt.datetime.now(dt.timezone.utc)
        self.cert = (x509.CertificateBuilder().subject_name(_name(cn)).issuer_name(_name(cn))
                     .public_key(self.key.public_key()).serial_number(x509.random_serial_number())
                     .not_valid_before(now - _DAY).not_valid_after(now + 3650 * _DAY)
                     .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                     .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                                  content_commitment=False, key_encipherment=False,
                                                  data_encipherment=False, key_agreement=False,
                                                  encipher_only=False, decipher_only=False), critical=True)
                     .sign(self.key, hashes.SHA256()))
        self.pair = Pair(directory / f"{name}.crt", directory / f"{name}.key")
        _write(self.pair.cert, self.cert.public_bytes(serialization.Encoding.PEM))
        _write(self.pair.key, _key_pem(self.key))

    def issue(self, directory: Path, name: str, cn: str, *, orgs: tuple[str, ...] = (), server: bool = False,
              client: bool = False, dns: tuple[str, ...] = (), ips: tuple[str, ...] = ()) -> Pair:
        key = _key()
        now = dt.datetime.now(dt.timezone.utc)
        usages = ([ExtendedKeyUsageOID.SERVER_AUTH] if server else []) + \
                 ([ExtendedKeyUsageOID.CLIENT_AUTH] if client else [])
        builder = (x509.CertificateBuilder().subject_name(_name(cn, orgs)).issuer_name(self.cert.subject)
                   .public_key(key.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(now - _DAY).not_valid_after(now + 365 * _DAY)
                   .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                   .add_extension(x509.ExtendedKeyUsage(usages), critical=False))
        sans: list[x509.GeneralName] = [x509.DNSName(d) for d in dns]
        sans += [x509.IPAddress(ipaddress.ip_address(i)) for i in ips]
        if sans:
            builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
        cert = builder.sign(self.key, hashes.SHA256())
        pair = Pair(directory / f"{name}.crt", directory / f"{name}.key")
        _write(pair.cert, cert.public_bytes(serialization.Encoding.PEM))
        _write(pair.key, _key_pem(key))
        return pair


@dataclass(frozen=True)
class PKI:
    ca: Pair
    front_proxy_ca: Pair
    apiserver: Pair
    apiserver_kubelet_client: Pair
    front_proxy_client: Pair
    admin: Pair
    controller_manager: Pair
    scheduler: Pair
    kwok: Pair
    kwok_serving: Pair
    sa_key: Path
    sa_pub: Path


def generate(directory: Path, *, apiserver_ips: tuple[str, ...], node_ips: tuple[str, ...]) -> PKI:
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    ca = CA(directory, "ca", "kubernetes")
    fp = CA(directory, "front-proxy-ca", "front-proxy-ca")
    apiserver = ca.issue(directory, "apiserver", "kube-apiserver", server=True,
                         dns=("localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc",
                              "kubernetes.default.svc.cluster.local"),
                         ips=("127.0.0.1", *apiserver_ips))
    sa = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    sa_key, sa_pub = directory / "sa.key", directory / "sa.pub"
    _write(sa_key, _key_pem(sa))
    _write(sa_pub, sa.public_key().public_bytes(serialization.Encoding.PEM,
                                                serialization.PublicFormat.SubjectPublicKeyInfo))
    return PKI(
        ca=ca.pair, front_proxy_ca=fp.pair, apiserver=apiserver,
        apiserver_kubelet_client=ca.issue(directory, "apiserver-kubelet-client", "kube-apiserver-kubelet-client",
                                          orgs=("kubeadm:cluster-admins",), client=True),
        front_proxy_client=fp.issue(directory, "front-proxy-client", "front-proxy-client", client=True),
        admin=ca.issue(directory, "admin", "kubernetes-admin", orgs=("system:masters",), client=True),
        controller_manager=ca.issue(directory, "controller-manager", "system:kube-controller-manager", client=True),
        scheduler=ca.issue(directory, "scheduler", "system:kube-scheduler", client=True),
        # kwok stands in for every node's kubelet: it patches node and pod status of all nodes it manages
        kwok=ca.issue(directory, "kwok", "kwok-controller", orgs=("system:masters",), client=True),
        kwok_serving=ca.issue(directory, "kwok-serving", "kwok-kubelet", server=True, ips=node_ips),
        sa_key=sa_key, sa_pub=sa_pub)


def webhook_serving(directory: Path, name: str, service: str, namespace: str) -> dict[str, bytes]:
    """A webhook Service's TLS Secret data as an installer's certificate job writes it (Volcano's
    gen-admission-secret.sh): a CA of its own and a serving certificate it signs (CN ``<service>.<namespace>.svc``)
    for ``<service>``, ``<service>.<namespace>`` and ``<service>.<namespace>.svc``; keys ``ca.crt``, ``tls.crt``,
    ``tls.key``. The script gives its CA the serving certificate's CN; here the CA is ``<that>-ca``, so that issuer
    and subject differ. The files stay in ``directory`` (the lab's PKI) as ``<name>-ca.*`` and ``<name>.*``."""
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    host = f"{service}.{namespace}.svc"
    ca = CA(directory, f"{name}-ca", f"{host}-ca")
    pair = ca.issue(directory, name, host, server=True, dns=(service, f"{service}.{namespace}", host))
    return {"ca.crt": ca.pair.cert.read_bytes(), "tls.crt": pair.cert.read_bytes(), "tls.key": pair.key.read_bytes()}
