"""Pyro5.compatibility.Pyro4: the Pyro4 API on our stack, exercised over real sockets in this process."""
from __future__ import annotations

import subprocess
import sys
import threading
import time

import pytest

import Pyro5
import Pyro5.errors
from Pyro5.compatibility import Pyro4
from Pyro5.compatibility.Pyro4 import Pyro4CompatibilityError

HOST = "127.0.0.1"


@Pyro4.expose
class Calculator:
    def __init__(self) -> None:
        self.received = threading.Event()
        self.log: list = []

    def add(self, a, b):
        return a + b

    def slow_add(self, a, b, delay=0.2):
        time.sleep(delay)
        return a + b

    def fail(self):
        raise ZeroDivisionError("division by zero, remotely")

    @Pyro4.oneway
    def notify(self, value):
        self.log.append(value)
        self.received.set()

    def thread_ident(self):
        return threading.get_ident()

    @property
    def name(self):
        return "calculator"

    def call_me_back(self, callback_proxy, value):
        return callback_proxy.on_result(value * 2)


@Pyro4.behavior(instance_mode="single")
@Pyro4.expose
class Counter:
    def __init__(self) -> None:
        self.count = 0

    def increment(self):
        self.count += 1
        return self.count


@pytest.fixture(scope="module")
def daemon():
    d = Pyro4.Daemon(host=HOST)
    calc = Calculator()
    uris = {"calc": d.register(calc, "calc"), "counter": d.register(Counter, "counter")}
    t = threading.Thread(target=d.requestLoop, daemon=True)
    t.start()
    try:
        yield d, calc, uris
    finally:
        d.shutdown()
        t.join(10)
        d.close()


# ---------------------------------------------------------------------------------------------- names

def test_pyro4_names_exist():
    for name in ("config", "URI", "Proxy", "Daemon", "callback", "batch", "asyncproxy", "oneway", "expose",
                 "behavior", "current_context", "locateNS", "resolve", "Future", "errors", "__version__",
                 "core", "naming", "util", "socketutil", "constants", "message", "futures"):
        assert hasattr(Pyro4, name), name
    assert Pyro4.URI is Pyro5.core.URI
    assert Pyro4.current_context is Pyro5.current_context
    assert Pyro4.__version__ == Pyro5.__version__


def test_import_of_pyro4_modules_after_enabling():
    import Pyro4 as P4
    import Pyro4.constants
    import Pyro4.core
    import Pyro4.errors
    import Pyro4.futures
    import Pyro4.naming
    import Pyro4.socketutil
    import Pyro4.util
    from Pyro4.core import Proxy
    from Pyro4.naming import locateNS
    assert P4 is Pyro4 and P4 is sys.modules["Pyro5.compatibility.Pyro4"]
    assert Proxy is Pyro4.Proxy and locateNS is Pyro4.locateNS
    assert Pyro4.core.Daemon is Pyro5.server.Daemon
    assert Pyro4.futures.Future is Pyro4.Future


def test_lazy_pyro4_modules():
    import Pyro4.nsc
    import Pyro4.test.echoserver

    import Pyro5.nsc
    import Pyro5.utils.echoserver
    assert Pyro4.test.echoserver is Pyro5.utils.echoserver
    assert Pyro4.nsc is Pyro5.nsc
    assert Pyro5.utils.echoserver.__spec__.name == "Pyro5.utils.echoserver"


def test_removed_and_unknown_modules_give_clear_import_errors():
    import importlib
    with pytest.raises(ImportError, match="Flame has been removed"):
        importlib.import_module("Pyro4.utils.flame")
    with pytest.raises(ImportError, match="does not provide it"):
        importlib.import_module("Pyro4.nonexisting")
    with pytest.raises(AttributeError):
        _ = Pyro4.nonexisting_attribute


