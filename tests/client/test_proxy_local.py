"""Proxy behaviour that needs no server: construction, identity, state, pickling, errors before connecting."""
from __future__ import annotations

import copy
import pickle
import socket
import threading

import pytest

import Pyro5
import Pyro5.client
import Pyro5.core
import Pyro5.errors
import Pyro5.serializers
from Pyro5.client import BatchProxy, Proxy, SerializedBlob

URI = "PYRO:thing@127.0.0.1:9999"


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_construct_from_str_and_uri():
    p1 = Proxy(URI)
    p2 = Proxy(Pyro5.core.URI(URI))
    assert isinstance(p1._pyroUri, Pyro5.core.URI)
    assert str(p1._pyroUri) == URI
    assert p1 == p2 and hash(p1) == hash(p2) and not (p1 != p2)
    assert p1 != Proxy("PYRO:other@127.0.0.1:9999")
    assert p1 != "not a proxy"
    assert p1._pyroConnection is None  # no connection made at creation
    assert p1._pyroSerializer is None and p1._pyroHandshake == "hello"
    assert p1._pyroMaxRetries == 0 and p1._pyroTimeout == 0.0


def test_construct_uses_config():
    Pyro5.config.COMMTIMEOUT = 2.5
    Pyro5.config.MAX_RETRIES = 4
    p = Proxy(URI)
    assert p._pyroTimeout == 2.5 and p._pyroMaxRetries == 4


@pytest.mark.parametrize("bad", [42, None, b"PYRO:x@h:1"])
def test_construct_bad_type(bad):
    with pytest.raises(TypeError):
        Proxy(bad)


@pytest.mark.parametrize("bad", ["", "FOO:x@h:1", "PYRO:x", "PYRO:x@h:notaport"])
def test_construct_bad_uri(bad):
    with pytest.raises(Pyro5.errors.PyroError):
        Proxy(bad)


def test_repr_and_str():
    p = Proxy(URI)
    text = repr(p)
    assert text.startswith("<Pyro5.client.Proxy at 0x")
    assert "not connected" in text and "for " + URI in text and "owner %d" % threading.get_ident() in text
    assert str(p) == text


def test_wire_class_and_state_layout():
    p = Proxy(URI)
    assert Proxy.__pyro_class__ == "Pyro5.client.Proxy"
    assert p.__pyro_state__() == (URI, (), (), (), "hello", None)
    p._pyroMethods = {"a", "b"}
    p._pyroOneway = {"b"}
    p._pyroAttrs = {"x"}
    p._pyroHandshake = {"secret": 1}
    p._pyroSerializer = "json"
    uri, oneway, methods, attrs, handshake, ser = p.__pyro_state__()
    assert (uri, set(oneway), set(methods), set(attrs), handshake, ser) == (URI, {"b"}, {"a", "b"}, {"x"},
                                                                          {"secret": 1}, "json")


@pytest.mark.parametrize("state", [
    (URI, ("b",), ("a", "b"), ("x",), "hs", "json"),
    [URI, ["b"], ["a", "b"], ["x"], "hs", "json"],  # json / msgpack give lists
])
def test_from_state(state):
    p = Proxy._pyro_from_state(state)
    assert type(p) is Proxy
    assert str(p._pyroUri) == URI
    assert p._pyroOneway == {"b"} and p._pyroMethods == {"a", "b"} and p._pyroAttrs == {"x"}
    assert p._pyroHandshake == "hs" and p._pyroSerializer == "json"
    assert p._pyroConnection is None
    assert callable(p._pyroInvoke)  # the proxy is complete: its own attributes exist


@pytest.mark.parametrize("bad", [None, (URI,), "PYRO:x@h:1", (1, 2, 3, 4, 5, 6), (URI, 1, 2, 3, "hs", None),
                                 (URI, (), (), (), "hs", 42)])
def test_from_state_invalid(bad):
    with pytest.raises(Pyro5.errors.PyroError):
        Proxy._pyro_from_state(bad)


