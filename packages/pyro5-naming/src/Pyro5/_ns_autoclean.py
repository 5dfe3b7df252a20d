"""NS_AUTOCLEAN: a thread that pings the registrations of a name server and removes the dead ones."""
from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING, Any, Optional

from Pyro5 import config, core, errors

if TYPE_CHECKING:  # pragma: no cover
    from Pyro5.nameserver import NameServer

__all__ = ["AutoCleaner", "check_autoclean_config"]

log = logging.getLogger("Pyro5.naming")   # the original's logger name for the name server parts


class AutoCleaner(threading.Thread):
    """Every `period` seconds (default config.NS_AUTOCLEAN, which must be at least 3) connect to every registered PYRO
    uri; a registration that stayed unreachable for `max_unreachable_time` seconds is removed.

    "Unreachable" means: no connection (refused, timeout, closed) or the daemon does not know the object
    any more. A daemon that answers but refuses the name server (SSL, handshake validation) counts as alive.
    The name server's own registration is never touched.
    An explicit `period` argument is not held to the minimum of config.NS_AUTOCLEAN (tests use short ones).
    """

    min_autoclean_value = 3.0
    max_unreachable_time = 20.0
    ping_timeout = 2.0
    override_autoclean_min = False  # tests may set this to use a shorter period

    def __init__(self, nameserver: NameServer, period: Optional[float] = None,
                 max_unreachable_time: Optional[float] = None) -> None:
        super().__init__(name="Pyro5 NS autoclean", daemon=True)
        if period is None:
            period = check_autoclean_config()
        period = float(period)
        if period <= 0:
            raise ValueError("the autoclean period must be > 0 (it is %s)" % period)
        self.nameserver = nameserver
        self.period = period
        if max_unreachable_time is not None:
            self.max_unreachable_time = float(max_unreachable_time)
        self._stop_event = threading.Event()
        self._unreachable_since: dict[str, tuple[str, float]] = {}

    def run(self) -> None:
        log.info("name server autoclean every %.1f seconds", self.period)
        while not self._stop_event.wait(self.period):
            try:
                # with several name servers on one storage only the elected one cleans (a dead object is
                # removed once); the leadership outlives a dead leader by 3 periods at most
                if self.nameserver._lead("autoclean", max(3.0, 3 * self.period)):
                    self.check_once()
            except Exception:  # never let the thread die
                if not self._stop_event.is_set():   # (errors while the name server closes are expected)
                    log.exception("error during name server autoclean")

    def stop(self) -> None:
        self._stop_event.set()

    def check_once(self) -> list[str]:
        """Ping all registrations once; returns the names removed."""
        registrations = self.nameserver.list()
        now = time.monotonic()
        doomed: list[tuple[str, str]] = []
        for name in list(self._unreachable_since):
            if name not in registrations:
                del self._unreachable_since[name]
        for name, uri in registrations.items():
            if self._stop_event.is_set():
                return []
            if name == core.NAMESERVER_NAME or not uri.upper().startswith("PYRO:"):
                continue
            if self._reachable(uri):
                self._unreachable_since.pop(name, None)
                continue
            first_uri, since = self._unreachable_since.get(name, (uri, now))
            if first_uri != uri:
                since = now
            self._unreachable_since[name] = (uri, since)
            if now - since >= self.max_unreachable_time:
                doomed.append((name, uri))
        if self._stop_event.is_set():
            return []
        removed = self.nameserver._remove_if_unchanged(doomed)
        for name in removed:
            self._unreachable_since.pop(name, None)
            log.info("autoclean removed unreachable registration %r", name)
        return removed

    def _reachable(self, uri: str) -> bool:
        from Pyro5.client import Proxy
        try:
            proxy = Proxy(uri)
        except errors.PyroError:
            return False
        try:
            proxy._pyroTimeout = self.ping_timeout
            proxy._pyroBind()
            return True
        except (errors.CommunicationError, errors.DaemonError, errors.NamingError) as x:
            log.debug("autoclean: %s is unreachable: %s", uri, x)
            return False
        except errors.PyroError as x:
            log.debug("autoclean: %s answered but refused us (%s); counted as alive", uri, x)
            return True
        except Exception as x:
            log.debug("autoclean: %s gave an unexpected error: %r", uri, x)
            return False
        finally:
            _release(proxy)


def _release(proxy: Any) -> None:
    try:
        proxy._pyroRelease()
    except Exception:  # pragma: no cover - best effort
        pass


def check_autoclean_config() -> float:
    """config.NS_AUTOCLEAN as a period: 0 means off; otherwise it must be at least 3 seconds."""
    period = float(config.NS_AUTOCLEAN or 0.0)
    if period < 0:
        raise ValueError("NS_AUTOCLEAN cannot be negative (it is %s); use 0 to disable it" % period)
    if 0 < period < AutoCleaner.min_autoclean_value and not AutoCleaner.override_autoclean_min:
        raise ValueError("NS_AUTOCLEAN cannot be smaller than %d (it is %s)" % (AutoCleaner.min_autoclean_value, period))
    return period
