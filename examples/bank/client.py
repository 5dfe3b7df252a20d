"""A client of the banks: finds every bank in the name server, opens accounts and moves money."""
from __future__ import annotations

import Pyro5.api
import Pyro5.errors


def main() -> None:
    with Pyro5.api.locate_ns() as ns:
        names = ns.list(prefix="example.banks.")        # {name: uri string}
    if not names:
        raise SystemExit("no banks registered in the name server: start banks.py first")

    banks = [Pyro5.api.Proxy(uri) for uri in names.values()]
    for bank in banks:
        print(f"Bank {bank.name}:")
        for owner in ("Irmen", "Suzy"):
            try:
                bank.create_account(owner)
            except ValueError as x:
                print("  ", x)
        bank.deposit("Irmen", 200)
        bank.deposit("Suzy", 500)
        print("   Irmen withdraws 250: ", end="")
        try:
            print(f"balance is now {bank.withdraw('Irmen', 250)}")
        except ValueError as x:
            print(f"refused ({x})")
        try:
            bank.balance("Nobody")
        except KeyError as x:
            print(f"   balance of an unknown account: KeyError {x}")
        try:
            bank._account("Irmen")                      # private names are never remote
        except AttributeError as x:
            print(f"   private method refused: {x}")
        for owner, balance in sorted(bank.all_accounts().items()):
            print(f"   {owner:6s} {balance:8.2f}")
        for owner in ("Irmen", "Suzy"):
            bank.delete_account(owner)
        bank._pyroRelease()


if __name__ == "__main__":
    try:
        main()
    except Pyro5.errors.NamingError as e:
        raise SystemExit(f"cannot find the name server: {e}")
