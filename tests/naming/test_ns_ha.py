"""Several name servers on one registry (etcd, and sqlite where it applies): consistency, safe registration
races, TTL registrations, clients with several NS_HOST entries, and failures (kill -9 of a name server, of
the etcd leader, loss of the etcd majority). Timings are measured and logged, never asserted."""
from __future__ import annotations

import logging
import threading
import time

import pytest

import Pyro5
import Pyro5.server
from Pyro5 import core, errors
from Pyro5.client import Proxy
from Pyro5.nameserver import TTLRegistration
from tests._support.nsproc import NameServerProcess, TTLDaemonProcess
from tests.naming.conftest import etcd_prefix, wait_for

log = logging.getLogger("tests.ha")


@Pyro5.server.expose
class HAThing:
    def ping(self) -> str:
        return "pong"


@pytest.fixture
def shared_spec(request, etcd_cluster):
    """A fresh prefix on the session's etcd cluster."""
    return etcd_cluster.spec(etcd_prefix(request))


@pytest.fixture(params=["sql", "etcd"])
def shared_any(request, tmp_path):
    """A registry that several name servers can share: one sqlite file, or an etcd prefix."""
    if request.param == "sql":
        return "sql:" + str(tmp_path / "shared.sqlite")
    return request.getfixturevalue("etcd_cluster").spec(etcd_prefix(request))


@pytest.fixture
def processes():
    started: list = []
    yield started
    for proc in started:
        proc.stop()


def test_three_name_servers_one_registry(start_ns, shared_spec):
    servers = [start_ns(shared_spec) for _i in range(3)]
    with servers[0].proxy() as one, servers[1].proxy() as two, servers[2].proxy() as three:
        one.register("ha.first", "PYRO:first@h:1", metadata={"red", "round"})
        assert two.lookup("ha.first") == core.URI("PYRO:first@h:1")
        assert three.lookup("ha.first", return_metadata=True)[1] == {"red", "round"}
        two.register("ha.second", "PYRO:second@h:2", metadata={"red"})
        assert set(three.list(prefix="ha.")) == {"ha.first", "ha.second"}
        assert set(one.yplookup(meta_all={"red", "round"})) == {"ha.first"}
        assert set(one.yplookup(meta_any={"red"})) == {"ha.first", "ha.second"}
        three.set_metadata("ha.second", {"blue"})
        assert set(one.yplookup(meta_any={"red"})) == {"ha.first"}
        assert one.yplookup(meta_all={"blue"}, return_metadata=False) == {"ha.second": "PYRO:second@h:2"}
        assert three.remove(prefix="ha.") == 2
        assert one.list(prefix="ha.") == {} and two.count() == 1   # the name server entry remains
        # one entry for the name server: of one of the three
        assert str(one.lookup(core.NAMESERVER_NAME)) in {str(s.uri) for s in servers}


