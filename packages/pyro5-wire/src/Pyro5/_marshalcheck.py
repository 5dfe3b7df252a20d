"""Checks marshal data from the network before ``marshal.loads`` sees it (no allocation bombs).

``marshal.loads`` allocates a tuple or list of the declared size before it reads a single element, and an int
of the declared number of digits before it reads them: a 15-byte message declaring a tuple of 100,000,000
elements makes it allocate 763 MiB, and a few nested containers of that kind multiply it. This scanner walks the
marshal structure first, iteratively (bounded by the data, no recursion), and refuses data in which

- a container declares more elements than the remaining bytes could hold: every element takes at least one byte,
  and so does every element still missing from the enclosing containers (so nesting can't multiply anything);
- an int declares more digits than the remaining bytes hold (2 bytes a digit);
- a string or bytes object is longer than the remaining bytes (marshal allocates a bytes object of the declared
  length before reading it: 5 bytes can make it allocate 2 GiB);
- something is not valid marshal data, or (when the data is walked) is a code object: the walk does not follow
  code objects, whose layout changes with every Python version.

After the check, the largest allocation marshal.loads can make is proportional to the data size.

The walk costs a Python step per element; runs of fixed-size elements (ints and references: 5 bytes each,
floats: 9 bytes, None/True/False: 1 byte) are checked at C speed with one strided slice.

Small data (up to 256 KiB) without any container header that could declare 256 or more elements (found with a
regular expression, at C speed, in about a microsecond; in data from 256 bytes the container type bytes are found
with memchr instead, so a big bytes or text value costs no step per byte) is not walked: containers that small can together allocate
at most a few MiB whatever the nesting (marshal limits the depth to 2000). Lying string lengths and int digit
counts are not looked for there (in text, every letter 's' or 'l' looks like one): for those marshal reserves the
object before it finds the data too short, but does not touch its memory (no resident memory is used), and frees it
at once. The walk (of bigger data, or of data with such container headers) refuses them too.
"""
from __future__ import annotations

import re

from . import errors

__all__ = ["check_marshal"]

# type codes (CPython Python/marshal.c); FLAG_REF (0x80) may be set on any of them
_FLAG_REF = 0x80
_FIXED = {  # type code -> payload size
    ord("0"): -1,      # NULL: only the end of a dict (handled in the walk)
    ord("N"): 0, ord("F"): 0, ord("T"): 0, ord("S"): 0, ord("."): 0,
    ord("i"): 4, ord("I"): 8, ord("g"): 8, ord("y"): 16, ord("r"): 4,
}
_LEN32 = frozenset(map(ord, "stuaA"))          # int32 length + bytes
_LEN8 = frozenset(map(ord, "zZf"))            # 1-byte length + bytes
_COMPLEX_TEXT = ord("x")                      # two (1-byte length + text)
_LONG = ord("l")                              # int32 digit count (sign = sign of the number), 2 bytes a digit
_SEQUENCES32 = frozenset(map(ord, "([<>"))    # tuple, list, set, frozenset: int32 count
_SMALL_TUPLE = ord(")")                       # 1-byte count
_DICT = ord("{")                              # key/value pairs until NULL
_NULL = ord("0")
_CODE = ord("c")

_DICT_KEY = -1      # stack markers: a dict expecting a key (or its end), or a value
_DICT_VALUE = -2

# (element size, allowed type bytes): runs of these are checked with one strided slice
_RUNS = ((5, b"i\xe9r"), (9, b"g\xe7"), (1, b"NTF"))
_RUN_MIN = 16
# headers that could declare 256 or more elements: a tuple/list/set/frozenset type byte (with or without FLAG_REF)
# followed by an int32 with a non-zero byte above the lowest one
_BIG_HEADER = re.compile(rb"[(\[<>\xa8\xdb\xbc\xbe](?=.[^\x00]..|..[^\x00].|...[^\x00])", re.DOTALL)
_QUICK_LIMIT = 256 * 1024       # data up to this size is searched for such headers before it is walked
_HEADER_CODES = tuple(bytes((code,)) for code in b"([<>\xa8\xdb\xbc\xbe")    # the type bytes of _BIG_HEADER
_FIND_MIN = 256     # data from this size is searched for those type bytes with memchr instead (_has_big_header)
_FIND_BUDGET = 16   # type bytes looked at one by one before the regular expression takes over


def _bad(reason: str, pos: int) -> errors.SerializeError:
    return errors.SerializeError("invalid marshal data: %s at offset %d (refused before decoding)" % (reason, pos))


