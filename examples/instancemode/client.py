"""Two proxies per class, two calls per proxy: count the server-side instances that answered."""
from __future__ import annotations

import sys

import Pyro5.api


def main() -> None:
    uri = sys.argv[1] if len(sys.argv) > 1 else input("uri of example.instance.session? ").strip()
    location = uri.split("@", 1)[1]
    for mode in ("session", "single", "percall", "created"):
        answers = []
        for _ in range(2):
            with Pyro5.api.Proxy(f"PYRO:example.instance.{mode}@{location}") as thing:
                answers += [thing.whoami(), thing.whoami()]
        print(f"{mode:8s}: {len(set(answers))} instance(s) for 2 proxies x 2 calls: {answers}")


if __name__ == "__main__":
    main()