@pytest.mark.parametrize("name, why, instead", [
    ("flame", "Flame has been removed from Pyro5", "expose a normal Pyro class"),
    ("naming_storage", "the dbm storage was removed", "Pyro5.nameserver.MemoryStorage or SqlStorage"),
    ("threadutil", "Pyro4.threadutil was removed", "use Python's threading module"),
])
def test_removed_pyro4_attributes_say_why_and_what_instead(name, why, instead):
    from Pyro5 import errors
    with pytest.raises(Pyro4.Pyro4CompatibilityError) as x:
        getattr(Pyro4, name)
    message = str(x.value)
    assert message.startswith("Pyro4.%s is not available in Pyro5: " % name)
    assert why in message and instead in message
    assert isinstance(x.value, errors.PyroError) and isinstance(x.value, NotImplementedError)
    import importlib
    with pytest.raises(ModuleNotFoundError) as y:       # and as a module import
        importlib.import_module("Pyro4." + name)
    assert why in str(y.value) and instead in str(y.value)


def test_pyro4_aliases_only_exist_after_importing_the_compatibility_layer():
    code = ("import sys\n"
            "try:\n    import Pyro4\nexcept ImportError:\n    print('no Pyro4 before')\n"
            "import Pyro5.api\n"
            "assert 'Pyro4' not in sys.modules\n"
            "from Pyro5.compatibility import Pyro4\n"
            "import Pyro4.core, Pyro4.naming, Pyro4.errors, Pyro4.util, Pyro4.socketutil, Pyro4.constants, "
            "Pyro4.futures, Pyro4.message\n"
            "from Pyro4 import Proxy, Daemon, expose\n"
            "print('ok', Pyro4.core.Proxy is Proxy)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split("\n")[:2] == ["no Pyro4 before", "ok True"]


def test_errors_are_the_pyro5_classes():
    import Pyro4.errors as E
    assert E.CommunicationError is Pyro5.errors.CommunicationError
    assert E.NamingError is Pyro5.errors.NamingError
    assert issubclass(E.TimeoutError, E.CommunicationError)
    assert issubclass(Pyro4CompatibilityError, Pyro5.errors.PyroError)
    assert issubclass(Pyro4CompatibilityError, NotImplementedError)


def test_constants_and_message():
    assert Pyro4.constants.DAEMON_NAME == "Pyro.Daemon"
    assert Pyro4.constants.NAMESERVER_NAME == "Pyro.NameServer"
    assert Pyro4.constants.PROTOCOL_VERSION == 502
    assert Pyro4.constants.VERSION == Pyro5.__version__
    assert Pyro4.message.MSG_INVOKE == Pyro5.protocol.MSG_INVOKE
    with pytest.raises(Pyro4CompatibilityError, match="SendingMessage"):
        _ = Pyro4.message.Message


def test_socketutil_camelcase_functions():
    import socket
    assert Pyro4.socketutil.getIpAddress("127.0.0.1") == "127.0.0.1"
    assert Pyro4.socketutil.getIpVersion("127.0.0.1") == 4
    assert Pyro4.socketutil.getIpVersion("::1") == 6
    with socket.socket() as s:
        port = Pyro4.socketutil.bindOnUnusedPort(s, HOST)
        assert s.getsockname() == (HOST, port)
    assert Pyro4.socketutil.findProbablyUnusedPort() > 0
    assert Pyro4.socketutil.SocketConnection is Pyro5.socketutil.SocketConnection


def test_util_serializers():
    assert Pyro4.util.get_serializer("json") is Pyro5.serializers.serializers["json"]
    assert Pyro4.util.get_serializer_by_id(1) is Pyro5.serializers.serializers["serpent"]
    with pytest.raises(Pyro4CompatibilityError, match="unsafe"):
        Pyro4.util.get_serializer("pickle")
    with pytest.raises(Pyro4CompatibilityError):
        _ = Pyro4.util.PickleSerializer


# ---------------------------------------------------------------------------------------------- config

@pytest.fixture
def config():
    Pyro4.config.reset(False)
    yield Pyro4.config
    Pyro4.config.reset(False)


def test_config_items_are_pyro5_items(config):
    config.COMMTIMEOUT = 2.5
    assert Pyro5.config.COMMTIMEOUT == 2.5
    Pyro5.config.SERVERTYPE = "multiplex"
    assert config.SERVERTYPE == "multiplex"
    config.SERIALIZER = "json"
    assert Pyro5.config.SERIALIZER == "json"
    d = config.asDict()
    assert d["COMMTIMEOUT"] == 2.5 and d["AUTOPROXY"] is True and d["HMAC_KEY"] is None


@pytest.mark.parametrize("item,value,hint", [
    ("SERIALIZER", "pickle", "safe serializers"),
    ("SERIALIZER", "dill", "safe serializers"),
    ("SERIALIZER", "cloudpickle", "safe serializers"),
    ("HMAC_KEY", b"secret", "SSL"),
    ("REQUIRE_EXPOSE", False, "@expose"),
    ("METADATA", False, "metadata"),
    ("AUTOPROXY", False, "proxies"),
    ("FLAME_ENABLED", True, "Flame"),
    ("SERIALIZERS_ACCEPTED", {"json", "pickle"}, "unsafe"),
])
def test_config_unsupported_values_raise_with_hint(config, item, value, hint):
    with pytest.raises(Pyro4CompatibilityError, match=hint):
        setattr(config, item, value)


def test_config_pyro4_items_without_effect_are_kept(config):
    config.SERIALIZERS_ACCEPTED = {"json", "serpent"}
    config.PICKLE_PROTOCOL_VERSION = 2
    config.HMAC_KEY = None
    config.REQUIRE_EXPOSE = True
    assert config.SERIALIZERS_ACCEPTED == {"json", "serpent"}
    assert config.PICKLE_PROTOCOL_VERSION == 2
    config.reset(False)
    assert config.PICKLE_PROTOCOL_VERSION == -1


def test_config_unknown_item(config):
    with pytest.raises(AttributeError):
        config.NO_SUCH_ITEM = 1
    with pytest.raises(AttributeError):
        _ = config.NO_SUCH_ITEM
    assert "COMMTIMEOUT" in config.dump()


# ---------------------------------------------------------------------------------------------- futures

def test_future_with_call_chain():
    future = Pyro4.Future(lambda a, b: a + b).then(lambda v, m: v * m, 10).then(lambda v, extra="": "%d%s" % (v, extra),
                                                                               extra="!")
    result = future(4, 5)
    assert isinstance(result, Pyro4.futures.FutureResult)
    assert result.wait(10)
    assert result.ready
    assert result.value == "90!"
    with pytest.raises(RuntimeError):
        future(1, 2)


def test_future_result_then_after_ready():
    result = Pyro4.Future(lambda: 1)()
    assert result.wait(10)
    assert result.then(lambda v: v + 1).value == 2


def test_future_exception_and_iferror():
    errors_seen = []
    done = threading.Event()
    future = Pyro4.Future(lambda: 1 // 0).then(lambda v: v + 1)
    future.iferror(lambda x: (errors_seen.append(x), done.set()))
    result = future()
    assert done.wait(10)
    with pytest.raises(ZeroDivisionError):
        _ = result.value
    assert isinstance(errors_seen[0], ZeroDivisionError)


def test_future_delay_and_cancel():
    started = threading.Event()
    future = Pyro4.Future(started.set)
    future.delay(30)
    result = future()
    assert not result.wait(0.05)
    assert future.cancel() is True
    assert result.wait(10)
    with pytest.raises(RuntimeError, match="cancelled"):
        _ = result.value
    assert not started.is_set()


def test_future_cancel_before_call():
    future = Pyro4.Future(lambda: 1)
    assert future.cancel()
    with pytest.raises(RuntimeError, match="cancelled"):
        future()


def test_future_result_wait_timeout():
    gate = threading.Event()
    result = Pyro4.Future(gate.wait)(10)
    assert result.wait(0.05) is False and not result.ready
    gate.set()
    assert result.wait(10) and result.value is True


# ---------------------------------------------------------------------------------------------- proxies

def test_proxy_calls_and_attributes(daemon):
    _, calc, uris = daemon
    with Pyro4.Proxy(uris["calc"]) as p:
        assert isinstance(p, Pyro5.client.Proxy)
        assert p.add(1, 2) == 3
        assert p.name == "calculator"
        calc.received.clear()
        assert p.notify("x") is None
        assert calc.received.wait(10)
        with pytest.raises(ZeroDivisionError):
            p.fail()
    with Pyro4.Proxy(uris["counter"]) as p1, Pyro4.Proxy(uris["counter"]) as p2:
        first = p1.increment()
        assert p2.increment() == first + 1


def test_remote_traceback_via_util(daemon):
    with Pyro4.Proxy(daemon[2]["calc"]) as p:
        try:
            p.fail()
        except ZeroDivisionError:
            tb = "".join(Pyro4.util.getPyroTraceback())
    assert "Remote traceback" in tb and "division by zero, remotely" in tb


def test_proxy_shared_between_threads_like_pyro4(daemon):
    with Pyro4.Proxy(daemon[2]["calc"]) as p:
        p.add(0, 0)
        results: list = []

        def worker(i: int) -> None:
            for j in range(10):
                results.append(p.add(i, j))

        threads = [threading.Thread(target=worker, args=(i,)) for i in range(5)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert sorted(results) == sorted(i + j for i in range(5) for j in range(10))


def test_proxy_created_in_one_thread_first_used_in_another(daemon):
    p = Pyro4.Proxy(daemon[2]["calc"])
    results = []
    t = threading.Thread(target=lambda: results.append((p.add(2, 3), p.name)))
    t.start()
    t.join(10)
    assert results == [(5, "calculator")]
    assert p.add(1, 1) == 2
    p._pyroRelease()


def test_plain_pyro5_proxy_is_still_thread_owned(daemon):
    p = Pyro5.client.Proxy(daemon[2]["calc"])
    p.add(1, 1)
    errors_seen = []
    t = threading.Thread(target=lambda: errors_seen.append(pytest.raises(Pyro5.errors.PyroError, p.add, 1, 1)))
    t.start()
    t.join(10)
    assert errors_seen
    p._pyroRelease()


def test_async_proxy_returns_future_results(daemon):
    with Pyro4.Proxy(daemon[2]["calc"]) as p:
        assert Pyro4.asyncproxy(p) is p
        results = [p.slow_add(i, 1, 0.05) for i in range(3)]
        assert all(isinstance(r, Pyro4.futures.FutureResult) for r in results)
        assert [r.value for r in results] == [1, 2, 3]
        chained = p.slow_add(1, 2, 0.01).then(lambda v: v * 100)
        assert chained.value == 300
        assert p.name == "calculator"       # attribute access stays synchronous
        failed = p.fail()
        with pytest.raises(ZeroDivisionError):
            _ = failed.value
        p._pyroAsync(False)
        assert p.add(2, 2) == 4


def test_asyncproxy_of_plain_pyro5_proxy_explains():
    with pytest.raises(Pyro4CompatibilityError, match="concurrent.futures"):
        Pyro4.asyncproxy(Pyro5.client.Proxy("PYRO:x@127.0.0.1:1"))


def test_batch(daemon):
    with Pyro4.Proxy(daemon[2]["calc"]) as p:
        b = Pyro4.batch(p)
        b.add(1, 2)
        b.add(3, 4)
        _ = b.name
        assert list(b()) == [3, 7]
        b2 = p._pyroBatch()
        b2.add(10, 20)
        b2.fail()
        results = b2()
        assert next(results) == 30
        with pytest.raises(ZeroDivisionError):
            next(results)


def test_async_batch(daemon):
    with Pyro4.Proxy(daemon[2]["calc"]) as p:
        b = Pyro4.batch(p)
        b.add(1, 1)
        b.slow_add(2, 2, 0.05)
        result = b(asynchronous=True)
        assert isinstance(result, Pyro4.futures.FutureResult)
        assert list(result.value) == [2, 4]


def test_oneway_batch(daemon):
    _, calc, uris = daemon
    calc.received.clear()
    with Pyro4.Proxy(uris["calc"]) as p:
        b = Pyro4.batch(p)
        b.notify("batched")
        assert b(oneway=True) is None
    assert calc.received.wait(10)


def test_hmac_key_and_unsafe_serializer_on_proxy_raise():
    p = Pyro4.Proxy("PYRO:x@127.0.0.1:1")
    with pytest.raises(Pyro4CompatibilityError, match="SSL"):
        p._pyroHmacKey = b"secret"
    p._pyroHmacKey = None
    assert p._pyroHmacKey is None
    with pytest.raises(Pyro4CompatibilityError, match="unsafe"):
        p._pyroSerializer = "pickle"
    p._pyroSerializer = "json"
    assert p._pyroSerializer == "json"


def test_proxy_copy_is_independent(daemon):
    import copy
    with Pyro4.Proxy(daemon[2]["calc"]) as p:
        p._pyroTimeout = 5
        q = copy.copy(p)
        assert isinstance(q, Pyro4.Proxy) and q._pyroUri == p._pyroUri and q._pyroTimeout == 5
        assert q._pyroCompatLock is not p._pyroCompatLock
        with q:
            assert q.add(1, 1) == 2


def test_callback_decorator(daemon):
    @Pyro4.expose
    class Receiver:
        @Pyro4.callback
        def on_result(self, value):
            return "got %s" % value

    d, _, uris = daemon
    with Pyro4.Daemon(host=HOST) as cb_daemon:
        cb_uri = cb_daemon.register(Receiver())
        t = threading.Thread(target=cb_daemon.requestLoop, daemon=True)
        t.start()
        try:
            with Pyro4.Proxy(uris["calc"]) as p:
                assert p.call_me_back(Pyro4.Proxy(cb_uri), 21) == "got 42"
        finally:
            cb_daemon.shutdown()
            t.join(10)


# ---------------------------------------------------------------------------------------------- name server

@pytest.fixture(scope="module")
def nameserver():
    uri, ns_daemon, bc = Pyro4.naming.startNS(HOST, 0, enableBroadcast=False)
    t = threading.Thread(target=ns_daemon.requestLoop, daemon=True)
    t.start()
    try:
        yield uri
    finally:
        ns_daemon.shutdown()
        t.join(10)
        ns_daemon.close()


def test_locate_ns_register_and_pyroname(nameserver, daemon):
    ns = Pyro4.locateNS(HOST, nameserver.port)
    assert isinstance(ns, Pyro4.Proxy)
    ns.register("compat.calc", daemon[2]["calc"], metadata={"calculator", "math"})
    assert ns.lookup("compat.calc") == daemon[2]["calc"]
    with Pyro4.Proxy("PYRONAME:compat.calc@%s:%d" % (HOST, nameserver.port)) as p:
        assert p.add(20, 22) == 42
    assert Pyro4.resolve("PYRONAME:compat.calc@%s:%d" % (HOST, nameserver.port)) == daemon[2]["calc"]
    assert "compat.calc" in ns.list(prefix="compat.")
    assert list(ns.list(metadata_all={"math"})) == ["compat.calc"]
    assert list(ns.list(metadata_any={"nothing", "calculator"})) == ["compat.calc"]
    assert ns.list(metadata_all={"nope"}) == {}
    ns._pyroRelease()


def test_hmac_and_dbm_in_naming_functions_raise():
    with pytest.raises(Pyro4CompatibilityError, match="HMAC"):
        Pyro4.locateNS(HOST, 1, hmac_key=b"k")
    with pytest.raises(Pyro4CompatibilityError, match="HMAC"):
        Pyro4.naming.startNS(HOST, 0, hmac=b"k")
    with pytest.raises(Pyro4CompatibilityError, match="dbm"):
        Pyro4.naming.startNSloop(HOST, 0, storage="dbm:/tmp/x")


def test_serve_simple_with_ns_keyword(nameserver):
    """Pyro4's Daemon.serveSimple(objects, host, port, daemon, ns, verbose)."""
    d = Pyro4.Daemon(host=HOST)
    Pyro5.config.NS_HOST, Pyro5.config.NS_PORT = HOST, nameserver.port
    t = threading.Thread(target=Pyro4.Daemon.serveSimple, args=({Calculator: "compat.simple"},),
                         kwargs={"daemon": d, "ns": True, "verbose": False}, daemon=True)
    t.start()
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                with Pyro4.Proxy("PYRONAME:compat.simple@%s:%d" % (HOST, nameserver.port)) as p:
                    assert p.add(1, 2) == 3
                break
            except Pyro5.errors.NamingError:
                assert time.monotonic() < deadline
                time.sleep(0.05)
    finally:
        d.shutdown()
        t.join(10)
        d.close()
