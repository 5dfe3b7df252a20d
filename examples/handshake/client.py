"""A client that sends a handshake secret, and one that sends the wrong one."""
from __future__ import annotations

import sys
from typing import Any

import Pyro5.errors
from Pyro5.api import Proxy


class VaultProxy(Proxy):
    def _pyroValidateHandshake(self, response: Any) -> None:
        print("the daemon answered the handshake with:", response)


def main(uri: str) -> None:
    with VaultProxy(uri) as vault:
        vault._pyroHandshake = "open sesame"
        print("contents:", vault.contents())
    with VaultProxy(uri) as intruder:
        intruder._pyroHandshake = "let me in"
        try:
            intruder.contents()
        except Pyro5.errors.CommunicationError as x:
            print("the wrong secret was refused:", x)


if __name__ == "__main__":
    main(sys.argv[1])
