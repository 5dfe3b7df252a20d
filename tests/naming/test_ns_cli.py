"""pyro5-ns and pyro5-nsc driven as subprocesses: every command, the output, the errors, Ctrl-C."""
from __future__ import annotations

import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests._support import net
from tests.naming.conftest import cli_env

BIN = Path(sys.executable).parent
PYRO5_NS = [str(BIN / "pyro5-ns")] if (BIN / "pyro5-ns").exists() else [sys.executable, "-m", "Pyro5.nameserver"]
PYRO5_NSC = [str(BIN / "pyro5-nsc")] if (BIN / "pyro5-nsc").exists() else [sys.executable, "-m", "Pyro5.nsc"]


class NSProcess:
    """pyro5-ns in a subprocess; .lines has the start-up output up to (and including) the URI line(s)."""

    def __init__(self, *args: str, module: bool = False, env: dict | None = None):
        command = [sys.executable, "-m", "Pyro5.nameserver"] if module else PYRO5_NS
        self.proc = subprocess.Popen(command + list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True, env=env or cli_env())
        self._queue: queue.Queue = queue.Queue()
        threading.Thread(target=self._reader, daemon=True).start()
        self.lines: list[str] = []
        deadline = time.monotonic() + 20
        while not any(line.startswith(("URI = ", "external URI = ")) for line in self.lines):
            try:
                line = self._queue.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                self.kill()
                raise AssertionError("pyro5-ns did not start: %r %s" % (self.lines, self.proc.stderr.read()))
            if line is None:
                raise AssertionError("pyro5-ns exited: %r %s" % (self.lines, self.proc.stderr.read()))
            self.lines.append(line.rstrip("\n"))
        self.uri = [line for line in self.lines if line.startswith(("URI = ", "internal URI = "))][0].split(" = ")[1]

    def _reader(self) -> None:
        for line in self.proc.stdout:
            self._queue.put(line)
        self._queue.put(None)

    def rest_of_output(self, timeout: float = 10) -> list[str]:
        out = []
        deadline = time.monotonic() + timeout
        while True:
            line = self._queue.get(timeout=max(0.01, deadline - time.monotonic()))
            if line is None:
                return out
            out.append(line.rstrip("\n"))

    def interrupt(self, sig=signal.SIGINT) -> tuple[int, list[str], str]:
        self.proc.send_signal(sig)
        code = self.proc.wait(timeout=15)
        rest = self.rest_of_output()
        err = self.proc.stderr.read()
        return code, rest, err

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        for stream in (self.proc.stdout, self.proc.stderr):
            stream.close()


@pytest.fixture
def ns_process():
    procs: list[NSProcess] = []

    def start(*args: str, **kwargs) -> NSProcess:
        p = NSProcess(*args, **kwargs)
        procs.append(p)
        return p

    yield start
    for p in procs:
        p.kill()


@pytest.fixture(scope="module")
def shared_ns():
    """One pyro5-ns for the nsc tests of this module (each test uses its own names)."""
    p = NSProcess("-n", "127.0.0.1", "-p", "0")
    yield p
    p.kill()


def nsc(ns: NSProcess | None, *args: str, input: str | None = None, port: int | None = None):
    location = []
    if ns is not None:
        host, _, nsport = ns.uri.split("@")[1].rpartition(":")
        location = ["-n", host, "-p", nsport]
    elif port is not None:
        location = ["-n", "127.0.0.1", "-p", str(port)]
    return subprocess.run(PYRO5_NSC + location + list(args), capture_output=True, text=True, input=input,
                          timeout=30, env=cli_env())


# ------------------------------------------------------------------------------------------------ pyro5-ns

