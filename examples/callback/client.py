"""A client that is a server as well: it hosts the callback object in its own daemon."""
from __future__ import annotations

import os
import sys
import threading

# enable Pyro's logging before importing it (see the manual's Logging section), so that the @callback
# decorator's report of the crash in this client shows up on stderr
os.environ.setdefault("PYRO_LOGLEVEL", "WARNING")
os.environ.setdefault("PYRO_LOGFILE", "{stderr}")

import Pyro5.api  # noqa: E402


class CallbackHandler:
    def __init__(self) -> None:
        self.received: list[tuple[int, int]] = []

    @Pyro5.api.expose
    def progress(self, step: int, total: int) -> None:
        self.received.append((step, total))
        print(f"callback from the server: step {step} of {total}", flush=True)

    @Pyro5.api.expose
    @Pyro5.api.callback                 # the exception is also logged here, in the client
    def crash(self) -> int:
        return 1 // 0


def main() -> None:
    uri = sys.argv[1] if len(sys.argv) > 1 else input("uri of the callback example server? ").strip()
    with Pyro5.api.Daemon() as daemon:
        handler = CallbackHandler()
        daemon.register(handler)
        # the daemon must serve the callbacks while this thread waits for the server's answer
        thread = threading.Thread(target=daemon.requestLoop, daemon=True)
        thread.start()
        with Pyro5.api.Proxy(uri) as worker:
            answer = worker.work(handler, 3)       # a registered object travels as a proxy
        print("the server answered:", answer)
        print("callbacks received:", len(handler.received))
        daemon.shutdown()
        thread.join(timeout=10)


if __name__ == "__main__":
    main()
