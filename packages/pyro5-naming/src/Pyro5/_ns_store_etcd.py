"""The etcd storage: one registry that several name servers share (``pyro5-ns -s etcd://host:port/prefix``).

Key layout under the prefix ``P`` (``/pyro5`` in ``etcd://host:2379/pyro5``):

- ``P/n/<name>``: the registration, JSON ``{"uri": ..., "meta": [...], "token": ...}``
- ``P/t/<quoted tag>/<name>``: an empty index key per metadata tag, so yellow-pages lookups read only
  the names that carry a tag (the tag is %-quoted so it holds no ``/``)
- ``P/l/<role>``: the elected leader of a role (e.g. ``autoclean``), on the leader's lease

A registration and its tag keys change together in one etcd transaction guarded by the registration's
mod revision (compare-and-set), so concurrent name servers never leave the index and the names apart;
safe registration is a transaction on create revision 0. A TTL registration puts all its keys on one etcd
lease. Reads are linearizable (etcd's default): a name registered through one name server is visible
through every other one at once.
"""
from __future__ import annotations

import json
import math
import threading
import uuid
from collections.abc import Iterable, Iterator
from typing import Any, Optional
from urllib.parse import quote

from Pyro5 import errors
from Pyro5._ns_etcd_gateway import Gateway, b64, parse_endpoints, prefix_end, unb64
from Pyro5._ns_storage import Entry, StorageBase, check_ttl

__all__ = ["EtcdStorage"]

_PAGE = 2000          # keys per range request when scanning
_TXN_OPS = 120        # etcd's default limit is 128 operations per transaction
_CAS_ATTEMPTS = 50


class _Kv:
    """A registration as read from etcd: entry, mod revision, lease, token."""

    __slots__ = ("name", "uri", "meta", "mod", "lease", "token")

    def __init__(self, name: str, kv: dict) -> None:
        value = json.loads(unb64(kv.get("value", "")) or b"{}")
        self.name = name
        self.uri = str(value.get("uri", ""))
        self.meta = frozenset(value.get("meta", ()))
        self.token = value.get("token")
        self.mod = int(kv.get("mod_revision", 0))
        self.lease = int(kv.get("lease", 0) or 0)

    @property
    def entry(self) -> Entry:
        return self.uri, self.meta


