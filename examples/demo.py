"""The README's demo: a name server, a server and a client, in one command.

    python examples/demo.py            # or: hatch run examples:demo
    python examples/demo.py --name Irmen --serializer json

It starts, as child processes of this one (same interpreter):
  1. a name server on 127.0.0.1 (random free port, no broadcast responder): `python -m Pyro5.nameserver`,
  2. a server that registers a greeting object in it as "example.greeting",
  3. a client that finds the object via PYRONAME and calls it, printing the round trip.
Everything is stopped again, with timeouts, also when something fails; the exit status is non-zero on failure.

The same file holds the server and client code (`demo.py server ...`, `demo.py client ...`), so you can read
the whole demo in one place.
"""
from __future__ import annotations

import argparse
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from typing import IO

HERE = os.path.abspath(__file__)
OBJECT_NAME = "example.greeting"


# ---------------------------------------------------------------------------------------------- the server
def run_server(ns_host: str | None, ns_port: int | None) -> None:
    import Pyro5.api

    @Pyro5.api.expose
    class GreetingMaker:
        def get_fortune(self, name: str) -> str:
            return (f"Hello, {name}. Here is your fortune message: "
                    "Tomorrow's lucky number is 12345678.")

    with Pyro5.api.Daemon(host="127.0.0.1") as daemon:
        uri = daemon.register(GreetingMaker, "greeting")
        if ns_host:
            with Pyro5.api.locate_ns(host=ns_host, port=ns_port) as ns:
                ns.register(OBJECT_NAME, uri)
            print(f"registered {OBJECT_NAME} -> {uri}", flush=True)
        print(f"READY {uri}", flush=True)
        try:
            daemon.requestLoop()
        except KeyboardInterrupt:
            pass
        print("server: shut down", flush=True)


# ---------------------------------------------------------------------------------------------- the client
def run_client(uri: str, name: str, serializer: str) -> None:
    import Pyro5.api

    with Pyro5.api.Proxy(uri) as greeter:
        greeter._pyroSerializer = serializer
        greeter._pyroTimeout = 10
        t0 = time.perf_counter()
        greeter._pyroBind()                          # connect (and resolve PYRONAME) up front
        t_connect = time.perf_counter() - t0
        if uri.startswith("PYRONAME:"):
            print(f"name server: {uri} -> {greeter._pyroUri}")
        print(f"client -> server: get_fortune({name!r})   [serializer {serializer}]")
        t0 = time.perf_counter()
        answer = greeter.get_fortune(name)
        t_first = time.perf_counter() - t0
        print(f"server -> client: {answer!r}")
        times = []
        for _ in range(200):
            t0 = time.perf_counter()
            greeter.get_fortune(name)
            times.append(time.perf_counter() - t0)
        times.sort()
        print(f"round trip: first call {t_first * 1000:.2f} ms (connect + lookup {t_connect * 1000:.2f} ms), "
              f"median of 200 calls {times[len(times) // 2] * 1000:.3f} ms")


