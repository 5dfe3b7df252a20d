"""The serializers for the wire: serpent (default), marshal, json and msgpack.

Serializer ids on the wire: serpent=1, marshal=2, json=3, msgpack=4 (the same as the original Pyro5).

Objects that a serializer can't encode natively become dicts with a ``__class__`` key (see
``SerializerBase.class_to_dict``). On deserialization only a few classes are turned back into objects
(``SerializerBase.dict_to_class``): ``Pyro5.core.URI``, ``Pyro5.client.Proxy``, the ``Pyro5.server.Daemon`` placeholder
(an unusable Daemon, or UnusableDaemon without pyro5-server), exceptions from ``builtins``
and ``Pyro5.errors``, and whatever you registered with ``register_dict_to_class``. Every other dict stays a
dict, or - when its class name can't be handled safely - raises SerializeError / SecurityError.

Exceptions of other classes (your own exception classes, for instance) are never imported or instantiated:
deserializing one raises SerializeError ("unsupported serialized class: mymodule.MyError (remote exception,
args: ...)"), or SecurityError for names with double underscores such as ``__main__.MyError``, exactly like the
original Pyro5. That error carries the remote ``_pyroTraceback``, so ``Pyro5.errors.get_pyro_traceback()``
still shows what happened on the server. Register a dict_to_class converter to recreate such classes.
"""
from __future__ import annotations

import abc
import array
import binascii
import builtins
import datetime
import decimal
import importlib
import json
import logging
import marshal
import os
import re
import struct
import threading
import types
import uuid
from typing import Any, Callable

import serpent

from . import _serpent_fast, _wire_hooks, config, errors
from ._marshalcheck import _BIG_HEADER, check_marshal
from ._marshalcheck import _plain_call as _marshal_plain_call

try:
    import msgpack
except ImportError:  # pragma: no cover - msgpack is a dependency of pyro5-wire
    msgpack = None

__all__ = ["SerializerBase", "SerpentSerializer", "MarshalSerializer", "JsonSerializer", "MsgpackSerializer",
           "serializers", "serializers_by_id", "get_serializer", "get_serializer_by_id", "UnknownSerializerError",
           "checked_marshal_loads", "register_class_to_dict", "register_dict_to_class",
           "unregister_class_to_dict", "unregister_dict_to_class", "register_type_replacement"]

log = logging.getLogger("Pyro5.serializers")

_CLASS_MARKER = b"__class__"
# (searched with data.find(_CLASS_MARKER) >= 0, not "in": bytes' and bytearray's "in" first tries the operand as an
# int, creating and discarding a TypeError: 0.25 -> 0.14 us a call)
# Below this many bytes, the serialized data is searched for _CLASS_MARKER first and only data that has it gets
# the (slower) class-recreating treatment. Above it the search itself (a substring search, ~0.4 ns a byte) costs
# more than walking the result: a 1 MiB upload would spend ~0.45 ms just looking for the marker.
_SCAN_LIMIT = 32 * 1024
_MARSHAL_QUICK = min(_SCAN_LIMIT, 1024)    # (MarshalSerializer.loads: data this small is checked in one step)
_marshal_big_header = _BIG_HEADER.search
_ALLOWED_DUNDER_ATTRIBUTES = {"__notes__"}
_EXCEPTION_WRAPPER = "Pyro5.core._ExceptionWrapper"
_uri_class: Any = None
_wrapper_class: Any = None


def _get_uri_class() -> Any:
    global _uri_class, _wrapper_class
    if _uri_class is None:
        core = importlib.import_module("Pyro5.core")
        _wrapper_class = core._ExceptionWrapper
        _uri_class = core.URI
        _serpent_fast.CONVERTERS[core.URI] = _serpent_uri
    return _uri_class


def _serpent_uri(uri: Any) -> dict:
    """What serpent writes for a URI (its dict form), unless a type replacement or a serpent class converter
    could apply to it: then serpent itself must serialize it."""
    replacements = SerializerBase._type_replacements
    if replacements and (type(uri) in replacements or object in replacements):
        raise _serpent_fast.NotSimple
    for clazz in serpent._special_classes_registry:
        if isinstance(uri, clazz):
            raise _serpent_fast.NotSimple
    return {"__class__": "Pyro5.core.URI", "state": uri.__getstate__()}


def _get_wrapper_class() -> Any:
    if _wrapper_class is None:
        _get_uri_class()
    return _wrapper_class


class _SerializeValueError(errors.SerializeError, ValueError):
    """Data that can't be serialized for a ValueError reason (circular references, too deeply nested...).

    The original 5.15 raises a plain ValueError there, so this is both; on the wire (when such an error is sent
    to a peer) it is the original's ``builtins.ValueError``."""


_SerializeValueError.__module__ = "builtins"
_SerializeValueError.__name__ = _SerializeValueError.__qualname__ = "ValueError"


class UnknownSerializerError(errors.SerializeError, ValueError, KeyError):
    """The serializer name or id is not known here: a SerializeError that is also the ValueError the original
    raises when a Proxy is created with an unknown config.SERIALIZER, and the KeyError it raises at a call with
    an unknown proxy._pyroSerializer."""

    __str__ = errors.SerializeError.__str__   # not KeyError's repr() of the message


def get_serializer(name: str) -> SerializerBase:
    """The serializer called `name` ("serpent", "marshal", "json", "msgpack"); UnknownSerializerError (a
    SerializeError, ValueError and KeyError) when there is none of that name."""
    try:
        return serializers[name]
    except (KeyError, TypeError):
        raise UnknownSerializerError("unknown serializer %r (set proxy._pyroSerializer or config.SERIALIZER to one of: %s)"
                                     % (name, ", ".join(sorted(serializers)))) from None


def get_serializer_by_id(serializer_id: int) -> SerializerBase:
    """The serializer with the given wire id (1=serpent, 2=marshal, 3=json, 4=msgpack); UnknownSerializerError
    when the id is not known here."""
    try:
        return serializers_by_id[serializer_id]
    except (KeyError, TypeError):
        raise UnknownSerializerError("message used unknown serializer id %r (known: %s)" % (
            serializer_id, ", ".join("%d=%s" % (ser.serializer_id, name) for name, ser in serializers.items())
        )) from None


def _class_name(obj: Any) -> str:
    cls = type(obj)
    return "%s.%s" % (cls.__module__, cls.__name__)


def _uri_from_state(state: Any) -> Any:
    if not isinstance(state, (tuple, list)) or len(state) != 5:
        raise errors.SerializeError("invalid serialized Pyro5.core.URI: state must be a sequence of 5 items, got %r"
                                    % (state,))
    uri_class = _uri_class or _get_uri_class()
    uri = uri_class.__new__(uri_class)
    uri.__setstate__(tuple(state))
    return uri


