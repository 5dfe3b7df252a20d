"""A daemon behind "NAT": it binds to one port, and its uris name the port forwarded to it.

    python server.py [PUBLIC_PORT]
    python client.py PYRO:example.nat@localhost:PUBLIC_PORT

To keep the example on one machine, this process also plays the router: a small TCP port forwarder from
PUBLIC_PORT to the daemon's own (private) port. In a real setup the router does that part.
"""
from __future__ import annotations

import socket
import sys
import threading

import Pyro5.api


@Pyro5.api.expose
class Greeter:
    def greet(self, name: str) -> str:
        return f"Hello {name}, from behind the NAT"


def _pipe(src: socket.socket, dst: socket.socket) -> None:
    try:
        while data := src.recv(65536):
            dst.sendall(data)
    except OSError:
        pass
    finally:
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def port_forwarder(listener: socket.socket, target: tuple[str, int]) -> None:
    """The 'router': forwards every connection to listener's port to target."""
    while True:
        try:
            outside, _ = listener.accept()
        except OSError:
            return
        inside = socket.create_connection(target)
        for a, b in ((outside, inside), (inside, outside)):
            threading.Thread(target=_pipe, args=(a, b), daemon=True).start()


def main() -> None:
    router = socket.create_server(("127.0.0.1", int(sys.argv[1]) if len(sys.argv) > 1 else 0))
    public_port = router.getsockname()[1]
    with Pyro5.api.Daemon(host="127.0.0.1", port=0, nathost="localhost", natport=public_port) as daemon:
        uri = daemon.register(Greeter, "example.nat")
        private = ("127.0.0.1", daemon.sock.getsockname()[1])
        threading.Thread(target=port_forwarder, args=(router, private), daemon=True).start()
        print("the daemon listens on", daemon.locationStr, "(private)", flush=True)
        print("its uri for the outside:", daemon.uriFor("example.nat", nat=True), flush=True)
        print("its uri without NAT:", daemon.uriFor("example.nat", nat=False), flush=True)
        print("Ready. Object uri =", uri, flush=True)
        try:
            daemon.requestLoop()
        finally:
            router.close()


if __name__ == "__main__":
    main()
