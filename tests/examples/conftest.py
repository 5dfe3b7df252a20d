"""Fixtures for the examples' smoke tests; the helpers are in _harness.py."""
from __future__ import annotations

from typing import Iterator

import pytest

from tests.examples._harness import NS_PYTHON, REPO, Proc, Runner, example_env


@pytest.fixture(scope="session")
def nameserver() -> Iterator[tuple[str, int]]:
    """One name server (the `python -m Pyro5.nameserver` tool) on 127.0.0.1, random port, no broadcast."""
    p = Proc(["-m", "Pyro5.nameserver", "-n", "127.0.0.1", "-p", "0", "-x"], REPO, example_env(NS_PYTHON),
             python=NS_PYTHON)
    try:
        m = p.wait_for(r"PYRO:Pyro\.NameServer@([\d.]+):(\d+)")
        yield m.group(1), int(m.group(2))
    finally:
        p.stop()


@pytest.fixture
def runner() -> Iterator[Runner]:
    r = Runner(example_env())
    try:
        yield r
    finally:
        r.stop_all()


@pytest.fixture
def ns_runner(nameserver: tuple[str, int]) -> Iterator[Runner]:
    """A Runner whose processes find the session's name server through PYRO_NS_HOST / PYRO_NS_PORT."""
    host, port = nameserver
    r = Runner(example_env(PYRO_NS_HOST=host, PYRO_NS_PORT=str(port)))
    try:
        yield r
    finally:
        r.stop_all()