def check_marshal(data: bytes | bytearray | memoryview) -> None:
    """Raises SerializeError when marshal.loads could allocate more than the data size justifies, or when the data
    is not marshal data of plain values; returns None for data that is safe to give to marshal.loads."""
    if isinstance(data, memoryview):
        data = data.cast("B") if data.format != "B" or data.ndim != 1 else data
        if len(data) <= _QUICK_LIMIT and _BIG_HEADER.search(data) is None:
            return
        data = bytes(data)
    elif len(data) < _FIND_MIN:
        if _BIG_HEADER.search(data) is None or _plain_call(data):
            return
    else:
        # a call of plain arguments is proven safe in about a µs whatever its size; the header search costs more
        # for data full of container type bytes (1 KiB of random bytes: the expression, about 5 µs)
        if _plain_call(data) or (len(data) <= _QUICK_LIMIT and not _has_big_header(data)):
            return
    _walk(data)


def _has_big_header(data: bytes | bytearray) -> bool:
    """Does _BIG_HEADER match `data`? The regular expression steps through every byte (about 5 ns each: 40 µs
    for 8 KiB of bytes or text); here the container type bytes are found with memchr (bytes.find) and each is
    looked at, up to _FIND_BUDGET of them (data full of them, such as random bytes: the expression after all)."""
    end = len(data) - 4
    budget = _FIND_BUDGET
    find = data.find
    for code in _HEADER_CODES:
        pos = find(code)
        while 0 <= pos < end:
            if data[pos + 2:pos + 5] != b"\x00\x00\x00":
                return True
            budget -= 1
            if not budget:
                return _BIG_HEADER.search(data) is not None
            pos = find(code, pos + 1)
    return False


def _walk(data: bytes | bytearray) -> None:
    try:
        _walk_values(data)
    except IndexError:
        raise _bad("data ends in the middle of a value", len(data)) from None


_SHORT_STR = (ord("z"), ord("Z"))
_FIVE = (ord("i"), ord("r"))
_ONE = (ord("N"), ord("T"), ord("F"))
_BINARY_FLOAT = ord("g")
_TUPLE_LIST = (ord("("), ord("["))


def _plain_call(data: bytes | bytearray) -> bool:
    """Is `data` a call (object id, method, vargs, kwargs) whose object id and method are strings, whose arguments
    are strings, bytes, ints, floats, None, True or False, and whose kwargs are empty? Then it holds no container
    but the call's tuple and its vargs (whose count the remaining bytes must hold) and marshal.loads can allocate
    nothing beyond the data size. The usual call with a big bytes or text argument, checked in about a µs (the walk
    takes four). False: anything else (the walk decides), including data that is not valid."""
    from_bytes = int.from_bytes
    end = len(data)
    try:
        if data[0] & 0x7f != _SMALL_TUPLE or data[1] != 4:
            return False
        pos = 2
        count = -2      # the object id and the method: two strings
        while count:
            code = data[pos] & 0x7f
            if code in _SHORT_STR:
                pos += 2 + data[pos + 1]
            elif code in _LEN32:
                length = from_bytes(data[pos + 1:pos + 5], "little", signed=True)
                if length < 0:
                    return False
                pos += 5 + length
            elif count > 0 and code in _FIVE:
                pos += 5
            elif count > 0 and code == _BINARY_FLOAT:
                pos += 9
            elif count > 0 and code in _ONE:
                pos += 1
            else:
                return False
            if pos > end:
                return False
            if count == -1:     # the method read: the vargs header
                code = data[pos] & 0x7f
                if code == _SMALL_TUPLE:
                    count = data[pos + 1]
                    pos += 2
                elif code in _TUPLE_LIST:
                    count = from_bytes(data[pos + 1:pos + 5], "little", signed=True)
                    pos += 5
                    if count < 0 or count > end - pos:
                        return False
                else:
                    return False
                if not count:
                    break
            else:
                count = count + 1 if count < 0 else count - 1
        return end - pos == 2 and data[pos] & 0x7f == _DICT and data[pos + 1] == _NULL     # empty kwargs: the end
    except IndexError:
        return False


