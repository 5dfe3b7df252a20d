"""SSL test certificates, generated with the `cryptography` library.

`make_certs(directory)` writes a private CA, a server certificate for 127.0.0.1 / ::1 / localhost and a client
certificate (both signed by the CA), all PEM, keys unencrypted, and returns their paths as a `Certs`.
`make_certs()` without a directory caches one set per process in a temporary folder (fast: generating RSA
keys takes a moment; EC keys are used to keep it quick).

Typical server config for 2-way SSL:
    config.SSL = True; config.SSL_SERVERCERT = c.server_cert; config.SSL_SERVERKEY = c.server_key
    config.SSL_REQUIRECLIENTCERT = True; config.SSL_CACERTS = c.ca_cert
and client config:
    config.SSL = True; config.SSL_CLIENTCERT = c.client_cert; config.SSL_CLIENTKEY = c.client_key
    config.SSL_CACERTS = c.ca_cert
`Certs.as_config(side)` returns such a dict ({"SSL": True, ...}) for "server" or "client".
"""
from __future__ import annotations

import atexit
import datetime
import ipaddress
import shutil
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

SERVER_SERIAL = 0x5E4E4
CLIENT_SERIAL = 0xC11E47


@dataclass(frozen=True)
class Certs:
    directory: Path
    ca_cert: str
    ca_key: str
    server_cert: str
    server_key: str
    client_cert: str
    client_key: str
    server_serial: int = SERVER_SERIAL
    client_serial: int = CLIENT_SERIAL
    client_common_name: str = "pyro5-test-client"
    server_common_name: str = "localhost"

    def as_config(self, side: str, require_client_cert: bool = True) -> dict:
        """Config items (name -> value) for `side` = "server" or "client"."""
        if side == "server":
            return {"SSL": True, "SSL_SERVERCERT": self.server_cert, "SSL_SERVERKEY": self.server_key,
                    "SSL_REQUIRECLIENTCERT": require_client_cert, "SSL_CACERTS": self.ca_cert}
        if side == "client":
            return {"SSL": True, "SSL_CLIENTCERT": self.client_cert, "SSL_CLIENTKEY": self.client_key,
                    "SSL_CACERTS": self.ca_cert}
        raise ValueError("side must be 'server' or 'client'")


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "pyro5 tests"),
                      x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _write_key(key: ec.EllipticCurvePrivateKey, path: Path) -> None:
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                       serialization.NoEncryption()))


def _write_cert(cert: x509.Certificate, path: Path) -> None:
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def make_certs(directory: str | Path | None = None) -> Certs:
    """Generate CA, server and client certs into `directory` (or a cached per-process temp dir)."""
    if directory is None:
        return _cached()
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    now = datetime.datetime.now(datetime.timezone.utc)
    start, end = now - datetime.timedelta(days=1), now + datetime.timedelta(days=30)

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = _name("pyro5 test CA")
    ca_cert = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
               .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(start).not_valid_after(end)
               .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
               .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                            data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                            crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
               .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
               .sign(ca_key, hashes.SHA256()))

    def leaf(cn: str, serial: int, usage, san: list | None) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
        key = ec.generate_private_key(ec.SECP256R1())
        b = (x509.CertificateBuilder().subject_name(_name(cn)).issuer_name(ca_name)
             .public_key(key.public_key()).serial_number(serial)
             .not_valid_before(start).not_valid_after(end)
             .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
             .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
             .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False))
        if san:
            b = b.add_extension(x509.SubjectAlternativeName(san), critical=False)
        return key, b.sign(ca_key, hashes.SHA256())

    server_key, server_cert = leaf("localhost", SERVER_SERIAL, ExtendedKeyUsageOID.SERVER_AUTH,
                                   [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                                    x509.IPAddress(ipaddress.ip_address("::1"))])
    client_key, client_cert = leaf("pyro5-test-client", CLIENT_SERIAL, ExtendedKeyUsageOID.CLIENT_AUTH, None)

    paths = {n: d / f"{n}.pem" for n in ("ca_cert", "ca_key", "server_cert", "server_key", "client_cert",
                                         "client_key")}
    _write_cert(ca_cert, paths["ca_cert"])
    _write_key(ca_key, paths["ca_key"])
    _write_cert(server_cert, paths["server_cert"])
    _write_key(server_key, paths["server_key"])
    _write_cert(client_cert, paths["client_cert"])
    _write_key(client_key, paths["client_key"])
    return Certs(directory=d, **{k: str(v) for k, v in paths.items()})


_cache: list[Certs] = []
_cache_lock = threading.Lock()


def _cached() -> Certs:
    with _cache_lock:
        if not _cache:
            d = Path(tempfile.mkdtemp(prefix="pyro5-certs-"))
            atexit.register(shutil.rmtree, d, True)
            _cache.append(make_certs(d))
        return _cache[0]
