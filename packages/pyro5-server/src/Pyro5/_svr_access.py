"""How the dispatcher reaches into a registered object: its exposed methods, its remote attributes (get and
set, with the expose rules and the original's error messages), and the call a blob message (SerializedBlob with
FLAGS_KEEPSERIALIZED) stands for. No I/O."""
from __future__ import annotations

from typing import Any, Callable

from . import errors, protocol, serializers
from ._serialized_blob import SerializedBlob
from ._svr_meta import _cache as _class_infos
from ._svr_meta import class_info, is_private_attribute
from ._wire_reader import recycle_buffer as _recycle_buffer

__all__ = ["ATTRIBUTE_ACCESS", "access_attribute", "blob_call", "checked_call", "get_method", "load_call",
           "load_error", "load_payload"]

ATTRIBUTE_ACCESS = ("__getattr__", "__setattr__")     # the method names of remote attribute access


def load_call(serializer: Any, msg: protocol.ReceivingMessage, parsed: Any = None) -> tuple:
    """(object id, method name, vargs, kwargs) of a request: `parsed` when given, else the message's data
    deserialized (or its blob call); SerializeError for data that can't be read, ProtocolError for a call that is
    not that 4-tuple. A big body in the reader's buffer (a bytearray) is let go of as soon as it is deserialized,
    before the method runs: kept for the next big message (_wire_reader.recycle_buffer: no new buffer, nothing
    zeroed, no heap growth), or freed."""
    if parsed is None and not msg.flags & protocol.FLAGS_KEEPSERIALIZED:
        if type(msg.data) is not bytearray:
            return load_payload(serializer, msg.data)
        data, msg.data = msg.data, b""
        call = load_payload(serializer, data)
        _recycle_buffer(data)   # (kept for the next big message, unless something still uses it)
        return call
    try:
        if parsed is not None:
            object_id, method_name, vargs, kwargs = parsed
        else:
            object_id, method_name, vargs, kwargs = blob_call(msg)
    except errors.PyroError:
        raise
    except Exception as x:
        raise load_error(x) from None
    return checked_call(object_id, method_name, vargs, kwargs)


def load_payload(serializer: Any, data: Any) -> tuple:
    """load_call for a request's serialized data (bytes, or the reader's bytearray)."""
    try:
        object_id, method_name, vargs, kwargs = serializer.loadsCall(data)
    except errors.PyroError:
        raise
    except Exception as x:
        raise load_error(x) from None
    if type(method_name) is str and (type(vargs) is tuple or type(vargs) is list) and type(kwargs) is dict:
        return object_id, method_name, vargs, kwargs      # (the usual call)
    return checked_call(object_id, method_name, vargs, kwargs)


def load_error(x: Exception) -> errors.SerializeError:
    """The error to raise when deserializing a call failed with x (not a PyroError: that is raised as it is)."""
    return errors.SerializeError("cannot deserialize the call message: %s: %s" % (type(x).__name__, x))


def checked_call(object_id: Any, method_name: Any, vargs: Any, kwargs: Any) -> tuple:
    """The deserialized call, checked: ProtocolError unless it is (object id, method name, argument list,
    keyword argument dict); kwargs None stands for {}."""
    if kwargs is None:
        kwargs = {}
    if not isinstance(method_name, str) or not isinstance(vargs, (list, tuple)) or not isinstance(kwargs, dict):
        raise errors.ProtocolError("invalid call message: expected (object id, method name, "
                                   "argument list, keyword argument dict)")
    return object_id, method_name, vargs, kwargs


def blob_call(msg: protocol.ReceivingMessage) -> tuple:
    info = msg.annotations.get("BLBI")
    if info is None:
        raise errors.ProtocolError("message has FLAGS_KEEPSERIALIZED but no BLBI annotation")
    try:
        blobinfo, object_id, method_name = serializers.checked_marshal_loads(info)
    except Exception:
        raise errors.ProtocolError("invalid BLBI annotation in blob call message") from None
    return object_id, method_name, (SerializedBlob(blobinfo, msg, is_blob=True),), {}


def get_method(obj: Any, name: str) -> Callable:
    info = _class_infos.get(type(obj)) or class_info(obj)     # (obj is an instance, never a class)
    if name in info.methods:
        return getattr(obj, name)
    if is_private_attribute(name):
        raise AttributeError("attempt to access private attribute '%s'" % name)
    if name in info.attrs:
        raise AttributeError("'%s' is a remote attribute (property), not a method" % name)
    if hasattr(type(obj), name):
        raise AttributeError("attempt to access unexposed attribute '%s'" % name)
    raise AttributeError("remote object '%s' has no exposed method '%s'" % (type(obj).__name__, name))


def _attribute_name(vargs: Any, count: int) -> str:
    if len(vargs) != count or not isinstance(vargs[0], str):
        raise TypeError("remote attribute access needs %s" % ("(name,)" if count == 1 else "(name, value)"))
    return vargs[0]


def access_attribute(obj: Any, name: str, vargs: Any) -> Any:
    """A remote attribute access: name "__getattr__" (vargs: (attribute,)) or "__setattr__" ((attribute, value))."""
    return _get_attribute(obj, vargs) if name == "__getattr__" else _set_attribute(obj, vargs)


def _get_attribute(obj: Any, vargs: Any) -> Any:
    name = _attribute_name(vargs, 1)
    if name in class_info(obj).attrs:
        return getattr(obj, name)
    if is_private_attribute(name):
        raise AttributeError("attempt to access private attribute '%s'" % name)
    raise AttributeError("attempt to access unexposed or unknown remote attribute '%s'" % name)


def _set_attribute(obj: Any, vargs: Any) -> Any:
    name = _attribute_name(vargs, 2)
    info = class_info(obj)
    if name in info.writable:
        setattr(obj, name, vargs[1])
        return None
    if is_private_attribute(name):
        raise AttributeError("attempt to access private attribute '%s'" % name)
    if name in info.attrs:
        raise AttributeError("remote attribute '%s' is read-only (its property has no setter)" % name)
    raise AttributeError("attempt to access unexposed or unknown remote attribute '%s'" % name)
