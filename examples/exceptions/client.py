"""Calls that raise on the server: the exception type, its message and the server's traceback."""
from __future__ import annotations

import sys

import Pyro5.errors
from Pyro5.api import Proxy


def main(uri: str) -> None:
    with Proxy(uri) as calc:
        print("10 / 4 =", calc.divide(10, 4))
        try:
            calc.divide(1, 0)
        except ZeroDivisionError as x:
            print("divide(1, 0) raised ZeroDivisionError:", x)
            remote = "".join(Pyro5.errors.get_pyro_traceback())
            print("the remote traceback shows the server's frames:", "in _divide" in remote)
            print(remote.rstrip())
        try:
            calc.withdraw(500)
        except ValueError as x:
            print("withdraw(500) raised ValueError:", x)
        try:
            calc.overdraw()
        except Pyro5.errors.PyroError as x:     # an unregistered custom exception class
            print("overdraw() raised", type(x).__name__ + ":", x)
        try:
            calc.no_such_method()
        except AttributeError as x:             # checked locally, against the object's metadata
            print("no_such_method() raised AttributeError:", x)
    with Proxy(uri.replace("example.exceptions", "example.nothing")) as nothing:
        try:
            nothing.divide(1, 2)
        except Pyro5.errors.CommunicationError as x:     # the daemon rejects the connection
            print("an unknown object id raised", type(x).__name__ + ":", x)


if __name__ == "__main__":
    main(sys.argv[1])