def _walk_values(data: bytes | bytearray) -> None:  # noqa: C901 - one flat loop over the type codes, for speed
    end = len(data)
    pos = 0
    stack: list[int] = []       # per open container: its elements not started yet (>= 0), or a dict marker
    pending = 0                 # those elements of all open tuples/lists/sets, plus 1 per open dict (its end)
    from_bytes = int.from_bytes
    while True:
        top = stack[-1] if stack else _DICT_VALUE
        if top >= 0:
            # inside a tuple/list/set: skip the common small leaves in a tight loop
            remaining = top
            while remaining:
                code = data[pos] & 0x7f
                if code in _SHORT_STR:
                    pos += 2 + data[pos + 1]
                elif code in _FIVE:
                    pos += 5
                elif code == _BINARY_FLOAT:
                    pos += 9
                elif code in _ONE:
                    pos += 1
                else:
                    break
                remaining -= 1
            if pos > end:
                raise _bad("data ends in the middle of a value", end)
            pending -= top - remaining
            if not remaining:
                stack.pop()     # the container is complete: a complete value of its own container
                if _complete(stack):
                    return
                continue
            stack[-1] = remaining - 1     # the next element starts here
            pending -= 1
        elif stack:
            # inside a dict: skip small keys and values alike, keeping track of which one comes next
            at_key = top == _DICT_KEY
            while True:
                code = data[pos] & 0x7f
                if code in _SHORT_STR:
                    pos += 2 + data[pos + 1]
                elif code in _FIVE:
                    pos += 5
                elif code == _BINARY_FLOAT:
                    pos += 9
                elif code in _ONE:
                    pos += 1
                else:
                    break
                at_key = not at_key
            if pos > end:
                raise _bad("data ends in the middle of a value", end)
            top = stack[-1] = _DICT_KEY if at_key else _DICT_VALUE
        start = pos
        code = data[pos] & 0x7f
        pos += 1
        size = _FIXED.get(code)
        if size is not None:
            if size < 0:        # NULL: the end of a dict, where a key may come
                if top != _DICT_KEY:
                    raise _bad("NULL object outside a dict", start)
                stack.pop()
                pending -= 1
            else:
                pos += size
        elif code in _LEN32:
            length = from_bytes(data[pos:pos + 4], "little", signed=True)
            if length < 0 or length > end - pos - 4:
                raise _bad("string length %d larger than the remaining data" % length, start)
            pos += 4 + length
        elif code in _LEN8:
            pos += 1 + data[pos]
        elif code in _SEQUENCES32 or code == _SMALL_TUPLE:
            if code == _SMALL_TUPLE:
                count = data[pos]
                pos += 1
            else:
                count = from_bytes(data[pos:pos + 4], "little", signed=True)
                pos += 4
            # every element not started yet, here and in the enclosing containers, needs at least a byte
            if count < 0 or count + pending > end - pos:
                raise _bad("container declares %d elements, more than the remaining %d bytes can hold"
                           % (count, max(0, end - pos)), start)
            if count >= _RUN_MIN:
                run = _run_length(data, pos, count)
                if run:
                    pos += run
                    count = 0
            if count:
                stack.append(count)
                pending += count
                continue
        elif code == _DICT:
            if 1 + pending > end - pos:
                raise _bad("dict without room for its end marker", start)
            stack.append(_DICT_KEY)
            pending += 1
            continue
        elif code == _LONG:
            digits = abs(from_bytes(data[pos:pos + 4], "little", signed=True))
            if digits > (end - pos - 4) // 2:
                raise _bad("int declares %d digits, more than the remaining data holds" % digits, start)
            pos += 4 + 2 * digits
        elif code == _COMPLEX_TEXT:
            pos += 1 + data[pos]
            pos += 1 + data[pos]
        elif code == _CODE:
            raise _bad("code objects are not accepted from the network", start)
        else:
            raise _bad("unknown type code 0x%02x" % data[start], start)
        if pos > end:
            raise _bad("data ends in the middle of a value", start)
        if _complete(stack):
            return


def _complete(stack: list[int]) -> bool:
    """A value is complete: the containers it completes are closed too. True when it was the top-level value."""
    while stack:
        top = stack[-1]
        if top == _DICT_KEY:
            stack[-1] = _DICT_VALUE
            return False
        if top == _DICT_VALUE:
            stack[-1] = _DICT_KEY
            return False
        if top:
            return False
        stack.pop()         # all its elements are complete: the container is a complete value of its own container
    return True


def _run_length(data: bytes | bytearray, pos: int, count: int) -> int:
    """Bytes taken by `count` elements at pos when they are all of one fixed-size kind (else 0)."""
    first = data[pos:pos + 1]
    for size, allowed in _RUNS:
        if first and first in allowed:
            stop = pos + size * count
            if stop > len(data):
                return 0
            kinds = data[pos:stop:size]
            if not kinds.translate(None, allowed):
                return size * count
            return 0
    return 0
