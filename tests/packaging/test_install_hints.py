"""`import Pyro5.server` (and the other modules of the sibling distributions) on a thin client install says
which distribution to install, instead of a bare "No module named ..."."""
from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.slow

PROBE = """
import importlib, json, sys
out = {}
for name in sys.argv[1:]:
    try:
        importlib.import_module(name)
        out[name] = ["ok", None]
    except ModuleNotFoundError as x:
        out[name] = [str(x), x.name]
try:
    from Pyro5 import nameserver
    out["from Pyro5 import nameserver"] = ["ok", None]
except ImportError as x:
    out["from Pyro5 import nameserver"] = [str(x), x.name]
try:
    import Pyro5.no_such_module
except ModuleNotFoundError as x:
    out["Pyro5.no_such_module"] = [str(x), x.name]
print(json.dumps(out))
"""

EXPECTED = {
    "Pyro5.server": "Pyro5.server needs pyro5-server: pip install pyro5-server",
    "Pyro5.svr_threads": "Pyro5.svr_threads needs pyro5-server: pip install pyro5-server",
    "Pyro5.svr_multiplex": "Pyro5.svr_multiplex needs pyro5-server: pip install pyro5-server",
    "Pyro5.svr_existingconn": "Pyro5.svr_existingconn needs pyro5-server: pip install pyro5-server",
    "Pyro5.nameserver": "Pyro5.nameserver needs pyro5-naming: pip install pyro5-naming",
    "Pyro5.nsc": "Pyro5.nsc needs pyro5-naming: pip install pyro5-naming",
    "Pyro5.compatibility.Pyro4": "Pyro5.compatibility needs pyro5-compat4: pip install pyro5-compat4",
    "Pyro5.utils.httpgateway": "Pyro5.utils is shipped by pyro5-naming (Pyro5.utils.echoserver) and "
                               "pyro5-httpgateway (Pyro5.utils.httpgateway): pip install the one you need",
}


def test_thin_client_imports_of_missing_modules_name_the_distribution(venv_with) -> None:
    v = venv_with("pyro5-client")
    out = v.run_json(PROBE, "Pyro5.client", *EXPECTED)
    assert isinstance(out, dict)
    assert out["Pyro5.client"] == ["ok", None]
    for module, message in EXPECTED.items():
        assert out[module][0] == message, (module, out[module])
    assert out["from Pyro5 import nameserver"][0] == "Pyro5.nameserver needs pyro5-naming: pip install pyro5-naming"
    assert out["Pyro5.no_such_module"] == ["No module named 'Pyro5.no_such_module'", "Pyro5.no_such_module"]
    assert json.dumps(out)


def test_gateway_alone_hints_for_the_echo_server(venv_with) -> None:
    v = venv_with("pyro5-httpgateway")
    out = v.run_json(PROBE, "Pyro5.utils.httpgateway", "Pyro5.utils.echoserver")
    assert isinstance(out, dict)
    assert out["Pyro5.utils.httpgateway"] == ["ok", None]
    assert out["Pyro5.utils.echoserver"][0] == "Pyro5.utils.echoserver needs pyro5-naming: pip install pyro5-naming"
