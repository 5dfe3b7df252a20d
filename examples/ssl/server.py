"""A 2-way SSL server: it has a certificate, and it requires and checks one from every client.

    python make_certs.py            # once: writes ./certs
    python server.py [certdir]
    python client.py PYRO:example.ssl@localhost:PORT [certdir]
"""
from __future__ import annotations

import os
import sys
from typing import Any

import Pyro5.api
import Pyro5.errors

CERTDIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "certs")


@Pyro5.api.expose
class Safe:
    def echo(self, message: str) -> str:
        client = Pyro5.api.current_context.client
        subject = dict(x[0] for x in client.getpeercert()["subject"])
        return f"{message!r}, sent over SSL by {subject['commonName']}"


class CertCheckingDaemon(Pyro5.api.Daemon):
    def validateHandshake(self, conn: Any, data: Any) -> Any:
        cert = conn.getpeercert()
        if not cert:
            raise Pyro5.errors.CommunicationError("a client certificate is required")
        subject = dict(x[0] for x in cert["subject"])
        if subject.get("commonName") != "pyro5-example-client":
            raise Pyro5.errors.CommunicationError(f"client certificate not accepted: {subject}")
        print("accepted client cert:", subject["commonName"], "serial", cert["serialNumber"], flush=True)
        return super().validateHandshake(conn, data)


def main() -> None:
    certdir = sys.argv[1] if len(sys.argv) > 1 else CERTDIR
    Pyro5.config.SSL = True
    Pyro5.config.SSL_REQUIRECLIENTCERT = True         # 2-way ssl
    Pyro5.config.SSL_SERVERCERT = os.path.join(certdir, "server.pem")
    Pyro5.config.SSL_SERVERKEY = os.path.join(certdir, "server.key")
    Pyro5.config.SSL_CACERTS = os.path.join(certdir, "ca.pem")    # to verify the client certificates
    with CertCheckingDaemon() as daemon:
        uri = daemon.register(Safe, "example.ssl")
        print("Ready. Object uri =", uri, flush=True)
        daemon.requestLoop()


if __name__ == "__main__":
    main()
