"""Gets account objects from the bank: they arrive as proxies, so calls change the server's objects."""
from __future__ import annotations

import sys

from Pyro5.api import Proxy


def main(uri: str) -> None:
    with Proxy(uri) as bank:
        irmen = bank.open("Irmen")
        print("open() returned a", type(irmen).__name__, "for", irmen._pyroUri.object)
        with irmen:
            irmen.deposit(100)
            print("Irmen's balance:", irmen.deposit(50))
        with bank.open("Irmen") as again:           # the same account object on the server
            print("the same account again:", again.deposit(0))
        print("the bank's total:", bank.total())


if __name__ == "__main__":
    main(sys.argv[1])