def test_ns_startup_output_and_ctrl_c(ns_process):
    p = ns_process("-n", "127.0.0.1", "-p", "0")
    assert p.lines[0] == "Not starting broadcast server for localhost."
    assert re.fullmatch(r"NS running on 127\.0\.0\.1:(\d+) \(127\.0\.0\.1\)", p.lines[1])
    port = p.lines[1].split(":")[1].split()[0]
    assert p.lines[2] == "URI = PYRO:Pyro.NameServer@127.0.0.1:" + port
    assert nsc(p, "ping").stdout == "Name server ping ok.\n"
    code, rest, err = p.interrupt()
    assert code == 0, err
    assert rest == ["NS shut down."]
    assert "Traceback" not in err
    assert nsc(p, "ping").returncode == 1   # socket closed


def test_ns_sigterm_is_clean(ns_process):
    p = ns_process("-n", "127.0.0.1", "-p", "0", "-x")
    # -x on a loopback address: the original says so all the same (tests/interop compares the whole output)
    assert p.lines[0] == "Not starting broadcast server for localhost."
    assert p.lines[1].startswith("NS running on 127.0.0.1:")
    code, rest, err = p.interrupt(signal.SIGTERM)
    assert code == 0 and rest == ["NS shut down."] and "Traceback" not in err


def test_ns_module_invocation_unix_socket(ns_process, tmp_path):
    sock = str(tmp_path / "ns.sock")
    p = ns_process("-u", sock, module=True)
    assert p.lines == ["NS running on ./u:%s (Unix domain socket)" % sock, "URI = PYRO:Pyro.NameServer@./u:" + sock]
    result = subprocess.run(PYRO5_NSC + ["-u", sock, "lookup", "Pyro.NameServer"], capture_output=True,
                            text=True, timeout=30, env=cli_env())
    assert result.stdout.splitlines()[0] == "PYRO:Pyro.NameServer@./u:" + sock
    code, rest, err = p.interrupt()
    assert code == 0 and rest == ["NS shut down."]
    assert not os.path.exists(sock)


def test_ns_nat(ns_process):
    p = ns_process("-n", "127.0.0.1", "-p", "0", "--nathost", "nat.example.org", "--natport", "5555")
    assert p.lines[2].startswith("internal URI = PYRO:Pyro.NameServer@127.0.0.1:")
    assert p.lines[3] == "external URI = PYRO:Pyro.NameServer@nat.example.org:5555"
    result = nsc(p, "lookup", "Pyro.NameServer")
    assert result.stdout.splitlines()[0] == "PYRO:Pyro.NameServer@nat.example.org:5555"


def test_ns_sql_storage_persists(ns_process, tmp_path):
    db = str(tmp_path / "cli.sqlite")
    p = ns_process("-n", "127.0.0.1", "-p", "0", "-s", "sql:" + db)
    assert not any("Persistent store" in line for line in p.lines)
    assert nsc(p, "register", "persist.me", "PYRO:obj@host:1").returncode == 0
    assert p.interrupt()[0] == 0
    p2 = ns_process("-n", "127.0.0.1", "-p", "0", "-s", "sql:" + db)
    assert "Persistent store contains 2 existing registrations." in p2.lines
    assert nsc(p2, "lookup", "persist.me").stdout == "PYRO:obj@host:1\n"


def test_ns_sql_storage_with_only_its_own_old_entry_says_nothing(ns_process, tmp_path):
    """Like the original: counted after the name server registered itself, printed only when > 1."""
    db = str(tmp_path / "own.sqlite")
    p = ns_process("-n", "127.0.0.1", "-p", "0", "-s", "sql:" + db)
    assert p.interrupt()[0] == 0
    p2 = ns_process("-n", "127.0.0.1", "-p", "0", "-s", "sql:" + db)   # the db holds the old NS entry only
    assert p2.lines[0] == "Not starting broadcast server for localhost."
    assert p2.lines[1].startswith("NS running on 127.0.0.1:")
    assert not any("Persistent store" in line for line in p2.lines)
    assert nsc(p2, "register", "one.more", "PYRO:obj@host:1").returncode == 0
    assert p2.interrupt()[0] == 0
    p3 = ns_process("-n", "127.0.0.1", "-p", "0", "-s", "sql:" + db)
    assert p3.lines[:2] == ["Not starting broadcast server for localhost.",
                            "Persistent store contains 2 existing registrations."]