@pytest.mark.parametrize("name", ["serpent", "json", "marshal", "msgpack"])
def test_proxy_roundtrips_through_serializers(name):
    ser = Pyro5.serializers.serializers[name]
    p = Proxy(URI)
    p._pyroMethods = {"add"}
    p._pyroHandshake = "hs"
    q = ser.loads(ser.dumps({"proxy": p}))["proxy"]
    assert isinstance(q, Proxy) and q == p
    assert q._pyroMethods == {"add"} and q._pyroHandshake == "hs"


def test_pickle_and_copy():
    p = Proxy(URI)
    p._pyroMethods = {"m"}
    p._pyroHandshake = "hs"
    p._pyroTimeout = 3
    p._pyroMaxRetries = 2
    for q in (pickle.loads(pickle.dumps(p)), copy.copy(p), copy.deepcopy(p)):
        assert q is not p and q == p
        assert q._pyroMethods == {"m"} and q._pyroHandshake == "hs"
        assert q._pyroConnection is None
    c = copy.copy(p)
    assert c._pyroTimeout == 3 and c._pyroMaxRetries == 2


def test_copy_of_subclass_keeps_extra_attributes():
    class MyProxy(Proxy):
        def __init__(self, uri, extra):
            super().__init__(uri)
            self._extra = extra

    p = MyProxy(URI, "x")
    c = copy.copy(p)
    assert type(c) is MyProxy and c._extra == "x" and c == p


def test_dir_includes_remote_names():
    p = Proxy(URI)
    p._pyroMethods = {"remote_method"}
    p._pyroAttrs = {"remote_attr"}
    names = dir(p)
    assert "remote_method" in names and "remote_attr" in names and "_pyroBind" in names


def test_bool_does_not_connect():
    p = Proxy(URI)
    assert bool(p)
    assert p._pyroConnection is None


def test_python_probes_do_not_connect():
    p = Proxy("PYRO:thing@127.0.0.1:%d" % closed_port())
    assert not hasattr(p, "__array__")
    assert not hasattr(p, "_pyroSomethingElse")
    assert p._pyroConnection is None


def test_connect_refused_is_communication_error():
    p = Proxy("PYRO:thing@127.0.0.1:%d" % closed_port())
    with pytest.raises(Pyro5.errors.CommunicationError) as x:
        p.method()
    assert "cannot connect to" in str(x.value)
    with pytest.raises(Pyro5.errors.CommunicationError):
        p._pyroBind()
    assert p._pyroConnection is None


def test_reconnect_fails_after_tries():
    p = Proxy("PYRO:thing@127.0.0.1:%d" % closed_port())
    with pytest.raises(Pyro5.errors.ConnectionClosedError, match="failed to reconnect"):
        p._pyroReconnect(1)


def test_unknown_serializer():
    """Raised before connecting; the class is a SerializeError (a CommunicationError, what the original raises
    when not connected) and a KeyError (what it raises when connected). _pyroReconnect does not retry it."""
    p = Proxy("PYRO:thing@127.0.0.1:%d" % closed_port())
    p._pyroSerializer = "bogus"
    with pytest.raises(Pyro5.errors.SerializeError, match="unknown serializer 'bogus'") as caught:
        p._pyroBind()
    assert isinstance(caught.value, KeyError) and isinstance(caught.value, Pyro5.errors.CommunicationError)
    assert str(caught.value).startswith("unknown serializer 'bogus' (set proxy._pyroSerializer")
    with pytest.raises(KeyError, match="unknown serializer 'bogus'"):
        p._pyroReconnect()      # (would retry 100000000 times, 2 seconds apart, if it retried)
    assert p._pyroConnection is None


def test_unknown_config_serializer_fails_when_the_proxy_is_created():
    Pyro5.config.SERIALIZER = "bogus"
    with pytest.raises(ValueError, match="unknown serializer 'bogus'"):
        Proxy(URI)
    with pytest.raises(ValueError):
        Proxy(Pyro5.core.URI(URI))
    Pyro5.config.SERIALIZER = "json"
    assert Proxy(URI)._pyroSerializer is None


