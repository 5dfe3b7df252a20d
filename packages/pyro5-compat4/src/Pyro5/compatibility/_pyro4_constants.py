"""Pyro4.constants: the names Pyro4 kept here (Pyro5 has them in its core and protocol modules)."""
from __future__ import annotations

import Pyro5
from Pyro5 import core, protocol

__all__ = ["VERSION", "DAEMON_NAME", "NAMESERVER_NAME", "FLAME_NAME", "RESERVED_ANNOTATIONS", "PROTOCOL_VERSION"]

VERSION = Pyro5.__version__
DAEMON_NAME = core.DAEMON_NAME
NAMESERVER_NAME = core.NAMESERVER_NAME
FLAME_NAME = "Pyro.Flame"   # Flame itself does not exist in Pyro5
RESERVED_ANNOTATIONS = frozenset({"CORR"})
PROTOCOL_VERSION = protocol.PROTOCOL_VERSION   # the protocol actually spoken: Pyro5's (502)
