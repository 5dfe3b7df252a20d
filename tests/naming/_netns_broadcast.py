"""Run inside a private network namespace (`unshare -rn`): a name server on a non-loopback address with the
default broadcast responder (0.0.0.0:9091) and default BROADCAST_ADDRS, found by pyro5-nsc through a real
broadcast. Nothing leaves the namespace. Prints one JSON object with the observations."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

ADDRESS = "10.99.0.1"


def main() -> None:
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    subprocess.run(["ip", "addr", "add", ADDRESS + "/24", "dev", "lo"], check=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYRO_")}
    env["PYTHONUNBUFFERED"] = "1"
    ns_env = dict(env, PYRO_SERVERTYPE=sys.argv[1] if len(sys.argv) > 1 else "thread")
    ns = subprocess.Popen([sys.executable, "-m", "Pyro5.nameserver", "-n", ADDRESS, "-p", "0"],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ns_env)
    out: dict = {"ns_lines": []}
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            line = ns.stdout.readline()
            if not line:
                break
            out["ns_lines"].append(line.rstrip("\n"))
            if line.startswith("URI = "):
                break
        nsc = subprocess.run([sys.executable, "-m", "Pyro5.nsc", "-v", "ping"], capture_output=True, text=True,
                             timeout=30, env=env)
        out["nsc"] = [nsc.returncode, nsc.stdout, nsc.stderr]
        code = ("import Pyro5.api as a\n"
                "with a.locate_ns() as ns: print(ns._pyroUri)\n"
                "with a.Proxy('PYRONAME:Pyro.NameServer') as p: print(p.count())\n")
        located = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30, env=env)
        out["locate"] = [located.returncode, located.stdout, located.stderr]
        code = ("import socket, Pyro5.nameserver as n\n"
                "uri, d, bc = n.start_ns(host='', port=0, bcport=0)\n"
                "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(5)\n"
                "s.sendto(b'GET_NSURI', ('%s', bc.getPort())); bc.processRequest()\n"
                "print(uri); print(bc.locationStr.split(':')[0]); print(s.recvfrom(200)[0].decode())\n"
                "d.close(); bc.close()\n" % ADDRESS)
        anyhost = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30, env=env)
        out["anyhost"] = [anyhost.returncode, anyhost.stdout, anyhost.stderr]
    finally:
        ns.send_signal(signal.SIGINT)
        try:
            out["ns_exit"] = ns.wait(timeout=15)
        except subprocess.TimeoutExpired:
            ns.kill()
            out["ns_exit"] = "killed"
        out["ns_rest"] = ns.stdout.read().splitlines()
        out["ns_stderr"] = ns.stderr.read()
    print(json.dumps(out))


def bcoptions() -> None:
    """pyro5-ns -n ADDRESS --bchost 127.0.0.1 --bcport <port>: the responder runs exactly there."""
    import socket
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    subprocess.run(["ip", "addr", "add", ADDRESS + "/24", "dev", "lo"], check=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYRO_")}
    env["PYTHONUNBUFFERED"] = "1"
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        bcport = probe.getsockname()[1]
    ns = subprocess.Popen([sys.executable, "-m", "Pyro5.nameserver", "-n", ADDRESS, "-p", "0",
                           "--bchost", "127.0.0.1", "--bcport", str(bcport)],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    out: dict = {"ns_lines": [], "bcport": bcport, "answers": {}}
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            line = ns.stdout.readline()
            if not line:
                break
            out["ns_lines"].append(line.rstrip("\n"))
            if line.startswith("URI = "):
                break
        for host, port in [("127.0.0.1", bcport), (ADDRESS, bcport), ("127.0.0.1", 9091), (ADDRESS, 9091)]:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                s.settimeout(2 if port == bcport and host == "127.0.0.1" else 0.5)
                s.sendto(b"GET_NSURI", (host, port))
                try:
                    answer = s.recvfrom(200)[0].decode()
                except OSError:
                    answer = None
            out["answers"]["%s:%d" % (host, port)] = answer
    finally:
        ns.send_signal(signal.SIGINT)
        try:
            out["ns_exit"] = ns.wait(timeout=15)
        except subprocess.TimeoutExpired:
            ns.kill()
            out["ns_exit"] = "killed"
        out["ns_stderr"] = ns.stderr.read()
    print(json.dumps(out))


def _setup_address() -> None:
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    subprocess.run(["ip", "addr", "add", ADDRESS + "/24", "dev", "lo"], check=True)


def nat() -> None:
    """start_ns(nathost=..., natport=...) on a non-loopback address: what the broadcast responder answers.
    Only uses the public API, so it runs with the original Pyro5's interpreter as well."""
    import socket

    from Pyro5 import nameserver
    _setup_address()
    out: dict = {}
    for host in (ADDRESS, "0.0.0.0"):
        uri, daemon, bc = nameserver.start_ns(host=host, port=0, bcport=0, nathost="nat.example.org", natport=5555)
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                s.settimeout(5)
                s.sendto(b"GET_NSURI", (ADDRESS, bc.getPort()))
                bc.processRequest()
                reply = s.recvfrom(200)[0].decode()
            out[host] = {"returned": str(uri), "port": daemon.sock.getsockname()[1], "reply": reply,
                         "registered": str(daemon.nameserver.lookup("Pyro.NameServer"))}
        finally:
            daemon.close()
            bc.close()
    print(json.dumps(out))


def startup_lines() -> None:
    """`python -m Pyro5.nameserver <args>` for several argument sets (this interpreter): the start-up output
    up to the uri line(s) with the port numbers replaced by PORT, and what it prints on Ctrl-C."""
    import re
    _setup_address()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYRO_")}
    env["PYTHONUNBUFFERED"] = "1"
    out: dict = {}
    for args in STARTUP_ARGS:
        ns = subprocess.Popen([sys.executable, "-m", "Pyro5.nameserver"] + args, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, env=env)
        lines: list[str] = []
        rest: list[str] = []
        try:
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                line = ns.stdout.readline()
                if not line:
                    break
                lines.append(re.sub(r":(?!5555\b)\d{2,5}\b", ":PORT", line.rstrip("\n")))
                if line.startswith(("URI = ", "external URI = ")):
                    break
        finally:
            ns.send_signal(signal.SIGINT)
            try:
                ns.wait(timeout=15)
            except subprocess.TimeoutExpired:
                ns.kill()
                ns.wait(timeout=15)
            rest = ns.stdout.read().splitlines()
            ns.stderr.close()
            ns.stdout.close()
        out[" ".join(args)] = {"startup": lines, "interrupted": rest}
    print(json.dumps(out))


STARTUP_ARGS = [
    ["-n", ADDRESS, "-p", "0"],
    ["-n", ADDRESS, "-p", "0", "-x"],
    ["-n", "0.0.0.0", "-p", "0", "-x"],
    ["-n", "127.0.0.1", "-p", "0"],
    ["-n", "127.0.0.1", "-p", "0", "-x"],
    ["-n", ADDRESS, "-p", "0", "-x", "--nathost", "nat.example.org", "--natport", "5555"],
    ["-n", ADDRESS, "-p", "0", "--bcport", "0", "--nathost", "nat.example.org", "--natport", "5555"],
]


if __name__ == "__main__":
    if sys.argv[1:] == ["bcoptions"]:
        bcoptions()
    elif sys.argv[1:] == ["nat"]:
        nat()
    elif sys.argv[1:] == ["startup"]:
        startup_lines()
    else:
        main()
