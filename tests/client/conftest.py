"""Fixtures of the client tests: a peer Pyro server (the original Pyro5 or ours, see _peer.py)."""
from __future__ import annotations

import pytest

from tests.client._peer import SERIALIZERS, peer_has_msgpack, peer_kind, start_peer


@pytest.fixture(scope="module")
def peer():
    """One server per test module, hosting "thing", "nothing" and a name server object."""
    p = start_peer(nameserver=True)
    try:
        yield p
    finally:
        p.stop()


@pytest.fixture(params=SERIALIZERS)
def serializer(request):
    """Each serializer; sets config.SERIALIZER (the config is reset after every test)."""
    import Pyro5
    if request.param == "msgpack" and not peer_has_msgpack(peer_kind()):
        pytest.skip("the peer (original Pyro5 venv) has no msgpack installed")
    Pyro5.config.SERIALIZER = request.param
    return request.param
