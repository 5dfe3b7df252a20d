"""A Pyro server used as the peer of the client tests; runs under the original Pyro5 OR under ours.

Run as a script: ``python peer_server.py '<json settings>'``. It only uses the public Pyro5 API, so the same
code runs in the original Pyro5's venv and in ours. Settings (all optional):

- ``config``: dict of Pyro config items to set first (SSL, ITER_STREAM_LINGER, ...)
- ``host`` / ``port`` / ``unixsocket`` / ``fd`` (an inherited, connected socket: Daemon(connected_socket=...))
- ``nameserver``: also host a NameServer object ("Pyro.NameServer") with the test objects registered in it
- ``async_daemon``: serve with ours ``Pyro5.api.AsyncDaemon`` on an asyncio event loop (not the original)

Prints ``READY <json: name -> uri>`` and serves until killed.
"""
import json
import socket
import sys
import threading
import time

import Pyro5.api as P

settings = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
for _key, _value in settings.get("config", {}).items():
    setattr(P.config, _key, _value)


class Sub:
    @P.expose
    def add(self, a, b):
        return a + b + 1000


class Nothing:
    def not_exposed(self):
        return 1


class Thing:
    def __init__(self):
        self.store = {}
        self.counters = {}
        self.sub = None
        self._prop = 5
        self.lock = threading.Lock()

    @P.expose
    def add(self, a, b):
        return a + b

    @P.expose
    def echo(self, x):
        return x

    @P.expose
    def kw(self, a, b=2, *args, **kwargs):
        return [a, b, list(args), sorted(kwargs.items())]

    @P.expose
    @P.oneway
    def ow(self, key, value):
        self.store[key] = value

    @P.expose
    def get(self, key):
        return self.store.get(key)

    @P.expose
    def sleep(self, t):
        time.sleep(t)
        return t

    @P.expose
    def slow_first(self, key, t):
        with self.lock:
            self.counters[key] = n = self.counters.get(key, 0) + 1
        if n == 1:
            time.sleep(t)
        return n

    @P.expose
    def count(self, key):
        with self.lock:
            self.counters[key] = n = self.counters.get(key, 0) + 1
        return n

    @P.expose
    def gen(self, n):
        for i in range(n):
            yield i

    @P.expose
    def tracked_gen(self, key):
        self.store[key] = "running"
        try:
            i = 0
            while True:
                yield i
                i += 1
        finally:
            self.store[key] = "closed"

    @P.expose
    def fail(self):
        raise ValueError("boom")

    @P.expose
    def fail_deep(self):
        def inner():
            return 1 // 0
        return inner()

    @P.expose
    @property
    def prop(self):
        return self._prop

    @prop.setter
    def prop(self, value):
        self._prop = value

    @P.expose
    @property
    def readonly(self):
        return "ro"

    def unexposed(self):
        return "secret"

    def _private(self):
        return "private"

    @P.expose
    def getsub(self):
        if self.sub is None:
            self.sub = Sub()
            self._pyroDaemon.register(self.sub)
        return self.sub

    @P.expose
    def ctx(self):
        P.current_context.response_annotations = {"RESP": b"yo"}
        corr = P.current_context.correlation_id
        anns = {k: bytes(v).decode("latin-1") for k, v in P.current_context.annotations.items()}
        return {"corr": str(corr) if corr else None, "ann": anns}

    @P.expose
    def blobinfo(self, blob):
        return [type(blob).__name__, blob.info, blob.deserialized()]

    @P.expose
    def dispatch(self, blob):
        with P.Proxy(self._pyroDaemon.uriFor("thing")) as target:
            target._pyroSerializer = SERIALIZER_NAMES.get(P.current_context.serializer_id)
            return ["dispatched", target.blobinfo(blob)]

    @P.expose
    def unserializable(self):
        return threading.Lock()

    @P.expose
    def upload(self, data):
        if isinstance(data, dict) and data.get("encoding") == "base64":  # serpent's bytes representation
            return len(data["data"]) * 3 // 4 - data["data"].count("=")
        return len(data)

    @P.expose
    def download(self, size, text=False):
        return "x" * size if text else b"x" * size

    @P.expose
    def call_back(self, proxy, a, b):
        # a proxy passed as argument arrives as a working proxy: call it from here
        proxy._pyroClaimOwnership()
        return proxy.add(a, b)

    @P.expose
    def __len__(self):
        return 3

    @P.expose
    def __iter__(self):
        return iter([7, 8, 9])

    @P.expose
    def __getitem__(self, index):
        return index * 2

    @P.expose
    def __setitem__(self, index, value):
        self.store["item"] = [index, value]

    @P.expose
    def __delitem__(self, index):
        self.store["item"] = ["deleted", index]


SERIALIZER_NAMES = {1: "serpent", 2: "marshal", 3: "json", 4: "msgpack"}


class TestDaemon(P.Daemon):
    def validateHandshake(self, conn, data):
        if data == "reject":
            raise ValueError("handshake rejected by the test daemon")
        if isinstance(data, dict) and "echo" in data:
            return {"echoed": data["echo"]}
        return super().validateHandshake(conn, data)


def daemon_class():
    if not settings.get("async_daemon"):
        return TestDaemon

    class TestAsyncDaemon(P.AsyncDaemon, TestDaemon):
        pass
    return TestAsyncDaemon


def main():
    kwargs = {}
    if "fd" in settings:
        kwargs["connected_socket"] = socket.socket(fileno=settings["fd"])
    elif "unixsocket" in settings:
        kwargs["unixsocket"] = settings["unixsocket"]
    else:
        kwargs["host"] = settings.get("host", "127.0.0.1")
        kwargs["port"] = settings.get("port", 0)
    daemon = daemon_class()(**kwargs)
    objects = {"thing": Thing(), "nothing": Nothing(), "plain": Sub()}
    uris = {name: str(daemon.register(obj, name)) for name, obj in objects.items()}
    if settings.get("nameserver"):
        try:
            import Pyro5.nameserver
            ns = Pyro5.nameserver.NameServer()
        except (ImportError, AttributeError):  # pyro5-naming not (yet) there: no name server object
            ns = None
    if settings.get("nameserver") and ns is not None:
        uris["Pyro.NameServer"] = str(daemon.register(ns, "Pyro.NameServer"))
        ns.register("test.thing", uris["thing"], metadata={"meta.thing", "meta.common"})
        ns.register("test.nothing", uris["nothing"], metadata={"meta.common"})
    print("READY " + json.dumps(uris), flush=True)
    if settings.get("async_daemon"):
        import asyncio
        asyncio.run(daemon.requestLoop())
    else:
        daemon.requestLoop()


if __name__ == "__main__":
    main()
