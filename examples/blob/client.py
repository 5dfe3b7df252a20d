"""Sends data wrapped in a SerializedBlob through the dispatcher."""
from __future__ import annotations

import sys

from Pyro5.api import Proxy, SerializedBlob


def main(uri: str) -> None:
    with Proxy(uri) as dispatcher:
        payload = {"apples": 3, "pears": 5, "plums": 7}
        print(dispatcher.process(SerializedBlob("fruit order 1", payload)))   # the blob is the only argument


if __name__ == "__main__":
    main(sys.argv[1])
