"""Generates a small certificate authority plus a server and a client certificate (for 2-way SSL).

    python make_certs.py [certdir]        # default: ./certs

Needs the `cryptography` package. The files are for this example only: never use them for anything real.
"""
from __future__ import annotations

import datetime
import ipaddress
import os
import sys

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Pyro5 ssl example"),
                      x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _write(path: str, data: bytes) -> None:
    with open(path, "wb") as f:
        f.write(data)


def make_certs(certdir: str) -> dict[str, str]:
    """Writes ca.pem, server.pem/server.key and client.pem/client.key into certdir; returns their paths."""
    os.makedirs(certdir, exist_ok=True)
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = (x509.CertificateBuilder()
               .subject_name(_name("Pyro5 example CA")).issuer_name(_name("Pyro5 example CA"))
               .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - datetime.timedelta(minutes=5))
               .not_valid_after(now + datetime.timedelta(days=30))
               .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
               .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                            content_commitment=False, key_encipherment=False,
                                            data_encipherment=False, key_agreement=False,
                                            encipher_only=False, decipher_only=False), critical=True)
               .sign(ca_key, hashes.SHA256()))
    paths = {"ca": os.path.join(certdir, "ca.pem")}
    _write(paths["ca"], ca_cert.public_bytes(serialization.Encoding.PEM))

    for role, usage in (("server", ExtendedKeyUsageOID.SERVER_AUTH), ("client", ExtendedKeyUsageOID.CLIENT_AUTH)):
        key = ec.generate_private_key(ec.SECP256R1())
        builder = (x509.CertificateBuilder()
                   .subject_name(_name(f"pyro5-example-{role}")).issuer_name(ca_cert.subject)
                   .public_key(key.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(now - datetime.timedelta(minutes=5))
                   .not_valid_after(now + datetime.timedelta(days=30))
                   .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                   .add_extension(x509.ExtendedKeyUsage([usage]), critical=False))
        if role == "server":
            builder = builder.add_extension(x509.SubjectAlternativeName([
                x509.DNSName("localhost"),
                x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                x509.IPAddress(ipaddress.ip_address("::1"))]), critical=False)
        cert = builder.sign(ca_key, hashes.SHA256())
        paths[role] = os.path.join(certdir, f"{role}.pem")
        paths[role + "_key"] = os.path.join(certdir, f"{role}.key")
        _write(paths[role], cert.public_bytes(serialization.Encoding.PEM))
        _write(paths[role + "_key"], key.private_bytes(serialization.Encoding.PEM,
                                                       serialization.PrivateFormat.PKCS8,
                                                       serialization.NoEncryption()))
        os.chmod(paths[role + "_key"], 0o600)
    return paths


if __name__ == "__main__":
    target = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "certs")
    for what, path in make_certs(target).items():
        print(f"{what:11s} {path}")