def _proxy_from_state(state: Any) -> Any:
    try:
        proxy_from_state = _wire_hooks.get("proxy_from_state", "a received Pyro proxy")
    except ModuleNotFoundError:
        raise errors.SerializeError("a Pyro proxy was received, but pyro5-client is not available to recreate "
                                    "it: pip install pyro5-client") from None
    return proxy_from_state(state)


class UnusableDaemon:
    """What a Daemon that travelled in call arguments or results becomes where pyro5-server is not installed (a
    thin client): an empty placeholder, as the Daemon it stands for is (the original sends a Daemon as an empty
    placeholder too). With pyro5-server installed, the receiver gets an unusable Pyro5.server.Daemon instead."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<Pyro5.server.Daemon placeholder; unusable>"


def _daemon_from_state(state: Any) -> Any:
    try:
        server = importlib.import_module("Pyro5.server")
    except ModuleNotFoundError as x:
        if x.name in ("Pyro5.server", "Pyro5"):
            return UnusableDaemon()
        raise
    return server._unusable_daemon("Pyro5.server.Daemon", {})


def _call_tuple(result: Any) -> tuple:
    if type(result) is not tuple or len(result) != 4:
        raise errors.SerializeError("invalid serialized call: expected a tuple (object, method, vargs, kwargs)")
    return result


class SerializerBase(abc.ABC):
    """Base class for (de)serializer implementations (which must be thread safe)"""
    serializer_id = 0  # define uniquely in subclass
    _custom_class_to_dict_registry: dict[type, Callable[[Any], dict]] = {}
    _custom_dict_to_class_registry: dict[str, Callable[[str, dict], Any]] = {}
    _type_replacements: dict[type, Callable[[Any], Any]] = {}

    # -- public API, implemented in the subclasses --------------------------------------------------------
    @abc.abstractmethod
    def dumpsCall(self, obj: str, method: str, vargs: Any, kwargs: dict) -> bytes:
        """Serializes a remote method call: object id, method name, positional and keyword arguments."""

    @abc.abstractmethod
    def dumps(self, data: Any) -> bytes:
        """Serializes a single object (a result, an exception, handshake data...)."""

    @abc.abstractmethod
    def loadsCall(self, data: bytes | bytearray | memoryview) -> tuple:
        """Deserializes a remote method call into (object id, method name, vargs, kwargs)."""

    @abc.abstractmethod
    def loads(self, data: bytes | bytearray | memoryview) -> Any:
        """Deserializes a single object."""

    def __repr__(self) -> str:
        return "<%s.%s id=%d>" % (self.__module__, self.__class__.__name__, self.serializer_id)

    # -- helpers for the subclasses -----------------------------------------------------------------------
    def _load_recreating(self, loader: Callable[[Any], Any], data: bytes | bytearray) -> Any:
        """loader(data), with the class dicts in it recreated when the data has any (serpent, marshal)."""
        try:
            result = loader(data)
            if len(data) > _SCAN_LIMIT or data.find(_CLASS_MARKER) >= 0:
                result = self.recreate_classes(result)
            return result
        except errors.PyroError:
            raise
        except Exception as x:
            raise _wrap_load_error(self, x) from x

    def _object_hook(self, data: dict) -> Any:
        """Decoder hook (json, msgpack): a dict with a __class__ tag becomes an object again."""
        if "__class__" in data:
            return self.dict_to_class(data)
        return data

    # -- registries ---------------------------------------------------------------------------------------
    @classmethod
    def register_type_replacement(cls, object_type: type, replacement_function: Callable[[Any], Any]) -> None:
        """Objects of the given type (or a subclass) are passed to replacement_function before serialization,
        and its return value is serialized instead (the server uses this to turn Pyro objects into proxies).
        When the function returns the object itself, it is serialized normally."""
        if not isinstance(object_type, type) or object_type is type:
            # ValueError as in the original 5.15
            raise ValueError("refusing to register replacement for a non-type or the type 'type' itself: %r"
                             % (object_type,))
        SerializerBase._type_replacements[object_type] = replacement_function

    @classmethod
    def register_class_to_dict(cls, clazz: type, converter: Callable[[Any], dict], serpent_too: bool = True) -> None:
        """Registers a custom function that returns a dict representation of objects of the given class.
        The function is called with a single parameter; the object to be converted to a dict."""
        SerializerBase._custom_class_to_dict_registry[clazz] = converter
        if serpent_too:
            def serpent_converter(obj: Any, serializer: Any, stream: Any, level: int) -> None:
                serializer._serialize(converter(obj), stream, level)
            serpent.register_class(clazz, serpent_converter)

    @classmethod
    def unregister_class_to_dict(cls, clazz: type) -> None:
        """Removes the to-dict conversion function registered for the given class. Objects of the class
        will be serialized by the default mechanism again."""
        SerializerBase._custom_class_to_dict_registry.pop(clazz, None)
        serpent.unregister_class(clazz)

    @classmethod
    def register_dict_to_class(cls, classname: str, converter: Callable[[str, dict], Any]) -> None:
        """Registers a custom converter function that creates objects from a dict with the given classname tag
        in it. The function is called with two parameters: the classname and the dictionary to convert to an
        instance of the class."""
        SerializerBase._custom_dict_to_class_registry[classname] = converter

    @classmethod
    def unregister_dict_to_class(cls, classname: str) -> None:
        """Removes the converter registered for the given classname. Dicts with that classname tag
        will be deserialized by the default mechanism again."""
        SerializerBase._custom_dict_to_class_registry.pop(classname, None)

    # -- conversions --------------------------------------------------------------------------------------
    @classmethod
    def _replace(cls, obj: Any) -> Any:
        """Applies a registered type replacement; returns obj itself when there is none."""
        replacements = SerializerBase._type_replacements
        if replacements:
            for clazz in type(obj).__mro__:
                function = replacements.get(clazz)
                if function is not None:
                    return function(obj)
        return obj

    @classmethod
    def _registered_to_dict(cls, obj: Any) -> Any:
        registry = SerializerBase._custom_class_to_dict_registry
        if registry:
            converter = registry.get(type(obj))
            if converter is None:
                for clazz, conv in list(registry.items()):
                    if isinstance(obj, clazz):
                        converter = conv
                        break
            if converter is not None:
                return converter(obj)
        return None

    @classmethod
    def _pyro_to_dict(cls, obj: Any) -> dict | None:
        """The dict form of Pyro's own wire types (URI and proxy-like objects), or None."""
        pyro_class = getattr(type(obj), "__pyro_class__", None)
        if isinstance(pyro_class, str):
            return {"__class__": pyro_class, "state": obj.__pyro_state__()}
        t = type(obj)
        if t is (_uri_class or _get_uri_class()):
            return {"__class__": "Pyro5.core.URI", "state": obj.__getstate__()}
        if t is _wrapper_class:
            return {"__class__": _EXCEPTION_WRAPPER, "exception": obj.exception}
        return None

    @classmethod
    def class_to_dict(cls, obj: Any) -> dict:
        """Convert a non-serializable object to a dict. Partly borrowed from serpent."""
        value = cls._registered_to_dict(obj)
        if value is not None:
            return value
        value = cls._pyro_to_dict(obj)
        if value is not None:
            return value
        if isinstance(obj, BaseException):
            return {"__class__": _class_name(obj), "__exception__": True, "args": obj.args,
                    "attributes": getattr(obj, "__dict__", {})}
        if isinstance(obj, _UNSERIALIZABLE):
            raise errors.SerializeError("don't know how to serialize %r using serializer %s: classes, functions "
                                        "and methods can't be serialized" % (obj, cls.__name__))
        getstate = getattr(type(obj), "__getstate__", None)
        if getstate is not None and getstate is not getattr(object, "__getstate__", None):
            state = obj.__getstate__()
            if isinstance(state, dict):
                value = dict(state)
                value.setdefault("__class__", _class_name(obj))
                return value
        try:
            value = dict(vars(obj))
        except TypeError:
            slots = _all_slots(type(obj))
            if not slots:
                raise errors.SerializeError(
                    "don't know how to serialize class %s using serializer %s. Give it vars() or an appropriate "
                    "__getstate__, or register a converter with register_class_to_dict()"
                    % (type(obj), cls.__name__)) from None
            value = {slot: getattr(obj, slot) for slot in slots if hasattr(obj, slot)}
        value["__class__"] = _class_name(obj)
        return value

    @classmethod
    def dict_to_class(cls, data: dict) -> Any:
        """Recreate an object out of a dict containing the class name and the attributes.
        Only a fixed set of classes are recognized."""
        classname = data.get("__class__", "<unknown>")
        if isinstance(classname, bytes):
            classname = classname.decode("utf-8", "replace")
        if not isinstance(classname, str):
            raise errors.SerializeError("invalid serialized class name: %r" % (classname,))
        converter = SerializerBase._custom_dict_to_class_registry.get(classname)
        if converter is not None:
            return converter(classname, data)
        if "__" in classname:
            raise _with_remote_traceback(errors.SecurityError(
                "refused to deserialize types with double underscores in their name: " + classname
                + _exception_summary(data)), data)
        if classname == "Pyro5.core.URI":
            return _uri_from_state(data.get("state"))
        if classname == "Pyro5.client.Proxy":
            return _proxy_from_state(data.get("state"))
        if classname == "Pyro5.server.Daemon":
            return _daemon_from_state(data.get("state"))
        if classname == _EXCEPTION_WRAPPER:
            exc = data.get("exception")
            if not isinstance(exc, BaseException):
                raise errors.SerializeError("invalid serialized %s: 'exception' is not an exception: %.200r"
                                            % (classname, exc))
            return _get_wrapper_class()(exc)
        if data.get("__exception__", False):
            return cls.make_exception(data)
        raise errors.SerializeError("unsupported serialized class: %s (register a converter with "
                                    "register_dict_to_class() to deserialize it)" % classname)

    @staticmethod
    def make_exception(data: dict) -> BaseException:
        """Recreates an exception from its dict form. Only exception classes from builtins and Pyro5.errors
        are recreated (security); anything else raises SerializeError."""
        classname = data["__class__"]
        module, _, name = classname.rpartition(".")
        exc_class: Any = None
        if module == "builtins":
            exc_class = getattr(builtins, name, None)
        elif module == "Pyro5.errors":
            exc_class = getattr(errors, name, None)
        if not (isinstance(exc_class, type) and issubclass(exc_class, BaseException)):
            raise _with_remote_traceback(errors.SerializeError(
                "unsupported serialized class: %s%s (only exceptions from builtins and Pyro5.errors are recreated; "
                "register a converter with register_dict_to_class() for others)"
                % (classname, _exception_summary(data))), data)
        args = data.get("args") or ()
        if not isinstance(args, (list, tuple)):
            args = (args,)
        try:
            exc = exc_class(*args)
        except Exception as x:
            raise errors.SerializeError("cannot recreate exception %s from args %r: %s" % (classname, args, x)) \
                from None
        attributes = data.get("attributes") or {}
        if isinstance(attributes, dict):
            for attr, value in attributes.items():
                if isinstance(attr, str) and (not attr.startswith("__") or attr in _ALLOWED_DUNDER_ATTRIBUTES):
                    try:
                        setattr(exc, attr, value)
                    except (AttributeError, TypeError):
                        log.debug("cannot set attribute %r on recreated %s", attr, classname)
        return exc

    def recreate_classes(self, literal: Any) -> Any:
        """Walks a deserialized structure and turns dicts with a __class__ key into objects (dict_to_class)."""
        t = type(literal)
        if t is dict:
            if not _CONTAINERS.isdisjoint(map(type, literal.values())):    # type checks at C speed
                for key, value in literal.items():
                    if type(value) in _CONTAINERS:
                        literal[key] = self.recreate_classes(value)
            if "__class__" in literal:
                return self._dict_to_class(literal)
            return literal
        if t is list:
            if not _CONTAINERS.isdisjoint(map(type, literal)):
                for i, value in enumerate(literal):
                    if type(value) in _CONTAINERS:
                        literal[i] = self.recreate_classes(value)
            return literal
        if t is tuple:
            if not _CONTAINERS.isdisjoint(map(type, literal)):
                # (from a list, not a generator: tuple(generator) makes the tuple by resizing one, which bypasses
                # the interpreter's free list of tuples; with one more freed tuple a call (a marshal call message
                # is such a tuple), that list grew to its 2000 entries: ~100 KiB more of a server's memory)
                return tuple([self.recreate_classes(value) for value in literal])
            return literal
        return literal

    def _dict_to_class(self, data: dict) -> Any:
        return self.dict_to_class(data)

