"""Janet and Henry visit the warehouse, found through the name server (PYRONAME)."""
from __future__ import annotations

from person import Person

import Pyro5.api


def main() -> None:
    with Pyro5.api.Proxy("PYRONAME:example.warehouse") as warehouse:
        janet = Person("Janet", deposit=["camera", "teddy bear"], retrieve=["bike"])
        henry = Person("Henry", deposit=["sewing machine"], retrieve=["bike", "laptop"])
        janet.visit(warehouse)
        henry.visit(warehouse)


if __name__ == "__main__":
    main()
