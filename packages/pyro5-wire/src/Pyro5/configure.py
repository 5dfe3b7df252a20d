"""Configuration settings.

Every config item has a builtin default that can be overridden by an environment variable
``PYRO_<ITEM>`` (converted to the item's type). ``python -m Pyro5.configure`` (or ``pyro5-check-config``)
prints the active configuration.
"""
from __future__ import annotations

import os
import platform
import sys
from typing import TYPE_CHECKING, Any

__all__ = ["Configuration", "global_config", "main"]

_ENV_PREFIX = "PYRO_"

# name -> (type, default). A default of None means "not set"; NS_HOST is special (defaults to HOST).
_ITEMS: dict[str, tuple[type, Any]] = {
    "HOST": (str, "localhost"),
    "NS_HOST": (str, None),  # filled in with HOST's value
    "NS_PORT": (int, 9090),
    "NS_BCPORT": (int, 9091),
    "NS_BCHOST": (str, None),
    "NS_AUTOCLEAN": (float, 0.0),
    "NS_LOOKUP_DELAY": (float, 0.0),
    # ours: seconds a proxy reuses an earlier PYRONAME/PYROMETA lookup (and a broadcast-found name server
    # location) instead of asking the name server again; 0 = off (see Pyro5._nslookup)
    "NS_LOOKUP_CACHE": (float, 0.0),
    "NATHOST": (str, None),
    "NATPORT": (int, 0),
    "COMPRESSION": (bool, False),
    "SERVERTYPE": (str, "thread"),
    "ONEWAY_THREADED": (bool, True),
    "COMMTIMEOUT": (float, 0.0),
    "POLLTIMEOUT": (float, 2.0),
    "MAX_RETRIES": (int, 0),
    "SOCK_REUSE": (bool, True),
    "SOCK_NODELAY": (bool, False),
    "DETAILED_TRACEBACK": (bool, False),
    "THREADPOOL_SIZE": (int, 80),
    "THREADPOOL_SIZE_MIN": (int, 4),
    # True: a thread pool server connection keeps one worker thread while connected (as Pyro5 5.15 did)
    "THREADPOOL_PER_CONNECTION": (bool, False),
    # ours: the most connections an asyncio AsyncProxy opens to a daemon that runs one call at a time per
    # connection (every daemon today), so that concurrent tasks on one proxy still progress
    "ASYNC_POOL_SIZE": (int, 4),
    # ours: the most connections a Proxy(uri, shared=True) opens to a daemon that runs one call at a time per
    # connection (an original Pyro5 daemon, or ours without the in-flight capability)
    "SHARED_POOL_SIZE": (int, 4),
    "MAX_MESSAGE_SIZE": (int, 1024 * 1024 * 1024),
    # ours, not in the original 5.15: the largest message a server accepts from a connection before its handshake
    # (the MSG_CONNECT: handshake data and annotations), so that anyone who can reach the port can't make it
    # buffer MAX_MESSAGE_SIZE per connection; 0 means: MAX_MESSAGE_SIZE applies there too
    "MAX_PREHANDSHAKE_SIZE": (int, 64 * 1024),
    "BROADCAST_ADDRS": (list, ("<broadcast>", "0.0.0.0")),
    "PREFER_IP_VERSION": (int, 0),
    "SERIALIZER": (str, "serpent"),
    "SERPENT_BYTES_REPR": (bool, False),
    "ITER_STREAMING": (bool, True),
    "ITER_STREAM_LIFETIME": (float, 0.0),
    "ITER_STREAM_LINGER": (float, 30.0),
    "LOGFILE": (str, "pyro5.log"),   # the original 5.15's default (its manual says pyro.log)
    "LOGLEVEL": (str, None),
    "LOGWIRE": (bool, False),
    "SSL": (bool, False),
    "SSL_SERVERCERT": (str, ""),
    "SSL_SERVERKEY": (str, ""),
    "SSL_SERVERKEYPASSWD": (str, ""),
    "SSL_REQUIRECLIENTCERT": (bool, False),
    "SSL_CLIENTCERT": (str, ""),
    "SSL_CLIENTKEY": (str, ""),
    "SSL_CLIENTKEYPASSWD": (str, ""),
    "SSL_CACERTS": (str, ""),
    # ours: observability (docs/observability.md). CALL_TRACKING: every daemon keeps the in-flight call table and
    # per-method statistics; WATCHDOG_THRESHOLD: seconds after which a running call is logged with its thread's
    # stack (0: off; > 0 turns tracking on); OPENTELEMETRY: daemons and proxies made afterwards trace their calls
    # (needs opentelemetry-api: pip install pyro5-server[otel] / pyro5-client[otel])
    "CALL_TRACKING": (bool, False),
    "WATCHDOG_THRESHOLD": (float, 0.0),
    "OPENTELEMETRY": (bool, False),
}

