"""Suite-wide fixtures. Every test runs with the builtin config defaults (no PYRO_* from the caller's shell)."""
from __future__ import annotations

import os

import pytest

for _k in [k for k in os.environ if k.startswith("PYRO_")]:
    del os.environ[_k]


@pytest.fixture(autouse=True)
def _reset_pyro_config():
    """Each test starts from the builtin defaults and may change Pyro5.config freely."""
    try:
        import Pyro5
    except ImportError:  # pragma: no cover - wire not importable: the wire tests will say why
        yield
        return
    cfg = getattr(Pyro5, "config", None)
    if cfg is not None:
        cfg.reset(use_environment=False)
    yield
    if cfg is not None:
        cfg.reset(use_environment=False)


@pytest.fixture(scope="session")
def orig_python():
    """Interpreter of the original Pyro5 5.15 in its own venv (created on first use)."""
    from tests._support import refpyro
    return refpyro.orig_python()


@pytest.fixture(autouse=True)
def _forget_pyro_ids(monkeypatch):
    """Daemon.close() keeps the registrations and the objects' _pyroId (as the original), so a class that one
    test's daemon registered would be refused by the next test's daemon: forget the ids a test's daemons set."""
    import sys
    server = sys.modules.get("Pyro5.server")     # (not imported here: thin-client tests must not load it)
    if server is None:
        yield
        return
    import weakref
    registered: list = []
    original = server.Daemon.register

    def register(self, obj_or_class, *args, **kwargs):
        uri = original(self, obj_or_class, *args, **kwargs)
        try:
            registered.append(weakref.ref(obj_or_class))    # (weak: weakly registered objects must be able to go)
        except TypeError:
            registered.append(lambda obj=obj_or_class: obj)
        return uri
    monkeypatch.setattr(server.Daemon, "register", register)
    yield
    for ref in registered:
        obj = ref()
        for attr in ("_pyroId", "_pyroDaemon"):
            try:
                if attr in vars(obj):
                    delattr(obj, attr)
            except (TypeError, AttributeError):
                pass


@pytest.fixture(scope="session")
def etcd_cluster(tmp_path_factory):
    """One three-member etcd cluster on loopback ports for the whole session (tests isolate themselves by
    key prefix); skips when etcd is not installed."""
    from tests._support.etcd import SKIP_REASON, EtcdCluster, etcd_binary
    if etcd_binary() is None:
        pytest.skip(SKIP_REASON)
    pytest.importorskip("etcd3gw", reason="the etcd storage needs etcd3gw: pip install \"pyro5-naming[etcd]\"")
    cluster = EtcdCluster(tmp_path_factory.mktemp("etcd")).start()
    yield cluster
    cluster.stop()
