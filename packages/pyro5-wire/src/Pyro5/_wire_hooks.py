"""The few things pyro5-wire needs from pyro5-client, found through a registry that the client fills.

Wire-level code sometimes needs the client: ``core.locate_ns`` and ``core.resolve`` (the name server lookup),
and the serializers, which turn a received proxy (wire class ``Pyro5.client.Proxy``) back into a Proxy.
pyro5-client registers these functions with ``register()`` when it is imported; wire code gets them with
``get()``. Wire never imports the client module itself: when nothing is registered yet (the program has not
imported the client), ``get()`` asks ``Pyro5.api`` for the name that provides the hook (api holds the one
table of which distribution provides which name), which imports the provider, and the provider registers.

Hooks: ``locate_ns(host, port, broadcast)``, ``resolve(uri, delay_time)``, ``proxy_from_state(state)``.
"""
from __future__ import annotations

import importlib
from typing import Any, Callable

__all__ = ["register", "get", "HOOKS"]

# hook name -> the Pyro5.api name whose distribution provides (and registers) it
HOOKS: dict[str, str] = {"locate_ns": "Proxy", "resolve": "Proxy", "proxy_from_state": "Proxy"}
_registry: dict[str, Callable[..., Any]] = {}


def register(**functions: Callable[..., Any]) -> None:
    """Register hook functions by name (only the names in HOOKS)."""
    for name, function in functions.items():
        if name not in HOOKS:
            raise ValueError("unknown Pyro5 wire hook %r (known: %s)" % (name, ", ".join(sorted(HOOKS))))
        if not callable(function):
            raise TypeError("Pyro5 wire hook %r must be callable, got %r" % (name, function))
    _registry.update(functions)


def get(name: str, user: str) -> Callable[..., Any]:
    """The function registered for hook `name`; `user` names what needs it, for the error message.

    ModuleNotFoundError ("<user> needs <distribution>: pip install <distribution>") when the distribution
    that provides it is not installed."""
    function = _registry.get(name)
    if function is not None:
        return function
    api = importlib.import_module("Pyro5.api")
    modulename, distribution = api._LAZY[HOOKS[name]]
    try:
        importlib.import_module(modulename)     # (importing the provider registers its hooks)
    except ModuleNotFoundError as x:
        if x.name in (modulename, "Pyro5"):
            raise ModuleNotFoundError("%s needs %s: pip install %s" % (user, distribution, distribution),
                                      name=modulename) from None
        raise
    function = _registry.get(name)
    if function is None:
        raise ModuleNotFoundError("%s needs %s, but the installed %s registered no %r; is it of the same version "
                                  "as pyro5-wire?" % (user, distribution, distribution, name), name=modulename)
    return function
