"""The connection handshake: the daemon only accepts clients that send the right secret.

    python server.py
    python client.py PYRO:example.handshake@localhost:PORT
"""
from __future__ import annotations

from typing import Any

import Pyro5.api
from Pyro5.socketutil import SocketConnection

SECRET = "open sesame"


class SecretDaemon(Pyro5.api.Daemon):
    def validateHandshake(self, conn: SocketConnection, data: Any) -> Any:
        """Runs once per new connection, with the proxy's _pyroHandshake data."""
        if data != SECRET:
            print("refused a client with the wrong secret", flush=True)
            raise ValueError("the handshake secret is wrong")
        print("accepted a client", flush=True)
        return {"welcome": "you are in"}           # the proxy gets this in _pyroValidateHandshake


@Pyro5.api.expose
class Vault:
    def contents(self) -> list[str]:
        return ["gold", "jewels"]


def main() -> None:
    with SecretDaemon() as daemon:
        uri = daemon.register(Vault, "example.handshake")
        print("Ready. Object uri =", uri, flush=True)
        daemon.requestLoop()


if __name__ == "__main__":
    main()
