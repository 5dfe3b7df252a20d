"""Registrations with a TTL that a daemon keeps alive: the name disappears shortly after the daemon dies,
with no pinging by the name server.

A lease lives in the name server's storage (etcd: an etcd lease), not in one name server, so the keep-alive
may go through whichever name server of a shared registry is reachable: :func:`Pyro5.core.locate_ns` tries
every entry of ``config.NS_HOST`` in order.
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from typing import Any, Optional, Union

from Pyro5 import core, errors

__all__ = ["TTLRegistration"]

log = logging.getLogger("Pyro5.nameserver")


class TTLRegistration:
    """Register `name` -> `uri` with a TTL and keep it alive from a background thread.

    ``start()`` registers at once (errors are raised to the caller); the thread then renews the lease every
    ttl/3 seconds. When the name server it talks to is gone it locates another one (``locate``, default
    ``Pyro5.core.locate_ns``) and retries at once; when the lease has expired meanwhile (the registry was
    unreachable for longer than the TTL) it registers the name again. ``stop()`` ends the thread and, by
    default, revokes the lease so the name disappears immediately. Usable as a context manager.

    `claim_missing` (used by the name servers of a shared registry for their own entry) re-registers the
    name with ``safe=True`` whenever it is missing, even if the lease is still alive.
    """

    def __init__(self, name: str, uri: Union[str, core.URI], ttl: float = 10.0,
                 metadata: Optional[Iterable[str]] = None, safe: bool = False,
                 locate: Optional[Callable[[], Any]] = None, claim_missing: bool = False) -> None:
        self.name = name
        self.uri = str(uri)
        self.ttl = float(ttl)
        self.metadata = set(metadata or ())
        self.safe = safe
        self.claim_missing = claim_missing
        self._locate = locate or core.locate_ns
        self.lease: Optional[int] = None
        self.renewals = 0
        self._ns: Any = None
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None

    def start(self) -> "TTLRegistration":
        ns = self._locate()
        try:
            self.lease = ns.register_with_ttl(self.name, self.uri, self.ttl, self.safe, self.metadata)
        finally:
            _release(ns)
        self._thread = threading.Thread(target=self._run, name="Pyro5 TTL registration " + self.name, daemon=True)
        self._thread.start()
        return self

    def stop(self, revoke: bool = True, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        self._drop_ns()    # the keep-alive thread's proxy; this thread locates its own
        if revoke and self.lease is not None:
            ns = None
            try:
                ns = self._locate()
                ns.revoke_lease(self.lease)
                self.lease = None
            except errors.PyroError as x:
                log.warning("lease %s of %r not revoked (it will expire): %s", self.lease, self.name, x)
            finally:
                _release(ns)

    def __enter__(self) -> "TTLRegistration":
        return self.start() if self._thread is None else self

    def __exit__(self, *args: Any) -> None:
        self.stop()

    def _run(self) -> None:
        interval = max(0.05, self.ttl / 3.0)
        while not self._stop.wait(interval):
            for attempt in (1, 2):     # the second attempt goes to a freshly located name server
                try:
                    self._renew()
                    break
                except errors.PyroError as x:
                    self._drop_ns()
                    if self._stop.is_set():
                        return
                    log.log(logging.DEBUG if attempt == 1 else logging.WARNING,
                            "keep-alive of %r (lease %s) failed: %s", self.name, self.lease, x)
                except Exception:  # never let the thread die
                    log.exception("keep-alive of %r failed", self.name)
                    break

    def _renew(self) -> None:
        if self._ns is None:
            self._ns = self._locate()
            if hasattr(self._ns, "_pyroClaimOwnership"):
                self._ns._pyroClaimOwnership()
        ns = self._ns
        alive = self.lease is not None and bool(ns.keep_alive(self.lease))
        if not alive:
            self.lease = None
        if self.claim_missing:
            try:
                ns.lookup(self.name)
                self.renewals += alive
                return      # registered (by this name server or another one)
            except errors.NamingError:
                pass
        elif alive:
            self.renewals += 1
            return
        if self.lease is not None:
            ns.revoke_lease(self.lease)
            self.lease = None
        log.info("lease of %r was gone: registering it again", self.name)
        try:
            self.lease = ns.register_with_ttl(self.name, self.uri, self.ttl, self.safe or self.claim_missing,
                                              self.metadata)
        except errors.NamingError as x:
            if not self.claim_missing:
                raise
            log.debug("%r is registered by another name server: %s", self.name, x)

    def _drop_ns(self) -> None:
        ns, self._ns = self._ns, None
        _release(ns)


def _release(ns: Any) -> None:
    release = getattr(ns, "_pyroRelease", None)
    if release is not None:
        try:
            release()
        except Exception:  # pragma: no cover - best effort
            pass