def _exception_summary(data: dict) -> str:
    """' (remote exception, args: ...)' for a serialized exception dict, else ''."""
    if not data.get("__exception__"):
        return ""
    return " (remote exception, args: %.200r)" % (data.get("args"),)


def _with_remote_traceback(error: errors.PyroError, data: dict) -> errors.PyroError:
    """Keeps the remote traceback of an exception that can't be recreated, for get_pyro_traceback()."""
    attributes = data.get("attributes")
    if data.get("__exception__") and isinstance(attributes, dict):
        traceback = attributes.get("_pyroTraceback")
        if isinstance(traceback, list):
            error._pyroTraceback = traceback  # type: ignore[attr-defined]
    return error


_UNSERIALIZABLE = (type, types.FunctionType, types.MethodType, types.BuiltinFunctionType, types.ModuleType)
_CONTAINERS = frozenset((dict, list, tuple))


def _all_slots(cls: type) -> list[str]:
    slots: list[str] = []
    for klass in cls.__mro__:
        names = klass.__dict__.get("__slots__", ())
        if isinstance(names, str):
            names = (names,)
        slots.extend(n for n in names if n not in ("__dict__", "__weakref__"))
    return slots


def _wrap_load_error(serializer: SerializerBase, x: Exception) -> errors.SerializeError:
    return errors.SerializeError("cannot deserialize %s data: %s: %s (is the peer using the same serializer?)"
                                 % (type(serializer).__name__, type(x).__name__, x))


