"""Run inside a private network namespace (`unshare -rn`): `pyro5-echoserver -v -N` on a non-loopback address
starts a broadcast responder next to its name server, which answers GET_NSURI (on the default NS_BCPORT 9091).
Nothing leaves the namespace. Prints one JSON object with the observations."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time

ADDRESS = "10.99.0.1"


def main() -> None:
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    subprocess.run(["ip", "addr", "add", ADDRESS + "/24", "dev", "lo"], check=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYRO_")}
    env["PYTHONUNBUFFERED"] = "1"
    env["PYRO_NS_PORT"] = "0"
    proc = subprocess.Popen([sys.executable, "-m", "Pyro5.utils.echoserver", "-v", "-N", "-H", ADDRESS],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    out: dict = {"lines": []}
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            out["lines"].append(line.rstrip("\n"))
            if line.startswith("echoserver running."):
                break
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(5)
            s.sendto(b"GET_NSURI", (ADDRESS, 9091))
            try:
                out["reply"] = s.recvfrom(200)[0].decode()
            except OSError as x:
                out["reply"] = "no reply: %s" % x
        code = ("import sys, Pyro5.api as a\n"
                "with a.locate_ns() as ns: print(ns._pyroUri); print(ns.lookup('test.echoserver'))\n"
                "with a.Proxy('PYRONAME:test.echoserver') as p: print(p.echo('found')); p.shutdown()\n")
        env_client = dict(env, PYRO_NS_HOST=ADDRESS)
        env_client.pop("PYRO_NS_PORT")      # the broadcast lookup must find the name server (random port)
        located = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30,
                                 env=env_client)
        out["locate"] = [located.returncode, located.stdout, located.stderr]
        try:
            out["exit"] = proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            out["exit"] = "timeout"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        out["rest"] = proc.stdout.read().splitlines()
        out["stderr"] = proc.stderr.read()
    print(json.dumps(out))


if __name__ == "__main__":
    main()
