"""Client regexes cannot freeze the name server: they are matched with the `regex` library under a time limit,
outside the storage lock (list(regex=), remove(regex=) and the storages' generic regex search)."""
from __future__ import annotations

import threading
import time

import pytest

from Pyro5 import errors, nameserver
from Pyro5._ns_storage import MemoryStorage

EVIL_NAME = "a" * 60 + "!"
EVIL_PATTERN = "(a|aa)+$"        # exponential backtracking, also in the regex library


def _call_while_pinging(rn, call, min_pings: int = 3):
    """Run call(proxy) in a thread while another client pings and counts (count() needs the storage lock);
    returns (outcome, slowest of those calls)."""
    outcome: dict = {}

    def run():
        started = time.monotonic()
        try:
            with rn.proxy() as p:
                outcome["result"] = call(p)
        except Exception as x:          # noqa: BLE001 - examined by the test
            outcome["error"] = x
        outcome["elapsed"] = time.monotonic() - started

    worker = threading.Thread(target=run, daemon=True)
    slowest = 0.0
    pings = 0
    with rn.proxy() as pinger:
        pinger._pyroBind()
        worker.start()
        deadline = time.monotonic() + 20
        while worker.is_alive() and time.monotonic() < deadline:
            started = time.monotonic()
            pinger.ping()
            assert pinger.count() >= 1
            slowest = max(slowest, time.monotonic() - started)
            pings += 1
            time.sleep(0.02)
    worker.join(5)
    assert not worker.is_alive(), "regex request did not finish"
    assert pings >= min_pings, "the other client could hardly ping during the regex request"
    return outcome, slowest


@pytest.mark.parametrize("method", ["list", "remove"])
def test_evil_regex_times_out_and_server_stays_responsive(ns, method, monkeypatch):
    assert nameserver.REGEX_TIMEOUT == 1.0                    # the default
    monkeypatch.setattr(nameserver, "REGEX_TIMEOUT", 0.5)     # keeps the test short
    with ns.proxy() as p:
        p.register(EVIL_NAME, "PYRO:x@h:1")
        p.register("other", "PYRO:other@h:1", metadata=["m"])
    outcome, slowest = _call_while_pinging(ns, lambda p: getattr(p, method)(regex=EVIL_PATTERN))
    assert isinstance(outcome.get("error"), errors.NamingError), outcome
    assert "regex took too long" in str(outcome["error"])
    assert 0.3 <= outcome["elapsed"] < 8   # the budget is 0.5 s; the regex library may stop a bit early
    # the other client's calls take a fraction of the regex request: the match holds neither the GIL nor the
    # name server's storage lock (relative, since a loaded machine slows both down)
    assert slowest < outcome["elapsed"] / 2, "ping/count took %.2fs during a %.2fs regex request" % (
        slowest, outcome["elapsed"])
    with ns.proxy() as p:
        assert set(p.list()) == {"Pyro.NameServer", EVIL_NAME, "other"}
        assert p.list(regex="oth") == {"other": "PYRO:other@h:1"}     # normal patterns still work
        assert p.remove(regex="oth.*") == 1


def test_audit_pattern_answers(ns):
    """The audit's (a+)+$ pattern: answered promptly (the regex library optimises it) or refused, never a hang."""
    with ns.proxy() as p:
        p.register("a" * 40 + "!", "PYRO:x@h:1")
    outcome, _slowest = _call_while_pinging(ns, lambda p: p.list(regex="(a+)+$"), min_pings=0)
    assert outcome.get("result") == {} or isinstance(outcome.get("error"), errors.NamingError), outcome
    assert outcome["elapsed"] < 8


def test_regex_timeout_is_configurable(ns, monkeypatch):
    monkeypatch.setattr(nameserver, "REGEX_TIMEOUT", 0.1)
    with ns.proxy() as p:
        p.register(EVIL_NAME, "PYRO:x@h:1")
        started = time.monotonic()
        with pytest.raises(errors.NamingError, match=r"regex took too long \(more than 0.1 seconds\)"):
            p.list(regex=EVIL_PATTERN)
        with pytest.raises(errors.NamingError, match="regex took too long"):
            p.unregister(regex=EVIL_PATTERN)             # the alias of remove() goes the same way
        assert time.monotonic() - started < 8
        assert p.count() == 2


def test_storage_generic_regex_search_is_limited(monkeypatch):
    from Pyro5 import _ns_regex
    monkeypatch.setattr(_ns_regex, "REGEX_TIMEOUT", 0.2)
    store = MemoryStorage()
    store[EVIL_NAME] = ("PYRO:x@h:1", frozenset())
    store["abc"] = ("PYRO:abc@h:1", frozenset({"t"}))
    assert store.optimized_regex_list("ab", return_metadata=True) == {"abc": ("PYRO:abc@h:1", {"t"})}
    started = time.monotonic()
    with pytest.raises(errors.NamingError, match="regex took too long"):
        store.optimized_regex_list(EVIL_PATTERN)
    assert time.monotonic() - started < 8
    with pytest.raises(errors.NamingError, match="invalid regex"):
        store.optimized_regex_list("(")
