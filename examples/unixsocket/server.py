"""A daemon on a unix domain socket instead of TCP.

    python server.py [SOCKETPATH]          # default: example_pyro.sock in a temporary folder
    python client.py PYRO:example.unixsocket@./u:SOCKETPATH
"""
from __future__ import annotations

import os
import sys
import tempfile

import Pyro5.api


@Pyro5.api.expose
class Echo:
    def echo(self, message: str) -> str:
        return message

    def transport(self) -> str:
        conn = Pyro5.api.current_context.client
        return f"unix socket {conn.sock.getsockname()!r}" if conn is not None else "unknown"


def main() -> None:
    path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(tempfile.mkdtemp(), "example_pyro.sock")
    with Pyro5.api.Daemon(unixsocket=path) as daemon:
        uri = daemon.register(Echo, "example.unixsocket")
        print("Ready. Object uri =", uri, flush=True)
        try:
            daemon.requestLoop()
        finally:
            if os.path.exists(path):
                os.remove(path)


if __name__ == "__main__":
    main()
