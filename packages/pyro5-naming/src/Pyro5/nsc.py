"""Name server control tool: ``python -m Pyro5.nsc`` or ``pyro5-nsc``.

Talks to a running name server to list, look up, register and remove names and to manage metadata.
"""
from __future__ import annotations

import argparse
import sys
from typing import Any, Callable, Optional, Sequence

from Pyro5 import errors

__all__ = ["main", "handle_command"]

COMMANDS = ["list", "lookup", "register", "remove", "removematching", "listmatching", "yplookup_all",
            "yplookup_any", "setmeta", "ping"]


class _UsageError(Exception):
    """Wrong arguments for a command: the message is printed, the exit code is 1."""


def _format_metadata(metadata: Any) -> str:
    return "{" + ", ".join(repr(tag) for tag in sorted(metadata, key=str)) + "}"


def _print_list_result(result: dict, title: str = "") -> None:
    print("--------START LIST " + title)
    for name in sorted(result):
        value = result[name]
        if isinstance(value, (tuple, list)):
            uri, metadata = value[0], value[1]
        else:
            uri, metadata = value, None
        print("%s --> %s" % (name, uri))
        if metadata:
            print("    metadata: " + _format_metadata(metadata))
    print("--------END LIST " + title)


def handle_command(namesrv: Any, cmd: str, args: Sequence[str]) -> None:
    """Run one nsc command against the name server proxy (raises _UsageError for bad arguments)."""

    def need(count: int, message: str) -> None:
        if len(args) < count:
            raise _UsageError(message)

    def cmd_ping() -> None:
        namesrv.ping()
        print("Name server ping ok.")

    def cmd_list() -> None:
        if not args:
            _print_list_result(namesrv.list(return_metadata=True))
        else:
            _print_list_result(namesrv.list(prefix=args[0], return_metadata=True), "- prefix '%s'" % args[0])

    def cmd_listregex() -> None:
        need(1, "requires one argument: pattern")
        _print_list_result(namesrv.list(regex=args[0], return_metadata=True), "- regex '%s'" % args[0])

    def cmd_lookup() -> None:
        need(1, "requires one argument: name")
        uri, metadata = namesrv.lookup(args[0], return_metadata=True)
        print(uri)
        if metadata:
            print("metadata: " + _format_metadata(metadata))

    def cmd_register() -> None:
        need(2, "requires two arguments: name uri")
        namesrv.register(args[0], args[1], safe=True)
        print("Registered %s" % args[0])

    def cmd_remove() -> None:
        need(1, "requires one argument: name")
        count = namesrv.remove(args[0])
        print("Removed %s" % args[0] if count > 0 else "Nothing removed")

    def cmd_removeregex() -> None:
        need(1, "requires one argument: pattern")
        try:
            sure = input("Potentially removing lots of items from the Name server. Are you sure (y/n)?").strip()
        except EOFError:
            print()
            sure = ""
        if sure in ("y", "Y", "yes"):
            count = namesrv.remove(regex=args[0])
            print("%d items removed." % count)

    def cmd_setmeta() -> None:
        need(1, "requires arguments: name and zero or more meta tags")
        metadata = set(args[1:])
        namesrv.set_metadata(args[0], metadata)
        print("Metadata updated" if metadata else "Metadata cleared")

    def cmd_yplookup_all() -> None:
        need(1, "requires at least one metadata tag argument")
        _print_list_result(namesrv.yplookup(meta_all=list(args), return_metadata=True), " - searched by metadata")

    def cmd_yplookup_any() -> None:
        need(1, "requires at least one metadata tag argument")
        _print_list_result(namesrv.yplookup(meta_any=list(args), return_metadata=True), " - searched by metadata")

    commands: dict[str, Callable[[], None]] = {
        "ping": cmd_ping,
        "list": cmd_list,
        "listmatching": cmd_listregex,
        "lookup": cmd_lookup,
        "register": cmd_register,
        "remove": cmd_remove,
        "removematching": cmd_removeregex,
        "setmeta": cmd_setmeta,
        "yplookup_all": cmd_yplookup_all,
        "yplookup_any": cmd_yplookup_any,
    }
    try:
        commands[cmd]()
    except KeyError:
        raise _UsageError("unknown command %r, use one of: %s" % (cmd, ", ".join(COMMANDS))) from None


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pyro5-nsc", description="Pyro name server control utility.")
    parser.add_argument("-n", "--host", dest="host", help="hostname of the NS")
    parser.add_argument("-p", "--port", dest="port", type=int, help="port of the NS (or bc-port if host isn't specified)")
    parser.add_argument("-u", "--unixsocket", help="Unix domain socket name of the NS")
    parser.add_argument("-v", "--verbose", action="store_true", dest="verbose", help="verbose output")
    parser.add_argument("command", choices=COMMANDS)
    return parser


def _locate(options: argparse.Namespace) -> Any:
    from Pyro5.client import locate_ns
    if options.unixsocket:
        return locate_ns("./u:" + options.unixsocket)
    return locate_ns(options.host or "", options.port)


def main(args: Optional[Sequence[str]] = None) -> int:
    """The pyro5-nsc command. Returns the exit code (0 ok, 1 error, 2 bad command line)."""
    options, command_args = _parser().parse_known_args(args)
    if options.verbose:
        print("Locating name server...")
    try:
        namesrv = _locate(options)
    except errors.PyroError as x:
        print("Error: Failed to locate the nameserver: %s" % _one_line(x), file=sys.stderr)
        return 1
    with namesrv:
        if options.verbose:
            print("Name server found: %s" % namesrv._pyroUri)
        try:
            handle_command(namesrv, options.command, command_args)
        except _UsageError as x:
            print(x, file=sys.stderr)
            return 1
        except (errors.PyroError, ValueError, TypeError) as x:
            print("Error: %s - %s" % (type(x).__name__, _one_line(x)), file=sys.stderr)
            return 1
    if options.verbose:
        print("Done.")
    return 0


def _one_line(x: BaseException) -> str:
    text = str(x).strip()
    if text.startswith("Failed to locate the nameserver"):
        text = text[len("Failed to locate the nameserver"):].lstrip(" :")
    return " ".join(text.split()) or type(x).__name__


if __name__ == "__main__":
    sys.exit(main())
