"""Pyro5.api: the facade, its eager names, the lazy names and the 'pip install ...' hint."""
from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import textwrap

import pytest

import Pyro5
import Pyro5.api as api
from Pyro5 import callcontext, core, errors

# the names of the manual's Pyro5.api chapter (plus SerializerBase, as listed there)
MANUAL_NAMES = {
    "BatchProxy", "Daemon", "DaemonObject", "Proxy", "SerializedBlob", "SerializerBase", "URI", "behavior",
    "callback", "expose", "locate_ns", "oneway", "register_class_to_dict", "register_dict_to_class", "resolve",
    "serve", "start_ns", "start_ns_loop", "type_meta", "unregister_class_to_dict", "unregister_dict_to_class",
    "config", "current_context",
}

LAZY = [
    ("Proxy", "Pyro5.client", "pyro5-client"),
    ("BatchProxy", "Pyro5.client", "pyro5-client"),
    ("SerializedBlob", "Pyro5.client", "pyro5-client"),
    ("AsyncProxy", "Pyro5.aio.client", "pyro5-client"),
    ("AsyncBatchProxy", "Pyro5.aio.client", "pyro5-client"),
    ("Daemon", "Pyro5.server", "pyro5-server"),
    ("DaemonObject", "Pyro5.server", "pyro5-server"),
    ("expose", "Pyro5.server", "pyro5-server"),
    ("oneway", "Pyro5.server", "pyro5-server"),
    ("behavior", "Pyro5.server", "pyro5-server"),
    ("callback", "Pyro5.server", "pyro5-server"),
    ("serve", "Pyro5.server", "pyro5-server"),
    ("start_ns", "Pyro5.nameserver", "pyro5-naming"),
    ("start_ns_loop", "Pyro5.nameserver", "pyro5-naming"),
    ("SerializerBase", "Pyro5.serializers", "pyro5-wire"),
    ("register_class_to_dict", "Pyro5.serializers", "pyro5-wire"),
    ("register_dict_to_class", "Pyro5.serializers", "pyro5-wire"),
    ("unregister_class_to_dict", "Pyro5.serializers", "pyro5-wire"),
    ("unregister_dict_to_class", "Pyro5.serializers", "pyro5-wire"),
]


def test_eager_names_are_the_real_objects():
    assert api.config is Pyro5.config
    assert api.current_context is Pyro5.current_context is callcontext.current_context
    assert api.URI is core.URI
    assert api.locate_ns is core.locate_ns
    assert api.resolve is core.resolve
    assert api.type_meta is core.type_meta
    assert api.errors is errors


def test_all_and_dir_list_every_name():
    assert MANUAL_NAMES <= set(api.__all__)
    assert len(api.__all__) == len(set(api.__all__))
    assert set(api.__all__) <= set(dir(api))
    assert {name for name, _, _ in LAZY} <= set(api.__all__)


def test_unknown_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'NoSuchThing'"):
        api.NoSuchThing  # noqa: B018
    assert not hasattr(api, "Proxy2")


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ImportError:
        return False


@pytest.mark.parametrize("name,module,dist", LAZY, ids=[x[0] for x in LAZY])
def test_lazy_name_resolves_when_installed(name, module, dist):
    if not _installed(module):
        pytest.skip("%s (%s) is not installed here (e.g. the thin-client environment)" % (module, dist))
    mod = importlib.import_module(module)
    assert hasattr(mod, name), "%s does not define %s" % (module, name)
    assert getattr(api, name) is getattr(mod, name)
    assert name in vars(api)  # cached after the first access


@pytest.mark.parametrize("name,module,dist", [x for x in LAZY if x[2] != "pyro5-wire"], ids=lambda x: str(x))
def test_missing_distribution_gives_install_hint(name, module, dist, monkeypatch):
    monkeypatch.setitem(sys.modules, module, None)  # makes the import fail like a missing distribution
    monkeypatch.delitem(vars(api), name, raising=False)  # drop a cached value
    with pytest.raises(ModuleNotFoundError) as exc:
        getattr(api, name)
    assert str(exc.value) == "Pyro5.api.%s needs %s: pip install %s" % (name, dist, dist)
    assert not isinstance(exc.value, AttributeError)


def test_from_import_keeps_the_hint_in_a_process_without_the_server():
    """A sys.meta_path blocker hides Pyro5.server (as if pyro5-server were not installed)."""
    code = textwrap.dedent("""
        import sys
        class Blocker:
            def find_spec(self, name, path=None, target=None):
                if name in ("Pyro5.server", "Pyro5.nameserver"):
                    raise ModuleNotFoundError("No module named %r" % name, name=name)
                return None
        sys.meta_path.insert(0, Blocker())
        import Pyro5.api
        print("URI", Pyro5.api.URI("PYRO:obj@localhost:1"))
        for stmt in ("from Pyro5.api import Daemon", "from Pyro5.api import expose", "from Pyro5.api import start_ns"):
            try:
                exec(stmt)
            except ModuleNotFoundError as x:
                print("MNF", x)
            except AttributeError as x:
                print("ATTR", x)
    """)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYRO_")}
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert p.returncode == 0, p.stderr
    assert p.stdout.splitlines() == [
        "URI PYRO:obj@localhost:1",
        "MNF Pyro5.api.Daemon needs pyro5-server: pip install pyro5-server",
        "MNF Pyro5.api.expose needs pyro5-server: pip install pyro5-server",
        "MNF Pyro5.api.start_ns needs pyro5-naming: pip install pyro5-naming",
    ]


def test_missing_shared_folder_gives_the_hint_too():
    """Without pyro5-client there may be no Pyro5/aio/ folder at all: the import fails on Pyro5.aio itself."""
    code = textwrap.dedent("""
        import sys
        class Blocker:
            def find_spec(self, name, path=None, target=None):
                if name == "Pyro5.aio" or name.startswith("Pyro5.aio."):
                    raise ModuleNotFoundError("No module named %r" % name, name="Pyro5.aio")
                return None
        sys.meta_path.insert(0, Blocker())
        try:
            from Pyro5.api import AsyncProxy
        except ModuleNotFoundError as x:
            print("MNF", x)
    """)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYRO_")}
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert p.returncode == 0, p.stderr
    assert p.stdout.splitlines() == ["MNF Pyro5.api.AsyncProxy needs pyro5-client: pip install pyro5-client"]


def test_other_import_errors_are_not_masked(monkeypatch, tmp_path):
    """A missing *dependency* inside an installed module must surface as itself, not as the install hint."""
    pkg = tmp_path / "Pyro5"
    pkg.mkdir()
    # a stand-in Pyro5.nameserver that fails on a missing third-party import
    (pkg / "nameserver.py").write_text("import no_such_dependency_xyz\n")
    monkeypatch.setattr(Pyro5, "__path__", [str(pkg)] + list(Pyro5.__path__))
    monkeypatch.delitem(sys.modules, "Pyro5.nameserver", raising=False)
    monkeypatch.delitem(vars(api), "start_ns", raising=False)
    with pytest.raises(ModuleNotFoundError) as exc:
        api.start_ns  # noqa: B018
    assert exc.value.name == "no_such_dependency_xyz"
    sys.modules.pop("Pyro5.nameserver", None)


def test_api_has_the_version_as_the_original():
    import Pyro5
    import Pyro5.api
    assert Pyro5.api.__version__ == Pyro5.__version__
    assert "__version__" not in Pyro5.api.__all__       # a star import must not replace the importer's version
