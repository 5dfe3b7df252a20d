"""Fixtures of the server tests: daemons on 127.0.0.1 running in a thread, per server type."""
from __future__ import annotations

import pytest

from tests.server._helpers import servertype, start_daemon  # noqa: F401 (fixtures, shared)


@pytest.fixture
def raw_exception_wrappers(monkeypatch):
    """Batch results carry exceptions as {"__class__": "Pyro5.core._ExceptionWrapper", "exception": ...};
    inside this fixture they deserialize to ("ExceptionWrapper", exception) so tests can inspect them."""
    import Pyro5.serializers as ser
    registry = dict(ser.SerializerBase._custom_dict_to_class_registry)
    monkeypatch.setattr(ser.SerializerBase, "_custom_dict_to_class_registry", registry)
    registry["Pyro5.core._ExceptionWrapper"] = lambda name, d: ("ExceptionWrapper", d["exception"])
