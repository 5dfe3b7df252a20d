"""Hand-made wire headers for the tests that feed malformed or edge-case messages."""
from __future__ import annotations

import struct

HEADER = struct.Struct("!4sHBBHHII16sHH")    # the protocol 502 header layout, written out independently


def header(msgtype: int = 5, serializer_id: int = 1, flags: int = 0, seq: int = 1, data_size: int = 0,
           annotations_size: int = 0, corr: bytes = b"\0" * 16, tag: bytes = b"PYRO", version: int = 502,
           reserved: int = 0, magic: int = 0x4DC5) -> bytes:
    """40 header bytes with the given fields (default: a valid MSG_RESULT header, serpent, no body)."""
    return HEADER.pack(tag, version, msgtype, serializer_id, flags, seq, data_size, annotations_size, corr,
                       reserved, magic)
