"""Network facts the tests need about this machine."""
from __future__ import annotations

import functools
import shutil
import socket
import subprocess
import sys


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


@functools.lru_cache(maxsize=None)
def can_unshare_netns() -> bool:
    """Can this user make a private network namespace (`unshare -rn`) and bring its loopback up with `ip`?
    Tests that need non-loopback addresses (broadcast, NAT) run inside one and skip with that reason elsewhere."""
    if not sys.platform.startswith("linux") or not shutil.which("unshare") or not shutil.which("ip"):
        return False
    try:
        probe = subprocess.run(["unshare", "-rn", "ip", "link", "set", "lo", "up"], capture_output=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return probe.returncode == 0


NETNS_REASON = "needs unshare -rn (a private network namespace) and ip"
