"""Message annotations: metadata next to the call's arguments, in both directions.

    python server.py
    python client.py PYRO:example.annotations@localhost:PORT
"""
from __future__ import annotations

import Pyro5.api
from Pyro5.api import current_context


@Pyro5.api.expose
class Service:
    def work(self, job: str) -> str:
        # annotation values are bytes-like: bytes() makes them bytes on every implementation
        tag = bytes(current_context.annotations.get("XTAG", b"(none)")).decode()
        print(f"job {job!r} arrived with XTAG={tag}", flush=True)
        current_context.response_annotations = {"XSRV": f"{job} done for {tag}".encode()}
        return f"{job}: ok"


def main() -> None:
    with Pyro5.api.Daemon() as daemon:
        uri = daemon.register(Service, "example.annotations")
        print("Ready. Object uri =", uri, flush=True)
        daemon.requestLoop()


if __name__ == "__main__":
    main()
