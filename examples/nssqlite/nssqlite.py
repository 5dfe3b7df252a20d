"""A name server with persistent sqlite storage: registrations survive a restart of the name server.

    python nssqlite.py [dbfile]      # default: a file in a temporary directory

Equivalent by hand:  pyro5-ns -s sql:names.sqlite   (then stop and start it again)
This script starts `python -m Pyro5.nameserver -s sql:<dbfile>` twice, on 127.0.0.1 and a random port.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile

import Pyro5.api


def start_ns(dbfile: str) -> tuple[subprocess.Popen[str], str]:
    cmd = [sys.executable, "-u", "-m", "Pyro5.nameserver", "-n", "127.0.0.1", "-p", "0", "-x", "-s", f"sql:{dbfile}"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    for line in proc.stdout:                      # ends when the process exits (e.g. on an error)
        print("   [ns]", line.rstrip())
        m = re.search(r"PYRO:Pyro\.NameServer@\S+", line)
        if m:
            return proc, m.group(0)
    proc.wait(timeout=10)
    raise SystemExit(f"the name server did not start (exit status {proc.returncode})")


def stop_ns(proc: subprocess.Popen[str]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        dbfile = sys.argv[1] if len(sys.argv) > 1 else os.path.join(tmp, "names.sqlite")
        print("starting a name server with storage sql:" + dbfile)
        proc, uri = start_ns(dbfile)
        try:
            with Pyro5.api.Proxy(uri) as ns:
                ns.register("example.sqlite.one", "PYRO:one@127.0.0.1:5001", metadata={"example", "first"})
                ns.register("example.sqlite.two", "PYRO:two@127.0.0.1:5002")
                print("registered:", sorted(ns.list(prefix="example.sqlite.")))
        finally:
            stop_ns(proc)
        print("name server stopped; starting a new one on the same database")
        proc, uri = start_ns(dbfile)
        try:
            with Pyro5.api.Proxy(uri) as ns:
                found = ns.list(prefix="example.sqlite.", return_metadata=True)
                for name, (obj_uri, tags) in sorted(found.items()):
                    print(f"still there: {name} -> {obj_uri} metadata={sorted(tags)}")
                print("count (including the name server itself):", ns.count())
                ns.remove(prefix="example.sqlite.")
        finally:
            stop_ns(proc)


if __name__ == "__main__":
    main()