def test_ns_broadcast_responder_on_loopback(ns_process, tmp_path):
    """A broadcast responder only runs for a non-loopback name server; binding a NS on a non-loopback address
    is not allowed in these tests, so the responder is exercised with start_ns in test_ns_discovery.
    Here: -x and the default on localhost both leave the UDP port free."""
    p = ns_process("-n", "127.0.0.1", "-p", "0", "--bchost", "127.0.0.1", "--bcport", "0")
    assert p.lines[0] == "Not starting broadcast server for localhost."


@pytest.mark.parametrize("args, message", [
    (["-s", "dbm:names.db"], "dbm storage is not supported"),
    (["-s", "weird"], "invalid storage type 'weird'"),
    (["-s", "sql"], "sqlite database file name"),
    (["--natport", "5"], "--natport needs --nathost"),
])
def test_ns_bad_options(args, message):
    result = subprocess.run(PYRO5_NS + ["-n", "127.0.0.1", "-p", "0"] + args, capture_output=True, text=True,
                            timeout=30, env=cli_env())
    assert result.returncode == 1
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr


def test_ns_port_in_use(ns_process):
    p = ns_process("-n", "127.0.0.1", "-p", "0")
    port = p.uri.rpartition(":")[2]
    result = subprocess.run(PYRO5_NS + ["-n", "127.0.0.1", "-p", port], capture_output=True, text=True,
                            timeout=30, env=cli_env())
    assert result.returncode == 1
    assert result.stderr.startswith("pyro5-ns: cannot listen on 127.0.0.1:%s: the address is already in use" % port)
    assert len(result.stderr.splitlines()) == 1 and "Traceback" not in result.stderr


def test_ns_help():
    result = subprocess.run(PYRO5_NS + ["-h"], capture_output=True, text=True, timeout=30, env=cli_env())
    assert result.returncode == 0
    for option in ["--host", "--port", "--unixsocket", "--storage", "--bchost", "--bcport", "--nathost",
                   "--natport", "--nobc"]:
        assert option in result.stdout


# ------------------------------------------------------------------------------------------------ pyro5-nsc

def test_nsc_ping_and_verbose(shared_ns):
    assert nsc(shared_ns, "ping").stdout == "Name server ping ok.\n"
    result = nsc(shared_ns, "-v", "ping")
    assert result.stdout.splitlines() == ["Locating name server...", "Name server found: " + shared_ns.uri,
                                          "Name server ping ok.", "Done."]


def test_nsc_list(shared_ns):
    result = nsc(shared_ns, "list", "Pyro")
    assert result.returncode == 0
    assert result.stdout.splitlines() == [
        "--------START LIST - prefix 'Pyro'",
        "Pyro.NameServer --> " + shared_ns.uri,
        "    metadata: {'class:Pyro5.nameserver.NameServer'}",
        "--------END LIST - prefix 'Pyro'"]
    full = nsc(shared_ns, "list").stdout.splitlines()
    assert full[0] == "--------START LIST " and full[-1] == "--------END LIST "
    assert "Pyro.NameServer --> " + shared_ns.uri in full


