"""SerializedBlob: a dispatcher passes data on without deserializing it; only the processor decodes it.

    python server.py
    python client.py PYRO:example.blob.dispatcher@localhost:PORT
"""
from __future__ import annotations

import Pyro5.api
from Pyro5.api import SerializedBlob


@Pyro5.api.expose
@Pyro5.api.behavior(instance_mode="single")
class Processor:
    def process(self, blob: SerializedBlob) -> str:
        data = blob.deserialized()                    # only here the payload is deserialized
        return f"processed {blob.info}: {sorted(data)} (sum {sum(data.values())})"


@Pyro5.api.expose
@Pyro5.api.behavior(instance_mode="single")
class Dispatcher:
    def __init__(self) -> None:
        self.processor_uri = ""

    def process(self, blob: SerializedBlob) -> str:
        # the blob arrived still serialized; forwarding it sends the same bytes on, unchanged
        print(f"dispatching blob {blob.info!r} ({type(blob).__name__}, not deserialized)", flush=True)
        with Pyro5.api.Proxy(self.processor_uri) as processor:
            return processor.process(blob)


def main() -> None:
    with Pyro5.api.Daemon() as daemon:
        dispatcher = Dispatcher()
        dispatcher.processor_uri = str(daemon.register(Processor, "example.blob.processor"))
        uri = daemon.register(dispatcher, "example.blob.dispatcher")
        print("Ready. Object uri =", uri, flush=True)
        daemon.requestLoop()


if __name__ == "__main__":
    main()
