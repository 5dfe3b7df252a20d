"""Pyro5.core: URI parsing/formatting, type_meta, constants, lazy locate_ns/resolve."""
from __future__ import annotations

import importlib.util
import sys

import pytest

import Pyro5
from Pyro5 import _wire_hooks, core, errors
from Pyro5.core import URI

if importlib.util.find_spec("Pyro5.client") is not None:
    import Pyro5.client  # noqa: F401  (registers its wire hooks before a test swaps the registry for an empty one)

# text, protocol, object, host, port, sockname, str(uri), location
VALID = [
    ("PYRO:obj@localhost:5555", "PYRO", "obj", "localhost", 5555, None, "PYRO:obj@localhost:5555",
     "localhost:5555"),
    ("pyro:obj@127.0.0.1:1", "PYRO", "obj", "127.0.0.1", 1, None, "PYRO:obj@127.0.0.1:1", "127.0.0.1:1"),
    ("Pyro:Pyro.Daemon@host.example.com:0", "PYRO", "Pyro.Daemon", "host.example.com", 0, None,
     "PYRO:Pyro.Daemon@host.example.com:0", "host.example.com:0"),
    ("PYRO:obj_123-x@h:65535", "PYRO", "obj_123-x", "h", 65535, None, "PYRO:obj_123-x@h:65535", "h:65535"),
    ("PYRO:obj@[::1]:5555", "PYRO", "obj", "::1", 5555, None, "PYRO:obj@[::1]:5555", "[::1]:5555"),
    ("PYRO:obj@[fe80::1%eth0]:5555", "PYRO", "obj", "fe80::1%eth0", 5555, None,
     "PYRO:obj@[fe80::1%eth0]:5555", "[fe80::1%eth0]:5555"),
    ("PYRO:obj@./u:/tmp/sock", "PYRO", "obj", None, None, "/tmp/sock", "PYRO:obj@./u:/tmp/sock", "./u:/tmp/sock"),
    ("PYRO:obj@./u:relative.sock", "PYRO", "obj", None, None, "relative.sock", "PYRO:obj@./u:relative.sock",
     "./u:relative.sock"),
    ("PYRONAME:my.object", "PYRONAME", "my.object", None, None, None, "PYRONAME:my.object", None),
    ("pyroname:my.object@nshost", "PYRONAME", "my.object", "nshost", 9090, None, "PYRONAME:my.object@nshost:9090",
     "nshost:9090"),
    ("PYRONAME:my.object@nshost:1234", "PYRONAME", "my.object", "nshost", 1234, None,
     "PYRONAME:my.object@nshost:1234", "nshost:1234"),
    ("PYRONAME:n@[::1]", "PYRONAME", "n", "::1", 9090, None, "PYRONAME:n@[::1]:9090", "[::1]:9090"),
    ("PYRONAME:n@./u:/tmp/ns.sock", "PYRONAME", "n", None, None, "/tmp/ns.sock", "PYRONAME:n@./u:/tmp/ns.sock",
     "./u:/tmp/ns.sock"),
    ("  PYRO:obj@h:1  ", "PYRO", "obj", "h", 1, None, "PYRO:obj@h:1", "h:1"),
    ("PYRO:obj@./u:/tmp/my dir/s", "PYRO", "obj", None, None, "/tmp/my dir/s", "PYRO:obj@./u:/tmp/my dir/s",
     "./u:/tmp/my dir/s"),
]


@pytest.mark.parametrize("text,protocol,obj,host,port,sockname,as_str,location", VALID, ids=[v[0] for v in VALID])
def test_valid_uris(text, protocol, obj, host, port, sockname, as_str, location):
    uri = URI(text)
    assert (uri.protocol, uri.object, uri.host, uri.port, uri.sockname) == (protocol, obj, host, port, sockname)
    assert str(uri) == as_str
    assert uri.location == location
    assert URI(str(uri)) == uri
    assert uri.__getstate__() == (protocol, obj, sockname, host, port)


