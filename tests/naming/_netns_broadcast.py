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


if __name__ == "__main__":
    if sys.argv[1:] == ["bcoptions"]:
        bcoptions()
    else:
        main()
