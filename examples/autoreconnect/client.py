"""Keeps calling; when the server goes away, reconnects with _pyroReconnect() once it is back.

    python client.py PYRO:example.autoreconnect@localhost:9999    # restart the server yourself meanwhile
    python client.py --demo                                       # starts, kills and restarts the server itself
"""
from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import time

import Pyro5.api
import Pyro5.errors

HERE = os.path.dirname(os.path.abspath(__file__))


def start_server(port: int) -> subprocess.Popen[str]:
    proc = subprocess.Popen([sys.executable, "-u", os.path.join(HERE, "server.py"), "--port", str(port)],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline()                    # blocks until the server prints its uri (or dies)
    if not line.startswith("Ready"):
        proc.kill()
        raise SystemExit(f"the server did not start: {line!r}")
    return proc


def stop_server(proc: subprocess.Popen[str]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def call_loop(proxy: Pyro5.api.Proxy, calls: int, on_call=None) -> None:
    for i in range(calls):
        if on_call:
            on_call(i)
        while True:
            try:
                print(proxy.next(), flush=True)
                break
            except Pyro5.errors.ConnectionClosedError:
                print("connection lost; reconnecting...", flush=True)
                proxy._pyroReconnect(tries=100)       # retries the connect until the server is back
                print("reconnected", flush=True)
            except Pyro5.errors.CommunicationError as x:   # the server is down right now
                print(f"cannot reach the server ({type(x).__name__}); reconnecting...", flush=True)
                proxy._pyroReconnect(tries=100)
                print("reconnected", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("uri", nargs="?")
    parser.add_argument("--demo", action="store_true", help="run and restart the server ourselves")
    args = parser.parse_args()
    if not args.demo:
        uri = args.uri or input("uri of the autoreconnect server? ").strip()
        with Pyro5.api.Proxy(uri) as proxy:
            call_loop(proxy, 1000, lambda i: time.sleep(1))
        return

    Pyro5.config.HOST = "127.0.0.1"
    port = free_port()
    servers = [start_server(port)]
    try:
        with Pyro5.api.Proxy(f"PYRO:example.autoreconnect@127.0.0.1:{port}") as proxy:
            def restart_halfway(i: int) -> None:
                if i == 3:
                    print("*** stopping the server", flush=True)
                    stop_server(servers[-1])
                    print("*** starting it again on the same port", flush=True)
                    servers.append(start_server(port))
            call_loop(proxy, 6, restart_halfway)
        print("done: the proxy survived a server restart")
    finally:
        for proc in servers:
            if proc.poll() is None:
                stop_server(proc)


if __name__ == "__main__":
    main()