def test_pyrometa():
    uri = URI("PYROMETA:printer,color@nshost")
    assert uri.protocol == "PYROMETA"
    assert uri.metadata == {"printer", "color"}
    assert uri.object == {"printer", "color"}  # the original Pyro5 keeps the tags in .object (and the state)
    assert (uri.host, uri.port) == ("nshost", 9090)
    assert str(uri) == "PYROMETA:color,printer@nshost:9090"  # normalized: sorted tags
    assert uri == URI("pyrometa:color,printer@nshost:9090")
    assert hash(uri) == hash(URI("PYROMETA:printer,color@nshost:9090"))
    bare = URI("PYROMETA:one")
    assert bare.metadata == {"one"} and bare.location is None and str(bare) == "PYROMETA:one"
    assert URI("PYRO:x@h:1").metadata == set()


def test_pyroname_default_port_from_config_at_parse_time():
    Pyro5.config.NS_PORT = 4321
    assert URI("PYRONAME:name@host").port == 4321


INVALID = [
    ("", "empty string"),
    ("   ", "empty string"),
    ("justtext", "no protocol"),
    ("obj@host:5555", "no protocol"),
    ("FOO:obj@host:5555", "unknown protocol 'FOO'"),
    ("PYROX:obj@host:5555", "unknown protocol 'PYROX'"),
    ("PYRO:@host:5555", "empty object id"),
    ("PYRONAME:", "empty object id"),
    ("PYRO:obj", "a PYRO uri needs a location"),
    ("PYRO:obj@", "empty location"),
    ("PYRO:obj@host", "has no port"),
    ("PYRO:obj@host:", "empty port"),
    ("PYRO:obj@host:abc", "invalid port 'abc'"),
    ("PYRO:obj@host:1e3", "invalid port '1e3'"),
    ("PYRO:obj@host:0x10", "invalid port '0x10'"),
    ("PYRO:obj@[::1]:-5", "invalid port '-5'"),
    ("PYRO:obj@./u:/tmp/so\nck", "a newline is not allowed in a unix socket path"),
    ("PYRO:obj@:5555", "empty host name"),
    ("PYRO:obj@::1:5555", "ipv6 address must be written between brackets"),
    ("PYRO:obj@[::1:5555", "bad ipv6 location"),
    ("PYRO:obj@[[::1]]:5555", "too many brackets"),
    ("PYRO:obj@[nothex]:5555", "is not an ipv6 address"),
    ("PYRO:obj@[::1]5555", "bad ipv6 location"),
    ("PYRO:obj@[::1]", "has no port"),
    ("PYRO:obj@host]:5555", "unbalanced ']'"),
    ("PYRO:obj@./u:", "empty unix socket name"),
    ("PYRO:obj@./u:/tmp/sock:5555", "unix socket location ./u:path cannot have a port"),
    ("PYRO:my obj@host:5555", "whitespace is not allowed in the object id"),
    ("PYRO:obj@my host:5555", "whitespace is not allowed in the location"),
    ("PYRO:obj@a@host:5555", "more than one '@'"),
    ("PYROMETA:a,,b", "empty metadata tag"),
]


@pytest.mark.parametrize("text,message", INVALID, ids=[repr(i[0]) for i in INVALID])
def test_invalid_uris(text, message):
    with pytest.raises(errors.PyroError) as exc:
        URI(text)
    assert message in str(exc.value)
    assert "invalid uri" in str(exc.value)


@pytest.mark.parametrize("value", [None, 42, 99999, b"PYRO:obj@host:5555", ["PYRO:obj@host:5555"]])
def test_non_string_input_is_a_type_error(value):
    # TypeError as in the original 5.15 (checked against it in test_original_accepts_and_refuses_the_same), and a
    # PyroError as before
    with pytest.raises(TypeError, match="expected a str or URI, got %s" % type(value).__name__) as exc:
        URI(value)
    assert isinstance(exc.value, errors.PyroError)


