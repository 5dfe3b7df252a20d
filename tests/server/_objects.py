"""Pyro classes used by the server tests."""
from __future__ import annotations

import threading

import Pyro5
from Pyro5.server import behavior, callback, expose, oneway


@expose
class Thing:
    oneway_calls: list = []
    oneway_event = threading.Event()

    def __init__(self) -> None:
        self._value = 42
        self.plain = "not exposed"

    def add(self, a, b=2):
        return a + b

    def echo(self, value):
        return value

    def boom(self):
        raise ValueError("kaboom")

    def gen(self, n=3):
        yield from range(n)

    def iterator(self):
        return iter(["a", "b"])

    def unserializable(self):
        return threading.Lock()

    def sub(self):
        obj = Sub()
        self._pyroDaemon.register(obj)
        return obj

    def ctx(self):
        c = Pyro5.current_context
        return {"seq": c.seq, "flags": c.msg_flags, "ser": c.serializer_id,
                "corr": str(c.correlation_id) if c.correlation_id else None,
                "addr": list(c.client_sock_addr) if isinstance(c.client_sock_addr, tuple) else c.client_sock_addr,
                "client": c.client is not None}

    def annotations_echo(self):
        Pyro5.current_context.response_annotations = {"RESP": b"response"}
        return sorted(Pyro5.current_context.annotations)

    @oneway
    def fire(self, x):
        Thing.oneway_calls.append((x, threading.current_thread().name))
        Thing.oneway_event.set()

    @property
    def value(self):
        return self._value

    @value.setter
    def value(self, v):
        self._value = v

    @property
    def readonly(self):
        return "ro"

    def _private(self):
        return "private"

    def __dunder__(self):
        return "dunder"

    def __len__(self):
        return 7

    @classmethod
    def cm(cls):
        return "classmethod"

    @staticmethod
    def sm():
        return "staticmethod"


@expose
class Sub:
    def hello(self):
        return "hello from sub"


class Partial:
    """Only some members exposed."""

    attr = 1

    @expose
    def exposed(self):
        return "yes"

    def unexposed(self):
        return "no"

    @expose
    @property
    def prop(self):
        return "prop"

    @property
    def hidden_prop(self):
        return "hidden"

    @callback
    @expose
    def cb(self):
        raise RuntimeError("callback error")


@expose
@behavior(instance_mode="single")
class Single:
    created = 0

    def __init__(self):
        Single.created += 1

    def ident(self):
        return id(self)


@expose
@behavior(instance_mode="session")
class Session:
    def ident(self):
        return id(self)


@expose
@behavior(instance_mode="percall")
class PerCall:
    def ident(self):
        return id(self)


class Created:
    def __init__(self, tag):
        self.tag = tag

    @expose
    def get_tag(self):
        return self.tag


def make_created(cls):
    return cls("made by creator")


Created = behavior(instance_mode="single", instance_creator=make_created)(Created)
