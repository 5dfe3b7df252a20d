"""Pyro4.core: URI, Proxy, Daemon, the decorators, batch/async helpers and current_context."""
from __future__ import annotations

import Pyro5
from Pyro5 import client, core, server

from ._pyro4_futures import FutureResult
from ._pyro4_proxy import BatchProxy, Proxy, asyncproxy, batch

__all__ = ["URI", "Proxy", "Daemon", "DaemonObject", "callback", "batch", "asyncproxy", "expose", "behavior",
           "oneway", "current_context", "SerializedBlob", "FutureResult", "BatchProxy"]

URI = core.URI
Daemon = server.Daemon
DaemonObject = server.DaemonObject
callback = server.callback
expose = server.expose
behavior = server.behavior
oneway = server.oneway
current_context = Pyro5.current_context
SerializedBlob = client.SerializedBlob
