"""Which members of a Pyro object are remotely accessible, and the per-class metadata cache.

Rules (secure by default):
- a name starting with an underscore is private, except 'dunder' names (``__len__``) that are not on the
  deny list of dunders that Python or Pyro itself rely on (``__init__``, ``__class__``, ``__getattr__``, ...);
- only methods (incl. classmethod/staticmethod) whose function carries ``_pyroExposed`` and properties whose
  getter or setter carries it are reachable; ``@expose`` on a class marks all its own public members;
- attributes that are not properties are never reachable, nor is anything found on the instance itself.
"""
from __future__ import annotations

import inspect
import threading
import types
from typing import Any

__all__ = ["is_private_attribute", "ClassInfo", "class_info", "reset_class_info", "metadata_of"]

# dunder names that are never remoted (they are essential for Python, Pyro and the proxy itself)
_PRIVATE_DUNDERS = frozenset("""
__init__ __init_subclass__ __new__ __del__ __call__ __class__ __class_getitem__ __dict__ __doc__ __module__
__weakref__ __slots__ __qualname__ __name__ __mro__ __bases__ __base__ __subclasses__ __annotations__ __wrapped__
__repr__ __str__ __format__ __bytes__ __bool__ __nonzero__ __hash__ __eq__ __ne__ __lt__ __le__ __gt__ __ge__
__cmp__ __coerce__ __dir__ __enter__ __exit__ __aenter__ __aexit__ __copy__ __deepcopy__ __sizeof__
__getattr__ __setattr__ __delattr__ __getattribute__ __hasattr__ __get__ __set__ __delete__ __set_name__
__instancecheck__ __subclasscheck__ __subclasshook__ __getinitargs__ __getnewargs__ __getnewargs_ex__
__getstate__ __setstate__ __reduce__ __reduce_ex__ __getstate_for_dict__ __setstate_from_dict__
__await__ __aiter__ __anext__ __prepare__ __import__ __builtins__ __globals__ __code__ __closure__
__defaults__ __kwdefaults__ __func__ __self__ __pyro_class__ __pyro_state__
""".split())


def is_private_attribute(name: str) -> bool:
    """Is the attribute name private (never remotely accessible)?"""
    if not isinstance(name, str) or not name:
        return True
    if name[0] != "_":
        return False
    if len(name) > 4 and name.startswith("__") and name.endswith("__") and name[2] != "_" and name[-3] != "_":
        return name in _PRIVATE_DUNDERS
    return True


def _is_exposed(func: Any) -> bool:
    return bool(getattr(func, "_pyroExposed", False))


class ClassInfo:
    """Exposed members of one class: methods, oneway methods, readable and writable properties."""

    __slots__ = ("methods", "oneway", "attrs", "writable", "metadata")

    def __init__(self, cls: type) -> None:
        methods: set[str] = set()
        oneway: set[str] = set()
        attrs: set[str] = set()
        writable: set[str] = set()
        for name in dir(cls):
            if is_private_attribute(name):
                continue
            try:
                value = inspect.getattr_static(cls, name)
            except AttributeError:
                continue
            if isinstance(value, property):
                if _is_exposed(value.fget) or _is_exposed(value.fset):
                    attrs.add(name)
                    if value.fset is not None:
                        writable.add(name)
                continue
            if isinstance(value, (classmethod, staticmethod)):
                func = value.__func__
            elif isinstance(value, (types.FunctionType, types.MethodType)) or inspect.isroutine(value):
                func = value
            else:
                continue
            if _is_exposed(func):
                methods.add(name)
                if getattr(func, "_pyroOneway", False):
                    oneway.add(name)
        self.methods = frozenset(methods)
        self.oneway = frozenset(oneway)
        self.attrs = frozenset(attrs)
        self.writable = frozenset(writable)
        self.metadata = {"methods": self.methods, "oneway": self.oneway, "attrs": self.attrs}


_cache: dict[type, ClassInfo] = {}
_cache_lock = threading.Lock()


def class_info(obj_or_class: Any) -> ClassInfo:
    """The (cached) exposure info of the class of `obj_or_class` (or of the class itself)."""
    cls = obj_or_class if isinstance(obj_or_class, type) else type(obj_or_class)
    info = _cache.get(cls)
    if info is None:
        info = ClassInfo(cls)
        with _cache_lock:
            _cache[cls] = info
    return info


def reset_class_info(obj_or_class: Any) -> None:
    cls = obj_or_class if isinstance(obj_or_class, type) else type(obj_or_class)
    with _cache_lock:
        _cache.pop(cls, None)


def metadata_of(obj_or_class: Any) -> dict[str, set[str]]:
    """Metadata as the proxy expects it: {"methods": set, "oneway": set, "attrs": set} (fresh sets)."""
    info = class_info(obj_or_class)
    return {"methods": set(info.methods), "oneway": set(info.oneway), "attrs": set(info.attrs)}