def test_nsc_register_lookup_remove(shared_ns):
    assert nsc(shared_ns, "register", "cli.obj", "PYRO:obj@host:1234").stdout == "Registered cli.obj\n"
    dup = nsc(shared_ns, "register", "cli.obj", "PYRO:other@host:1234")
    assert dup.returncode == 1 and dup.stderr == "Error: NamingError - name already registered: cli.obj\n"
    assert nsc(shared_ns, "lookup", "cli.obj").stdout == "PYRO:obj@host:1234\n"
    assert nsc(shared_ns, "setmeta", "cli.obj", "tag2", "tag1").stdout == "Metadata updated\n"
    assert nsc(shared_ns, "lookup", "cli.obj").stdout == "PYRO:obj@host:1234\nmetadata: {'tag1', 'tag2'}\n"
    assert nsc(shared_ns, "list", "cli.").stdout.splitlines() == [
        "--------START LIST - prefix 'cli.'", "cli.obj --> PYRO:obj@host:1234",
        "    metadata: {'tag1', 'tag2'}", "--------END LIST - prefix 'cli.'"]
    assert nsc(shared_ns, "setmeta", "cli.obj").stdout == "Metadata cleared\n"
    assert nsc(shared_ns, "lookup", "cli.obj").stdout == "PYRO:obj@host:1234\n"
    assert nsc(shared_ns, "remove", "cli.obj").stdout == "Removed cli.obj\n"
    assert nsc(shared_ns, "remove", "cli.obj").stdout == "Nothing removed\n"
    missing = nsc(shared_ns, "lookup", "cli.obj")
    assert missing.returncode == 1 and missing.stdout == ""
    assert missing.stderr == "Error: NamingError - unknown name: cli.obj\n"


def test_nsc_listmatching_removematching(shared_ns):
    for name in ["rm.a1", "rm.a2", "rm.b1"]:
        assert nsc(shared_ns, "register", name, "PYRO:%s@host:1" % name).returncode == 0
    assert nsc(shared_ns, "listmatching", r"rm\.a.*").stdout.splitlines() == [
        r"--------START LIST - regex 'rm\.a.*'", "rm.a1 --> PYRO:rm.a1@host:1", "rm.a2 --> PYRO:rm.a2@host:1",
        r"--------END LIST - regex 'rm\.a.*'"]
    prompt = "Potentially removing lots of items from the Name server. Are you sure (y/n)?"
    declined = nsc(shared_ns, "removematching", r"rm\.a.*", input="n\n")
    assert declined.stdout == prompt and declined.returncode == 0
    no_input = nsc(shared_ns, "removematching", r"rm\.a.*", input="")
    assert no_input.stdout == prompt + "\n" and no_input.returncode == 0
    accepted = nsc(shared_ns, "removematching", r"rm\.a.*", input="y\n")
    assert accepted.stdout == prompt + "2 items removed.\n"
    assert "rm.b1 -->" in nsc(shared_ns, "list", "rm.").stdout
    assert "rm.a1" not in nsc(shared_ns, "list", "rm.").stdout
    bad = nsc(shared_ns, "listmatching", "[")
    assert bad.returncode == 1 and bad.stderr.startswith("Error: NamingError - invalid regex:")


def test_nsc_pathological_regex_is_refused(shared_ns):
    """listmatching (removematching uses the same remove(regex=), see test_ns_regex): a catastrophically
    backtracking pattern gets a clear error, no hang."""
    from Pyro5.client import Proxy
    with Proxy(shared_ns.uri) as ns:
        ns.register("a" * 60 + "!", "PYRO:evil@host:1")
        try:
            result = nsc(shared_ns, "listmatching", "(a|aa)+$")
            assert result.returncode == 1, (result.stdout, result.stderr)
            assert result.stderr.startswith("Error: NamingError - regex took too long")
            assert str(ns.lookup("a" * 60 + "!")) == "PYRO:evil@host:1"
        finally:
            ns.remove("a" * 60 + "!")


def test_nsc_yplookup(shared_ns):
    assert nsc(shared_ns, "register", "yp.printer", "PYRO:printer@host:1").returncode == 0
    assert nsc(shared_ns, "setmeta", "yp.printer", "printer", "color").returncode == 0
    assert nsc(shared_ns, "register", "yp.disk", "PYRO:disk@host:1").returncode == 0
    assert nsc(shared_ns, "setmeta", "yp.disk", "storage").returncode == 0
    assert nsc(shared_ns, "yplookup_all", "printer", "color").stdout.splitlines() == [
        "--------START LIST  - searched by metadata", "yp.printer --> PYRO:printer@host:1",
        "    metadata: {'color', 'printer'}", "--------END LIST  - searched by metadata"]
    assert nsc(shared_ns, "yplookup_all", "printer", "storage").stdout.splitlines() == [
        "--------START LIST  - searched by metadata", "--------END LIST  - searched by metadata"]
    lines = nsc(shared_ns, "yplookup_any", "printer", "storage").stdout.splitlines()
    assert "yp.printer --> PYRO:printer@host:1" in lines and "yp.disk --> PYRO:disk@host:1" in lines