# (text, (host, port, sockname, str(uri))) that the original 5.15 accepts, where a stricter parser would refuse
ORIGINAL_LENIENT = [
    ("PYRO:obj@host:99999", ("host", 99999, None, "PYRO:obj@host:99999")),
    ("PYRO:obj@host:999999999999", ("host", 999999999999, None, "PYRO:obj@host:999999999999")),
    ("PYRONAME:obj@host:70000", ("host", 70000, None, "PYRONAME:obj@host:70000")),
    ("PYRO:obj@[::1]:70000", ("::1", 70000, None, "PYRO:obj@[::1]:70000")),
    ("PYRO:obj@host:-1", ("host", -1, None, "PYRO:obj@host:-1")),
    ("PYRO:obj@host:+5", ("host", 5, None, "PYRO:obj@host:5")),
    ("PYRO:obj@host:05", ("host", 5, None, "PYRO:obj@host:5")),
    ("PYRO:obj@host:５５", ("host", 55, None, "PYRO:obj@host:55")),
    ("PYRO:obj@host:5 \n", ("host", 5, None, "PYRO:obj@host:5")),
    ("PYRO:obj@./u:/tmp/sock  ", (None, None, "/tmp/sock  ", "PYRO:obj@./u:/tmp/sock  ")),
    ("PYRO:obj@./u:/tmp/sock\t", (None, None, "/tmp/sock\t", "PYRO:obj@./u:/tmp/sock\t")),
    ("PYRO:obj@./u:/tmp/sock \n", (None, None, "/tmp/sock ", "PYRO:obj@./u:/tmp/sock ")),
    ("PYRO:obj@./u: /tmp/sock", (None, None, " /tmp/sock", "PYRO:obj@./u: /tmp/sock")),
    ("PYRO:obj@./u:\0abstract  ", (None, None, "\0abstract  ", "PYRO:obj@./u:\0abstract  ")),
]


@pytest.mark.parametrize("text,expected", ORIGINAL_LENIENT, ids=[repr(i[0]) for i in ORIGINAL_LENIENT])
def test_big_ports_and_unix_paths_with_trailing_spaces(text, expected):
    u = URI(text)
    assert (u.host, u.port, u.sockname, str(u)) == expected
    assert URI(str(u)) == u


ORIG_PROBE = """
import sys, json
from Pyro5.core import URI
out = []
for text in json.loads(sys.argv[1]):
    try:
        u = URI(text)
        out.append([u.host, u.port, u.sockname, str(u)])
    except Exception as x:
        out.append(["ERROR", type(x).__name__])
for value in (None, 99999):
    try:
        URI(value)
        out.append("accepted")
    except Exception as x:
        out.append(type(x).__name__)
print(json.dumps(out))
"""


@pytest.mark.interop
def test_original_accepts_and_refuses_the_same():
    import json

    from tests._support import refpyro
    texts = [t for t, _ in ORIGINAL_LENIENT] + ["PYRO:obj@host:abc", "PYRO:obj@[::1]:-5", "PYRO:obj@./u:/tmp/so\nck"]
    out = json.loads(refpyro.run_orig(ORIG_PROBE, json.dumps(texts)).stdout)
    for (_, expected), got in zip(ORIGINAL_LENIENT, out, strict=False):
        assert tuple(got) == expected
    assert [got[0] for got in out[len(ORIGINAL_LENIENT):-2]] == ["ERROR"] * 3
    assert out[-2:] == ["TypeError", "TypeError"]


def test_construct_from_other_uri_is_a_copy():
    original = URI("PYROMETA:a,b@host:1")
    copy = URI(original)
    assert copy == original and copy is not original
    copy.metadata.add("c")
    assert original.metadata == {"a", "b"}
    plain = URI(URI("PYRO:obj@./u:/s"))
    assert plain.sockname == "/s" and str(plain) == "PYRO:obj@./u:/s"


def test_equality_and_hash():
    a = URI("PYRO:obj@host:5555")
    b = URI("pyro:obj@host:5555")
    c = URI("PYRO:obj@host:5556")
    assert a == b and not (a != b)
    assert a != c and not (a == c)
    assert hash(a) == hash(b)
    assert len({a, b, c}) == 2
    assert {a: 1}[b] == 1
    assert a != "PYRO:obj@host:5555"  # a URI is not equal to its string
    assert URI("PYRONAME:x@h") == URI("PYRONAME:x@h:9090")


