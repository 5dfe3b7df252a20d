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