@pytest.mark.parametrize("args, message", [
    (["lookup"], "requires one argument: name"),
    (["register", "only.name"], "requires two arguments: name uri"),
    (["remove"], "requires one argument: name"),
    (["removematching"], "requires one argument: pattern"),
    (["listmatching"], "requires one argument: pattern"),
    (["yplookup_all"], "requires at least one metadata tag argument"),
    (["yplookup_any"], "requires at least one metadata tag argument"),
    (["setmeta"], "requires arguments: name and zero or more meta tags"),
])
def test_nsc_missing_arguments(shared_ns, args, message):
    result = nsc(shared_ns, *args)
    assert result.returncode == 1
    assert result.stderr == message + "\n"


def test_nsc_bad_input_keeps_registrations(shared_ns):
    assert nsc(shared_ns, "register", "bad.keep", "PYRO:keep@host:1").returncode == 0
    result = nsc(shared_ns, "register", "bad.new", "notauri")
    assert result.returncode == 1 and result.stderr.startswith("Error: NamingError - cannot register 'bad.new'")
    assert len(result.stderr.splitlines()) == 1
    assert nsc(shared_ns, "lookup", "bad.keep").stdout == "PYRO:keep@host:1\n"


def test_nsc_unknown_command(shared_ns):
    result = nsc(shared_ns, "frobnicate")
    assert result.returncode == 2 and "invalid choice: 'frobnicate'" in result.stderr


