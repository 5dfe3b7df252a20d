"""Definition of the various exceptions that are used in Pyro, and traceback helpers.

The exception hierarchy is as follows::

    Exception
      +-- PyroError
            +-- NamingError
            +-- DaemonError
            +-- SecurityError
            +-- CommunicationError
                  +-- ConnectionClosedError
                  +-- TimeoutError
                  +-- ProtocolError
                          +-- MessageTooLargeError
                          +-- SerializeError

A remote exception carries the traceback text of the server side in its ``_pyroTraceback``
attribute (a list of strings, each a line of traceback text including its newline).
"""
from __future__ import annotations

import linecache
import sys
import traceback
from types import TracebackType
from typing import Any

__all__ = [
    "PyroError", "CommunicationError", "ConnectionClosedError", "TimeoutError", "ProtocolError",
    "MessageTooLargeError", "NamingError", "DaemonError", "SecurityError", "SerializeError",
    "get_pyro_traceback", "format_traceback", "excepthook",
]


class PyroError(Exception):
    """Generic base of all Pyro-specific errors."""


class CommunicationError(PyroError):
    """Base class for the errors related to network communication problems."""


class ConnectionClosedError(CommunicationError):
    """The connection was unexpectedly closed."""


class TimeoutError(CommunicationError):  # noqa: A001 - the name is part of Pyro's public API
    """A call could not be completed within the set timeout period, or the network caused a timeout."""


class ProtocolError(CommunicationError):
    """Pyro received a message that didn't match the active Pyro network protocol,
    or there was a protocol related error."""


class MessageTooLargeError(ProtocolError):
    """Pyro received a message or was trying to send a message that exceeds the maximum message size
    as configured."""


class NamingError(PyroError):
    """There was a problem related to the name server or object names."""


class DaemonError(PyroError):
    """The Daemon encountered a problem."""


class SecurityError(PyroError):
    """A security related error occurred."""


class SerializeError(ProtocolError):
    """Something went wrong while (de)serializing data."""


_REMOTE_HEADER = " +--- This exception occured remotely (Pyro) - Remote traceback:\n"
_REMOTE_FOOTER = " +--- End of remote traceback\n"
_SEPARATOR = "----------------------------------------------------\n"
_MAX_REPR = 1000


def _safe_repr(value: Any) -> str:
    try:
        text = repr(value)
    except Exception as x:  # a broken __repr__ must not break the traceback formatting
        try:
            return "<ERROR IN REPR: %s: %s>" % (type(x).__name__, x)
        except Exception:
            return "<ERROR IN REPR>"
    if len(text) > _MAX_REPR:
        text = text[:_MAX_REPR] + "... (%d characters more)" % (len(text) - _MAX_REPR)
    return text


def _exc_line(ex_type: Any, ex_value: Any) -> str:
    try:
        text = str(ex_value)
    except Exception:
        text = "<unprintable exception>"
    return " EXCEPTION %s: %s\n" % (ex_type, text)


def _detailed_traceback(ex_type: Any, ex_value: Any, ex_tb: TracebackType | None) -> list[str]:
    result = [_SEPARATOR, _exc_line(ex_type, ex_value),
              " Extended stacktrace follows (most recent call last)\n", _SEPARATOR]
    tb = ex_tb
    while tb is not None:
        frame = tb.tb_frame
        code = frame.f_code
        lineno = tb.tb_lineno
        # module level frames: their "locals" are the module globals, which are not shown
        local_vars = {} if frame.f_locals is frame.f_globals else dict(frame.f_locals)
        funcname = code.co_name
        owner = local_vars.get("self")
        if owner is not None:
            try:
                funcname = type(owner).__name__ + "." + funcname
            except Exception:
                pass
        item = ['File "%s", line %d, in %s\n' % (code.co_filename, lineno, funcname), "Source code:\n"]
        source = linecache.getline(code.co_filename, lineno).strip()
        item.append("    %s\n" % (source or "<source not available>"))
        names = sorted(n for n in local_vars if not (n.startswith("__") and n.endswith("__")))
        if names:
            item.append("Local values:\n")
            for name in names:
                item.append("    %s = %s\n" % (name, _safe_repr(local_vars[name])))
        item.append(_SEPARATOR)
        result.append("".join(item))
        tb = tb.tb_next
    result.append(_exc_line(ex_type, ex_value))
    result.append(_SEPARATOR)
    return result


def format_traceback(ex_type: type[BaseException] | None = None, ex_value: BaseException | None = None,
                     ex_tb: TracebackType | None = None, detailed: bool = False) -> list[str]:
    """Formats an exception traceback. If you ask for detailed formatting,
    the result will contain info on the variables in each stack frame.
    You don't have to provide the exception info objects, if you omit them,
    this function will obtain them itself using sys.exc_info()."""
    if ex_type is None and ex_value is None and ex_tb is None:
        ex_type, ex_value, ex_tb = sys.exc_info()
    if ex_type is None and ex_value is not None:
        ex_type = type(ex_value)
    if ex_tb is None and ex_value is not None:
        ex_tb = ex_value.__traceback__
    if detailed:
        try:
            return _detailed_traceback(ex_type, ex_value, ex_tb)
        except Exception as x:  # never fail while reporting another failure
            plain = traceback.format_exception(ex_type, ex_value, ex_tb)
            return [_SEPARATOR, " Error building extended traceback: %s\n" % _safe_repr(x), _SEPARATOR] + plain
    if ex_type is None:
        return ["NoneType: None\n"]
    return traceback.format_exception(ex_type, ex_value, ex_tb)


def _format_remote_traceback(remote_tb: Any) -> list[str]:
    if isinstance(remote_tb, str):
        text = remote_tb
    else:
        text = "".join(str(line) for line in remote_tb)
    lines = text.splitlines()
    result = [_REMOTE_HEADER]
    result.extend(" | " + line + "\n" for line in lines)
    result.append(_REMOTE_FOOTER)
    return result


def get_pyro_traceback(ex_type: type[BaseException] | None = None, ex_value: BaseException | None = None,
                       ex_tb: TracebackType | None = None) -> list[str]:
    """Returns a list of strings that form the traceback information of a
    Pyro exception. Any remote Pyro exception information is included.
    Traceback information is automatically obtained via sys.exc_info() if
    you do not supply the objects yourself."""
    if ex_type is not None and ex_value is None and ex_tb is None:
        if isinstance(ex_type, BaseException):  # called with just the exception object
            ex_type, ex_value, ex_tb = type(ex_type), ex_type, ex_type.__traceback__
        elif not isinstance(ex_type, type):
            raise TypeError("invalid argument: ex_type should be an exception type, or supply no arguments at all")
    if ex_type is None and ex_value is None and ex_tb is None:
        ex_type, ex_value, ex_tb = sys.exc_info()
    from Pyro5 import config  # lazy: Pyro5 imports this module while initialising
    detailed = bool(getattr(config, "DETAILED_TRACEBACK", False))
    local_tb = format_traceback(ex_type, ex_value, ex_tb, detailed)
    remote_tb = getattr(ex_value, "_pyroTraceback", None)
    if remote_tb:
        return local_tb + _format_remote_traceback(remote_tb)
    return local_tb


def excepthook(ex_type: type[BaseException], ex_value: BaseException, ex_tb: TracebackType | None) -> None:
    """An exception hook you can use for sys.excepthook, to automatically print remote Pyro tracebacks"""
    text = "".join(get_pyro_traceback(ex_type, ex_value, ex_tb))
    sys.stderr.write(text)
    sys.stderr.flush()
