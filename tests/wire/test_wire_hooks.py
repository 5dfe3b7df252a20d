"""pyro5-wire finds the client's helpers (locate_ns, resolve, rebuilding a received proxy) through a registry
that pyro5-client fills when it is imported (Pyro5._wire_hooks); wire never imports Pyro5.client by name."""
from __future__ import annotations

import importlib.util
import subprocess
import sys
import types

import pytest

from Pyro5 import _wire_hooks, core

HAVE_CLIENT = importlib.util.find_spec("Pyro5.client") is not None
if HAVE_CLIENT:
    import Pyro5.client  # noqa: F401  (registers its wire hooks before a test swaps the registry for an empty one)


def test_register_and_get(monkeypatch):
    monkeypatch.setattr(_wire_hooks, "_registry", {})

    def resolve(uri, delay):
        return ("resolved", uri, delay)

    _wire_hooks.register(resolve=resolve)
    assert _wire_hooks.get("resolve", "test") is resolve
    assert core.resolve("PYRONAME:x", 2) == ("resolved", "PYRONAME:x", 2)


def test_register_refuses_unknown_names_and_non_callables(monkeypatch):
    monkeypatch.setattr(_wire_hooks, "_registry", {})
    with pytest.raises(ValueError, match="unknown Pyro5 wire hook 'nonsense'"):
        _wire_hooks.register(nonsense=len)
    with pytest.raises(TypeError, match="must be callable"):
        _wire_hooks.register(resolve=42)
    assert _wire_hooks._registry == {}


def test_provider_that_registers_nothing(monkeypatch):
    monkeypatch.setattr(_wire_hooks, "_registry", {})
    monkeypatch.setitem(sys.modules, "Pyro5.client", types.ModuleType("Pyro5.client"))   # imported, registers nothing
    with pytest.raises(ModuleNotFoundError, match="Pyro5.core.locate_ns needs pyro5-client, but the installed "
                                                  "pyro5-client registered no 'locate_ns'"):
        core.locate_ns()


@pytest.mark.skipif(not HAVE_CLIENT, reason="needs pyro5-client")
def test_importing_the_client_registers_its_hooks():
    import Pyro5.client
    assert _wire_hooks._registry["locate_ns"] is Pyro5.client.locate_ns
    assert _wire_hooks._registry["resolve"] is Pyro5.client.resolve
    proxy = _wire_hooks._registry["proxy_from_state"](("PYRO:obj@localhost:1234", (), ("m",), (), "hello", None))
    assert type(proxy) is Pyro5.client.Proxy and proxy._pyroMethods == {"m"}


@pytest.mark.skipif(not HAVE_CLIENT, reason="needs pyro5-client")
def test_a_received_proxy_loads_the_client_when_nothing_imported_it():
    # a process that never imported Pyro5.client (a server receiving a callback proxy, say) still gets a Proxy
    code = ("import sys, Pyro5.serializers as s\n"
            "assert 'Pyro5.client' not in sys.modules\n"
            "ser = s.serializers['serpent']\n"
            "p = ser.loads(ser.dumps({'__class__': 'Pyro5.client.Proxy', 'state': "
            "('PYRO:obj@localhost:1234', (), ('m',), (), 'hello', None)}))\n"
            "print(type(p).__module__, type(p).__qualname__, p._pyroUri)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["Pyro5.client", "Proxy", "PYRO:obj@localhost:1234"]
