"""
An effort to provide a backward-compatible Pyro4 API layer,
to make porting existing code from Pyro4 to Pyro5 easier.

Insert this at the top of your Pyro4 program to enable the compatibility layer::

    from Pyro5.compatibility import Pyro4

After that, ``Pyro4.Proxy``, ``Pyro4.Daemon``, ``Pyro4.URI``, ``Pyro4.expose``, ``Pyro4.oneway``,
``Pyro4.callback``, ``Pyro4.behavior``, ``Pyro4.locateNS``, ``Pyro4.resolve``, ``Pyro4.config`` (with
Pyro4's item names), ``Pyro4.errors``, ``Pyro4.Future``, ``Pyro4.batch``, ``Pyro4.asyncproxy`` and
``Pyro4.current_context`` work as in Pyro4. The layer also registers the module name ``Pyro4`` and its
sub modules, so ``import Pyro4``, ``import Pyro4.core``, ``from Pyro4.naming import locateNS``,
``Pyro4.errors``, ``Pyro4.util``, ``Pyro4.socketutil``, ``Pyro4.constants``, ``Pyro4.message``,
``Pyro4.futures``, ``Pyro4.nsc`` and ``Pyro4.test.echoserver`` keep working in the rest of the program.

What Pyro5 no longer has raises :class:`Pyro4CompatibilityError` (a PyroError and a NotImplementedError)
that says what to use instead: the pickle, dill and cloudpickle serializers, Flame, HMAC keys
(``_pyroHmacKey``, ``config.HMAC_KEY``), switching off ``REQUIRE_EXPOSE``/``METADATA``/``AUTOPROXY``.

On the wire everything is Pyro5 (protocol 502): this layer does not make Pyro5 talk to Pyro4 programs.
"""
from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import logging
import sys
import types
from typing import Any

import Pyro5

from . import _pyro4_config as _config_mod
from . import _pyro4_constants as constants
from . import _pyro4_core as core
from . import _pyro4_errors as errors
from . import _pyro4_futures as futures
from . import _pyro4_message as message
from . import _pyro4_naming as naming
from . import _pyro4_socketutil as socketutil
from . import _pyro4_util as util
from ._pyro4_config import CompatConfiguration, Pyro4CompatibilityError
from ._pyro4_futures import Future, FutureResult
from ._pyro4_proxy import BatchProxy, NameServerProxy, Proxy, asyncproxy, batch

__all__ = ["config", "URI", "Proxy", "Daemon", "callback", "batch", "asyncproxy", "oneway", "expose", "behavior",
           "current_context", "locateNS", "resolve", "Future", "errors", "Pyro4CompatibilityError"]

log = logging.getLogger("Pyro5.compatibility.Pyro4")

__version__ = Pyro5.__version__

config = CompatConfiguration()
# the same objects as Pyro4.core (Pyro4.errors is the compat module, same classes as Pyro5.errors)
URI = core.URI
Daemon = core.Daemon
DaemonObject = core.DaemonObject
callback = core.callback
expose = core.expose
behavior = core.behavior
oneway = core.oneway
current_context = core.current_context
locateNS = naming.locateNS
resolve = naming.resolve

# Pyro4's sub modules, by their Pyro4 name. Values are modules, or a module name to import when first used.
_SUBMODULES: dict[str, Any] = {
    "Pyro4.core": core,
    "Pyro4.naming": naming,
    "Pyro4.errors": errors,
    "Pyro4.util": util,
    "Pyro4.socketutil": socketutil,
    "Pyro4.constants": constants,
    "Pyro4.message": message,
    "Pyro4.futures": futures,
    "Pyro4.configuration": _config_mod,
    "Pyro4.nsc": "Pyro5.nsc",
    "Pyro4.test.echoserver": "Pyro5.utils.echoserver",
    "Pyro4.utils.httpgateway": "Pyro5.utils.httpgateway",
    "Pyro4.socketserver.threadpoolserver": "Pyro5.svr_threads",
    "Pyro4.socketserver.multiplexserver": "Pyro5.svr_multiplex",
    "Pyro4.socketserver.existingconnectionserver": "Pyro5.svr_existingconn",
}
_PACKAGES = ("Pyro4.test", "Pyro4.utils", "Pyro4.socketserver")
_REMOVED = {
    "Pyro4.utils.flame": "Flame has been removed from Pyro5 (it needed the unsafe pickle serializer and allowed "
                         "remote code execution); expose a normal Pyro class with the functions you need instead",
    "Pyro4.utils.flameserver": "Flame has been removed from Pyro5 (see Pyro4.utils.flame)",
    "Pyro4.flame": "Flame has been removed from Pyro5 (it needed the unsafe pickle serializer and allowed "
                   "remote code execution); expose a normal Pyro class with the functions you need instead",
    "Pyro4.naming_storage": "the name server storages are in Pyro5.nameserver now: use Pyro5.nameserver.MemoryStorage "
                            "or SqlStorage (pyro5-ns -s sql:<file>); the dbm storage was removed, use sql instead",
    "Pyro4.threadutil": "Pyro4.threadutil was removed (Pyro5 has no thread helpers of its own): use Python's "
                        "threading module (threading.Thread, Lock, Event) instead",
}
_DISTRIBUTIONS = {"Pyro5.utils.httpgateway": "pyro5-httpgateway"}