def test_ownership_checked_before_connecting():
    p = Proxy("PYRO:thing@127.0.0.1:%d" % closed_port())
    errors = []

    def other():
        try:
            p._pyroInvoke("method", (), {})
        except Exception as x:
            errors.append(x)

    t = threading.Thread(target=other)
    t.start()
    t.join(10)
    assert len(errors) == 1 and type(errors[0]) is Pyro5.errors.PyroError
    assert "not the owner of this proxy" in str(errors[0])


def test_local_attributes_are_not_remote():
    p = Proxy(URI)
    p._my_own_attribute = 42  # private names stay local, without connecting
    assert p._my_own_attribute == 42
    assert p._pyroConnection is None


def test_batchproxy_local():
    p = Proxy(URI)
    b = BatchProxy(p)
    assert not hasattr(b, "_private")
    assert not hasattr(b, "__deepcopy__")
    b.method(1, 2)  # recorded, not sent
    b.method(3)
    assert b.method is b.method      # (kept on the batch proxy after its first use)
    assert p._pyroConnection is None
    c = copy.copy(b)
    c.other()
    b.third()
    assert b._BatchProxy__calls == [("method", (1, 2), {}), ("method", (3,), {}), ("third", (), {})]
    assert c._BatchProxy__calls == [("method", (1, 2), {}), ("method", (3,), {}), ("other", (), {})]
    with pytest.raises(TypeError):
        BatchProxy("not a proxy")


def test_serialized_blob_local():
    blob = SerializedBlob("info", {"a": [1, 2]})
    assert blob.info == "info"
    assert blob.deserialized() == {"a": [1, 2]}
    with pytest.raises(TypeError):
        SerializedBlob("info", {"a": 1}, is_blob=True)


@pytest.mark.parametrize("name", ["serpent", "json", "marshal", "msgpack"])
def test_serialized_blob_of_sending_and_receiving_messages(name):
    """is_blob=True with the message that is sent (the 40-byte header skipped, as the original) or received."""
    from Pyro5 import protocol
    ser = Pyro5.serializers.serializers[name]
    data = ser.dumpsCall("obj", "method", ("a", 1), {"k": 2})
    sent = protocol.SendingMessage(protocol.MSG_INVOKE, 0, 1, ser.serializer_id, data, annotations={"ABCD": b"x"})
    received = protocol.ReceivingMessage(sent.data[:40], sent.data[40:])
    for msg in (sent, received):
        assert list(SerializedBlob("info", msg, is_blob=True).deserialized()) == ["a", 1]


def test_context_manager_without_connection():
    with Proxy(URI) as p:
        assert isinstance(p, Proxy)
    assert p._pyroConnection is None


def test_api_exports():
    import Pyro5.api
    assert Pyro5.api.Proxy is Proxy
    assert Pyro5.api.BatchProxy is BatchProxy
    assert Pyro5.api.SerializedBlob is SerializedBlob
    assert Pyro5.client.locate_ns is Pyro5.client.locate_ns
    assert callable(Pyro5.core.locate_ns) and callable(Pyro5.core.resolve)


def test_subclass_setattr_sees_the_proxys_own_attributes():
    # (a plain Proxy stores them without calling __setattr__ for each; a subclass that overrides it gets the calls)
    class Watching(Proxy):
        def __setattr__(self, name, value):
            self.__dict__.setdefault("seen", []).append(name)
            super().__setattr__(name, value)

    p = Watching(URI)
    assert {"_pyroUri", "_pyroHandshake", "_pyroMaxRetries", "_Proxy__link"} <= set(p.seen)
    assert p._pyroHandshake == "hello" and p._pyroUri == Pyro5.core.URI(URI)
    assert "seen" not in Proxy(URI).__dict__


def test_subclass_property_for_a_proxy_attribute():
    class Handshaking(Proxy):
        @property
        def _pyroHandshake(self):
            return self.__dict__.get("hs_value")

        @_pyroHandshake.setter
        def _pyroHandshake(self, value):
            self.__dict__["hs_value"] = ("set", value)

    p = Handshaking(URI)
    assert p._pyroHandshake == ("set", "hello")
    assert copy.copy(p)._pyroHandshake == ("set", ("set", "hello"))