def _wrap_dump_error(serializer: SerializerBase, x: Exception) -> errors.SerializeError:
    if isinstance(x, ValueError):
        return _SerializeValueError("cannot serialize with %s: %s: %s" % (type(serializer).__name__,
                                                                          type(x).__name__, x))
    return errors.SerializeError("cannot serialize with %s: %s: %s" % (type(serializer).__name__,
                                                                       type(x).__name__, x))


# ---------------------------------------------------------------------------------------------------------
# serpent
class _PyroSerpentSerializer(serpent.Serializer):
    """serpent's Serializer, extended for Pyro's own types (URI, proxies) and type replacements."""
    dispatch = dict(serpent.Serializer.dispatch)

    def _ser_pyro_default(self, obj: Any, out: list, level: int) -> None:
        if isinstance(obj, _UNSERIALIZABLE):
            raise errors.SerializeError("don't know how to serialize %r using serializer SerpentSerializer: "
                                        "classes, functions and modules can't be serialized" % (obj,))
        replacement = SerializerBase._replace(obj)
        if replacement is not obj:
            self._serialize(replacement, out, level)
            return
        value = SerializerBase._pyro_to_dict(obj)
        if value is not None:
            self._serialize(value, out, level)
            return
        serpent.Serializer.ser_default_class(self, obj, out, level)

    dispatch[object] = _ser_pyro_default


# what serpent (and dumps above) writes for a URI alone: its state as plain strings, None and an int
_NOT_PLAIN = _serpent_fast._NOT_PLAIN
_SERPENT_URI_START = b"# serpent utf-8 python3.2\n{'__class__':'Pyro5.core.URI','state':("
_SERPENT_URI = re.compile(
    re.escape(_SERPENT_URI_START) + rb"'(PYRO|PYRONAME|PYROMETA)','([^'\\\n\r\x00]*)',(None|'[^'\\\n\r\x00]*'),"
    rb"(None|'[^'\\\n\r\x00]*'),(None|0|[1-9][0-9]{0,5})\)\}")


def _serpent_uri_fast(data: bytes | bytearray) -> Any:
    """The URI of serpent data that is exactly one URI in the usual layout (no custom converter registered for
    Pyro5.core.URI); None for anything else, which the generic path then reads (with the same result)."""
    m = _SERPENT_URI.fullmatch(data)
    if m is None or "Pyro5.core.URI" in SerializerBase._custom_dict_to_class_registry:
        return None
    try:
        protocol, obj, sockname, host, port = (g.decode("utf-8") for g in m.groups())
    except UnicodeDecodeError:
        return None
    return _uri_from_state((protocol, obj, None if sockname == "None" else sockname[1:-1],
                            None if host == "None" else host[1:-1], None if port == "None" else int(port)))


class SerpentSerializer(SerializerBase):
    """(de)serializer that wraps the serpent serialization protocol."""
    serializer_id = 1  # never change this

    def dumpsCall(self, obj: str, method: str, vargs: Any, kwargs: dict) -> bytes:
        data = _serpent_fast.dumps_call(obj, method, vargs, kwargs)    # (a call of plain arguments: in one step)
        if data is not None:
            return data
        return self._dumps((obj, method, vargs, kwargs))

    def dumps(self, data: Any) -> bytes:
        return self._dumps(data)

    def dumpsCallParts(self, obj: str, method: str, vargs: Any, kwargs: dict) -> bytes | list:
        """dumpsCall, but the base64 text of big bytes arguments is made directly as bytes (not through serpent's
        str repr, join and encode: a third of the cost): returns a list of buffers whose concatenation is exactly
        dumpsCall's result, or simply that result when there are no big bytes arguments."""
        if config.SERPENT_BYTES_REPR:
            return self.dumpsCall(obj, method, vargs, kwargs)
        # serialize with a small random stand-in for each big bytes object, then put the real base64 text where
        # the stand-in's is (serpent writes bytes as {'data': '<base64>', 'encoding': 'base64'})
        replaced = _with_standins(vargs, _STANDIN_SIZE + 2)     # (18 bytes: base64 without padding)
        if replaced is None:
            return self.dumpsCall(obj, method, vargs, kwargs)
        new_vargs, standins = replaced
        data = self.dumpsCall(obj, method, tuple(new_vargs) if type(vargs) is tuple else new_vargs, kwargs)
        found = []
        for value, standin in standins.values():
            encoded = b"{'data': '" + binascii.b2a_base64(standin, newline=False) + b"', 'encoding': 'base64'}"
            text = binascii.b2a_base64(value, newline=False)
            pos = data.find(encoded)
            count = 0
            while pos >= 0:
                found.append((pos + 10, text))      # (the same object twice: the same base64 bytes twice)
                count += 1
                pos = data.find(encoded, pos + 1)
            if count != sum(1 for arg in new_vargs if arg is standin):
                return self.dumpsCall(obj, method, vargs, kwargs)      # (not found as expected: no splicing)
        return _spliced(data, found, _no_header, 24)

    def _dumps(self, data: Any) -> bytes:
        if _uri_class is None:
            _get_uri_class()                            # (the URI's fast path)
        simple = _serpent_fast.dumps_simple(data)      # builtin-only data: the same bytes, without serpent's dispatch
        if simple is not None:
            return simple
        try:
            return _PyroSerpentSerializer(False, True, config.SERPENT_BYTES_REPR).serialize(data)
        except errors.PyroError:
            raise
        except (TypeError, ValueError, RecursionError) as x:
            raise _wrap_dump_error(self, x) from x

    def loadsCall(self, data: bytes | bytearray | memoryview) -> tuple:
        if isinstance(data, memoryview):
            data = data.tobytes()
        call = _serpent_fast.loads_call(data)      # (a call of plain arguments: one regex match, no class dicts)
        if call is not None:
            return call
        return _call_tuple(self.loads(data))

    def loads(self, data: bytes | bytearray | memoryview) -> Any:
        if isinstance(data, memoryview):
            data = data.tobytes()
        value = _serpent_fast.loads_plain(data)     # (a plain value or a flat container of them: a usual reply)
        if value is not _NOT_PLAIN:
            return value
        if len(data) < 600 and data.startswith(_SERPENT_URI_START):
            uri = _serpent_uri_fast(data)       # (a URI alone: e.g. the answer of a name server lookup)
            if uri is not None:
                return uri
        return self._load_recreating(_serpent_fast.loads, data)

    def _dict_to_class(self, data: dict) -> Any:
        if data.get("__class__") == "float":
            # serpent encodes nan as {'__class__': 'float', 'value': 'nan'}
            try:
                return float(data["value"])
            except (KeyError, TypeError, ValueError):
                raise errors.SerializeError("invalid serialized float: %r" % (data,)) from None
        return self.dict_to_class(data)


