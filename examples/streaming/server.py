"""Remote iterators and generators: the client iterates, items are fetched from the server one by one.

    python server.py
    python client.py PYRO:example.streaming@localhost:PORT
"""
from __future__ import annotations

import itertools
import random
from typing import Iterator

import Pyro5.api


@Pyro5.api.expose
class Streamer:
    def a_list(self) -> list[int]:
        return [1, 2, 3, 4, 5]                      # a normal list travels in one piece

    def an_iterator(self) -> Iterator[int]:
        return iter([1, 2, 3, 4, 5])                # an iterator is streamed

    def a_generator(self, n: int) -> Iterator[str]:
        for i in range(n):
            yield f"item {i}"

    def squares(self) -> Iterator[int]:
        return (i * i for i in itertools.count())    # infinite: the client decides when to stop

    def stock_quotes(self, symbols: list[str], count: int) -> Iterator[tuple[str, float]]:
        """A little stock market: a stream of (symbol, price) quotes."""
        rnd = random.Random(42)
        prices = {s: 100.0 for s in symbols}
        for _ in range(count):
            symbol = rnd.choice(symbols)
            prices[symbol] = round(prices[symbol] * rnd.uniform(0.95, 1.05), 2)
            yield symbol, prices[symbol]


def main() -> None:
    with Pyro5.api.Daemon() as daemon:
        uri = daemon.register(Streamer, "example.streaming")
        print("Ready. Object uri =", uri, flush=True)
        daemon.requestLoop()


if __name__ == "__main__":
    main()
