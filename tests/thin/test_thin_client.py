"""The thin client: pyro5-wire + pyro5-client only (hatch env "thin"), talking to an original Pyro5 daemon.

The checks run in a fresh interpreter that refuses to import any server / name server / gateway module, so they
prove the same thing in the full development environment as in the thin one: the client never needs them.
Nothing here imports server or naming code.
"""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

from tests.client._peer import start_peer

_BLOCKER = textwrap.dedent('''
    import importlib.abc, sys
    BLOCKED = ("Pyro5.server", "Pyro5.nameserver", "Pyro5.nsc", "Pyro5.svr_threads", "Pyro5.svr_multiplex",
               "Pyro5.svr_existingconn", "Pyro5.utils", "Pyro5.compatibility", "Pyro5.aio.server")

    def blocked(name):
        # also the private helper modules of pyro5-server (Pyro5._svr_*, Pyro5.aio._svr_*)
        return name.startswith(("Pyro5._svr", "Pyro5.aio._svr")) or any(name == b or name.startswith(b + ".") for b in BLOCKED)

    class ThinInstall(importlib.abc.MetaPathFinder):
        """Behave like an install of pyro5-wire and pyro5-client only."""
        def find_spec(self, name, path, target=None):
            if blocked(name):
                raise ModuleNotFoundError("No module named %r" % name, name=name)
            return None

    sys.meta_path.insert(0, ThinInstall())
''')


def run_thin(code: str, *args: str) -> subprocess.CompletedProcess:
    from tests._support.refpyro import clean_env
    env = clean_env()
    env.pop("PYTHONPATH", None)
    p = subprocess.run([sys.executable, "-c", _BLOCKER + textwrap.dedent(code), *args], capture_output=True,
                       text=True, timeout=90, env=env)
    assert p.returncode == 0, "thin client process failed:\n" + p.stdout + p.stderr
    return p


def test_api_hints_name_the_distribution():
    p = run_thin('''
        import Pyro5.api
        results = {}
        for name, dist in [("Daemon", "pyro5-server"), ("AsyncDaemon", "pyro5-server"),
                           ("expose", "pyro5-server"), ("oneway", "pyro5-server"),
                           ("serve", "pyro5-server"), ("start_ns", "pyro5-naming"), ("start_ns_loop", "pyro5-naming")]:
            try:
                getattr(Pyro5.api, name)
            except ModuleNotFoundError as x:
                assert dist in str(x) and "pip install " + dist in str(x), str(x)
                results[name] = str(x)
            else:
                raise AssertionError("Pyro5.api.%s should not be available in a thin client" % name)
        try:
            from Pyro5.api import Daemon
        except ModuleNotFoundError as x:
            assert "pyro5-server" in str(x)
        else:
            raise AssertionError("from Pyro5.api import Daemon must fail")
        from Pyro5.api import Proxy, BatchProxy, SerializedBlob, locate_ns, resolve, URI, config
        import Pyro5.client
        assert Proxy is Pyro5.client.Proxy
        from Pyro5.api import AsyncProxy
        import Pyro5.aio.client
        assert AsyncProxy is Pyro5.aio.client.AsyncProxy
        print(results["Daemon"])
        print(results["AsyncDaemon"])
    ''')
    assert "Pyro5.api.Daemon needs pyro5-server: pip install pyro5-server" in p.stdout
    assert "Pyro5.api.AsyncDaemon needs pyro5-server: pip install pyro5-server" in p.stdout


@pytest.mark.interop
def test_thin_proxy_talks_to_original_daemon():
    with start_peer(kind="orig", nameserver=True) as peer:
        p = run_thin('''
            import json, sys
            import Pyro5.api
            from Pyro5.api import Proxy, BatchProxy
            uris = json.loads(sys.argv[1])
            out = {}
            for ser in ("serpent", "json", "marshal", "msgpack"):
                Pyro5.config.SERIALIZER = ser
                with Proxy(uris["thing"]) as p:
                    out[ser] = [p.add(1, 2), list(p.gen(3)), p.prop]
                    b = BatchProxy(p)
                    b.add(2, 2)
                    out[ser].append(list(b()))
            Pyro5.config.SERIALIZER = "serpent"
            with Proxy(uris["thing"]) as p:
                sub = p.getsub()  # an autoproxied object arrives as a working proxy
                out["sub"] = sub.add(1, 1)
                sub._pyroRelease()
            location = uris["Pyro.NameServer"].split("@")[1]
            with Proxy("PYRONAME:test.thing@" + location) as p:
                out["pyroname"] = p.add(5, 5)
            host, port = location.rsplit(":", 1)
            with Pyro5.api.locate_ns(host, int(port)) as ns:
                out["lookup"] = str(ns.lookup("test.thing"))
            loaded = sorted(m for m in sys.modules if m.startswith("Pyro5."))
            assert not [m for m in loaded if blocked(m)], loaded
            out["modules"] = loaded
            print(json.dumps(out))
        ''', json.dumps(peer.uris))
    out = json.loads(p.stdout)
    for ser in ("serpent", "json", "marshal", "msgpack"):
        assert out[ser] == [3, [0, 1, 2], 5, [4]], ser
    assert out["sub"] == 1002 and out["pyroname"] == 10 and out["lookup"] == peer.uri("thing")
    assert "Pyro5.client" in out["modules"]
    assert not [m for m in out["modules"] if m.startswith(("Pyro5.server", "Pyro5.nameserver", "Pyro5.svr_"))]


def test_thin_client_receives_the_daemon_placeholder():
    # the original sends a Daemon that ends up in a result as this empty placeholder (the four forms below are
    # what Pyro5 5.15 produces); pyro5-wire recreates it without pyro5-server, as an unusable stand-in
    p = run_thin('''
        import sys
        from Pyro5 import serializers
        forms = {
            "serpent": b"# serpent utf-8 python3.2\\n{'__class__':'Pyro5.server.Daemon','state':()}",
            "json": b'{"__class__": "Pyro5.server.Daemon", "state": []}',
            "marshal": b'{\\xda\\t__class__z\\x13Pyro5.server.Daemon\\xda\\x05state\\xa9\\x000',
            "msgpack": b'\\x82\\xa9__class__\\xb3Pyro5.server.Daemon\\xa5state\\x90',
        }
        for name, data in forms.items():
            obj = serializers.serializers[name].loads(data)
            assert type(obj) is serializers.UnusableDaemon, (name, obj)
            assert "unusable" in repr(obj)
        assert not any(m.startswith(("Pyro5.server", "Pyro5._svr")) for m in sys.modules)
        print("ok")
    ''')
    assert p.stdout.strip() == "ok"