# ---------------------------------------------------------------------------------------------------------
# marshal
_MARSHAL_SIMPLE = frozenset((str, int, float, bool, type(None), bytes, bytearray, complex))
_MARSHAL_CONVERT_FIRST = frozenset((array.array, uuid.UUID, memoryview))
# bytes arguments of at least this size are spliced into a call's marshal data instead of copied (dumpsCallParts)
_MARSHAL_SPLICE_MIN = 64 * 1024
_MARSHAL_TYPE_BYTES = ord("s")
_STANDIN_SIZE = 16


def _no_header(size: int) -> bytes:
    return b""


def _with_standins(vargs: Any, standin_size: int) -> tuple[list, dict[int, tuple[bytes, bytes]]] | None:
    """(dumpsCallParts) The arguments with a random stand-in of standin_size bytes for each big bytes argument
    (the same stand-in for the same object), and {id: (the real bytes, its stand-in)}; None when there is none."""
    if bytes not in map(type, vargs):
        return None
    standins: dict[int, tuple[bytes, bytes]] = {}
    new_vargs = []
    for value in vargs:
        if type(value) is bytes and len(value) >= _MARSHAL_SPLICE_MIN:
            entry = standins.get(id(value))
            if entry is None:
                entry = standins[id(value)] = (value, os.urandom(standin_size))
            value = entry[1]
        new_vargs.append(value)
    return (new_vargs, standins) if standins else None
_int32 = struct.Struct("<i")
_STANDIN_LENGTH = _int32.pack(_STANDIN_SIZE)


def checked_marshal_loads(data: bytes | bytearray | memoryview) -> Any:
    """marshal.loads for data from the network: refuses (SerializeError) data that declares containers or ints
    larger than the data could hold, before marshal.loads allocates them (see Pyro5._marshalcheck)."""
    check_marshal(data)
    try:
        return marshal.loads(data)
    except (ValueError, EOFError, TypeError) as x:
        raise errors.SerializeError("cannot deserialize marshal data: %s: %s" % (type(x).__name__, x)) from x


def _array_value(arr: array.array) -> Any:
    return arr.tounicode() if arr.typecode == "u" else arr.tolist()


def _spliced(data: bytes, found: list, header: Callable[[int], bytes], standin_length: int) -> list:
    """(dumpsCallParts) data's buffers with every stand-in replaced: found holds (position of the stand-in's
    encoding, the real bytes); each becomes header(len(real bytes)) + the real bytes, without copying them."""
    found.sort(key=lambda item: item[0])
    parts: list = []
    start = 0
    for pos, value in found:
        parts.append(data[start:pos])
        parts.append(header(len(value)))
        parts.append(value)
        start = pos + standin_length
    parts.append(data[start:])
    return parts


