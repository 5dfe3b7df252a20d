"""A real etcd cluster for the tests: N members on loopback ports in a temp dir, stopped by pid.

Debian's ``etcd-server`` package provides ``/usr/bin/etcd`` (``.ci/run`` installs it); without it the tests
that need etcd skip with that reason. One cluster serves a whole test session; tests isolate themselves
by key prefix (``EtcdCluster.spec(prefix)``).
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Optional

SKIP_REASON = ("etcd is not installed (Debian: apt-get install etcd-server; .ci/run installs it): "
               "the etcd name server storage cannot be tested")


def etcd_binary() -> Optional[str]:
    return shutil.which("etcd") or (os.path.exists("/usr/bin/etcd") and "/usr/bin/etcd") or None


def free_ports(count: int) -> list[int]:
    """Free TCP ports on 127.0.0.1 (bound together so they differ, released just before use)."""
    socks = []
    try:
        for _i in range(count):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def _post(url: str, payload: dict, timeout: float) -> dict:
    request = urllib.request.Request(url, data=json.dumps(payload).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout) as reply:
        return json.loads(reply.read())


class Member:
    def __init__(self, name: str, client_port: int, peer_port: int, datadir: Path) -> None:
        self.name = name
        self.client_port = client_port
        self.peer_port = peer_port
        self.datadir = datadir
        self.process: Optional[subprocess.Popen] = None
        self.member_id: Optional[str] = None

    @property
    def client_url(self) -> str:
        return "http://127.0.0.1:%d" % self.client_port

    @property
    def peer_url(self) -> str:
        return "http://127.0.0.1:%d" % self.peer_port

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def status(self, timeout: float = 2.0) -> dict:
        return _post(self.client_url + "/v3/maintenance/status", {}, timeout)


class EtcdCluster:
    """`size` etcd members on 127.0.0.1 under `workdir`; start() waits until every member is healthy."""

    def __init__(self, workdir: Path, size: int = 3) -> None:
        binary = etcd_binary()
        if binary is None:
            raise RuntimeError(SKIP_REASON)
        self.binary = binary
        self.workdir = Path(workdir)
        ports = free_ports(2 * size)
        self.members = [Member("m%d" % i, ports[2 * i], ports[2 * i + 1], self.workdir / ("m%d" % i))
                        for i in range(size)]
        self.token = "pyro5-test-%d" % os.getpid()

    @property
    def endpoints(self) -> str:
        return ",".join("127.0.0.1:%d" % m.client_port for m in self.members)

    def spec(self, prefix: str) -> str:
        return "etcd://%s/%s" % (self.endpoints, prefix)

    def _launch(self, member: Member, state: str) -> None:
        cluster = ",".join("%s=%s" % (m.name, m.peer_url) for m in self.members)
        log = open(self.workdir / ("%s.log" % member.name), "ab")
        try:
            member.process = subprocess.Popen(
                [self.binary, "--name", member.name, "--data-dir", str(member.datadir),
                 "--listen-client-urls", member.client_url, "--advertise-client-urls", member.client_url,
                 "--listen-peer-urls", member.peer_url, "--initial-advertise-peer-urls", member.peer_url,
                 "--initial-cluster", cluster, "--initial-cluster-state", state,
                 "--initial-cluster-token", self.token],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        finally:
            log.close()

    def start(self, timeout: float = 60.0) -> "EtcdCluster":
        self.workdir.mkdir(parents=True, exist_ok=True)
        for member in self.members:
            self._launch(member, "new")
        try:
            self.wait_healthy(timeout)
            for member in self.members:
                member.member_id = str(member.status()["header"]["member_id"])
        except BaseException:
            self.stop()
            raise
        return self

    def wait_healthy(self, timeout: float = 30.0, members: Optional[list[Member]] = None) -> None:
        """Wait until each (running) member answers /health with a leader; bounded by timeout."""
        deadline = time.monotonic() + timeout
        for member in members or [m for m in self.members if m.running]:
            while True:
                if not member.running:
                    raise RuntimeError("etcd member %s exited; see %s" % (member.name, self.workdir))
                try:
                    with urllib.request.urlopen(member.client_url + "/health", timeout=2) as reply:
                        if json.loads(reply.read()).get("health") in ("true", True):
                            break
                except (OSError, urllib.error.URLError, ValueError):
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError("etcd member %s not healthy within %.0f s; see %s"
                                       % (member.name, timeout, self.workdir))
                time.sleep(0.1)

    def leader(self, timeout: float = 30.0) -> Member:
        """The member that leads now (asked from the running members), bounded by timeout."""
        deadline = time.monotonic() + timeout
        while True:
            for member in self.members:
                if not member.running:
                    continue
                try:
                    leader_id = str(member.status(timeout=1.0)["leader"])
                except (OSError, urllib.error.URLError, ValueError, KeyError):
                    continue
                for candidate in self.members:
                    if candidate.member_id == leader_id and candidate.running:
                        return candidate
            if time.monotonic() > deadline:
                raise RuntimeError("no etcd leader within %.0f s" % timeout)
            time.sleep(0.05)

    def kill(self, member: Member) -> None:
        """kill -9 one member (by its pid) and reap it."""
        if member.process is not None and member.process.poll() is None:
            os.kill(member.process.pid, signal.SIGKILL)
            member.process.wait(timeout=10)

    def restart(self, member: Member, timeout: float = 30.0) -> None:
        """Start a stopped member again on its data dir (it rejoins the cluster)."""
        assert not member.running
        self._launch(member, "existing")
        self.wait_healthy(timeout, [member])

    def stop(self) -> None:
        for member in self.members:
            if member.process is not None and member.process.poll() is None:
                member.process.terminate()
        for member in self.members:
            if member.process is None:
                continue
            try:
                member.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.kill(member.process.pid, signal.SIGKILL)
                member.process.wait(timeout=10)
