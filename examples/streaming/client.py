"""Iterates over remote iterators and generators as if they were local."""
from __future__ import annotations

import itertools
import sys

import Pyro5.api


def main() -> None:
    uri = sys.argv[1] if len(sys.argv) > 1 else input("uri of the streaming example server? ").strip()
    with Pyro5.api.Proxy(uri) as streamer:
        print("a list:", streamer.a_list(), type(streamer.a_list()).__name__)
        it = streamer.an_iterator()
        print("an iterator:", type(it).__name__, list(it))
        print("a generator:", list(streamer.a_generator(3)))
        print("the first 10 squares of an infinite generator:", list(itertools.islice(streamer.squares(), 10)))
        print("stock quotes:")
        for symbol, price in streamer.stock_quotes(["PYRO", "SNAKE", "FISH"], 6):
            print(f"   {symbol:6s} {price:8.2f}")
        abandoned = streamer.a_generator(1000)
        print("abandoned after", next(abandoned), "- the server discards it when the proxy disconnects")


if __name__ == "__main__":
    main()