class MarshalSerializer(SerializerBase):
    """(de)serializer that wraps the marshal serialization protocol."""
    serializer_id = 2  # never change this

    # marshal is tried first (fast path); only when it refuses something, the data is converted
    # (custom classes, URIs, exceptions... become dicts) and dumped again.
    def dumpsCall(self, obj: str, method: str, vargs: Any, kwargs: dict) -> bytes:
        vargs = vargs if type(vargs) is list else list(vargs)
        # marshal would dump an array.array (a buffer) as its raw machine bytes: an array argument travels as
        # the original 5.15 sends it, a str (typecode 'u') or a list. (A loop: a usual call has a few arguments,
        # for which it costs a third of `array.array in map(type, vargs)`.)
        for value in vargs:
            if type(value) is _array_type:
                vargs = [_array_value(value) if type(value) is _array_type else value for value in vargs]
                break
        # (no reference to an argument left behind: marshal marks an object referenced more than once as
        # referenceable, which changes the bytes)
        value = None
        if kwargs and _array_type in map(type, kwargs.values()):
            kwargs = {key: _array_value(value) if type(value) is _array_type else value
                      for key, value in kwargs.items()}
        try:
            try:
                return _marshal_dumps((obj, method, vargs, kwargs))
            except ValueError:
                vargs = [self._convert(value) for value in vargs]
                kwargs = self._convert(kwargs)
                return marshal.dumps((obj, method, vargs, kwargs))
        except (ValueError, TypeError, RecursionError) as x:
            raise _wrap_dump_error(self, x) from x

    def dumpsCallParts(self, obj: str, method: str, vargs: Any, kwargs: dict) -> bytes | list:
        """dumpsCall, but big bytes arguments are not copied into the serialized data: returns a list of buffers
        (referencing those arguments) whose concatenation is exactly dumpsCall's result, or simply that result
        when there are no big bytes arguments. SendingMessage accepts both as its payload."""
        # Serialize with a small unique stand-in for every big bytes object (the same stand-in for the same object,
        # so marshal's back references stay as they were), then splice the real objects in where the stand-ins are.
        replaced = _with_standins(vargs, _STANDIN_SIZE)
        if replaced is None:
            return self.dumpsCall(obj, method, vargs, kwargs)
        new_vargs, standins = replaced
        data = self.dumpsCall(obj, method, new_vargs, kwargs)
        found = []
        for value, standin in standins.values():
            encoded = _STANDIN_LENGTH + standin         # marshal: type byte, int32 length (little endian), the bytes
            pos = data.find(encoded)
            if pos < 1 or (data[pos - 1] & 0x7f) != _MARSHAL_TYPE_BYTES or data.find(encoded, pos + 1) >= 0:
                return self.dumpsCall(obj, method, vargs, kwargs)      # (not found as expected: no splicing)
            found.append((pos, value))
        return _spliced(data, found, _int32.pack, len(_STANDIN_LENGTH) + _STANDIN_SIZE)

    def dumps(self, data: Any) -> bytes:
        try:
            if type(data) not in _MARSHAL_CONVERT_FIRST:
                try:
                    return marshal.dumps(data)
                except ValueError:
                    pass
            return marshal.dumps(self._convert(data))
        except (ValueError, TypeError, RecursionError) as x:
            raise _wrap_dump_error(self, x) from x

    def loadsCall(self, data: bytes | bytearray | memoryview) -> tuple:
        # the first branch of loads, in this frame: a server loads every request's call with it
        if type(data) is bytes and len(data) <= _MARSHAL_QUICK and data.find(_CLASS_MARKER) < 0 \
                and _marshal_big_header(data) is None:
            try:
                call = marshal.loads(data)
            except (ValueError, EOFError, TypeError):
                call = self.loads(data)     # (raises the error)
        else:
            call = self.loads(data)
        if type(call) is not tuple or len(call) != 4:
            raise errors.SerializeError("invalid serialized call: expected a tuple (object, method, vargs, kwargs)")
        return call

    def loads(self, data: bytes | bytearray | memoryview) -> Any:
        if type(data) is not bytes and type(data) is not bytearray:
            data = bytes(data)
        if len(data) <= _MARSHAL_QUICK and data.find(_CLASS_MARKER) < 0 and _marshal_big_header(data) is None:
            # (small plain data that check_marshal passes at once: what _load_recreating does, in one step)
            try:
                return _marshal_loads(data)
            except (ValueError, EOFError, TypeError):
                pass    # (the full path below raises the error)
        elif _marshal_plain_call(data):
            # (a call of plain arguments, such as an upload of bytes: check_marshal passes it, and it holds no class
            # dicts to recreate)
            try:
                return marshal.loads(data)
            except (ValueError, EOFError, TypeError):
                pass
        return self._load_recreating(checked_marshal_loads, data)

    def _convert(self, obj: Any) -> Any:
        t = type(obj)
        if t in _MARSHAL_SIMPLE:
            return obj
        if t is list:
            if _MARSHAL_SIMPLE.issuperset(map(type, obj)):
                return obj
            return [self._convert(value) for value in obj]
        if t is tuple:
            if _MARSHAL_SIMPLE.issuperset(map(type, obj)):
                return obj
            return tuple(self._convert(value) for value in obj)
        if t is dict:
            if _MARSHAL_SIMPLE.issuperset(map(type, obj.values())) and _MARSHAL_SIMPLE.issuperset(map(type, obj)):
                return obj
            return {self._convert(k): self._convert(v) for k, v in obj.items()}
        if t is set or t is frozenset:
            if _MARSHAL_SIMPLE.issuperset(map(type, obj)):
                return obj
            return t(self._convert(value) for value in obj)
        if t is uuid.UUID:
            return str(obj)
        if t is array.array:
            return obj.tounicode() if obj.typecode == "u" else obj.tolist()
        if t is (_uri_class or _get_uri_class()):
            return {"__class__": "Pyro5.core.URI", "state": obj.__getstate__()}
        replacement = self._replace(obj)
        if replacement is not obj:
            return self._convert(replacement)
        return self._convert(self.class_to_dict(obj))


# ---------------------------------------------------------------------------------------------------------
# json
_c_make_encoder: Any = getattr(json.encoder, "c_make_encoder", None)


def _json_c_encoder_args(encoder: json.JSONEncoder) -> tuple | None:
    """The arguments (after the markers) with which JSONEncoder.encode makes its C encoder for `encoder` (compact
    one-shot encoding, ensure_ascii=False), or None when there is no C encoder or it does not give the same text."""
    if _c_make_encoder is None or encoder.indent is not None or encoder.ensure_ascii:
        return None
    args = (encoder.default, json.encoder.encode_basestring, None, encoder.key_separator, encoder.item_separator,
            encoder.sort_keys, encoder.skipkeys, encoder.allow_nan)
    sample = {"a": [1, 2.5, None, True, "é\n\"", float("inf")], "b": {"c": ()}, "d": -7}
    try:
        if "".join(_c_make_encoder({}, *args)(sample, 0)) == encoder.encode(sample):
            return args
    except Exception:
        pass
    return None


_JSON_SPACE = " \t\n\r"


