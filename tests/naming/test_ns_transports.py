"""The name server over IPv6 and over 2-way SSL, and the broadcast responder on IPv6."""
from __future__ import annotations

import socket
import threading

import pytest

import Pyro5
from Pyro5 import errors
from Pyro5.client import Proxy, resolve
from Pyro5.nameserver import BroadcastServer
from Pyro5.server import Daemon, expose
from tests._support.net import has_ipv6_loopback

needs_ipv6 = pytest.mark.skipif(not has_ipv6_loopback(), reason="no IPv6 loopback")


@expose
class Thing:
    def name(self):
        return "thing"


@needs_ipv6
def test_ipv6_name_server(start_ns):
    rn = start_ns(host="::1", enableBroadcast=True)
    assert rn.bcserver is None                      # ::1 is loopback
    assert rn.uri.host == "::1" and str(rn.uri).startswith("PYRO:Pyro.NameServer@[::1]:")
    with rn.proxy() as p:
        p.register("v6.thing", "PYRO:thing@[::1]:5555", metadata=["v6"])
        assert str(p.lookup("v6.thing")) == "PYRO:thing@[::1]:5555"
    assert str(resolve("PYRONAME:v6.thing@[::1]:%d" % rn.uri.port)) == "PYRO:thing@[::1]:5555"
    assert str(resolve("PYROMETA:v6@[::1]:%d" % rn.uri.port)) == "PYRO:thing@[::1]:5555"


@needs_ipv6
def test_ipv6_broadcast_responder(start_ns):
    rn = start_ns(host="::1")
    with BroadcastServer(rn.uri, bchost="::1", bcport=0, ipv6=True) as bc:
        assert bc.locationStr == "[::1]:%d" % bc.getPort()
        t = bc.runInThread()     # returns at once, serving in a thread of its own (as the original)
        with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as s:
            s.settimeout(3)
            s.sendto(b"GET_NSURI", ("::1", bc.getPort()))
            assert s.recvfrom(1000)[0] == str(rn.uri).encode()
    t.join(5)
    assert not t.is_alive()


def test_name_server_over_two_way_ssl(start_ns):
    from tests._support import certs
    c = certs.make_certs()
    for key, value in {**c.as_config("server"), **c.as_config("client")}.items():
        setattr(Pyro5.config, key, value)
    rn = start_ns()
    with Daemon(host="127.0.0.1") as d:
        objuri = d.register(Thing())
        t = threading.Thread(target=d.requestLoop, daemon=True)
        t.start()
        try:
            with rn.proxy() as p:
                p.register("ssl.thing", objuri, metadata=["secure"])
                assert p._pyroConnection is not None and p._pyroConnection.getpeercert() is not None
            with Proxy("PYRONAME:ssl.thing@127.0.0.1:%d" % rn.uri.port) as thing:
                assert thing.name() == "thing"
            with Proxy("PYROMETA:secure@127.0.0.1:%d" % rn.uri.port) as thing:
                assert thing.name() == "thing"
        finally:
            d.shutdown()
            t.join(5)
    # a client without a certificate is refused; the name server keeps serving the others
    Pyro5.config.SSL_CLIENTCERT = ""
    Pyro5.config.SSL_CLIENTKEY = ""
    with pytest.raises(errors.CommunicationError):
        with rn.proxy() as p:
            p.ping()
    for key, value in c.as_config("client").items():
        setattr(Pyro5.config, key, value)
    with rn.proxy() as p:
        assert p.count() == 2
