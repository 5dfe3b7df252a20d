"""Adds an annotation to each call and reads the server's annotations of the answer (Pyro5.current_context)."""
from __future__ import annotations

import sys

from Pyro5.api import Proxy, current_context


def main(uri: str) -> None:
    with Proxy(uri) as service:
        for job in ("first", "second"):
            current_context.annotations = {"XTAG": b"client-42"}    # sent with the next call: 4-char keys, bytes
            print("result:", service.work(job))
            answer = current_context.response_annotations.get("XSRV")
            if answer is not None:
                print("the server annotated its answer:", bytes(answer).decode())


if __name__ == "__main__":
    main(sys.argv[1])
