"""Fixtures of the asyncio client tests: peer servers (tests/client/peer_server.py) of four kinds — our
thread-pool daemon, our multiplex daemon, our AsyncDaemon (which grants many calls in flight on one connection),
and the ORIGINAL Pyro5 5.15 daemon — each with a name server object."""
from __future__ import annotations

import pytest

from tests.client._peer import SERIALIZERS, peer_has_msgpack, start_peer

KINDS = {
    "thread": dict(kind="ours", config={"SERVERTYPE": "thread"}),
    "multiplex": dict(kind="ours", config={"SERVERTYPE": "multiplex"}),
    "asyncdaemon": dict(kind="ours", async_daemon=True),
    "orig": dict(kind="orig"),
}


@pytest.fixture(scope="module", params=[pytest.param("thread"), pytest.param("multiplex"),
                                        pytest.param("asyncdaemon"),
                                        pytest.param("orig", marks=pytest.mark.interop)])
def peer(request):
    """One server of each kind per test module, hosting "thing", "nothing", "plain" and "Pyro.NameServer"."""
    p = start_peer(nameserver=True, **KINDS[request.param])
    p.settings["name"] = request.param
    try:
        yield p
    finally:
        p.stop()


@pytest.fixture(params=SERIALIZERS)
def serializer(request, peer):
    """Each serializer; sets config.SERIALIZER (the config is reset after every test)."""
    import Pyro5
    if request.param == "msgpack" and not peer_has_msgpack(peer.kind):
        pytest.skip("the peer (original Pyro5 venv) has no msgpack installed")
    Pyro5.config.SERIALIZER = request.param
    return request.param
