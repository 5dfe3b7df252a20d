"""Yellow-pages lookups: by metadata tags (all / any), metadata of one name, and PYROMETA uris."""
from __future__ import annotations

import Pyro5.api


def main() -> None:
    with Pyro5.api.locate_ns() as ns:
        printers = ns.yplookup(meta_all={"resource.printer"}, return_metadata=False)
        print("all printers:", sorted(printers))
        ground = ns.yplookup(meta_all={"resource.printer", "floor.ground"}, return_metadata=False)
        print("printers on the ground floor:", sorted(ground))
        anything = ns.yplookup(meta_any={"resource.printer", "resource.storage"})
        for name, (_uri, tags) in sorted(anything.items()):
            print(f"printer or storage: {name} tags={sorted(tags)}")
        uri, tags = ns.lookup("example.resource.storage.disks", return_metadata=True)
        print("metadata of the disks:", sorted(tags))
        ns.set_metadata("example.resource.storage.disks", {"resource.storage", "floor.basement"})
        print("after set_metadata:", sorted(ns.lookup("example.resource.storage.disks", return_metadata=True)[1]))
        print("nothing is both:", ns.yplookup(meta_all={"resource.printer", "resource.storage"}))

    # PYROMETA: any object that has all the given tags
    with Pyro5.api.Proxy("PYROMETA:resource.printer,performance.fast") as fast_printer:
        print("PYROMETA:resource.printer,performance.fast ->", fast_printer.describe())


if __name__ == "__main__":
    main()