def test_nsc_name_server_not_found(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    result = nsc(None, "ping", port=port)
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.startswith("Error: Failed to locate the nameserver")
    assert len(result.stderr.splitlines()) == 1
    unix = subprocess.run(PYRO5_NSC + ["-u", str(tmp_path / "nothere.sock"), "list"], capture_output=True,
                          text=True, timeout=30, env=cli_env())
    assert unix.returncode == 1 and unix.stderr.startswith("Error: Failed to locate the nameserver")


def test_nsc_broadcast_lookup(start_ns):
    """nsc without -n finds the name server through its broadcast responder (on 127.0.0.1)."""
    from Pyro5.nameserver import BroadcastServer
    rn = start_ns()
    bc = BroadcastServer(rn.uri, bchost="127.0.0.1", bcport=0)
    rn.daemon.combine(bc)
    try:
        env = cli_env(PYRO_NS_HOST="127.0.0.2", PYRO_NS_PORT="1")
        result = subprocess.run(PYRO5_NSC + ["-p", str(bc.getPort()), "-v", "ping"], capture_output=True,
                                text=True, timeout=30, env=env)
        assert result.returncode == 0, result.stderr
        assert result.stdout.splitlines()[1] == "Name server found: %s" % rn.uri
    finally:
        rn.stop()
        bc.close()


def test_nsc_main_in_process(shared_ns, capsys):
    from Pyro5 import nsc as nsc_module
    host, _, port = shared_ns.uri.split("@")[1].rpartition(":")
    assert nsc_module.main(["-n", host, "-p", port, "ping"]) == 0
    assert capsys.readouterr().out == "Name server ping ok.\n"


@pytest.mark.skipif(not net.can_unshare_netns(), reason=net.NETNS_REASON)
@pytest.mark.parametrize("servertype", ["thread", "multiplex"])
def test_real_broadcast_discovery_in_private_network_namespace(servertype):
    """pyro5-ns on a non-loopback address starts its broadcast responder on 0.0.0.0:9091 and pyro5-nsc finds it
    with the default BROADCAST_ADDRS. Runs in a private network namespace, so no packet reaches a real network."""
    import json
    script = str(Path(__file__).with_name("_netns_broadcast.py"))
    result = subprocess.run(["unshare", "-rn", sys.executable, script, servertype], capture_output=True, text=True, timeout=90,
                            cwd=str(Path(__file__).resolve().parents[2]))
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    lines = out["ns_lines"]
    assert lines[0] == "Broadcast server running on 0.0.0.0:9091"
    assert re.fullmatch(r"NS running on 10\.99\.0\.1:\d+ \(10\.99\.0\.1\)", lines[1])
    uri = lines[2].split(" = ")[1]
    code, stdout, stderr = out["nsc"]
    assert code == 0, stderr
    assert stdout.splitlines() == ["Locating name server...", "Name server found: " + uri, "Name server ping ok.",
                                   "Done."]
    code, stdout, stderr = out["locate"]
    assert code == 0, stderr
    assert stdout.split() == [uri, "1"]
    assert out["ns_exit"] == 0 and out["ns_rest"] == ["NS shut down."]
    # start_ns(host="") binds all interfaces; the responder answers with the address facing the asker
    code, stdout, stderr = out["anyhost"]
    assert code == 0, stderr
    uri, bchost, reply = stdout.split()
    assert uri.startswith("PYRO:Pyro.NameServer@0.0.0.0:") and bchost == "0.0.0.0"
    assert reply == "PYRO:Pyro.NameServer@10.99.0.1:" + uri.rpartition(":")[2]


@pytest.mark.skipif(not net.can_unshare_netns(), reason=net.NETNS_REASON)
def test_ns_bchost_and_bcport_take_effect_in_private_network_namespace():
    """pyro5-ns --bchost/--bcport: the responder of a non-loopback name server listens exactly there (and not
    on the default 0.0.0.0:9091). Runs in a private network namespace."""
    import json
    script = str(Path(__file__).with_name("_netns_broadcast.py"))
    result = subprocess.run(["unshare", "-rn", sys.executable, script, "bcoptions"], capture_output=True, text=True,
                            timeout=90, cwd=str(Path(__file__).resolve().parents[2]))
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    bcport = out["bcport"]
    lines = out["ns_lines"]
    assert lines[0] == "Broadcast server running on 127.0.0.1:%d" % bcport, lines
    uri = lines[-1].split(" = ")[1]
    assert uri.startswith("PYRO:Pyro.NameServer@10.99.0.1:")
    answers = out["answers"]
    assert answers["127.0.0.1:%d" % bcport] == uri
    assert answers["10.99.0.1:%d" % bcport] is None          # bound on 127.0.0.1 only
    assert answers["127.0.0.1:9091"] is None and answers["10.99.0.1:9091"] is None
    assert out["ns_exit"] == 0, out["ns_stderr"]


@pytest.mark.skipif(not net.can_unshare_netns(), reason=net.NETNS_REASON)
def test_broadcast_reply_behind_nat_in_private_network_namespace():
    """start_ns(nathost=, natport=) on a LAN address and on all interfaces: the name server's uri is the
    external one, the broadcast responder answers askers on the local network with the internal address
    (tests/interop runs the same script with the original)."""
    import json
    script = str(Path(__file__).with_name("_netns_broadcast.py"))
    result = subprocess.run(["unshare", "-rn", sys.executable, script, "nat"], capture_output=True, text=True,
                            timeout=90, cwd=str(Path(__file__).resolve().parents[2]))
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert set(out) == {"10.99.0.1", "0.0.0.0"}
    for seen in out.values():
        assert seen["returned"] == seen["registered"] == "PYRO:Pyro.NameServer@nat.example.org:5555"
        assert seen["reply"] == "PYRO:Pyro.NameServer@10.99.0.1:%d" % seen["port"]