def test_str_and_repr():
    uri = URI("PYRO:obj@[::1]:5555")
    assert str(uri) == "PYRO:obj@[::1]:5555"
    assert repr(uri) == "<Pyro5.core.URI at 0x%x; PYRO:obj@[::1]:5555>" % id(uri)


def test_class_identity_for_the_wire():
    assert URI.__module__ == "Pyro5.core"
    assert URI.__qualname__ == "URI"
    assert URI.__name__ == "URI"


def test_is_unixsock_location():
    assert URI.isUnixsockLocation("./u:/tmp/sock")
    assert URI("PYRO:o@h:1").isUnixsockLocation("./u:x")
    assert not URI.isUnixsockLocation("localhost:5555")
    assert not URI.isUnixsockLocation("[::1]:5555")
    assert not URI.isUnixsockLocation("")


@pytest.mark.parametrize("text", ["PYRO:obj@host:5555", "PYRO:obj@./u:/tmp/x", "PYRONAME:n", "PYRONAME:n@h:1",
                                  "PYROMETA:a,b@[::1]:9", "PYRO:obj@[::1]:1"])
def test_state_round_trip(text):
    uri = URI(text)
    state = uri.__getstate__()
    assert isinstance(state, tuple) and len(state) == 5
    restored = URI.__new__(URI)
    restored.__setstate__(state)
    assert restored == uri
    assert str(restored) == str(uri)
    assert (restored.protocol, restored.object, restored.sockname, restored.host, restored.port) == \
        (uri.protocol, uri.object, uri.sockname, uri.host, uri.port)


def test_state_from_wire_with_list_metadata():
    # a serializer without sets (json, msgpack) delivers the PYROMETA tags as a list
    restored = URI.__new__(URI)
    restored.__setstate__(["PYROMETA", ["b", "a"], None, "h", 9090])
    assert restored.metadata == {"a", "b"} and str(restored) == "PYROMETA:a,b@h:9090"


def test_constants():
    assert core.DAEMON_NAME == "Pyro.Daemon"
    assert core.NAMESERVER_NAME == "Pyro.NameServer"
    assert core.current_context is Pyro5.current_context


class _Base:
    pass


class _Derived(_Base, dict):
    pass


def test_type_meta():
    expected = {"class:%s._Derived" % __name__, "class:%s._Base" % __name__}
    assert core.type_meta(_Derived) == expected
    assert core.type_meta(_Derived()) == expected
    assert core.type_meta(_Base, prefix="x:") == {"x:%s._Base" % __name__}
    assert core.type_meta(errors.SerializeError("x")) == {
        "class:Pyro5.errors.SerializeError", "class:Pyro5.errors.ProtocolError",
        "class:Pyro5.errors.CommunicationError", "class:Pyro5.errors.PyroError"}
    assert core.type_meta(42) == set()  # builtins are left out


@pytest.mark.parametrize("func,args", [(core.locate_ns, ()), (core.resolve, ("PYRONAME:x",))])
def test_locate_ns_and_resolve_need_pyro5_client(func, args, monkeypatch):
    monkeypatch.setattr(_wire_hooks, "_registry", {})           # the client has not registered anything
    monkeypatch.setitem(sys.modules, "Pyro5.client", None)  # simulate: pyro5-client not installed
    with pytest.raises(ModuleNotFoundError) as exc:
        func(*args)
    assert str(exc.value) == "Pyro5.core.%s needs pyro5-client: pip install pyro5-client" % func.__name__