def test_concurrent_safe_register_exactly_one_wins(start_ns, shared_any):
    servers = [start_ns(shared_any), start_ns(shared_any)]
    barrier = threading.Barrier(10, timeout=30)
    outcomes: list = [None] * 10

    def contender(i: int) -> None:
        with Proxy(servers[i % 2].uri) as ns:
            ns._pyroBind()
            barrier.wait()
            try:
                ns.register("ha.contested", "PYRO:obj%d@h:1" % i, safe=True)
                outcomes[i] = "won"
            except errors.NamingError as x:
                outcomes[i] = x

    threads = [threading.Thread(target=contender, args=(i,)) for i in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert outcomes.count("won") == 1, outcomes
    assert all(isinstance(o, errors.NamingError) and "already registered" in str(o)
               for o in outcomes if o != "won"), outcomes
    winner = outcomes.index("won")
    for server in servers:
        with server.proxy() as ns:
            assert ns.lookup("ha.contested") == core.URI("PYRO:obj%d@h:1" % winner)


def test_ttl_api(nsproxy, storage_spec):
    lease = nsproxy.register_with_ttl("ttl.kept", "PYRO:kept@h:1", 30, metadata={"leased"})
    assert nsproxy.keep_alive(lease) is True
    assert nsproxy.lookup("ttl.kept", return_metadata=True)[1] == {"leased"}
    nsproxy.set_metadata("ttl.kept", {"still", "leased"})     # keeps the lease
    nsproxy.revoke_lease(lease)
    with pytest.raises(errors.NamingError):
        nsproxy.lookup("ttl.kept")
    assert nsproxy.keep_alive(lease) is False
    with pytest.raises(errors.NamingError, match="ttl must be"):
        nsproxy.register_with_ttl("ttl.bad", "PYRO:bad@h:1", -1)
    with pytest.raises(errors.NamingError, match="lease must be an int"):
        nsproxy.keep_alive("nope")
    with pytest.raises(errors.NamingError, match="out of range"):
        nsproxy.revoke_lease(2 ** 70)
    assert nsproxy.keep_alive(123456789) is False       # unknown lease
    nsproxy.revoke_lease(123456789)                     # unknown lease: nothing to do
    nsproxy.register("ttl.taken", "PYRO:taken@h:1")
    with pytest.raises(errors.NamingError, match="already registered"):
        nsproxy.register_with_ttl("ttl.taken", "PYRO:other@h:1", 30, safe=True)
    # a lease that is not kept alive ends, and takes its names along
    short = nsproxy.register_with_ttl("ttl.short", "PYRO:short@h:1", 1, metadata={"short"})
    nsproxy.register("ttl.plain", "PYRO:plain@h:1")
    wait_for(lambda: "ttl.short" not in nsproxy.list(prefix="ttl."), timeout=15, what="the lease to expire")
    assert nsproxy.yplookup(meta_any={"short"}) == {}
    assert nsproxy.keep_alive(short) is False
    assert "ttl.plain" in nsproxy.list(prefix="ttl.")


def test_ttl_registration_helper_keeps_alive_and_stops(start_ns, shared_spec):
    server = start_ns(shared_spec)
    Pyro5.config.NS_HOST = "127.0.0.1:%d,127.0.0.1:%d" % (1, server.uri.port)   # first entry: nothing there
    registration = TTLRegistration("ttl.helper", "PYRO:helper@h:1", ttl=1.5, metadata={"helper"}).start()
    try:
        wait_for(lambda: registration.renewals >= 2, timeout=20, what="keep-alives")
        with server.proxy() as ns:
            assert ns.lookup("ttl.helper") == core.URI("PYRO:helper@h:1")
    finally:
        registration.stop()
    with server.proxy() as ns:
        with pytest.raises(errors.NamingError):
            ns.lookup("ttl.helper")


def test_only_one_name_server_leads_autoclean(start_ns, shared_any):
    first, second = start_ns(shared_any), start_ns(shared_any)
    assert first.nameserver._lead("autoclean", 30) is True
    assert second.nameserver._lead("autoclean", 30) is False
    assert first.nameserver._lead("autoclean", 30) is True        # renewal
    first.nameserver._store("resign", "autoclean", first.nameserver.node_id)
    assert second.nameserver._lead("autoclean", 30) is True
    assert first.nameserver._lead("autoclean", 30) is False


def test_client_with_two_ns_hosts_after_kill9(shared_spec, tmp_path, processes):
    first = NameServerProcess(shared_spec, tmp_path)
    processes.append(first)
    second = NameServerProcess(shared_spec, tmp_path)
    processes.append(second)
    with Proxy(first.uri) as ns:
        ns.register("ha.service", "PYRO:service@127.0.0.1:9")
    Pyro5.config.NS_HOST = "127.0.0.1:%d,127.0.0.1:%d" % (first.port, second.port)
    with core.locate_ns() as ns:
        assert str(ns._pyroUri) == first.uri
    first.kill9()
    started = time.perf_counter()
    resolved = core.resolve("PYRONAME:ha.service")
    elapsed = time.perf_counter() - started
    assert resolved == core.URI("PYRO:service@127.0.0.1:9")
    log.info("resolve through the second NS_HOST entry after kill -9 of the first: %.1f ms", elapsed * 1000)
    with core.locate_ns() as ns:
        assert str(ns._pyroUri) == second.uri
        # the dead name server's own entry is taken over by the live one (its lease ends)
        wait_for(lambda: str(ns.lookup(core.NAMESERVER_NAME)) == second.uri, timeout=30,
                 what="the surviving name server to claim Pyro.NameServer")


def test_ns_host_list_parsing():
    from Pyro5._nslookup import ns_host_locations
    assert ns_host_locations("a, b:1234,[::1]:99,[::1],::1,./u:/tmp/s", 9090) == [
        "a:9090", "b:1234", "[::1]:99", "[::1]:9090", "[::1]:9090", "./u:/tmp/s"]


def test_ns_host_list_all_down_is_naming_error():
    Pyro5.config.NS_HOST = "127.0.0.1:1,127.0.0.1:2"
    with pytest.raises(errors.NamingError, match="127.0.0.1:1.*127.0.0.1:2"):
        core.locate_ns(broadcast=False)


@pytest.mark.slow
def test_ttl_daemon_killed_is_gone(shared_spec, tmp_path, processes):
    """A daemon registered with a 3 s TTL is gone shortly after kill -9 (measured); a live one stays when
    one of the two name servers dies."""
    first = NameServerProcess(shared_spec, tmp_path)
    processes.append(first)
    second = NameServerProcess(shared_spec, tmp_path)
    processes.append(second)
    ns_host = "127.0.0.1:%d,127.0.0.1:%d" % (first.port, second.port)
    doomed = TTLDaemonProcess("ttl.doomed", 3.0, ns_host, tmp_path)
    processes.append(doomed)
    survivor = TTLDaemonProcess("ttl.survivor", 3.0, ns_host, tmp_path)
    processes.append(survivor)
    with Proxy(second.uri) as ns:
        assert set(ns.list(prefix="ttl.")) == {"ttl.doomed", "ttl.survivor"}
        doomed.kill9()
        killed = time.monotonic()
        wait_for(lambda: "ttl.doomed" not in ns.list(prefix="ttl."), timeout=15, interval=0.05,
                 what="the killed daemon's name to expire")
        log.info("TTL 3 s registration gone %.2f s after kill -9 of its daemon", time.monotonic() - killed)
        first.kill9()    # the survivor keeps its lease alive through the second name server
        lease = survivor.lease
        deadline = time.monotonic() + 3 * 3.0
        while time.monotonic() < deadline:   # three TTLs: the name must stay the whole time
            assert ns.lookup("ttl.survivor") == core.URI(survivor.uri)
            time.sleep(0.2)
        assert ns.keep_alive(lease) is True


def test_autoclean_on_a_shared_registry_removes_once(start_ns, shared_any, monkeypatch, caplog):
    from Pyro5.nameserver import AutoCleaner
    from Pyro5.server import Daemon
    monkeypatch.setattr(AutoCleaner, "override_autoclean_min", True)
    monkeypatch.setattr(AutoCleaner, "max_unreachable_time", 0.0)
    Pyro5.config.NS_AUTOCLEAN = 0.2
    first, second = start_ns(shared_any), start_ns(shared_any)
    dead = Daemon(host="127.0.0.1")
    dead_uris = [dead.register(HAThing(), "gone%d" % i) for i in range(5)]
    dead.close()
    with first.proxy() as ns, caplog.at_level(logging.INFO, logger="Pyro5.naming"):
        for i, uri in enumerate(dead_uris):
            ns.register("dead.%d" % i, uri)
        wait_for(lambda: not ns.list(prefix="dead."), timeout=20, what="autoclean")
        # (a name is gone from the store a moment before its removal is logged by the autoclean thread)
        wait_for(lambda: sum("autoclean removed" in r.getMessage() for r in caplog.records) >= 5, timeout=10,
                 what="the autoclean log records")
    removals = [r for r in caplog.records if "autoclean removed" in r.getMessage()]
    assert sorted(r.getMessage() for r in removals) == sorted(
        "autoclean removed unreachable registration 'dead.%d'" % i for i in range(5))
    leaders = [rn.nameserver._lead("autoclean", 30) for rn in (first, second)]
    assert leaders.count(True) == 1


@pytest.mark.parametrize("spec, message", [
    ("etcd://", "no etcd endpoint given"),
    ("etcd://host:notaport/p", "invalid etcd endpoint"),
    ("etcd:nohosts", "use etcd://host:port"),
])
def test_cli_rejects_bad_etcd_specs(spec, message):
    import subprocess
    import sys
    result = subprocess.run([sys.executable, "-m", "Pyro5.nameserver", "-n", "127.0.0.1", "-p", "0", "-x", "-s", spec],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert "Error: cannot start the name server" in result.stderr and message in result.stderr


def test_unreachable_etcd_is_a_naming_error(tmp_path):
    from Pyro5.nameserver import NameServerDaemon
    from tests._support.etcd import free_ports
    pytest.importorskip("etcd3gw")
    port = free_ports(1)[0]
    with pytest.raises(errors.NamingError, match="etcd storage not available"):
        NameServerDaemon("127.0.0.1", 0, storage="etcd://127.0.0.1:%d/nothing" % port)
