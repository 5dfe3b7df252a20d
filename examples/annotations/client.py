"""A proxy that adds an annotation to every call and reads the server's annotations."""
from __future__ import annotations

import sys

from Pyro5.api import Proxy


class TaggingProxy(Proxy):
    def _pyroAnnotations(self) -> dict[str, bytes]:
        return {"XTAG": b"client-42"}               # keys are 4 characters, values bytes

    def _pyroResponseAnnotations(self, annotations: dict[str, bytes], msgtype: int) -> None:
        if "XSRV" in annotations:
            print("the server annotated its answer:", annotations["XSRV"].decode())


def main(uri: str) -> None:
    with TaggingProxy(uri) as service:
        for job in ("first", "second"):
            print("result:", service.work(job))


if __name__ == "__main__":
    main(sys.argv[1])
