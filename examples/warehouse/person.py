"""A visitor of the warehouse. Plain Python: it does not know that the warehouse is remote."""
from __future__ import annotations

from typing import Any


class Person:
    def __init__(self, name: str, deposit: list[str], retrieve: list[str]):
        self.name = name
        self.to_deposit = deposit
        self.to_retrieve = retrieve

    def visit(self, warehouse: Any) -> None:
        print(f"This is {self.name}.")
        for item in self.to_deposit:
            print(f"  {self.name} stores: {item}")
            warehouse.store(self.name, item)
        for item in self.to_retrieve:
            try:
                warehouse.take(self.name, item)
                print(f"  {self.name} takes: {item}")
            except ValueError as x:          # raised in the server, re-raised here by Pyro
                print(f"  {self.name} cannot take {item}: {x}")
        print(f"  The warehouse now contains: {', '.join(warehouse.list_contents())}")
        print(f"Thank you, come again! ({self.name})")
