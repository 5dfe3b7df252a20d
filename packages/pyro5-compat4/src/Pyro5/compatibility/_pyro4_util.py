"""Pyro4.util: traceback helpers (now in Pyro5.errors) and serializer access (now Pyro5.serializers)."""
from __future__ import annotations

from typing import Any

from Pyro5 import errors, serializers
from Pyro5.serializers import SerializerBase

from ._pyro4_config import Pyro4CompatibilityError, check_serializer

__all__ = ["getPyroTraceback", "formatTraceback", "excepthook", "SerializerBase", "get_serializer",
           "get_serializer_by_id"]


def getPyroTraceback(ex_type: Any = None, ex_value: Any = None, ex_tb: Any = None) -> list[str]:
    """Returns a list of strings that form the traceback information of a Pyro exception (incl. remote part)."""
    return errors.get_pyro_traceback(ex_type, ex_value, ex_tb)


def formatTraceback(ex_type: Any = None, ex_value: Any = None, ex_tb: Any = None, detailed: bool = False) -> list[str]:
    """Formats an exception traceback; detailed=True adds the local variables of every frame."""
    return errors.format_traceback(ex_type, ex_value, ex_tb, detailed)


def excepthook(ex_type: Any, ex_value: Any, ex_tb: Any) -> None:
    """An exception hook (for sys.excepthook) that also prints the remote traceback of Pyro exceptions."""
    return errors.excepthook(ex_type, ex_value, ex_tb)


def get_serializer(name: str) -> Any:
    """the serializer object with the given name (serpent, json, marshal, msgpack)"""
    check_serializer(name)
    try:
        return serializers.serializers[name]
    except KeyError:
        raise errors.SerializeError("serializer '%s' is unknown or not available" % name) from None


def get_serializer_by_id(sid: int) -> Any:
    """the serializer object with the given serializer id"""
    try:
        return serializers.serializers_by_id[sid]
    except KeyError:
        raise errors.SerializeError("no serializer available for id %d" % sid) from None


def __getattr__(name: str) -> Any:
    if name in ("PickleSerializer", "DillSerializer", "CloudpickleSerializer"):
        raise Pyro4CompatibilityError("Pyro4.util.%s does not exist in Pyro5: pickle, dill and cloudpickle are "
                                      "unsafe and were removed; use serpent, json, marshal or msgpack" % name)
    if name in ("SerpentSerializer", "JsonSerializer", "MarshalSerializer", "MsgpackSerializer"):
        return type(serializers.serializers[name[:-len("Serializer")].lower()])
    raise AttributeError("module 'Pyro4.util' has no attribute %r" % name)