class JsonSerializer(SerializerBase):
    """(de)serializer that wraps the json serialization protocol."""
    serializer_id = 3  # never change this

    def __init__(self) -> None:
        self._encoder = json.JSONEncoder(ensure_ascii=False, default=self.default)
        self._decoder = json.JSONDecoder()
        self._class_decoder = json.JSONDecoder(object_hook=self._object_hook)
        self._c_encoder_args = _json_c_encoder_args(self._encoder)

    def dumpsCall(self, obj: str, method: str, vargs: Any, kwargs: dict) -> bytes:
        args = self._c_encoder_args
        if args is None:
            return self.dumps({"object": obj, "method": method, "params": vargs, "kwargs": kwargs})
        try:    # (dumps with the C encoder, written out: one Python call less for every call a client makes)
            if args is _json_plain_args and type(kwargs) is dict and not kwargs:
                data = _json_plain_call(obj, method, vargs)     # (a call of plain arguments: the same text)
                if data is not None:
                    return data
            return "".join(_c_make_encoder({}, *args)({"object": obj, "method": method, "params": vargs,
                                                       "kwargs": kwargs}, 0)).encode("utf-8")
        except errors.PyroError:
            raise
        except (TypeError, ValueError, RecursionError) as x:
            raise _wrap_dump_error(self, x) from x

    def dumps(self, data: Any) -> bytes:
        try:
            args = self._c_encoder_args
            if args is not None:
                # what JSONEncoder.encode does with the C encoder, without its two Python-level calls. The C
                # encoder is made once per thread and reused (making one costs a third of encoding a small
                # result): its circular-reference markers are empty again after an encoding that succeeded; it
                # is taken out while it encodes (a nested dumps() from the default hook gets a new one) and not
                # kept after an error (which can leave markers behind)
                encoders: dict[Any, Any] = _json_encoders.__dict__
                encoder = encoders.pop(self, None) or _c_make_encoder({}, *args)
                text = "".join(encoder(data, 0))
                encoders[self] = encoder
                return text.encode("utf-8")
            return self._encoder.encode(data).encode("utf-8")
        except errors.PyroError:
            raise
        except (TypeError, ValueError, RecursionError) as x:
            raise _wrap_dump_error(self, x) from x

    def loadsCall(self, data: bytes | bytearray | memoryview) -> tuple:
        call: Any = None
        if type(data) is bytes and len(data) <= _SCAN_LIMIT and data.find(_CLASS_MARKER) < 0 and data \
                and data[0] == _JSON_OBJECT:
            # the fast branch of loads, in this frame (a server loads every request's call with it): a json object
            # without white space around it, decoded whole by one scan_once; anything else (and every error)
            # through loads
            try:
                text = data.decode("utf-8")
                call, end = self._decoder.scan_once(text, 0)  # type: ignore[attr-defined]
                if end != len(text):
                    call = None
            except Exception:
                call = None     # (loads decodes it again and raises the error it raises)
        if call is None:
            call = self.loads(data)
        try:
            return call["object"], call["method"], call["params"], call["kwargs"]
        except (KeyError, TypeError):
            raise errors.SerializeError("invalid serialized call: expected a json object with object, method, "
                                        "params and kwargs") from None

    def loads(self, data: bytes | bytearray | memoryview) -> Any:
        try:
            if type(data) is not bytes and type(data) is not bytearray:
                data = bytes(data)
            decoder = self._class_decoder if len(data) > _SCAN_LIMIT or data.find(_CLASS_MARKER) >= 0 else self._decoder
            text = data.decode("utf-8")
            if text and text[0] not in _JSON_SPACE:
                # what JSONDecoder.decode does for text without white space around the value, without its two
                # Python-level calls and two regex matches; anything else (and every error) goes through decode
                try:
                    value, end = decoder.scan_once(text, 0)  # type: ignore[attr-defined]
                except StopIteration:
                    pass
                else:
                    if end == len(text):
                        return value
            return decoder.decode(text)
        except errors.PyroError:
            raise
        except Exception as x:
            raise _wrap_load_error(self, x) from x

    def default(self, obj: Any) -> Any:
        replacement = self._replace(obj)
        if replacement is not obj:
            return replacement
        t = type(obj)
        if t is (_uri_class or _get_uri_class()):
            return {"__class__": "Pyro5.core.URI", "state": obj.__getstate__()}
        if t is set:
            return tuple(obj)
        if t is uuid.UUID or t is decimal.Decimal:
            return str(obj)
        if t is datetime.datetime or t is datetime.date:
            return obj.isoformat()
        if t is array.array:
            return obj.tounicode() if obj.typecode == "u" else obj.tolist()
        if t in (bytes, bytearray, memoryview):
            raise errors.SerializeError("the json serializer can't serialize %s; use another serializer (serpent, "
                                        "marshal, msgpack) or encode the data yourself, e.g. with base64"
                                        % t.__name__)
        return self.class_to_dict(obj)


# ---------------------------------------------------------------------------------------------------------
# msgpack
_EXT_COMPLEX = 0x30
_EXT_BIGINT = 0x31
_EXT_DATETIME = 0x32
_EXT_DATE = 0x33
_complex_struct = struct.Struct("<dd")
_double_struct = struct.Struct("<d")
_int64_struct = struct.Struct("<q")
_bin32_header = struct.Struct(">BI")
_msgpack_packers = threading.local()
_MSGPACK_NATIVE = frozenset((str, int, float, bool, type(None), bytes, bytearray, list, tuple, dict))


class MsgpackSerializer(SerializerBase):
    """(de)serializer that wraps the msgpack serialization protocol."""
    serializer_id = 4  # never change this

    def dumpsCall(self, obj: str, method: str, vargs: Any, kwargs: dict) -> bytes:
        # dumps((obj, method, vargs, kwargs)), written out: one Python call less for every call a client makes
        packers: dict[Any, Any] = _msgpack_packers.__dict__
        packer = packers.pop(self, None)
        if packer is None:
            packer = msgpack.Packer(use_bin_type=True, default=self.default)
        try:
            data = packer.pack((obj, method, vargs, kwargs))
        except errors.PyroError:
            raise
        except (TypeError, ValueError, OverflowError, RecursionError) as x:
            raise _wrap_dump_error(self, x) from x
        packers[self] = packer
        return data

    def dumpsCallParts(self, obj: str, method: str, vargs: Any, kwargs: dict) -> bytes | list:
        """dumpsCall, but big bytes arguments are not copied into the serialized data (as
        MarshalSerializer.dumpsCallParts): a list of buffers whose concatenation is exactly dumpsCall's result."""
        if bytes not in map(type, vargs):
            return self.dumpsCall(obj, method, vargs, kwargs)
        big = [i for i, value in enumerate(vargs) if type(value) is bytes and len(value) >= _MARSHAL_SPLICE_MIN]
        if not big:
            return self.dumpsCall(obj, method, vargs, kwargs)
        # a unique 16-byte stand-in per big argument (packed as bin 8: 0xc4 0x10 <16 bytes>), replaced afterwards
        # by the bin 32 header of the real bytes (0xc6, big endian length: msgpack's own encoding of >= 64 KiB)
        new_vargs = list(vargs)
        standins = []
        for i in big:
            standin = os.urandom(_STANDIN_SIZE)
            standins.append((b"\xc4\x10" + standin, vargs[i]))
            new_vargs[i] = standin
        data = self.dumpsCall(obj, method, new_vargs, kwargs)
        found = []
        for encoded, value in standins:
            pos = data.find(encoded)
            if pos < 0 or data.find(encoded, pos + 1) >= 0:
                return self.dumpsCall(obj, method, vargs, kwargs)      # (not found as expected: no splicing)
            found.append((pos, value))
        return _spliced(data, found, lambda size: _bin32_header.pack(0xc6, size), 2 + _STANDIN_SIZE)

    def dumps(self, data: Any) -> bytes:
        # one Packer per thread, reused (msgpack.packb makes a new one every time); taken out while it packs, so a
        # nested dumps() (from a class_to_dict converter) gets a fresh one; after an error it is not kept
        packers: dict[Any, Any] = _msgpack_packers.__dict__
        packer = packers.pop(self, None)
        if packer is None:
            packer = msgpack.Packer(use_bin_type=True, default=self.default)
        try:
            data = packer.pack(data)
        except errors.PyroError:
            raise
        except (TypeError, ValueError, OverflowError, RecursionError) as x:
            raise _wrap_dump_error(self, x) from x
        packers[self] = packer
        return data

    def loadsCall(self, data: bytes | bytearray | memoryview) -> tuple:
        # the usual small call without class dicts as loads takes it, in this frame (a server loads every
        # request's call with it); anything else through loads
        if type(data) is bytes and len(data) <= _SCAN_LIMIT and data.find(_CLASS_MARKER) < 0:
            try:
                call = _msgpack_unpackb(data, raw=False, ext_hook=self._ext_hook, strict_map_key=False)
            except errors.PyroError:
                raise
            except Exception as x:
                raise _wrap_load_error(self, x) from x
        else:
            call = self.loads(data)
        if type(call) is not list or len(call) != 4:
            raise errors.SerializeError("invalid serialized call: expected an array (object, method, vargs, kwargs)")
        return tuple(call)

    def loads(self, data: bytes | bytearray | memoryview) -> Any:
        if type(data) is not bytes and type(data) is not bytearray:
            data = bytes(data)
        try:
            if len(data) > _SCAN_LIMIT or data.find(_CLASS_MARKER) >= 0:
                return msgpack.unpackb(data, raw=False, ext_hook=self._ext_hook, strict_map_key=False,
                                       object_hook=self._object_hook)
            return msgpack.unpackb(data, raw=False, ext_hook=self._ext_hook, strict_map_key=False)
        except errors.PyroError:
            raise
        except Exception as x:
            raise _wrap_load_error(self, x) from x

    @staticmethod
    def _ext_hook(code: int, data: bytes) -> Any:
        if code == _EXT_COMPLEX:
            real, imag = _complex_struct.unpack(data)
            return complex(real, imag)
        if code == _EXT_BIGINT:
            return int(data)
        if code == _EXT_DATETIME:
            return datetime.datetime.fromtimestamp(_double_struct.unpack(data)[0])
        if code == _EXT_DATE:
            return datetime.date.fromordinal(_int64_struct.unpack(data)[0])
        return msgpack.ExtType(code, data)

    def default(self, obj: Any) -> Any:
        replacement = self._replace(obj)
        if replacement is not obj:
            if type(replacement) in _MSGPACK_NATIVE:
                return replacement
            obj = replacement
        t = type(obj)
        if t is (_uri_class or _get_uri_class()):
            return {"__class__": "Pyro5.core.URI", "state": obj.__getstate__()}
        if t is set:
            return tuple(obj)
        if t is complex:
            return msgpack.ExtType(_EXT_COMPLEX, _complex_struct.pack(obj.real, obj.imag))
        if t is int:
            return msgpack.ExtType(_EXT_BIGINT, str(obj).encode("ascii"))
        if t is datetime.datetime:
            return msgpack.ExtType(_EXT_DATETIME, _double_struct.pack(obj.timestamp()))
        if t is datetime.date:
            return msgpack.ExtType(_EXT_DATE, _int64_struct.pack(obj.toordinal()))
        if t is uuid.UUID or t is decimal.Decimal:
            return str(obj)
        if t is array.array:
            return obj.tounicode() if obj.typecode == "u" else obj.tolist()
        return self.class_to_dict(obj)


