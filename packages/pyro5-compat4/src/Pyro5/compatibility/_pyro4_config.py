"""Pyro4.config: a view on Pyro5.config that understands Pyro4's config item names.

Items that exist in Pyro5 are read and written straight through to ``Pyro5.config``. Pyro4 items that no
longer exist are kept here when setting them changes nothing that Pyro5 does (for instance
``PICKLE_PROTOCOL_VERSION``), and raise :class:`Pyro4CompatibilityError` (which says what to use instead)
when the requested behaviour is not available in Pyro5 (pickle, Flame, HMAC keys, optional @expose, ...).
"""
from __future__ import annotations

import logging
from typing import Any

import Pyro5
from Pyro5 import errors

__all__ = ["CompatConfiguration", "Pyro4CompatibilityError", "UNSAFE_SERIALIZERS", "check_serializer"]

log = logging.getLogger("Pyro5.compatibility.config")

UNSAFE_SERIALIZERS = ("pickle", "dill", "cloudpickle")


class Pyro4CompatibilityError(errors.PyroError, NotImplementedError):
    """A Pyro4 feature that Pyro5 does not have; the message says what to use instead."""


def check_serializer(name: Any) -> None:
    """Raise Pyro4CompatibilityError for the serializers that Pyro5 removed (pickle, dill, cloudpickle)."""
    if isinstance(name, str) and name.strip().lower() in UNSAFE_SERIALIZERS:
        raise Pyro4CompatibilityError(
            "the %r serializer is not available in Pyro5: it is unsafe (it can execute arbitrary code when "
            "deserializing). Use one of the safe serializers: 'serpent' (default), 'json', 'marshal' or "
            "'msgpack', and register class_to_dict/dict_to_class converters for custom classes." % name)


# Pyro4-only items: name -> (default, check(value) that raises when the value asks for something impossible)
def _must_be_true(item: str, what: str):
    def check(value: Any) -> None:
        if not value:
            raise Pyro4CompatibilityError("config.%s=False is not supported: %s" % (item, what))
    return check


def _must_be_false(item: str, what: str):
    def check(value: Any) -> None:
        if value:
            raise Pyro4CompatibilityError("config.%s is not supported: %s" % (item, what))
    return check


def _check_hmac(value: Any) -> None:
    if value:
        raise Pyro4CompatibilityError(
            "config.HMAC_KEY is not supported: Pyro5 has no HMAC message signing. Use SSL (config.SSL and the "
            "SSL_* items, with 2-way certificates for client authentication) or a connection handshake "
            "(proxy._pyroHandshake + Daemon.validateHandshake) instead.")


def _check_accepted(value: Any) -> None:
    for name in value or ():
        check_serializer(name)


def _no_check(value: Any) -> None:
    return None


_PYRO4_ONLY: dict[str, tuple[Any, Any]] = {
    "AUTOPROXY": (True, _must_be_true("AUTOPROXY", "Pyro5 always turns registered Pyro objects into proxies "
                                                   "when they are returned from a remote call.")),
    "METADATA": (True, _must_be_true("METADATA", "Pyro5 proxies always get the object's metadata on connect.")),
    "REQUIRE_EXPOSE": (True, _must_be_true("REQUIRE_EXPOSE", "Pyro5 always requires @expose on the classes or "
                                                             "methods that are remotely accessible; decorate "
                                                             "them with @Pyro4.expose.")),
    "FLAME_ENABLED": (False, _must_be_false("FLAME_ENABLED", "Flame has been removed from Pyro5 (it required "
                                                             "pickle and gave remote code execution). Expose a "
                                                             "normal Pyro class with the functions you need.")),
    "HMAC_KEY": (None, _check_hmac),
    "SERIALIZERS_ACCEPTED": ({"serpent", "json", "marshal", "msgpack"}, _check_accepted),
    "PICKLE_PROTOCOL_VERSION": (-1, _no_check),
    "DILL_PROTOCOL_VERSION": (-1, _no_check),
    "JSON_MODULE": ("json", _no_check),
    "USE_MSG_WAITALL": (True, _no_check),
    "DOTTEDNAMES": (False, _must_be_false("DOTTEDNAMES", "dotted attribute names in remote calls were removed "
                                                         "(they are a security risk).")),
}


class CompatConfiguration:
    """Pyro4-style config object; see the module docstring."""

    def __init__(self) -> None:
        object.__setattr__(self, "_pyro4_items", {k: v[0] for k, v in _PYRO4_ONLY.items()})

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        items = object.__getattribute__(self, "_pyro4_items")
        if name in items:
            return items[name]
        try:
            return getattr(Pyro5.config, name)
        except AttributeError:
            raise AttributeError("Pyro4 config has no item %r" % name) from None

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _PYRO4_ONLY:
            _PYRO4_ONLY[name][1](value)
            if name == "SERIALIZERS_ACCEPTED":
                value = set(value)
                log.info("config.SERIALIZERS_ACCEPTED is ignored: a Pyro5 daemon accepts all safe serializers")
            self._pyro4_items[name] = value
            return
        if name == "SERIALIZER":
            check_serializer(value)
        if not hasattr(Pyro5.config, name) or name.startswith("_"):
            raise AttributeError("Pyro4 config has no item %r (and neither has Pyro5)" % name)
        setattr(Pyro5.config, name, value)

    def __dir__(self) -> list[str]:
        return sorted(set(self.asDict()) | {"asDict", "as_dict", "reset", "dump", "copy"})

    def asDict(self) -> dict[str, Any]:
        """returns the current config as a regular dictionary (Pyro5 items + the Pyro4-only items)"""
        result = dict(Pyro5.config.as_dict())
        result.update(self._pyro4_items)
        return result

    as_dict = asDict

    def reset(self, useenvironment: bool = True, use_environment: bool | None = None) -> None:
        """Reset to the builtin defaults (and the PYRO_* environment variables if useenvironment is True)."""
        if use_environment is not None:
            useenvironment = use_environment
        Pyro5.config.reset(use_environment=useenvironment)
        object.__setattr__(self, "_pyro4_items", {k: v[0] for k, v in _PYRO4_ONLY.items()})

    def copy(self) -> "CompatConfiguration":
        """a detached copy (changes to it do not change the active configuration)"""
        return _DetachedCopy(self.asDict())  # type: ignore[return-value]

    def dump(self) -> str:
        lines = [Pyro5.config.dump().rstrip(), "Pyro4 compatibility items (no effect in Pyro5):"]
        for k in sorted(self._pyro4_items):
            lines.append("%s = %r" % (k, self._pyro4_items[k]))
        return "\n".join(lines)

    def __repr__(self) -> str:
        return "<Pyro4 compatibility config on top of Pyro5.config>"


class _DetachedCopy:
    def __init__(self, items: dict[str, Any]) -> None:
        self.__dict__.update(items)

    def asDict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    as_dict = asDict
