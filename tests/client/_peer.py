"""Starting the Pyro server that the client tests talk to: the original Pyro5 or ours.

The peer is chosen with the environment variable PYRO5_CLIENT_PEER:

- ``orig``: the original Pyro5 5.15 (its own venv, see tests/_support/refpyro.py)
- ``ours``: our Pyro5.server, run with this interpreter
- ``auto`` (default): ours when Pyro5.server can be imported, else the original

Every server is a subprocess running tests/client/peer_server.py; it prints ``READY <json name->uri>``.
"""
from __future__ import annotations

import functools
import importlib.util
import json
import os
import socket
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from tests._support import refpyro

SCRIPT = Path(__file__).with_name("peer_server.py")
SERIALIZERS = ("serpent", "json", "marshal", "msgpack")


def peer_kind() -> str:
    kind = os.environ.get("PYRO5_CLIENT_PEER", "auto").strip().lower()
    if kind == "auto":
        kind = "ours" if importlib.util.find_spec("Pyro5.server") is not None else "orig"
    if kind not in ("orig", "ours"):
        raise ValueError("PYRO5_CLIENT_PEER must be orig, ours or auto, not %r" % kind)
    return kind


def ns_peer_kind() -> str:
    """The peer kind for tests that need a name server object: ours only when pyro5-naming is there too."""
    kind = peer_kind()
    if kind == "ours" and importlib.util.find_spec("Pyro5.nameserver") is None:
        return "orig"
    return kind


@functools.lru_cache(maxsize=None)
def peer_has_msgpack(kind: str) -> bool:
    if kind == "ours":
        return True
    p = subprocess.run([refpyro.orig_python(), "-c", "import msgpack"], capture_output=True, timeout=60)
    return p.returncode == 0


@dataclass
class Peer:
    kind: str
    uris: dict
    proc: refpyro.OrigProcess
    settings: dict = field(default_factory=dict)

    def uri(self, name: str = "thing") -> str:
        return self.uris[name]

    @property
    def port(self) -> int:
        return int(self.uris["thing"].rsplit(":", 1)[1])

    def stop(self) -> None:
        self.proc.stop()

    def __enter__(self) -> "Peer":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def start_peer(kind: str | None = None, env: dict | None = None, **settings) -> Peer:
    """Start a peer server with the given settings (see peer_server.py); stop it with .stop()."""
    kind = kind or peer_kind()
    code = SCRIPT.read_text()
    arg = json.dumps(settings)
    if kind == "orig":
        proc = refpyro.OrigProcess(code, arg, env=env or refpyro.clean_env())
    else:
        proc = refpyro.start_python(code, arg, env=env or _our_env())
    return Peer(kind, json.loads(proc.ready), proc, settings)


def start_peer_on_socket(sock: socket.socket, kind: str | None = None) -> Peer:
    """Start a peer whose daemon uses an inherited connected socket (Daemon(connected_socket=...))."""
    kind = kind or peer_kind()
    python = refpyro.orig_python() if kind == "orig" else sys.executable
    env = refpyro.clean_env() if kind == "orig" else _our_env()
    arg = json.dumps({"fd": sock.fileno()})
    p = refpyro.OrigProcess.__new__(refpyro.OrigProcess)
    p.proc = subprocess.Popen([python, "-u", "-c", SCRIPT.read_text(), arg], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, env=env, text=True, pass_fds=[sock.fileno()])
    p.ready = refpyro._wait_ready(p.proc, 30)
    return Peer(kind, json.loads(p.ready), p, {"fd": True})


def _our_env() -> dict:
    return {k: v for k, v in os.environ.items() if not k.startswith("PYRO_")}