# ---------------------------------------------------------------------------------------------------------
serializers: dict[str, SerializerBase] = {
    "serpent": SerpentSerializer(),
    "marshal": MarshalSerializer(),
    "json": JsonSerializer(),
}
if msgpack is not None:
    serializers["msgpack"] = MsgpackSerializer()
serializers_by_id: dict[int, SerializerBase] = {ser.serializer_id: ser for ser in serializers.values()}

register_class_to_dict = SerializerBase.register_class_to_dict
register_dict_to_class = SerializerBase.register_dict_to_class
unregister_class_to_dict = SerializerBase.unregister_class_to_dict
unregister_dict_to_class = SerializerBase.unregister_dict_to_class
register_type_replacement = SerializerBase.register_type_replacement

# (MsgpackSerializer.loadsCall; JsonSerializer.loadsCall: the first byte of data that is a json object)
_msgpack_unpackb: Any = msgpack.unpackb if msgpack is not None else None
_JSON_OBJECT = ord("{")
# (JsonSerializer.dumps: the C encoder of each thread, per serializer instance)
_json_encoders = threading.local()

# (MarshalSerializer.dumpsCall and loads run for every call a client makes: module globals, no attribute lookups)
_array_type = array.array
_marshal_dumps = marshal.dumps
_marshal_loads = marshal.loads


def _json_plain_call(obj: Any, method: Any, vargs: Any) -> bytes | None:
    """JsonSerializer.dumpsCall's bytes for a call without keyword arguments whose object id and method name are
    str and whose arguments are str, int, bool, None or finite floats (exact types), or None for anything else:
    the text the C encoder writes for them, made with one %-format. Making the C encoder and its output list costs
    about 1.4 µs for a small call, this a third of that. Only for the registered serializer's encoder settings,
    checked against the C encoder when the module loads (_json_plain_args); errors are those of the C encoder
    (an int too long for str(), a lone surrogate that utf-8 refuses), raised by the same calls."""
    if type(obj) is not str or type(method) is not str:
        return None
    items = []
    for value in vargs:
        kind = type(value)
        if kind is str:
            items.append(_json_str(value))
        elif kind is int:
            items.append(_int_repr(value))
        elif value is None:
            items.append("null")
        elif kind is bool:
            items.append("true" if value else "false")
        elif kind is float and value - value == 0.0:    # (finite: nan and inf are written as NaN, Infinity)
            items.append(_float_repr(value))
        else:
            return None
    return ('{"object": %s, "method": %s, "params": [%s], "kwargs": {}}'
            % (_json_str(obj), _json_str(method), ", ".join(items))).encode("utf-8")


def _verified_json_plain_args() -> tuple | None:
    """The registered JsonSerializer's C encoder arguments when _json_plain_call writes what that encoder writes
    (its separators, no indent, keys not sorted; checked on a sample), else None (no plain path)."""
    serializer = serializers.get("json")
    args = getattr(serializer, "_c_encoder_args", None)
    if args is None or args[1:6] != (_json_str, None, ": ", ", ", False):
        return None
    for vargs in [(), ("é\n\"\\\x01\u2028", -7, 2 ** 70, True, False, None, 2.5, -0.0, 1e300)]:
        expected = "".join(_c_make_encoder({}, *args)({"object": "o\"", "method": "m", "params": vargs,
                                                        "kwargs": {}}, 0)).encode("utf-8")
        if _json_plain_call("o\"", "m", vargs) != expected:
            return None
    return args


_json_str = json.encoder.encode_basestring
_int_repr = int.__repr__
_float_repr = float.__repr__
_json_plain_args = _verified_json_plain_args()
