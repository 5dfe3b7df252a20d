"""The daemon's object registry and instance modes (the part of Daemon.register/unregister that keeps state).

`ObjectRegistry` maps object ids to registered objects or classes (a weakly registered object is kept as a
weakref.ref), and creates the instances of registered classes according to their instance mode
(``@behavior(instance_mode=...)``): "session" (one per connection, kept in the connection's pyroInstances),
"single" (one for the daemon) or "percall" (a new one for every call).
"""
from __future__ import annotations

import inspect
import logging
import threading
import weakref
from typing import Any, Callable, Optional

from . import errors

__all__ = ["ObjectRegistry"]

log = logging.getLogger("Pyro5.server")

_ATTRIBUTES_MESSAGE = ("cannot register %r: Pyro must set the attributes _pyroId and _pyroDaemon on it; builtin "
                       "types and classes with __slots__ can't be used (wrap them in a class of your own)")


class ObjectRegistry:
    """Registered objects/classes by id, and the "single" instances of registered classes."""

    def __init__(self) -> None:
        self.objects: dict[str, Any] = {}
        self._single_instances: dict[type, Any] = {}
        self._single_lock = threading.Lock()

    def add(self, daemon: Any, obj_or_class: Any, object_id: str, force: bool, weak: bool) -> None:
        """Registers obj_or_class under object_id (sets its _pyroId and _pyroDaemon attributes)."""
        if not hasattr(obj_or_class, "__dict__"):
            raise AttributeError(_ATTRIBUTES_MESSAGE % (obj_or_class,))
        own = vars(obj_or_class)
        if not force:
            if own.get("_pyroId"):
                # (as the original: also when the daemon that registered it is closed by now)
                raise errors.DaemonError("object or class already has a Pyro id: %r (registered as %r); "
                                         "use force=True to register it again" % (obj_or_class, own["_pyroId"]))
            if object_id in self.objects:
                raise errors.DaemonError("an object or class is already registered with that id: %r" % object_id)
        else:
            previous = own.get("_pyroId")
            if previous and previous != object_id and self.lookup_raw(previous) is obj_or_class:
                self.remove(previous)
            if object_id in self.objects:
                self.remove(object_id)
        try:
            obj_or_class._pyroId = object_id
            obj_or_class._pyroDaemon = daemon
        except (AttributeError, TypeError):
            raise AttributeError(_ATTRIBUTES_MESSAGE % (obj_or_class,)) from None
        if isinstance(obj_or_class, type) and not hasattr(obj_or_class, "_pyroInstancing"):
            # the default instance mode, set on the class as the original does (and then found by every call's
            # lookup of it, instead of an AttributeError made and dropped per call)
            obj_or_class._pyroInstancing = ("session", None)  # type: ignore[attr-defined]
        if weak:
            registry_ref = weakref.ref(self)

            def _gone(_ref: Any, object_id: str = object_id) -> None:
                registry = registry_ref()
                if registry is not None and registry.objects.get(object_id) is _ref:
                    registry.objects.pop(object_id, None)
                    log.debug("weakly registered object %s was garbage collected: unregistered", object_id)
            self.objects[object_id] = weakref.ref(obj_or_class, _gone)
        else:
            self.objects[object_id] = obj_or_class

    def remove(self, object_or_id: Any, protected: str = "") -> None:
        """Unregisters an object or class, by id or by itself (not the one with the `protected` id)."""
        # As the original: by id, the object keeps its _pyroId/_pyroDaemon attributes; by object, they are
        # removed. An object without _pyroId raises AttributeError, something that can't be registered at all
        # (no __dict__, e.g. a list) DaemonError.
        object_id: Any
        if isinstance(object_or_id, str):
            object_id = object_or_id
            obj = self.lookup_raw(object_id)
            forget_attributes = False
        else:
            obj = object_or_id
            if not hasattr(obj, "__dict__"):
                raise errors.DaemonError("object isn't registered: %r" % (obj,))
            object_id = vars(obj).get("_pyroId")
            if object_id is None:      # never registered: AttributeError, as the original
                raise AttributeError("%r has no attribute '_pyroId': it isn't registered" % (obj,))
            forget_attributes = True
            if self.lookup_raw(object_id) is not obj:
                return
        if object_id == protected or object_id not in self.objects:
            return
        del self.objects[object_id]
        if obj is not None:
            if forget_attributes:
                for attr in ("_pyroId", "_pyroDaemon"):
                    try:
                        delattr(obj, attr)
                    except (AttributeError, TypeError):
                        pass
            if inspect.isclass(obj):
                with self._single_lock:
                    self._single_instances.pop(obj, None)

    def lookup_raw(self, object_id: Any) -> Any:
        """The registered object or class (None: not registered, or a weakly registered object that is gone)."""
        obj = self.objects.get(object_id) if isinstance(object_id, str) else None
        if type(obj) is weakref.ref:
            obj = obj()
        return obj

    def lookup(self, object_id: Any) -> Any:
        """The registered object or class; DaemonError when there is none."""
        obj = self.objects.get(object_id) if type(object_id) is str else self.lookup_raw(object_id)
        if type(obj) is weakref.ref:
            obj = obj()
        if obj is None:
            if not isinstance(object_id, str):
                raise errors.DaemonError("unknown object: object id must be a str, not %s"
                                         % type(object_id).__name__)
            raise errors.DaemonError("unknown object %r: it is not registered in this daemon" % object_id)
        return obj

    def instance(self, clazz: type, conn: Any) -> Any:
        """The object that serves a call to the registered class on this connection (its instance mode)."""
        mode, creator = getattr(clazz, "_pyroInstancing", ("session", None))
        if mode == "session":
            instances = conn.pyroInstances if conn is not None else None
            if instances is not None:
                obj = instances.get(clazz)
                if obj is None:
                    obj = self._create(clazz, creator)
                    instances[clazz] = obj
                return obj
            return self._create(clazz, creator)
        if mode == "single":
            obj = self._single_instances.get(clazz)
            if obj is None:
                with self._single_lock:
                    obj = self._single_instances.get(clazz)
                    if obj is None:
                        obj = self._create(clazz, creator)
                        self._single_instances[clazz] = obj
            return obj
        if mode == "percall":
            return self._create(clazz, creator)
        raise errors.DaemonError("invalid instancemode %r on class %s" % (mode, clazz.__name__))

    @staticmethod
    def _create(clazz: type, creator: Optional[Callable]) -> Any:
        if creator is None:
            return clazz()
        obj = creator(clazz)
        if not isinstance(obj, clazz):
            raise TypeError("instance creator returned object of different type: %r is not a %s"
                            % (obj, clazz.__name__))
        return obj
