"""Fixtures of the name server tests: name servers on 127.0.0.1 running in a thread, per storage.

Network safety: every test here broadcasts to 127.0.0.1 only (BROADCAST_ADDRS) and binds responders on
127.0.0.1; subprocesses get the same settings through their environment (see cli_env()).
"""
from __future__ import annotations

import itertools
import os
import threading
import time

import pytest

import Pyro5
from Pyro5 import nameserver
from Pyro5.client import Proxy

STORAGES = ["memory", "sql", "etcd"]
_prefixes = itertools.count(1)


def etcd_prefix(request) -> str:
    """A key prefix of its own for each test on the session's etcd cluster."""
    return "t%d-%d-%s" % (os.getpid(), next(_prefixes), request.node.name[:40].replace("/", "_").replace("[", "_")
                          .replace("]", ""))


def cli_env(**extra: str) -> dict:
    """Environment for our own CLI subprocesses: no PYRO_* from outside, broadcasts to loopback only."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYRO_")}
    env["PYRO_BROADCAST_ADDRS"] = "127.0.0.1"
    env["PYRO_NS_BCHOST"] = "127.0.0.1"
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env


def wait_for(condition, timeout: float = 10.0, interval: float = 0.02, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError("timeout waiting for " + what)
        time.sleep(interval)


class RunningNS:
    """A name server (start_ns) on 127.0.0.1 with its request loop in a thread."""

    def __init__(self, storage=None, **kwargs):
        kwargs.setdefault("host", "127.0.0.1")
        kwargs.setdefault("port", 0)
        kwargs.setdefault("enableBroadcast", False)
        if kwargs.get("unixsocket"):
            kwargs.pop("host")
        self.uri, self.daemon, self.bcserver = nameserver.start_ns(storage=storage, **kwargs)
        self.nameserver = self.daemon.nameserver
        self.stopped = False
        self.thread = threading.Thread(target=self.daemon.requestLoop, daemon=True)
        self.thread.start()

    def proxy(self) -> Proxy:
        return Proxy(self.uri)

    def stop(self) -> None:
        if self.stopped:
            return
        self.stopped = True
        self.daemon.shutdown()
        self.thread.join(timeout=10)
        if self.bcserver is not None:
            self.bcserver.close()
        assert not self.thread.is_alive(), "name server loop did not stop"


@pytest.fixture(autouse=True)
def _loopback_broadcasts():
    Pyro5.config.BROADCAST_ADDRS = ["127.0.0.1"]
    Pyro5.config.NS_BCHOST = "127.0.0.1"
    yield


@pytest.fixture(params=STORAGES)
def storage_spec(request, tmp_path):
    """A storage spec per storage type: "memory", "sql:<tmp file>" or "etcd://<session cluster>/<prefix>"."""
    if request.param == "memory":
        return "memory"
    if request.param == "etcd":
        return request.getfixturevalue("etcd_cluster").spec(etcd_prefix(request))
    return "sql:" + str(tmp_path / "names.sqlite")


@pytest.fixture
def start_ns():
    """start_ns(storage=None, **start_ns_kwargs) -> RunningNS; all are stopped at teardown."""
    running: list[RunningNS] = []

    def start(storage=None, **kwargs) -> RunningNS:
        rn = RunningNS(storage, **kwargs)
        running.append(rn)
        return rn

    yield start
    for rn in running:
        rn.stop()


@pytest.fixture
def ns(start_ns, storage_spec):
    """A running name server on each storage."""
    return start_ns(storage_spec)


@pytest.fixture
def nsproxy(ns):
    with ns.proxy() as proxy:
        yield proxy