# ---------------------------------------------------------------------------------------------- orchestration
def _default_sigint() -> None:
    """Runs in the child before exec: Ctrl-C must stop it even if we were started with SIGINT ignored
    (as background jobs are), because stop() asks the children to shut down cleanly with SIGINT."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


class Child:
    """A child process whose output is echoed with a prefix and scanned for an expected line."""

    def __init__(self, label: str, args: list[str], env: dict[str, str]):
        self.label = label
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.stderr: list[str] = []
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True,
                                     preexec_fn=_default_sigint if os.name == "posix" else None)
        assert self.proc.stdout is not None and self.proc.stderr is not None
        threading.Thread(target=self._pump, args=(self.proc.stdout, True), daemon=True).start()
        self._err_pump = threading.Thread(target=self._pump, args=(self.proc.stderr, False), daemon=True)
        self._err_pump.start()

    def _pump(self, stream: IO[str], is_stdout: bool) -> None:
        for line in stream:
            line = line.rstrip("\n")
            if is_stdout:
                print(f"  [{self.label}] {line}", flush=True)
                self.lines.put(line)
            else:
                self.stderr.append(line)
        if is_stdout:
            self.lines.put(None)

    def wait_for(self, pattern: str, timeout: float) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        regex = re.compile(pattern)
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise RuntimeError(f"{self.label}: no line matching {pattern!r} within {timeout:.0f} s"
                                   + self._stderr_tail())
            try:
                line = self.lines.get(timeout=remaining)
            except queue.Empty:
                continue
            if line is None:
                self.proc.wait(timeout=5)
                raise RuntimeError(f"{self.label} exited with status {self.proc.returncode} before it was ready"
                                   + self._stderr_tail())
            m = regex.search(line)
            if m:
                return m

    def _stderr_tail(self) -> str:
        if self.proc.poll() is not None:
            self._err_pump.join(timeout=2)     # the process ended: let the pump read the rest of its stderr
        tail = "\n".join(self.stderr[-25:])
        return f"\n--- stderr of {self.label} ---\n{tail}" if tail else ""

    def stop(self, timeout: float = 5.0) -> None:
        """Ctrl-C first (clean shutdown), then terminate, then kill; each with a timeout."""
        if self.proc.poll() is None:
            for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGKILL):
                try:
                    self.proc.send_signal(sig)
                except (ProcessLookupError, OSError):
                    break
                try:
                    self.proc.wait(timeout=timeout)
                    break
                except subprocess.TimeoutExpired:
                    continue
        print(f"[demo] {self.label} stopped (exit status {self.proc.returncode})", flush=True)


def child_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYRO_")}
    env["PYTHONUNBUFFERED"] = "1"
    env["PYRO_HOST"] = "127.0.0.1"
    return env


def orchestrate(name: str, serializer: str, timeout: float, use_ns: bool) -> int:
    py = sys.executable
    env = child_env()
    children: list[Child] = []
    try:
        ns_host: str | None = None
        ns_port: int | None = None
        if use_ns:
            cmd = [py, "-u", "-m", "Pyro5.nameserver", "-n", "127.0.0.1", "-p", "0", "-x"]
            print("[demo] starting the name server:", " ".join(["python"] + cmd[1:]), flush=True)
            ns = Child("name server", cmd, env)
            children.append(ns)
            try:
                m = ns.wait_for(r"PYRO:Pyro\.NameServer@([\w.\-]+|\[[0-9a-fA-F:]+\]):(\d+)", timeout)
                ns_host, ns_port = m.group(1), int(m.group(2))
            except RuntimeError as x:
                if "No module named Pyro5.nameserver" not in str(x):
                    raise
                print("[demo] the name server (pyro5-naming) is not installed: falling back to a direct PYRO "
                      "uri without a name server", flush=True)
                ns.stop()
                children.remove(ns)
                use_ns = False

        server_cmd = [py, "-u", HERE, "server"]
        if use_ns:
            server_cmd += ["--ns-host", str(ns_host), "--ns-port", str(ns_port)]
        print("[demo] starting the server", flush=True)
        server = Child("server", server_cmd, env)
        children.append(server)
        uri = server.wait_for(r"^READY (\S+)", timeout).group(1)

        client_uri = f"PYRONAME:{OBJECT_NAME}@{ns_host}:{ns_port}" if use_ns else uri
        print(f"[demo] running the client with {client_uri}", flush=True)
        client = Child("client", [py, "-u", HERE, "client", client_uri, "--name", name,
                                  "--serializer", serializer], env)
        children.append(client)
        try:
            status = client.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise RuntimeError(f"the client did not finish within {timeout:.0f} s") from None
        client.wait_for(r"^round trip", 5)   # drain its output (and check that it got that far)
        if status != 0:
            raise RuntimeError(f"the client failed with exit status {status}" + client._stderr_tail())
        return 0
    except (RuntimeError, OSError) as x:
        print(f"[demo] FAILED: {x}", file=sys.stderr, flush=True)
        return 1
    finally:
        for child in reversed(children):
            child.stop()
        if children:
            print("[demo] all stopped", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="role")
    p_server = sub.add_parser("server", help="run the greeting server (used by the demo)")
    p_server.add_argument("--ns-host")
    p_server.add_argument("--ns-port", type=int)
    p_client = sub.add_parser("client", help="run the greeting client (used by the demo)")
    p_client.add_argument("uri")
    p_client.add_argument("--name", default="demo")
    p_client.add_argument("--serializer", default="serpent")
    parser.add_argument("--name", default="demo", help="the name to greet (default: demo)")
    parser.add_argument("--serializer", default="serpent", choices=["serpent", "json", "marshal", "msgpack"])
    parser.add_argument("--timeout", type=float, default=20.0, help="seconds to wait for each step")
    parser.add_argument("--no-ns", action="store_true", help="do not use a name server (direct PYRO uri)")
    args = parser.parse_args(argv)

    if args.role == "server":
        run_server(args.ns_host, args.ns_port)
        return 0
    if args.role == "client":
        run_client(args.uri, args.name, args.serializer)
        return 0
    status = orchestrate(args.name, args.serializer, args.timeout, use_ns=not args.no_ns)
    print("[demo] OK" if status == 0 else "[demo] the demo failed", flush=True)
    return status


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
