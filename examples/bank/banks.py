"""Two banks with different rules, registered in the name server under example.banks.*

    pyro5-ns
    python banks.py
    python client.py
"""
from __future__ import annotations

import threading

import Pyro5.api


@Pyro5.api.expose
class Bank:
    """A bank keeps accounts; the subclasses decide whether an account may go negative."""
    allow_overdraft = False

    def __init__(self, name: str) -> None:
        self._name = name
        self._accounts: dict[str, float] = {}
        self._lock = threading.Lock()

    @property
    def name(self) -> str:                   # a remote attribute: proxy.name
        return self._name

    def create_account(self, owner: str) -> None:
        with self._lock:
            if owner in self._accounts:
                raise ValueError(f"{self._name}: {owner} already has an account")
            self._accounts[owner] = 0.0

    def delete_account(self, owner: str) -> None:
        with self._lock:
            self._account(owner)
            del self._accounts[owner]

    def deposit(self, owner: str, amount: float) -> float:
        if amount <= 0:
            raise ValueError("the amount to deposit must be positive")
        with self._lock:
            self._accounts[owner] = self._account(owner) + amount
            return self._accounts[owner]

    def withdraw(self, owner: str, amount: float) -> float:
        if amount <= 0:
            raise ValueError("the amount to withdraw must be positive")
        with self._lock:
            new_balance = self._account(owner) - amount
            if new_balance < 0 and not self.allow_overdraft:
                raise ValueError(f"{self._name}: insufficient funds for {owner}")
            self._accounts[owner] = new_balance
            return new_balance

    def balance(self, owner: str) -> float:
        with self._lock:
            return self._account(owner)

    def all_accounts(self) -> dict[str, float]:
        with self._lock:
            return dict(self._accounts)

    def _account(self, owner: str) -> float:      # private: not callable remotely
        try:
            return self._accounts[owner]
        except KeyError:
            raise KeyError(f"{self._name}: unknown account {owner!r}") from None


class Rabobank(Bank):
    allow_overdraft = True


class ABN(Bank):
    allow_overdraft = False


def main() -> None:
    with Pyro5.api.Daemon() as daemon, Pyro5.api.locate_ns() as ns:
        for bank in (Rabobank("Rabobank"), ABN("ABN")):
            uri = daemon.register(bank)
            ns.register("example.banks." + bank.name, uri, metadata={"example.bank"})
            print(f"{bank.name} registered: {uri}")
        ns._pyroRelease()                   # free the name server's connection while we serve
        print("Ready. The banks are open.", flush=True)
        daemon.requestLoop()


if __name__ == "__main__":
    main()
