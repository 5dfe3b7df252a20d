"""Network facts the tests need about this machine."""
from __future__ import annotations

import functools
import socket


@functools.lru_cache(maxsize=None)
def has_ipv6_loopback() -> bool:
    """Can a socket bind ::1 here? (IPv6 tests skip with that reason where it cannot.)"""
    if not socket.has_ipv6:
        return False
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False