class EtcdStorage(StorageBase):
    """Registry in etcd, shared by every name server started on the same endpoints and prefix."""

    shared = True

    def __init__(self, endpoints: list[tuple[str, int]], prefix: str = "pyro5", timeout: float = 5.0) -> None:
        self.gateway = Gateway(endpoints, timeout)
        self.prefix = "/" + prefix.strip("/") + "/" if prefix.strip("/") else "/"
        root = self.prefix.encode("utf-8")
        self._names = root + b"n/"
        self._tags = root + b"t/"
        self._leaders = root + b"l/"
        self._root = root
        self._leader_leases: dict[str, int] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_spec(cls, spec: str) -> "EtcdStorage":
        """etcd://host:port[,host:port...]/prefix"""
        if not spec.startswith("etcd://"):
            raise errors.NamingError("invalid etcd storage %r: use etcd://host:port[,host:port...]/prefix" % spec)
        hosts, _slash, prefix = spec[len("etcd://"):].partition("/")
        return cls(parse_endpoints(hosts), prefix or "pyro5")

    def __repr__(self) -> str:
        return "<%s etcd://%s%s>" % (type(self).__name__, self.gateway.describe(), self.prefix.rstrip("/"))

    # ---- keys and low level requests
    def _name_key(self, name: str) -> bytes:
        return self._names + name.encode("utf-8")

    def _tag_key(self, tag: str, name: str) -> bytes:
        return self._tags + quote(tag, safe="").encode("ascii") + b"/" + name.encode("utf-8")

    def _range(self, key: bytes, end: Optional[bytes] = None, **options: Any) -> dict:
        payload: dict[str, Any] = {"key": b64(key), **options}
        if end is not None:
            payload["range_end"] = b64(end)
        return self.gateway.call("/kv/range", payload)

    def _txn(self, compare: list, success: list, failure: Optional[list] = None) -> dict:
        return self.gateway.call("/kv/txn", {"compare": compare, "success": success, "failure": failure or []})

    def _get(self, name: str) -> Optional[_Kv]:
        kvs = self._range(self._name_key(name)).get("kvs")
        return _Kv(name, kvs[0]) if kvs else None

    def _scan(self, start: bytes, end: bytes, keys_only: bool = False) -> Iterator[dict]:
        """Every kv in [start, end), in key order, a page at a time."""
        while True:
            result = self._range(start, end, limit=_PAGE, keys_only=keys_only)
            kvs = result.get("kvs", [])
            yield from kvs
            if not result.get("more") or not kvs:
                return
            start = unb64(kvs[-1]["key"]) + b"\x00"

    def _get_many(self, names: Iterable[str]) -> list[_Kv]:
        """The registrations of several names, with read-only transactions of many range requests."""
        found: list[_Kv] = []
        names = list(names)
        for chunk in range(0, len(names), _TXN_OPS):
            part = names[chunk:chunk + _TXN_OPS]
            result = self._txn([], [{"request_range": {"key": b64(self._name_key(n))}} for n in part])
            for name, response in zip(part, result.get("responses", []), strict=False):
                kvs = response.get("response_range", {}).get("kvs")
                if kvs:
                    found.append(_Kv(name, kvs[0]))
        return found

    def _write_ops(self, name: str, uri: str, meta: frozenset, lease: int, old: Optional[_Kv],
                   token: Optional[str] = None) -> list:
        value = json.dumps({"uri": uri, "meta": sorted(meta), "token": token or uuid.uuid4().hex})
        ops: list[dict] = [{"request_delete_range": {"key": b64(self._tag_key(tag, name))}}
                           for tag in (old.meta - meta if old else ())]
        for key, data in [(self._name_key(name), value.encode("utf-8"))] + \
                         [(self._tag_key(tag, name), b"") for tag in meta]:
            put: dict[str, Any] = {"key": b64(key), "value": b64(data)}
            if lease:
                put["lease"] = lease
            ops.append({"request_put": put})
        return ops

    def _delete_ops(self, old: _Kv) -> list:
        return [{"request_delete_range": {"key": b64(key)}}
                for key in [self._name_key(old.name)] + [self._tag_key(tag, old.name) for tag in old.meta]]

    def _guard(self, name: str, old: Optional[_Kv]) -> list:
        key = b64(self._name_key(name))
        if old is None:
            return [{"key": key, "target": "CREATE", "result": "EQUAL", "create_revision": 0}]
        return [{"key": key, "target": "MOD", "result": "EQUAL", "mod_revision": old.mod}]

    # ---- registry operations
    def put(self, name: str, uri: str, metadata: frozenset, lease: Optional[int] = None) -> None:
        old: Optional[_Kv] = None     # first guess: a new name (one round trip); else compare-and-set
        for _attempt in range(_CAS_ATTEMPTS):
            result = self._txn(self._guard(name, old),
                               self._write_ops(name, uri, frozenset(metadata), lease or 0, old),
                               [{"request_range": {"key": b64(self._name_key(name))}}])
            if result.get("succeeded"):
                return
            kvs = result.get("responses", [{}])[0].get("response_range", {}).get("kvs")
            old = _Kv(name, kvs[0]) if kvs else None
        raise errors.NamingError("etcd storage: %s not registered, it kept changing" % name)

    def put_if_absent(self, name: str, uri: str, metadata: frozenset, lease: Optional[int] = None) -> bool:
        token = uuid.uuid4().hex
        result = self._txn(self._guard(name, None),
                           self._write_ops(name, uri, frozenset(metadata), lease or 0, None, token),
                           [{"request_range": {"key": b64(self._name_key(name))}}])
        if result.get("succeeded"):
            return True
        # a retry on another endpoint after a timeout may find the registration that the first try made
        kvs = result.get("responses", [{}])[0].get("response_range", {}).get("kvs")
        return bool(kvs) and _Kv(name, kvs[0]).token == token

    def compare_and_set(self, name: str, expected: Entry, new: Entry) -> bool:
        wanted = (expected[0], frozenset(expected[1]))
        for _attempt in range(_CAS_ATTEMPTS):
            old = self._get(name)
            if old is None or old.entry != wanted:
                return False
            if self._txn(self._guard(name, old),
                         self._write_ops(name, new[0], frozenset(new[1]), old.lease, old)).get("succeeded"):
                return True
        return False

    def compare_and_delete(self, name: str, uri: str) -> bool:
        for _attempt in range(_CAS_ATTEMPTS):
            old = self._get(name)
            if old is None or old.uri != uri:
                return False
            if self._txn(self._guard(name, old), self._delete_ops(old)).get("succeeded"):
                return True
        return False

    def delete_names(self, names: Iterable[str]) -> int:
        removed = 0
        for old in self._get_many(set(names)):
            for _attempt in range(_CAS_ATTEMPTS):
                if self._txn(self._guard(old.name, old), self._delete_ops(old)).get("succeeded"):
                    removed += 1
                    break
                current = self._get(old.name)
                if current is None:
                    break
                old = current
        return removed

    def add_many(self, entries: Iterable[tuple[str, str, frozenset]]) -> None:
        """Bulk import (unconditional puts, many per transaction); meant for loading a fresh prefix."""
        ops: list = []
        for name, uri, metadata in entries:
            new = self._write_ops(name, uri, frozenset(metadata), 0, None)
            if len(ops) + len(new) > _TXN_OPS:
                self._txn([], ops)
                ops = []
            ops.extend(new)
        if ops:
            self._txn([], ops)

    # ---- reads
    def scan_prefix(self, prefix: str) -> list[tuple[str, Entry]]:
        start = self._name_key(prefix)
        cut = len(self._names)
        return [(unb64(kv["key"])[cut:].decode("utf-8"), _Kv("", kv).entry)
                for kv in self._scan(start, prefix_end(start))]

    def items(self) -> list[tuple[str, Entry]]:  # type: ignore[override]
        return self.scan_prefix("")

    def _tagged(self, tag: str) -> set[str]:
        start = self._tags + quote(tag, safe="").encode("ascii") + b"/"
        return {unb64(kv["key"])[len(start):].decode("utf-8")
                for kv in self._scan(start, prefix_end(start), keys_only=True)}

    def optimized_metadata_search(self, metadata_all: Optional[Iterable[str]] = None,
                                  metadata_any: Optional[Iterable[str]] = None,
                                  return_metadata: bool = False) -> dict[str, Any]:
        if metadata_all is not None and metadata_any is not None:
            raise ValueError("you can't use meta_all or meta_any at the same time")
        names: set[str] = set()
        if metadata_all is not None:
            wanted = frozenset(metadata_all)
            for number, tag in enumerate(sorted(wanted)):
                names = self._tagged(tag) if number == 0 else names & self._tagged(tag)
                if not names:
                    break
            check = wanted.issubset
        elif metadata_any is not None:
            wanted = frozenset(metadata_any)
            for tag in wanted:
                names |= self._tagged(tag)
            check = wanted.intersection     # type: ignore[assignment]
        found = {kv.name: kv.entry for kv in self._get_many(sorted(names)) if check(kv.meta)}
        if return_metadata:
            return {name: (uri, set(meta)) for name, (uri, meta) in found.items()}
        return {name: uri for name, (uri, _meta) in found.items()}

    def __getitem__(self, name: str) -> Entry:
        kv = self._get(name)
        if kv is None:
            raise KeyError(name)
        return kv.entry

    def __setitem__(self, name: str, value: Entry) -> None:
        self.put(name, value[0], frozenset(value[1]))

    def __delitem__(self, name: str) -> None:
        if not self.delete_names([name]):
            raise KeyError(name)

    def __iter__(self) -> Iterator[str]:
        return iter([name for name, _entry in self.items()])

    def __len__(self) -> int:
        return int(self._range(self._names, prefix_end(self._names), count_only=True).get("count", 0))

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, str):
            return False
        return int(self._range(self._name_key(name), count_only=True).get("count", 0)) > 0

    def clear(self) -> None:
        """Delete everything under the prefix (names, tag index, leaders)."""
        self.gateway.call("/kv/deleterange", {"key": b64(self._root), "range_end": b64(prefix_end(self._root))})

    # ---- leases and leadership
    def grant_lease(self, ttl: float) -> int:
        seconds = max(1, math.ceil(check_ttl(ttl)))
        return int(self.gateway.call("/lease/grant", {"TTL": seconds, "ID": 0})["ID"])

    def keep_alive(self, lease: int) -> float:
        result = self.gateway.call("/lease/keepalive", {"ID": lease}).get("result", {})
        return float(result.get("TTL", 0) or 0)

    def revoke_lease(self, lease: int) -> None:
        try:
            self.gateway.call("/kv/lease/revoke", {"ID": lease})
        except errors.NamingError as x:
            if "not found" not in str(x):
                raise

    def elect(self, role: str, candidate: str, ttl: float) -> bool:
        with self._lock:
            key = b64(self._leaders + role.encode("utf-8"))
            lease = self._leader_leases.pop(role, 0)
            if not lease or self.keep_alive(lease) <= 0:
                lease = self.grant_lease(ttl)
            result = self._txn([{"key": key, "target": "CREATE", "result": "EQUAL", "create_revision": 0}],
                               [{"request_put": {"key": key, "value": b64(candidate.encode()), "lease": lease}}],
                               [{"request_range": {"key": key}}])
            kvs = result.get("responses", [{}])[0].get("response_range", {}).get("kvs", [])
            leads = bool(result.get("succeeded")) or (bool(kvs) and unb64(kvs[0].get("value", "")) == candidate.encode())
            if leads and (result.get("succeeded") or int(kvs[0].get("lease", 0) or 0) == lease):
                self._leader_leases[role] = lease
            else:
                self.revoke_lease(lease)
            return leads

    def resign(self, role: str, candidate: str) -> None:
        with self._lock:
            key = b64(self._leaders + role.encode("utf-8"))
            self._txn([{"key": key, "target": "VALUE", "result": "EQUAL", "value": b64(candidate.encode())}],
                      [{"request_delete_range": {"key": key}}])
            lease = self._leader_leases.pop(role, 0)
            if lease:
                self.revoke_lease(lease)

    def close(self) -> None:
        self.gateway.close()
