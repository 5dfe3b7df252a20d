"""The limits and intervals of the socket servers in one settings object.

Every Daemon has its own `ServerLimits` (``daemon.limits``), which its socket server and connections read when
they need a value: change a field of a running daemon's limits and it applies from then on (tests use that to
shorten the timeouts; a program may tune them). The Pyro config items (COMMTIMEOUT, POLLTIMEOUT,
THREADPOOL_SIZE...) stay where the manual puts them; these are the server's own rules around them.
"""
from __future__ import annotations

import dataclasses

from . import config, errors

__all__ = ["ServerLimits"]


@dataclasses.dataclass
class ServerLimits:
    """Timeouts, poll clamps and bounds of a daemon's socket server."""

    # a message whose first byte arrived must be complete within this many seconds, plus one second for every
    # min_transfer_rate bytes that did arrive; the same limit applies to a TLS handshake and to a peer that
    # takes nothing of its result
    partial_message_timeout: float = 20.0
    min_transfer_rate: int = 64 * 1024
    # (thread pool server) seconds a new connection has to send its connect message (COMMTIMEOUT when set)
    handshake_timeout: float = 30.0
    # (per-connection mode) a refused connection's CONNECTFAIL: socket timeout, and concurrent refusing threads
    refuse_timeout: float = 3.0
    max_refusers: int = 16
    # (thread pool server) seconds a worker waits for the same connection's next request: linger at first;
    # a connection whose next request came later waits twice that gap or twice as long as before, up to
    # linger_max, as long as fewer than half of the THREADPOOL_SIZE workers are busy; no wait at all for a
    # connection whose requests come further apart than linger_max; queue bound
    linger: float = 0.002
    linger_max: float = 0.05
    max_queued_requests: int = 16 * 1024
    # calls one connection may have in flight when its client asks for it (the INFL capability, see
    # Pyro5._capabilities and _svr_inflight); 0: the capability is not granted (one call at a time)
    max_inflight: int = 64
    # selector loops: POLLTIMEOUT is clamped to [poll_min, ...]; deadlines are checked every watch_poll seconds
    poll_min: float = 0.05
    poll_max: float = 1.0
    watch_poll: float = 0.25
    idle_scan_interval: float = 0.2
    pending_scan_interval: float = 0.5
    # the daemon: housekeeping interval; how long close() waits for running/queued oneway calls, and for the
    # thread pool server's workers (a worker still running a call then closes its connection when done)
    housekeeping_interval: float = 1.0
    oneway_join_timeout: float = 5.0
    worker_join_timeout: float = 0.5

    def handshake_limit(self) -> float:
        """Seconds a new connection may take to send its connect message: COMMTIMEOUT when that is set, else
        handshake_timeout."""
        timeout = config.COMMTIMEOUT
        return timeout if timeout and timeout > 0 else self.handshake_timeout

    def allowed_until(self, started: float, received: int) -> float:
        """The deadline of a message whose first byte arrived at `started` (monotonic) and of which `received`
        bytes arrived so far."""
        return started + self.partial_message_timeout + received / self.min_transfer_rate

    def partial_timeout_error(self, received: int) -> errors.TimeoutError:
        return errors.TimeoutError("incomplete message: the peer sent %d bytes of a message and then stalled for "
                                   "too long (more than %.0f s); connection closed"
                                   % (received, self.partial_message_timeout))

    def poll_interval(self, capped: bool = True) -> float:
        """config.POLLTIMEOUT clamped to [poll_min, poll_max] (only to poll_min with capped=False)."""
        poll = max(float(config.POLLTIMEOUT or 1.0), self.poll_min)
        return min(poll, self.poll_max) if capped else poll


DEFAULT_LIMITS = ServerLimits()     # (what a connection created outside a daemon's server uses)
