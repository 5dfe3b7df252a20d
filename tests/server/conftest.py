"""Fixtures of the server tests: daemons on 127.0.0.1 running in a thread, per server type."""
from __future__ import annotations

import pytest

import Pyro5
from Pyro5.server import Daemon
from tests.server._helpers import SERVERTYPES, RunningDaemon


@pytest.fixture(params=SERVERTYPES)
def servertype(request):
    """Each server type; sets config.SERVERTYPE (the config is reset after every test)."""
    Pyro5.config.SERVERTYPE = request.param
    return request.param


@pytest.fixture
def start_daemon():
    """start_daemon(daemon_class=Daemon, loop_condition=None, **daemon_kwargs) -> RunningDaemon; all are
    stopped at teardown."""
    running: list[RunningDaemon] = []

    def start(daemon_class=Daemon, loop_condition=None, **kwargs) -> RunningDaemon:
        kwargs.setdefault("host", "127.0.0.1")
        if kwargs.get("unixsocket") or kwargs.get("connected_socket") is not None:
            kwargs.pop("host")
        rd = RunningDaemon(daemon_class(**kwargs), loop_condition)
        running.append(rd)
        return rd

    yield start
    for rd in running:
        rd.stop()


@pytest.fixture
def raw_exception_wrappers(monkeypatch):
    """Batch results carry exceptions as {"__class__": "Pyro5.core._ExceptionWrapper", "exception": ...};
    inside this fixture they deserialize to ("ExceptionWrapper", exception) so tests can inspect them."""
    import Pyro5.serializers as ser
    registry = dict(ser.SerializerBase._custom_dict_to_class_registry)
    monkeypatch.setattr(ser.SerializerBase, "_custom_dict_to_class_registry", registry)
    registry["Pyro5.core._ExceptionWrapper"] = lambda name, d: ("ExceptionWrapper", d["exception"])
