"""
Echo server for test purposes.
This is usually invoked by starting this module as a script:

  :command:`python -m Pyro5.utils.echoserver`
  or simply: :command:`pyro5-echoserver`

It is also possible to use the :class:`EchoServer` in user code
but that is not terribly useful.

The object is registered as ``test.echoserver`` (in the daemon, and in the name server with -n or -N).
"""
from __future__ import annotations

import argparse
import logging
import sys
import threading
import time
from typing import Any, Iterator, Sequence

from Pyro5 import config, core, server
from Pyro5._cli import listen_error

__all__ = ["EchoServer", "main", "start_nameserver"]

log = logging.getLogger("Pyro5.utils.echoserver")

OBJECT_NAME = "test.echoserver"


@server.expose
class EchoServer:
    """
    The echo server object that is provided as a Pyro object by this module.
    If its :attr:`verbose` attribute is set to ``True``, it will print messages as it receives calls.
    """
    _verbose = False
    _must_shutdown = False
    _slow_delay = 5.0      # seconds slow() and oneway_slow() take; tests may lower it on a local instance

    def __init__(self) -> None:
        self._shutdown_event = threading.Event()

    def _log(self, text: str) -> None:
        if self._verbose:
            print("%s - %s" % (time.asctime(), text), flush=True)

    def echo(self, message: Any) -> Any:
        """return the message"""
        self._log("echo: %r" % (message,))
        return message

    def error(self) -> None:
        """generates a simple exception without text"""
        self._log("error: generating exception")
        raise ValueError("this is the generated error from echoserver echo() method")

    def error_with_text(self) -> None:
        """generates a simple exception with message"""
        self._log("error: generating exception")
        raise ValueError("the message of the error")

    @server.oneway
    def oneway_echo(self, message: Any) -> Any:
        """just like echo, but oneway; the client won't wait for response"""
        self._log("oneway_echo: %r" % (message,))
        return "bogus return value"

    def slow(self) -> str:
        """returns (and prints) a message after a certain delay"""
        self._log("slow: waiting a bit...")
        time.sleep(self._slow_delay)
        self._log("slow: returning result")
        return "Finally, an answer!"

    @server.oneway
    def oneway_slow(self) -> str:
        """prints a message after a certain delay, and returns; but the client won't wait for it"""
        self._log("oneway_slow: waiting a bit...")
        time.sleep(self._slow_delay)
        self._log("oneway_slow: returning result")
        return "bogus return value"

    def generator(self) -> Iterator[str]:
        """a generator function that returns some elements on demand"""
        yield "one"
        yield "two"
        yield "three"

    def nan(self) -> float:
        """returns the float NaN (not a number)"""
        return float("nan")

    def inf(self) -> float:
        """returns the float infinity"""
        return float("inf")

    def __dunder__(self) -> str:
        """a 'dunder' method: these are exposed (unlike _private and __private ones)"""
        return "should be allowed (dunder)"

    def _private(self) -> None:
        """a private method: never accessible remotely"""

    def __private(self) -> None:
        """a name-mangled private method: never accessible remotely"""

    def shutdown(self) -> None:
        """called to signal the echo server to shut down"""
        self._log("shutting down")
        self._must_shutdown = True
        self._shutdown_event.set()

    @property
    def verbose(self) -> bool:
        """when True, the echo server prints a line for every call it receives"""
        return self._verbose

    @verbose.setter
    def verbose(self, onoff: bool) -> None:
        self._verbose = bool(onoff)


class NameServer(threading.Thread):
    """A name server running in a background thread (used by the -N option)."""

    def __init__(self, hostname: str | None, port: int | None = None, unixsocket: str | None = None,
                 enable_broadcast: bool = False) -> None:
        super().__init__(name="Pyro5-echoserver-nameserver", daemon=True)
        from Pyro5 import nameserver
        self.hostname = hostname
        self.started = threading.Event()
        self.uri, self.ns_daemon, self.bc_server = nameserver.start_ns(
            hostname, port, enableBroadcast=enable_broadcast, unixsocket=unixsocket)
        self._stop_requested = False

    def run(self) -> None:
        self.started.set()
        if self.bc_server:
            self.ns_daemon.combine(self.bc_server)
        try:
            self.ns_daemon.requestLoop(lambda: not self._stop_requested)
        finally:
            self.ns_daemon.close()
            if self.bc_server:
                self.bc_server.close()

    def stop(self) -> None:
        self._stop_requested = True
        self.ns_daemon.shutdown()


