"""Pyro5.api — the main API package: one place to access the most important things.

Names from the other distributions (pyro5-client, pyro5-server, pyro5-naming) are imported lazily on first
access. When the distribution providing a name is not installed, accessing the name raises
ModuleNotFoundError that says what to install, e.g.
``Pyro5.api.Daemon needs pyro5-server: pip install pyro5-server``.

Type checkers see the real names: the ``if TYPE_CHECKING:`` imports below give ``from Pyro5.api import Proxy``
the type of ``Pyro5.client.Proxy`` under mypy and pyright, while at run time nothing is imported before use.
"""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from . import __version__ as __version__  # noqa: F401 - Pyro5.api.__version__, as in the original
from . import config, errors
from ._hooks import CallInfo, Interceptor
from .callcontext import current_context
from .core import URI, locate_ns, resolve, type_meta

# name -> (module, distribution that ships the module)
_LAZY: dict[str, tuple[str, str]] = {
    "Proxy": ("Pyro5.client", "pyro5-client"),
    "BatchProxy": ("Pyro5.client", "pyro5-client"),
    "SerializedBlob": ("Pyro5.client", "pyro5-client"),
    "AsyncProxy": ("Pyro5.aio.client", "pyro5-client"),
    "AsyncBatchProxy": ("Pyro5.aio.client", "pyro5-client"),
    "Daemon": ("Pyro5.server", "pyro5-server"),
    "AsyncDaemon": ("Pyro5.aio.server", "pyro5-server"),
    "DaemonObject": ("Pyro5.server", "pyro5-server"),
    "expose": ("Pyro5.server", "pyro5-server"),
    "oneway": ("Pyro5.server", "pyro5-server"),
    "behavior": ("Pyro5.server", "pyro5-server"),
    "callback": ("Pyro5.server", "pyro5-server"),
    "serve": ("Pyro5.server", "pyro5-server"),
    "start_ns": ("Pyro5.nameserver", "pyro5-naming"),
    "start_ns_loop": ("Pyro5.nameserver", "pyro5-naming"),
    "SerializerBase": ("Pyro5.serializers", "pyro5-wire"),
    "register_class_to_dict": ("Pyro5.serializers", "pyro5-wire"),
    "register_dict_to_class": ("Pyro5.serializers", "pyro5-wire"),
    "unregister_class_to_dict": ("Pyro5.serializers", "pyro5-wire"),
    "unregister_dict_to_class": ("Pyro5.serializers", "pyro5-wire"),
}

if TYPE_CHECKING:  # the real types for type checkers; at run time these names are resolved lazily below
    from .aio.client import AsyncBatchProxy as AsyncBatchProxy
    from .aio.client import AsyncProxy as AsyncProxy
    from .aio.server import AsyncDaemon as AsyncDaemon
    from .client import BatchProxy as BatchProxy
    from .client import Proxy as Proxy
    from .client import SerializedBlob as SerializedBlob
    from .nameserver import start_ns as start_ns
    from .nameserver import start_ns_loop as start_ns_loop
    from .serializers import SerializerBase as SerializerBase
    from .serializers import register_class_to_dict as register_class_to_dict
    from .serializers import register_dict_to_class as register_dict_to_class
    from .serializers import unregister_class_to_dict as unregister_class_to_dict
    from .serializers import unregister_dict_to_class as unregister_dict_to_class
    from .server import Daemon as Daemon
    from .server import DaemonObject as DaemonObject
    from .server import behavior as behavior
    from .server import callback as callback
    from .server import expose as expose
    from .server import oneway as oneway
    from .server import serve as serve

__all__ = [
    "config", "current_context", "errors", "URI", "locate_ns", "resolve", "type_meta",
    "Proxy", "BatchProxy", "SerializedBlob", "AsyncProxy", "AsyncBatchProxy",
    "Daemon", "AsyncDaemon", "DaemonObject", "expose", "oneway", "behavior", "callback", "serve",
    "start_ns", "start_ns_loop",
    "SerializerBase", "register_class_to_dict", "register_dict_to_class", "unregister_class_to_dict",
    "unregister_dict_to_class",
    "Interceptor", "CallInfo",      # (ours: call hooks, see docs/observability.md)
]


def __getattr__(name: str) -> Any:
    """Import a name of another distribution on first use (ModuleNotFoundError naming it when missing)."""
    try:
        modulename, distribution = _LAZY[name]
    except KeyError:
        raise AttributeError("module 'Pyro5.api' has no attribute %r" % name) from None
    try:
        module = importlib.import_module(modulename)
    except ModuleNotFoundError as x:
        if x.name and (modulename == x.name or modulename.startswith(x.name + ".")):
            # (the module, or the shared folder it lives in, e.g. Pyro5.aio when no distribution ships one)
            raise ModuleNotFoundError("Pyro5.api.%s needs %s: pip install %s" % (name, distribution, distribution),
                                      name=modulename) from None
        raise
    try:
        value = getattr(module, name)
    except AttributeError:
        raise AttributeError("Pyro5.api.%s: module %s (distribution %s) has no attribute %r; is the installed "
                             "%s complete and of the same version as pyro5-wire?"
                             % (name, modulename, distribution, name, distribution)) from None
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
