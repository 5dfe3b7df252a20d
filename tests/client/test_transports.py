"""Unix domain sockets, IPv6, user-supplied connected sockets and SSL (1-way, 2-way, wrong CA)."""
from __future__ import annotations

import os
import socket
import tempfile

import pytest

import Pyro5
import Pyro5.errors
from Pyro5.client import Proxy
from tests._support import certs as certgen
from tests._support.net import has_ipv6_loopback
from tests.client._peer import start_peer, start_peer_on_socket


@pytest.mark.skipif(not hasattr(socket, "AF_UNIX"), reason="no unix domain sockets")
def test_unix_socket():
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "pyro.sock")
        with start_peer(unixsocket=path) as peer:
            uri = peer.uri()
            assert uri == "PYRO:thing@./u:" + path
            with Proxy(uri) as p:
                assert p.add(1, 2) == 3
                assert p._pyroConnection.family() == "Unix"
                assert list(p.gen(3)) == [0, 1, 2]
                assert "connected Unix" in repr(p)


@pytest.mark.skipif(not has_ipv6_loopback(), reason="no IPv6 loopback")
def test_ipv6():
    with start_peer(host="::1") as peer:
        uri = peer.uri()
        assert "@[::1]:" in uri
        with Proxy(uri) as p:
            assert p.add(1, 2) == 3
            assert p._pyroConnection.family() == "IPv6"
            assert p._pyroLocalSocket[0] == "::1"


@pytest.mark.skipif(not hasattr(socket, "socketpair"), reason="no socketpair")
def test_connected_socket():
    ours, theirs = socket.socketpair()
    try:
        peer = start_peer_on_socket(theirs)
        theirs.close()
        try:
            p = Proxy("thing", connected_socket=ours)
            assert str(p._pyroUri) == "PYRO:thing@<<connected-socket>>:0"
            assert p.add(1, 2) == 3
            assert list(p.gen(2)) == [0, 1]
            p._pyroRelease()
            assert ours.fileno() >= 0  # the user's socket stays open
            # another proxy (another object) over the same socket
            with Proxy("plain", connected_socket=ours) as q:
                assert q.add(1, 2) == 1003
            assert ours.fileno() >= 0
        finally:
            peer.stop()
    finally:
        ours.close()


@pytest.fixture(scope="module")
def certs():
    return certgen.make_certs()


@pytest.fixture(scope="module")
def other_ca(tmp_path_factory):
    return certgen.make_certs(tmp_path_factory.mktemp("other-ca"))


def _client_config(items: dict) -> None:
    for key, value in items.items():
        setattr(Pyro5.config, key, value)


@pytest.fixture(scope="module")
def ssl_peer(certs):
    with start_peer(config=certs.as_config("server", require_client_cert=False)) as peer:
        yield peer


@pytest.fixture(scope="module")
def ssl2_peer(certs):
    with start_peer(config=certs.as_config("server", require_client_cert=True)) as peer:
        yield peer


def test_ssl_one_way(ssl_peer, certs):
    _client_config({"SSL": True, "SSL_CACERTS": certs.ca_cert})
    with Proxy(ssl_peer.uri()) as p:
        assert p.add(1, 2) == 3
        cert = p._pyroConnection.getpeercert()
        assert cert is not None
        subject = dict(item[0] for item in cert["subject"])
        assert subject["commonName"] == "localhost"
        assert int(cert["serialNumber"], 16) == certs.server_serial


def test_ssl_one_way_with_localhost_name(ssl_peer, certs):
    _client_config({"SSL": True, "SSL_CACERTS": certs.ca_cert})
    with Proxy(ssl_peer.uri().replace("127.0.0.1", "localhost")) as p:
        assert p.echo("hi") == "hi"


def test_ssl_two_way(ssl2_peer, certs):
    _client_config(certs.as_config("client"))
    with Proxy(ssl2_peer.uri()) as p:
        assert p.add(1, 2) == 3
        assert list(p.gen(3)) == [0, 1, 2]


def test_ssl_wrong_ca(ssl_peer, other_ca):
    _client_config({"SSL": True, "SSL_CACERTS": other_ca.ca_cert})
    with Proxy(ssl_peer.uri()) as p:
        with pytest.raises(Pyro5.errors.CommunicationError, match="certificate verif") as x:
            p.add(1, 2)
        assert "SSL_CACERTS" in str(x.value)


def test_ssl_two_way_without_client_cert(ssl2_peer, certs):
    _client_config({"SSL": True, "SSL_CACERTS": certs.ca_cert})
    with Proxy(ssl2_peer.uri()) as p:
        with pytest.raises(Pyro5.errors.CommunicationError):
            p.add(1, 2)
        assert p._pyroConnection is None
    # the server keeps serving clients that do have a certificate
    _client_config(certs.as_config("client"))
    with Proxy(ssl2_peer.uri()) as p:
        assert p.add(2, 2) == 4


def test_ssl_client_to_plain_server(peer, certs):
    _client_config({"SSL": True, "SSL_CACERTS": certs.ca_cert})
    Pyro5.config.COMMTIMEOUT = 5
    with Proxy(peer.uri()) as p:
        with pytest.raises(Pyro5.errors.CommunicationError):
            p.add(1, 2)


def test_ssl_missing_ca_file(ssl_peer, tmp_path):
    _client_config({"SSL": True, "SSL_CACERTS": str(tmp_path / "nope.pem")})
    with Proxy(ssl_peer.uri()) as p:
        with pytest.raises((FileNotFoundError, Pyro5.errors.PyroError)):
            p.add(1, 2)
