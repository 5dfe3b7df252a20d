"""The servers the shared-proxy tests (tests/shared, tests/compat4) run against, by kind: ours in this process
(thread pool, per-connection, multiplex), and servers in a subprocess (ours or the original Pyro5 5.15) running
SERVER_SCRIPT.

To add a kind (e.g. the AsyncDaemon), add a starter to IN_PROCESS (a function(objects) -> Server) or a name to
SUBPROCESS_KINDS, and put it in SERVER_KINDS.
"""
from __future__ import annotations

import contextlib
import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

from tests._support import refpyro

# a server script for a subprocess; public Pyro5 API only, so it runs under ours and under the original
SERVER_SCRIPT = r'''
import json, sys, threading, time
import Pyro5.api as P
settings = json.loads(sys.argv[1])
for key, value in settings.get("config", {}).items():
    setattr(P.config, key, value)

@P.expose
@P.behavior(instance_mode="single")
class Thing:
    def __init__(self):
        self.lock = threading.Lock()
        self.entered = 0
    def add(self, a, b):
        return a + b
    def echo(self, x):
        return x
    def hang(self, seconds):
        with self.lock:
            self.entered += 1
        time.sleep(seconds)
        return seconds
    def entered_count(self):
        return self.entered

daemon = P.Daemon(host="127.0.0.1")
uri = daemon.register(Thing, "thing")
print("READY " + json.dumps({"thing": str(uri)}), flush=True)
daemon.requestLoop()
'''


@dataclass
class Server:
    """A running server: kind, the uris of its objects by name, and how to stop it."""

    kind: str
    uris: dict
    stop: Callable[[], None]
    daemon: Any = None          # (in-process kinds) the Daemon
    process: Any = None         # (subprocess kinds) the refpyro.OrigProcess
    extra: dict = field(default_factory=dict)

    def uri(self, name: str = "thing") -> str:
        return self.uris[name]


def start_in_process(servertype: str, objects: dict, configure: Callable[[Any], None] | None = None,
                     **daemon_kwargs: Any) -> Server:
    """One of our daemons in this process (config.SERVERTYPE = servertype), its requestLoop in a thread."""
    import Pyro5
    from Pyro5.server import Daemon
    Pyro5.config.SERVERTYPE = servertype
    if not daemon_kwargs.get("unixsocket"):
        daemon_kwargs.setdefault("host", "127.0.0.1")
    daemon = Daemon(**daemon_kwargs)
    if configure is not None:
        configure(daemon)
    uris = {name: str(daemon.register(obj, name)) for name, obj in objects.items()}
    thread = threading.Thread(target=daemon.requestLoop, daemon=True)
    thread.start()

    def stop() -> None:
        with contextlib.suppress(Exception):
            daemon.shutdown()
        thread.join(10)
        daemon.close()
    return Server(servertype, uris, stop, daemon=daemon)


def start_subprocess(which: str, config: dict | None = None) -> Server:
    """SERVER_SCRIPT in a subprocess: which = "ours" or "orig" (the original Pyro5 5.15)."""
    arg = json.dumps({"config": config or {}})
    if which == "orig":
        proc = refpyro.OrigProcess(SERVER_SCRIPT, arg)
    else:
        import os
        env = {k: v for k, v in os.environ.items() if not k.startswith("PYRO_")}
        proc = refpyro.start_python(SERVER_SCRIPT, arg, env=env)
    return Server(which, json.loads(proc.ready), proc.stop, process=proc)


SUBPROCESS_KINDS = ("orig",)
# the kinds every "works on any server" test runs against ("thread-perconn": THREADPOOL_PER_CONNECTION;
# "asyncio": SERVERTYPE="asyncio", the AsyncDaemon engine)
SERVER_KINDS = ("thread", "thread-perconn", "multiplex", "asyncio", "orig")


def start(kind: str, objects: dict) -> Server:
    """A server of `kind` with `objects` (in-process kinds) or SERVER_SCRIPT's Thing (subprocess kinds)."""
    if kind in SUBPROCESS_KINDS:
        return start_subprocess(kind)
    if kind == "thread-perconn":
        import Pyro5
        Pyro5.config.THREADPOOL_PER_CONNECTION = True
        return start_in_process("thread", objects)
    return start_in_process(kind, objects)


def serve_daemon(daemon: Any) -> Callable[[], None]:
    """Run `daemon.requestLoop` in a thread; the function returned shuts it down, checks that the loop ended (within
    10 s) and closes the daemon."""
    thread = threading.Thread(target=daemon.requestLoop, daemon=True)
    thread.start()

    def stop() -> None:
        daemon.shutdown()
        thread.join(10)
        assert not thread.is_alive(), "the daemon's request loop did not end"
        daemon.close()
    return stop


def serving_name_server(names: dict[str, str]) -> Iterator[Any]:
    """The body of a fixture: a NameServerDaemon on 127.0.0.1 with `names` registered, its request loop running
    (serve_daemon) while the test runs, stopped after it."""
    from Pyro5 import nameserver
    daemon = nameserver.NameServerDaemon(host="127.0.0.1", port=0)
    for name, uri in names.items():
        daemon.nameserver.register(name, uri)
    stop = serve_daemon(daemon)
    yield daemon
    stop()


def wait_for(predicate: Callable[[], Any], timeout: float = 10.0) -> bool:
    """Poll until predicate() is true (at most timeout seconds); its last value."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return bool(predicate())