class _Pyro4Loader(importlib.abc.Loader):
    def __init__(self, target: Any) -> None:
        self.target = target

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        if isinstance(self.target, types.ModuleType):
            return self.target
        if self.target is None:   # an intermediate package like Pyro4.utils
            module = types.ModuleType(spec.name, "Pyro4 compatibility package %s" % spec.name)
            module.__path__ = []
            return module
        try:
            module = importlib.import_module(self.target)
        except ModuleNotFoundError as x:
            dist = _DISTRIBUTIONS.get(self.target)
            if dist and x.name and self.target.startswith(x.name):
                raise ModuleNotFoundError("%s needs %s: pip install %s" % (spec.name, dist, dist),
                                          name=spec.name) from None
            raise
        self._original_spec = module.__spec__
        return module

    def exec_module(self, module: types.ModuleType) -> None:
        # the import system set __spec__ to our alias spec; the real module keeps its own
        original = getattr(self, "_original_spec", None)
        if original is not None:
            module.__spec__ = original


class _Pyro4Finder(importlib.abc.MetaPathFinder):
    """Resolves 'Pyro4.<sub module>' imports to this compatibility layer (installed by importing it)."""

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> importlib.machinery.ModuleSpec | None:
        if not fullname.startswith("Pyro4."):
            return None
        if fullname in _REMOVED:
            raise ModuleNotFoundError("%s is not available in Pyro5: %s" % (fullname, _REMOVED[fullname]),
                                      name=fullname)
        if fullname in _SUBMODULES:
            target = _SUBMODULES[fullname]
        elif fullname in _PACKAGES:
            target = None
        else:
            raise ModuleNotFoundError(
                "No module named %r: the Pyro4 compatibility layer does not provide it. Pyro5's modules are "
                "Pyro5.api, client, server, nameserver, core, errors, serializers, socketutil, protocol; import "
                "the Pyro4 names from the Pyro4 package itself (from Pyro4 import Proxy)" % fullname, name=fullname)
        spec = importlib.machinery.ModuleSpec(fullname, _Pyro4Loader(target), is_package=target is None)
        return spec


_finder = _Pyro4Finder()


def _install_aliases() -> None:
    """Make 'import Pyro4' and 'import Pyro4.<sub module>' give this compatibility layer."""
    this = sys.modules[__name__]
    existing = sys.modules.get("Pyro4")
    if existing is not None and existing is not this:
        log.warning("a real Pyro4 module is already imported; 'import Pyro4' keeps giving that one. Import "
                    "Pyro5.compatibility.Pyro4 before anything imports Pyro4 to use the compatibility layer.")
        return
    this.__path__ = []  # a package, so 'import Pyro4.x' asks the finder
    sys.modules["Pyro4"] = this
    for name, module in _SUBMODULES.items():
        if isinstance(module, types.ModuleType):
            sys.modules[name] = module
    if not any(isinstance(f, _Pyro4Finder) for f in sys.meta_path):
        sys.meta_path.insert(0, _finder)


def __getattr__(name: str) -> Any:
    if name in ("nsc", "test", "utils", "socketserver"):
        return importlib.import_module("Pyro4." + name)
    if name in ("async", "async_"):
        raise Pyro4CompatibilityError("Pyro4.async was renamed to Pyro4.asyncproxy (and Pyro5 itself has no async "
                                      "proxies: use concurrent.futures)")
    if name in ("naming_storage", "flame", "threadutil"):
        raise Pyro4CompatibilityError("Pyro4.%s is not available in Pyro5: %s" % (name, _REMOVED["Pyro4." + name]))
    raise AttributeError("module 'Pyro4' (the Pyro5 compatibility layer) has no attribute %r" % name)


_install_aliases()

__all__ += ["BatchProxy", "NameServerProxy", "FutureResult"]
