"""Instance modes: "session" (default), "single" and "percall", plus a custom instance creator.

    python server.py
    python client.py PYRO:example.instance.session@localhost:PORT   (the client derives the other names)
"""
from __future__ import annotations

import itertools

import Pyro5.api

_counter = itertools.count(1)


class Base:
    def __init__(self) -> None:
        self.number = next(_counter)            # which instance is this?

    @Pyro5.api.expose
    def whoami(self) -> str:
        return f"{type(self).__name__} instance #{self.number}"


@Pyro5.api.behavior(instance_mode="session")
class SessionThing(Base):
    pass


@Pyro5.api.behavior(instance_mode="single")
class SingleThing(Base):
    pass


@Pyro5.api.behavior(instance_mode="percall")
class PercallThing(Base):
    pass


def make_with_greeting(cls: type) -> "CreatedThing":
    obj = cls("made by the instance_creator")
    return obj


@Pyro5.api.behavior(instance_mode="session", instance_creator=make_with_greeting)
class CreatedThing(Base):
    def __init__(self, how: str) -> None:     # needs an argument: Pyro calls the instance_creator instead
        super().__init__()
        self.how = how

    @Pyro5.api.expose
    def whoami(self) -> str:
        return super().whoami() + f" ({self.how})"


def main() -> None:
    with Pyro5.api.Daemon() as daemon:
        for name, cls in [("session", SessionThing), ("single", SingleThing), ("percall", PercallThing),
                          ("created", CreatedThing)]:
            daemon.register(cls, "example.instance." + name)
        print("Ready. Object uri =", daemon.uriFor("example.instance.session"), flush=True)
        daemon.requestLoop()


if __name__ == "__main__":
    main()
