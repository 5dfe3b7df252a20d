"""The manual's greeting server ("Simple Example").

Without a name server (prints the object's URI; give it to client.py):
    python server.py
With a name server (start one first: `pyro5-ns`; registers the name "example.greeting"):
    python server.py --ns
"""
from __future__ import annotations

import argparse

import Pyro5.api


@Pyro5.api.expose
class GreetingMaker:
    def get_fortune(self, name: str) -> str:
        return ("Hello, {0}. Here is your fortune message:\n"
                "Behold the warranty -- the bold print giveth and the fine print taketh away.").format(name)


def main() -> None:
    parser = argparse.ArgumentParser(description="greeting server")
    parser.add_argument("--ns", action="store_true", help="register the object in the name server")
    parser.add_argument("--name", default="example.greeting", help="name to register in the name server")
    args = parser.parse_args()

    with Pyro5.api.Daemon() as daemon:              # make a Pyro daemon
        uri = daemon.register(GreetingMaker)        # register the greeting maker as a Pyro object
        if args.ns:
            with Pyro5.api.locate_ns() as ns:       # find the name server
                ns.register(args.name, uri)         # register the object with a name in the name server
            print("Registered", args.name, "in the name server.")
        print("Ready. Object uri =", uri, flush=True)   # print the uri so we can use it in the client
        daemon.requestLoop()                        # start the event loop of the server to wait for calls


if __name__ == "__main__":
    main()
