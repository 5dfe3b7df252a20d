"""Server CPU per small call: the server process's CPU time (/proc/<pid>/task/*/schedstat; the system part from
/proc/<pid>/stat) over N calls
of one client, for one or more code trees, interleaved (tree A, tree B, tree A, ...) so that the load of the
machine hits all of them alike. Linux only (/proc).

    python bench/server_cpu.py                                  # this checkout, thread and multiplex servers
    python bench/server_cpu.py --tree /tmp/old --tree .         # compare another checkout with this one
    python bench/server_cpu.py --tree . --profile /tmp/prof     # cProfile of the server (every thread)

A tree is a checkout of this repository: the server process imports Pyro5 from its packages/*/src folders
only (the editable installs of the running environment are taken off sys.path). The client is this
environment's Pyro5, the same for every tree. It calls a method that returns its small argument, with the
msgpack serializer by default, and the figure is the server's CPU microseconds per call (the median of the
rounds; a round is one server process). Compare trees only within one run: absolute figures depend on the load.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from typing import Any

SERVER = r"""
import os, sys
tree, servertype, serializer, profile = sys.argv[1:5]
sys.path[:] = [os.path.join(tree, "packages", d, "src") for d in sorted(os.listdir(os.path.join(tree, "packages")))
               if d.startswith("pyro5-")] + [p for p in sys.path if "/packages/pyro5-" not in p and p not in ("", ".")]
import Pyro5, Pyro5.server
Pyro5.config.SERVERTYPE = servertype
profiles = []
if profile:
    import cProfile, threading
    run = threading.Thread.run
    def profiled_run(self):
        prof = cProfile.Profile()
        profiles.append(prof)
        prof.enable()
        try:
            run(self)
        finally:
            prof.disable()
    threading.Thread.run = profiled_run


class Echo:
    @Pyro5.server.expose
    def echo(self, value):
        return value

    @Pyro5.server.expose
    @Pyro5.server.oneway
    def stop(self):
        daemon.shutdown()


daemon = Pyro5.server.Daemon(host="127.0.0.1")
uri = daemon.register(Echo, "echo")
print("READY", uri, Pyro5.__path__[0], flush=True)
if profile:
    main = cProfile.Profile()
    profiles.append(main)
    main.enable()
daemon.requestLoop()
if profile:
    main.disable()
    import pstats
    stats = pstats.Stats(profiles[0])
    for prof in profiles[1:]:
        try:
            stats.add(prof)
        except TypeError:
            pass
    stats.dump_stats(profile)
daemon.close()
"""


def cpu_ticks(pid: int) -> tuple[int, int]:
    """(user, system) clock ticks of the process"""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]), int(fields[12])     # utime, stime (fields 14 and 15 of the whole line)


def cpu_ns(pid: int) -> int:
    """CPU nanoseconds of the process's threads (the scheduler's precise figure; the ticks of /proc/<pid>/stat
    count in 10 ms steps). A thread that ended meanwhile is missing: the server's threads stay during a run."""
    total = 0
    for task in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/schedstat" % (pid, task)) as f:
                total += int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            pass
    return total


def one_round(tree: str, servertype: str, serializer: str, calls: int, profile: str = "",
              size: int = 0) -> tuple[float, float]:
    """Server CPU microseconds per call for one server process of `tree`: (all, system)."""
    import Pyro5.client
    proc = subprocess.Popen([sys.executable, "-c", SERVER, os.path.abspath(tree), servertype, serializer, profile],
                            stdout=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline().split()   # type: ignore[union-attr]
        if not line or line[0] != "READY":
            raise RuntimeError("server of %s did not start" % tree)
        with Pyro5.client.Proxy(line[1]) as proxy:
            proxy._pyroSerializer = serializer
            proxy._pyroTimeout = 30
            for _ in range(200):
                proxy.echo(42)
            before, before_ns = cpu_ticks(proc.pid), cpu_ns(proc.pid)
            arg = os.urandom(size) if size else None
            for i in range(calls):
                proxy.echo(arg if size else i)
            after, after_ns = cpu_ticks(proc.pid), cpu_ns(proc.pid)
            proxy.stop()
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
    scale = 1e6 / os.sysconf("SC_CLK_TCK") / calls
    return (after_ns - before_ns) / 1000 / calls, (after[1] - before[1]) * scale


def main(argv: Any = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tree", action="append", help="checkout to measure (repeat to compare; default: .)")
    parser.add_argument("--servertype", choices=["thread", "multiplex", "both"], default="both")
    parser.add_argument("--serializer", default="msgpack")
    parser.add_argument("--calls", type=int, default=4000)
    parser.add_argument("--size", type=int, default=0, help="call with random bytes of this size (0: a small int)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--profile", default="", help="write the server's cProfile stats to PROFILE.<type>")
    args = parser.parse_args(argv)
    trees = args.tree or [os.path.dirname(os.path.dirname(os.path.abspath(__file__)))]
    types = ["thread", "multiplex"] if args.servertype == "both" else [args.servertype]
    if args.profile:
        for servertype in types:
            name = "%s.%s" % (args.profile, servertype)
            us = one_round(trees[0], servertype, args.serializer, args.calls, name, args.size)[0]
            print("%s %s: %.1f us/call (profiled), stats in %s" % (trees[0], servertype, us, name))
        return
    results: dict = {(t, s): [] for t in trees for s in types}
    started = time.monotonic()
    for _ in range(args.rounds):
        for servertype in types:
            for tree in trees:
                results[(tree, servertype)].append(one_round(tree, servertype, args.serializer, args.calls, size=args.size))
    print("server CPU per %s call, median of %d rounds of %d calls (%.0f s)"
          % (args.serializer, args.rounds, args.calls, time.monotonic() - started))
    print("%-40s %-10s %8s %8s  %s" % ("tree", "server", "us/call", "(system)", "rounds"))
    for (tree, servertype), values in results.items():
        print("%-40s %-10s %8.1f %8.1f  %s" % (tree, servertype, statistics.median(v[0] for v in values),
                                               statistics.median(v[1] for v in values),
                                               " ".join("%.0f" % v[0] for v in values)))


if __name__ == "__main__":
    main()
