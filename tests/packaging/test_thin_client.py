"""`pip install pyro5-client` alone: no server code on disk or importable, yet its Proxy talks to a Daemon
running in a second venv that has only pyro5-server."""
from __future__ import annotations

import json

import pytest

from tests._support import refpyro
from tests.packaging import _layout, _venvs

pytestmark = pytest.mark.slow

SERVER_SCRIPT = """
import sys
from Pyro5.api import Daemon, expose

@expose
class Calc:
    def add(self, a, b):
        return a + b

    def where(self):
        import Pyro5.server
        return [sys.prefix, Pyro5.server.__file__, "Pyro5.client" in sys.modules]

with Daemon(host="127.0.0.1") as daemon:
    uri = daemon.register(Calc, "thin.calc")
    print("READY", uri, flush=True)
    daemon.requestLoop()
"""

CLIENT_SCRIPT = """
import json, sys
from Pyro5.api import Proxy
with Proxy(sys.argv[1]) as p:
    p._pyroTimeout = 10
    result = {"add": p.add(2, 3), "where": p.where(), "listadd": p.add([1], [2])}
result["server_modules"] = sorted(m for m in sys.modules
                                  if m.split(".")[0] == "Pyro5" and m.split(".")[-1] in
                                  ("server", "svr_threads", "svr_multiplex", "svr_existingconn", "nameserver", "nsc"))
print(json.dumps(result))
"""


@pytest.fixture(scope="module")
def thin(venv_with):
    return venv_with("pyro5-client")


@pytest.fixture(scope="module")
def server_venv(venv_with):
    return venv_with("pyro5-server")


def test_thin_client_installs_only_wire_and_client(thin):
    assert thin.installed() == {"pyro5-wire", "pyro5-client", "serpent", "msgpack"}


def test_thin_client_has_no_server_code_on_disk(thin, wheel_files):
    pkg = thin.site_packages / "Pyro5"
    on_disk = {p.relative_to(pkg.parent).as_posix() for p in pkg.rglob("*")
               if p.is_file() and "__pycache__" not in p.parts}
    expected = {f for d in ("pyro5-wire", "pyro5-client") for f in wheel_files[d] if f.startswith("Pyro5/")}
    assert on_disk == expected
    for absent in ("server.py", "svr_threads.py", "svr_multiplex.py", "svr_existingconn.py", "nameserver.py",
                   "nsc.py", "utils", "compatibility"):
        assert not (pkg / absent).exists(), absent
    assert (pkg / "client.py").is_file()


def test_api_names_of_missing_distributions_say_what_to_install(thin):
    probe = """
import json
out = {}
for name in %r:
    try:
        exec("from Pyro5.api import " + name)
        out[name] = "imported"
    except ModuleNotFoundError as x:
        out[name] = "ModuleNotFoundError: " + str(x)
    except Exception as x:
        out[name] = type(x).__name__ + ": " + str(x)
print(json.dumps(out))
""" % [n for n, _ in _layout.API_NAMES_ELSEWHERE]
    out = thin.run_json(probe)
    for name, dist in _layout.API_NAMES_ELSEWHERE:
        assert out[name].startswith("ModuleNotFoundError"), (name, out[name])
        assert dist in out[name], f"the error for Pyro5.api.{name} must name {dist}: {out[name]}"
    assert "pip install pyro5-server" in out["Daemon"]
    proc = thin.run("import Pyro5.server", check=False)
    assert proc.returncode != 0 and "ModuleNotFoundError" in proc.stderr
    ok = thin.run("from Pyro5.api import Proxy, BatchProxy, URI, config, errors; print('ok')")
    assert ok.stdout.strip() == "ok"


def test_thin_proxy_calls_daemon_in_server_only_venv(thin, server_venv):
    assert "pyro5-client" not in server_venv.installed()
    server = refpyro.start_python(SERVER_SCRIPT, python=server_venv.python, env=_venvs.child_env(), timeout=30)
    try:
        uri = server.ready
        assert uri.startswith("PYRO:thin.calc@127.0.0.1:")
        result = json.loads(thin.run(CLIENT_SCRIPT, uri, timeout=60).stdout.strip().splitlines()[-1])
    finally:
        server.stop()
    assert result["add"] == 5
    assert result["listadd"] == [1, 2]
    prefix, server_file, client_loaded = result["where"]
    assert prefix == str(server_venv.path) or prefix.endswith(server_venv.path.name)
    assert server_file.startswith(str(server_venv.path)) or server_venv.path.name in server_file
    assert client_loaded is False, "the server imported Pyro5.client to serve a plain call"
    assert result["server_modules"] == [], "the thin client imported server/naming modules"
