"""Pyro4.socketutil: Pyro4's camelCase names for the functions of Pyro5.socketutil."""
from __future__ import annotations

from typing import Any

from Pyro5 import socketutil
from Pyro5.socketutil import SocketConnection

__all__ = ["getIpAddress", "getIpVersion", "getInterfaceAddress", "createSocket", "createBroadcastSocket",
           "receiveData", "sendData", "findProbablyUnusedPort", "bindOnUnusedPort", "setReuseAddr", "setNoDelay",
           "setKeepalive", "SocketConnection", "interruptSocket"]


def getIpAddress(hostname: str, workaround127: bool = False, ipVersion: int | None = None) -> str:
    """the IP address (a string) of the given hostname; workaround127 avoids 127.x.x.x when possible"""
    return str(socketutil.get_ip_address(hostname, workaround127, ipVersion))


def getIpVersion(hostnameOrAddress: str) -> int:
    """4 or 6: the IP version of the address the given host name or address resolves to"""
    return socketutil.get_ip_address(hostnameOrAddress).version


def getInterfaceAddress(ip_address: str) -> str:
    """the IP address of the network interface that is used to reach the given address"""
    return str(socketutil.get_interface(ip_address).ip)


def createSocket(bind: Any = None, connect: Any = None, reuseaddr: bool = False, keepalive: bool = True,
                 timeout: Any = -1, noinherit: bool = False, ipv6: bool = False, nodelay: bool = True,
                 sslContext: Any = None) -> Any:
    return socketutil.create_socket(bind, connect, reuseaddr, keepalive, timeout, noinherit, ipv6, nodelay,
                                    sslContext)


def createBroadcastSocket(bind: Any = None, reuseaddr: bool = False, timeout: Any = -1, ipv6: bool = False) -> Any:
    return socketutil.create_bc_socket(bind, reuseaddr, timeout, ipv6)


def receiveData(sock: Any, size: int) -> bytes:
    return socketutil.receive_data(sock, size)


def sendData(sock: Any, data: bytes) -> None:
    return socketutil.send_data(sock, data)


def findProbablyUnusedPort(family: Any = None, socktype: Any = None) -> int:
    kwargs = {}
    if family is not None:
        kwargs["family"] = family
    if socktype is not None:
        kwargs["socktype"] = socktype
    return socketutil.find_probably_unused_port(**kwargs)


def bindOnUnusedPort(sock: Any, host: str = "localhost") -> int:
    return socketutil.bind_unused_port(sock, host)


def setReuseAddr(sock: Any) -> None:
    return socketutil.set_reuseaddr(sock)


def setNoDelay(sock: Any) -> None:
    return socketutil.set_nodelay(sock)


def setKeepalive(sock: Any) -> None:
    return socketutil.set_keepalive(sock)


def interruptSocket(address: Any) -> None:
    return socketutil.interrupt_socket(address)

