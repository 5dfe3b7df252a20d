"""A name server and a Pyro daemon in one process, driven by our own select() event loop.

    python server.py            # prints the name server's uri and "Ready."
    python client.py PYRO:Pyro.NameServer@localhost:PORT

Uses Pyro5.nameserver.start_ns() (name server daemon without its own loop) and Daemon.sockets / Daemon.events()
to integrate both daemons into a loop that could also watch other things (here: a periodic "tick").
"""
from __future__ import annotations

import selectors
import time

import Pyro5.api
import Pyro5.nameserver


@Pyro5.api.expose
class Clock:
    def __init__(self) -> None:
        self.ticks = 0

    def now(self) -> str:
        return time.strftime("%H:%M:%S")

    def tick_count(self) -> int:
        return self.ticks


def main() -> None:
    ns_uri, ns_daemon, broadcast_server = Pyro5.nameserver.start_ns(host="127.0.0.1", port=0,
                                                                    enableBroadcast=False)
    assert broadcast_server is None
    print("name server uri =", ns_uri, flush=True)
    daemon = Pyro5.api.Daemon(host="127.0.0.1")
    clock = Clock()
    uri = daemon.register(clock, "example.eventloop.clock")
    ns_daemon.nameserver.register("example.eventloop.clock", uri)     # the NameServer object, in-process

    selector = selectors.DefaultSelector()
    registered: set = set()

    def sync_sockets() -> None:
        """(Re)register the sockets of both daemons; they change as clients connect and disconnect."""
        current = set(daemon.sockets) | set(ns_daemon.sockets)
        for s in registered - current:
            selector.unregister(s)
        for s in current - registered:
            selector.register(s, selectors.EVENT_READ)
        registered.clear()
        registered.update(current)

    print("Ready. Object uri =", uri, flush=True)
    next_tick = time.monotonic() + 1
    try:
        while True:
            sync_sockets()
            events = selector.select(timeout=max(0.0, next_tick - time.monotonic()))
            ready = [key.fileobj for key, _ in events]
            ns_ready = [s for s in ready if s in ns_daemon.sockets]
            own_ready = [s for s in ready if s in daemon.sockets]
            if ns_ready:
                ns_daemon.events(ns_ready)
            if own_ready:
                daemon.events(own_ready)
            if time.monotonic() >= next_tick:               # something else our loop takes care of
                clock.ticks += 1
                next_tick += 1
    except KeyboardInterrupt:
        pass
    finally:
        selector.close()
        daemon.close()
        ns_daemon.close()
        print("stopped", flush=True)


if __name__ == "__main__":
    main()