_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}


def _convert(name: str, kind: type, text: str) -> Any:
    envname = _ENV_PREFIX + name
    if kind is bool:
        lowered = text.strip().lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        raise ValueError("%s=%r is not a valid bool (use one of: true/false, yes/no, on/off, 1/0)" % (envname, text))
    if kind is int:
        try:
            return int(text.strip())
        except ValueError:
            raise ValueError("%s=%r is not a valid int" % (envname, text)) from None
    if kind is float:
        try:
            return float(text.strip())
        except ValueError:
            raise ValueError("%s=%r is not a valid float" % (envname, text)) from None
    if kind is list:
        return [part.strip() for part in text.split(",") if part.strip()]
    return text


class Configuration:
    """Pyro's configuration: every config item is an attribute. Unknown items cannot be set."""

    __slots__ = tuple(_ITEMS)

    # The items with their types, for type checkers (annotations only: the values live in the slots).
    HOST: str
    NS_HOST: str
    NS_PORT: int
    NS_BCPORT: int
    NS_BCHOST: str | None
    NS_AUTOCLEAN: float
    NS_LOOKUP_DELAY: float
    NS_LOOKUP_CACHE: float
    NATHOST: str | None
    NATPORT: int
    COMPRESSION: bool
    SERVERTYPE: str
    ONEWAY_THREADED: bool
    COMMTIMEOUT: float
    POLLTIMEOUT: float
    MAX_RETRIES: int
    SOCK_REUSE: bool
    SOCK_NODELAY: bool
    DETAILED_TRACEBACK: bool
    THREADPOOL_SIZE: int
    THREADPOOL_SIZE_MIN: int
    THREADPOOL_PER_CONNECTION: bool
    ASYNC_POOL_SIZE: int
    SHARED_POOL_SIZE: int
    MAX_MESSAGE_SIZE: int
    MAX_PREHANDSHAKE_SIZE: int
    BROADCAST_ADDRS: list[str]
    PREFER_IP_VERSION: int
    SERIALIZER: str
    SERPENT_BYTES_REPR: bool
    ITER_STREAMING: bool
    ITER_STREAM_LIFETIME: float
    ITER_STREAM_LINGER: float
    LOGFILE: str
    LOGLEVEL: str | None
    LOGWIRE: bool
    SSL: bool
    SSL_SERVERCERT: str
    SSL_SERVERKEY: str
    SSL_SERVERKEYPASSWD: str
    SSL_REQUIRECLIENTCERT: bool
    SSL_CLIENTCERT: str
    SSL_CLIENTKEY: str
    SSL_CLIENTKEYPASSWD: str
    SSL_CACERTS: str
    CALL_TRACKING: bool
    WATCHDOG_THRESHOLD: float
    OPENTELEMETRY: bool

    def __init__(self, use_environment: bool = True) -> None:
        self.reset(use_environment)

    if not TYPE_CHECKING:  # hidden from type checkers, so that they report unknown items and wrong types
        def __setattr__(self, name: str, value: Any) -> None:
            if name not in _ITEMS:
                raise AttributeError("unknown Pyro config item %r; valid items are: %s"
                                     % (name, ", ".join(sorted(_ITEMS))))
            object.__setattr__(self, name, value)

        def __getattr__(self, name: str) -> Any:  # only called when normal lookup fails
            if name in _ITEMS:
                raise AttributeError("Pyro config item %r has not been set" % name)
            raise AttributeError("unknown Pyro config item %r; valid items are: %s"
                                 % (name, ", ".join(sorted(_ITEMS))))

    def reset(self, use_environment: bool = True) -> None:
        """Resets the configuration items to their builtin default values.
        If use_environment is True, it will overwrite builtin config items with any values set
        by environment variables (PYRO_<ITEM>)."""
        values: dict[str, Any] = {}
        for name, (kind, default) in _ITEMS.items():
            values[name] = list(default) if kind is list else default
        env_set: set[str] = set()
        if use_environment:
            for name, (kind, _default) in _ITEMS.items():
                text = os.environ.get(_ENV_PREFIX + name)
                if text is not None:
                    values[name] = _convert(name, kind, text)
                    env_set.add(name)
        if "NS_HOST" not in env_set:
            values["NS_HOST"] = values["HOST"]
        for name, value in values.items():
            object.__setattr__(self, name, value)

    def copy(self) -> Configuration:
        """returns a copy of this config"""
        other = Configuration.__new__(Configuration)
        for name in _ITEMS:
            value = getattr(self, name)
            object.__setattr__(other, name, list(value) if isinstance(value, list) else value)
        return other

    def as_dict(self) -> dict[str, Any]:
        """returns this config as a regular dictionary"""
        return {name: getattr(self, name) for name in _ITEMS}

    def dump(self) -> str:
        """Easy config diagnostics: the Pyro version, where it was loaded from, and every config item."""
        import Pyro5
        try:
            from Pyro5.protocol import PROTOCOL_VERSION
        except Exception:  # protocol module broken or missing: still show the rest
            PROTOCOL_VERSION = 502
        location = os.path.dirname(os.path.abspath(Pyro5.__file__ or ""))
        lines = [
            "Pyro version: %s" % Pyro5.__version__,
            "Loaded from: %s" % location,
            "Python version: %s %s (%s, %s)" % (platform.python_implementation(), platform.python_version(),
                                               platform.system(), os.name),
            "Protocol version: %d" % PROTOCOL_VERSION,
            "Currently active global configuration settings:",
        ]
        for name, value in sorted(self.as_dict().items()):
            lines.append("%s = %s" % (name, value))
        return "\n".join(lines)

    def __repr__(self) -> str:
        return "<%s.%s at 0x%x>" % (type(self).__module__, type(self).__qualname__, id(self))


# The one configuration object the library reads, as ``Pyro5.config``. It lives here rather than in Pyro5/__init__
# so that ``importlib.reload(Pyro5)`` re-binds Pyro5.config to this same object (the modules that did
# ``from . import config`` keep reading it) instead of making a fresh, disconnected one.
global_config = Configuration()


def main(args: list[str] | None = None) -> int:
    """Print the active Pyro configuration and check the installation (entry point of ``pyro5-check-config``).

    Exit status 1 when files of the pyro5 distributions were overwritten (see ``Pyro5.check_install``)."""
    import argparse
    parser = argparse.ArgumentParser(prog="pyro5-check-config",
                                     description="Show the active Pyro5 configuration (builtin defaults "
                                                 "overridden by PYRO_* environment variables) and check that "
                                                 "no other distribution overwrote pyro5's files.")
    parser.parse_args(sys.argv[1:] if args is None else args)
    import Pyro5
    from Pyro5 import check_install
    print(Pyro5.config.dump())
    problems = check_install.find_problems()
    original = check_install.original_pyro5()
    if problems or original:
        print("Installation problem: " + check_install.format_report(problems, check_install.installed_distributions(),
                                                                      original))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
