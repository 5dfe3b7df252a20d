"""Exceptions and remote tracebacks: the methods of this object raise; the client sees it.

    python server.py
    python client.py PYRO:example.exceptions@localhost:PORT
"""
from __future__ import annotations

import Pyro5.api


class InsufficientFunds(Exception):
    """A custom exception: it reaches the client only as a PyroError unless both sides register a converter."""


@Pyro5.api.expose
class Calculator:
    def divide(self, a: float, b: float) -> float:
        return self._divide(a, b)

    def _divide(self, a: float, b: float) -> float:
        return a / b                                  # ZeroDivisionError for b == 0: a builtin exception

    def withdraw(self, amount: float) -> float:
        if amount > 100:
            raise ValueError(f"cannot withdraw {amount}: the limit is 100")
        return 100 - amount

    def overdraw(self) -> None:
        raise InsufficientFunds("the account is empty")


def main() -> None:
    with Pyro5.api.Daemon() as daemon:
        uri = daemon.register(Calculator, "example.exceptions")
        print("Ready. Object uri =", uri, flush=True)
        daemon.requestLoop()


if __name__ == "__main__":
    main()
