"""Autoproxy: returning an object that is registered in the daemon gives the client a proxy to it.

    python server.py
    python client.py PYRO:example.factory@localhost:PORT
"""
from __future__ import annotations

import Pyro5.api


@Pyro5.api.expose
class Account:
    def __init__(self, owner: str) -> None:
        self.owner = owner
        self.balance = 0

    def deposit(self, amount: int) -> int:
        self.balance += amount
        return self.balance


@Pyro5.api.expose
@Pyro5.api.behavior(instance_mode="single")
class Bank:
    def __init__(self) -> None:
        self.accounts: dict[str, Account] = {}

    def open(self, owner: str) -> Account:
        if owner not in self.accounts:
            account = Account(owner)
            self._pyroDaemon.register(account)        # registered: it is returned as a proxy, not a copy
            self.accounts[owner] = account
        return self.accounts[owner]

    def total(self) -> int:
        return sum(a.balance for a in self.accounts.values())


def main() -> None:
    with Pyro5.api.Daemon() as daemon:
        uri = daemon.register(Bank, "example.factory")
        print("Ready. Object uri =", uri, flush=True)
        daemon.requestLoop()


if __name__ == "__main__":
    main()