def start_nameserver(host: str | None, port: int | None = None, unixsocket: str | None = None,
                     enable_broadcast: bool = True) -> NameServer:
    """Start a name server in a background thread; returns the thread object (``.uri`` is the NS uri).
    Like the original, a broadcast responder (``.bc_server``) runs too unless the host is a loopback address
    or a unix socket is used (or enable_broadcast is False)."""
    ns = NameServer(host, port, unixsocket, enable_broadcast)
    ns.start()
    ns.started.wait(10)
    return ns


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pyro5-echoserver",
                                     description="Pyro test echo/nameserver command line launcher.")
    parser.add_argument("-H", "--host", default="localhost", help="hostname to bind server on (default=%(default)s)")
    parser.add_argument("-p", "--port", type=int, default=0, help="port to bind server on")
    parser.add_argument("-u", "--unixsocket", help="Unix domain socket name to bind server on")
    parser.add_argument("-n", "--naming", action="store_true", default=False, help="register with nameserver")
    parser.add_argument("-N", "--nameserver", action="store_true", default=False, help="also start a nameserver")
    parser.add_argument("-v", "--verbose", action="store_true", default=False, help="verbose output")
    parser.add_argument("-q", "--quiet", action="store_true", default=False, help="don't output anything")
    return parser


def main(args: Sequence[str] | None = None, returnWithoutLooping: bool = False):
    """
    Command line entry point (``pyro5-echoserver`` / ``python -m Pyro5.utils.echoserver``).
    With ``returnWithoutLooping=True`` it sets everything up and returns ``(daemon, echoserver, uri)``
    instead of entering the request loop (the caller then owns the daemon and must close it).
    """
    options = _parser().parse_args(args)
    if options.verbose:
        options.quiet = False

    def out(*text: Any) -> None:
        if not options.quiet:
            print(*text, flush=True)

    out("Starting Pyro's built-in test echo server.")
    if config.SERVERTYPE != "asyncio":     # (the asyncio server serves it as well; the original: multiplex)
        config.SERVERTYPE = "multiplex"
    hostname = options.host
    nameserver = None
    if options.nameserver:
        options.naming = True
        try:
            nameserver = start_nameserver(hostname)
        except OSError as x:
            if returnWithoutLooping:
                raise
            print(listen_error("pyro5-echoserver", x), file=sys.stderr)
            return 1
        if options.verbose:   # the original reports the name server only in verbose mode
            out("using name server at %s" % nameserver.uri)
            if nameserver.bc_server is not None:
                out("broadcast server running at %s" % nameserver.bc_server.locationStr)
            else:
                out("not using a broadcast server")

    try:
        d = server.Daemon(host=hostname, port=options.port, unixsocket=options.unixsocket)
    except OSError as x:
        if nameserver is not None:
            nameserver.stop()
        if returnWithoutLooping:
            raise
        print(listen_error("pyro5-echoserver", x), file=sys.stderr)
        return 1
    echo = EchoServer()
    echo._verbose = options.verbose
    objectName = OBJECT_NAME
    uri = d.register(echo, objectName)
    if options.naming:
        host, port = None, None
        if nameserver is not None:
            host, port = nameserver.uri.host, nameserver.uri.port
        try:
            ns = core.locate_ns(host, port)
            with ns:
                ns.register(objectName, uri)
        except Exception as x:
            d.close()
            if nameserver is not None:
                nameserver.stop()
            if returnWithoutLooping:
                raise
            print("Cannot register the echo server with the name server: %s: %s" % (type(x).__name__, x),
                  file=sys.stderr)
            return 1
    out("object name: %s" % objectName)
    out("echo uri: %s" % uri)
    out("echoserver running.")

    if returnWithoutLooping:
        return d, echo, uri   # for unit testing

    try:
        d.requestLoop(loopCondition=lambda: not echo._must_shutdown)
    except KeyboardInterrupt:
        out("interrupted")
    finally:
        d.close()
        if nameserver is not None:
            nameserver.stop()
            nameserver.join(5)
    out("echoserver exiting.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
