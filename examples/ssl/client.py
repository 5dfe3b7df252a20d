"""A 2-way SSL client: it presents its own certificate and checks the server's."""
from __future__ import annotations

import os
import sys
from typing import Any

import Pyro5.api
import Pyro5.errors

CERTDIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "certs")


class CertCheckingProxy(Pyro5.api.Proxy):
    def _pyroValidateHandshake(self, response: Any) -> None:
        cert = self._pyroConnection.getpeercert()    # already verified against ca.pem, incl. the host name
        subject = dict(x[0] for x in cert["subject"])
        if subject.get("commonName") != "pyro5-example-server":
            raise Pyro5.errors.CommunicationError(f"server certificate not accepted: {subject}")
        print("server cert ok:", subject["commonName"], "serial", cert["serialNumber"])


def main() -> None:
    uri = sys.argv[1] if len(sys.argv) > 1 else input("uri of the ssl example server? ").strip()
    certdir = sys.argv[2] if len(sys.argv) > 2 else CERTDIR
    Pyro5.config.SSL = True
    Pyro5.config.SSL_CACERTS = os.path.join(certdir, "ca.pem")         # to verify the server certificate
    Pyro5.config.SSL_CLIENTCERT = os.path.join(certdir, "client.pem")
    Pyro5.config.SSL_CLIENTKEY = os.path.join(certdir, "client.key")
    with CertCheckingProxy(uri) as safe:
        print("server says:", safe.echo("hello"))


if __name__ == "__main__":
    main()