def test_resolve_delegates_to_client(monkeypatch):
    # core.locate_ns/resolve call what pyro5-client registered (wire never imports the client by name)
    calls = []
    monkeypatch.setitem(_wire_hooks._registry, "resolve", lambda uri, delay: calls.append((uri, delay)) or "resolved")
    monkeypatch.setitem(_wire_hooks._registry, "locate_ns", lambda h, p, b: calls.append((h, p, b)) or "ns")
    assert core.resolve("PYRONAME:x", 1.5) == "resolved"
    assert core.locate_ns("127.0.0.1", 9999, False) == "ns"
    assert calls == [("PYRONAME:x", 1.5), ("127.0.0.1", 9999, False)]


BAD_STATES = [
    (None, "expected (protocol, object, sockname, host, port)"),
    (("PYRO", "obj", None, "h"), "expected (protocol, object, sockname, host, port)"),
    (("HTTP", "obj", None, "h", 1), "unknown protocol 'HTTP'"),
    (("PYRO", 42, None, "h", 1), "object id must be a non-empty str"),
    (("PYRO", "", None, "h", 1), "object id must be a non-empty str"),
    (("PYRO", "obj", None, 123, 1), "host must be a str or None"),
    (("PYRO", "obj", b"/tmp/s", None, None), "sockname must be a str or None"),
    (("PYRO", "obj", None, "h", "1"), "port must be an int or None"),
    (("PYRO", "obj", None, "h", True), "port must be an int or None"),
    (("PYROMETA", [1, 2], None, None, None), "metadata must be a collection of str"),
]


@pytest.mark.parametrize("state,message", BAD_STATES)
def test_setstate_rejects_bad_state_from_the_wire(state, message):
    uri = URI.__new__(URI)
    with pytest.raises(errors.SerializeError, match=message.replace("(", r"\(").replace(")", r"\)")):
        uri.__setstate__(state)


# valid for us, rejected by the original (it accepts only hex digits in an ipv6 scope id)
OUR_EXTENSIONS = {"PYRO:obj@[fe80::1%eth0]:5555"}

ORIG_CODE = """
import sys
from Pyro5.core import URI
for text in sys.argv[1:]:
    try:
        u = URI(text)
    except Exception as x:
        print("ERROR", type(x).__name__)
        continue
    obj = ",".join(sorted(u.object)) if u.protocol == "PYROMETA" else u.object
    print(repr((u.protocol, obj, u.sockname, u.host, u.port, u.location)))
"""


@pytest.mark.interop
def test_parsing_matches_the_original_pyro5():
    from tests._support import refpyro
    texts = [v[0].strip() for v in VALID] + ["PYROMETA:b,a@nshost", "PYROMETA:x"]
    out = refpyro.run_orig(ORIG_CODE, *texts).stdout.decode().splitlines()
    assert len(out) == len(texts)
    for text, line in zip(texts, out, strict=True):
        if text in OUR_EXTENSIONS:
            assert line == "ERROR PyroError"
            continue
        u = URI(text)
        obj = ",".join(sorted(u.metadata)) if u.protocol == "PYROMETA" else u.object
        assert repr((u.protocol, obj, u.sockname, u.host, u.port, u.location)) == line, text


def test_parsed_uri_strings_are_reused_but_stay_independent():
    """URI strings seen before are not parsed again (Pyro5.core._parsed_uris); the result is the same, each URI
    object is its own, and a PYRONAME's default port still follows config.NS_PORT."""
    first = URI("PYRO:obj@host.example:5555")
    second = URI("PYRO:obj@host.example:5555")
    assert first is not second and first == second and second.port == 5555 and second.host == "host.example"
    second.port = 1
    assert URI("PYRO:obj@host.example:5555").port == 5555
    assert URI("PYRONAME:thing@nshost").port == Pyro5.config.NS_PORT
    Pyro5.config.NS_PORT = 12345
    assert URI("PYRONAME:thing@nshost").port == 12345
    meta = URI("PYROMETA:a,b@nshost:1")
    meta.metadata.add("c")
    assert URI("PYROMETA:a,b@nshost:1").metadata == {"a", "b"}
    with pytest.raises(Pyro5.errors.PyroError):
        URI("PYRO:obj@host.example")        # invalid strings are never cached
    with pytest.raises(Pyro5.errors.PyroError):
        URI("PYRO:obj@host.example")
