"""Fast paths of the serpent serializer for data made of builtin types only.

``dumps_simple(obj)`` writes exactly the bytes that ``serpent.Serializer(indent=False, module_in_classname=True)``
writes for data that consists only of str, int, bool, None, finite floats, tuples, lists, dicts with str or
int keys and sets of str or int (the exact types, no subclasses), nested at most ``_MAX_DEPTH`` deep; for
anything else it returns None and the caller uses serpent itself. serpent sends these types as their repr(),
with no class registry, type replacement or special-class lookup involved, so skipping serpent's generic
dispatch changes nothing. ``CONVERTERS`` maps other exact types to a function that returns the builtin data
serpent would write for the object (or raises NotSimple when serpent must decide): Pyro5.serializers puts
the URI there.

``literal_eval(text)`` is ``ast.literal_eval`` (what ``serpent.loads`` uses) with the same accepted syntax, but
converting the parsed tree with a dispatch on the node type instead of a chain of isinstance checks.
"""
from __future__ import annotations

import ast
import gc
import re
from typing import Any, Callable

__all__ = ["dumps_simple", "loads"]

HEADER = "# serpent utf-8 python3.2\n"
_MAX_DEPTH = 32
_REPR = frozenset((str, int, bool, type(None)))
_INF = float("inf")


class NotSimple(Exception):
    """The data is not builtin-only: serpent itself must serialize it."""


_NotSimple = NotSimple
CONVERTERS: dict[type, Callable[[Any], Any]] = {}
_SET_ITEMS = frozenset((str, int))


def _write(obj: Any, out: list[str], depth: int) -> None:
    t = type(obj)
    if t in _REPR:
        out.append(repr(obj))
    elif t is tuple:
        if depth > _MAX_DEPTH:
            raise _NotSimple
        if _REPR.issuperset(map(type, obj)):       # (flat: joined at C speed)
            out.append("(%s,)" % repr(obj[0]) if len(obj) == 1 else "(%s)" % ",".join(map(repr, obj)))
            return
        out.append("(")
        for item in obj:
            _write(item, out, depth + 1)
            out.append(",")
        if len(obj) > 1:
            out[-1] = ")"
        else:
            out.append(")")
    elif t is list:
        if depth > _MAX_DEPTH:
            raise _NotSimple
        if _REPR.issuperset(map(type, obj)):
            out.append("[%s]" % ",".join(map(repr, obj)))
            return
        out.append("[")
        for item in obj:
            _write(item, out, depth + 1)
            out.append(",")
        if obj:
            out[-1] = "]"
        else:
            out.append("]")
    elif t is dict:
        if depth > _MAX_DEPTH:
            raise _NotSimple
        out.append("{")
        for key, value in obj.items():
            kt = type(key)
            if kt is not str and kt is not int:
                raise _NotSimple
            out.append(repr(key))
            out.append(":")
            _write(value, out, depth + 1)
            out.append(",")
        if obj:
            out[-1] = "}"
        else:
            out.append("}")
    elif t is float and -_INF < obj < _INF:
        out.append(repr(obj))
    elif t is set or t is frozenset:
        if not obj:
            out.append("()")            # (serpent: there is no literal for an empty set)
            return
        if not _SET_ITEMS.issuperset(map(type, obj)):
            raise _NotSimple
        out.append("{%s}" % ",".join(map(repr, obj)))
    else:
        converter = CONVERTERS.get(t)
        if converter is None or depth > _MAX_DEPTH:
            raise _NotSimple
        _write(converter(obj), out, depth + 1)


def dumps_simple(obj: Any) -> bytes | None:
    """serpent's serialized bytes of obj when it is builtin-only data (see the module doc), else None."""
    out = [HEADER]
    try:
        _write(obj, out, 0)
    except _NotSimple:
        return None
    return "".join(out).encode("utf-8")


# ---------------------------------------------------------------------------------------------------- loads
def _malformed(node: Any) -> Any:
    msg = "malformed node or string"
    lineno = getattr(node, "lineno", None)
    if lineno:
        msg += " on line %d" % lineno
    raise ValueError(msg + ": %r" % node)


_NUMBERS = (int, float, complex)


def _number(node: Any) -> Any:
    if type(node) is ast.Constant and type(node.value) in _NUMBERS:
        return node.value
    return _malformed(node)


def _signed_number(node: Any) -> Any:
    if type(node) is ast.UnaryOp:
        op = type(node.op)
        if op is ast.UAdd:
            return +_number(node.operand)
        if op is ast.USub:
            return -_number(node.operand)
    return _number(node)


def _constant(node: Any) -> Any:
    return node.value


def _tuple(node: Any) -> Any:
    return tuple(map(_convert, node.elts))


def _list(node: Any) -> Any:
    return list(map(_convert, node.elts))


def _set(node: Any) -> Any:
    return set(map(_convert, node.elts))


def _dict(node: Any) -> Any:
    keys, values = node.keys, node.values
    if len(keys) != len(values):
        _malformed(node)
    return dict(zip(map(_convert, keys), map(_convert, values), strict=True))


def _call(node: Any) -> Any:
    # set() is the only call ast.literal_eval accepts
    if type(node.func) is ast.Name and node.func.id == "set" and node.args == node.keywords == []:
        return set()
    return _malformed(node)


def _binop(node: Any) -> Any:
    op = type(node.op)
    if op is ast.Add or op is ast.Sub:
        left = _signed_number(node.left)
        right = _number(node.right)
        if type(left) in (int, float) and type(right) is complex:
            return left + right if op is ast.Add else left - right
    return _signed_number(node)


_CONVERTERS: dict[type, Callable[[Any], Any]] = {
    ast.Constant: _constant, ast.Tuple: _tuple, ast.List: _list, ast.Set: _set, ast.Dict: _dict,
    ast.Call: _call, ast.BinOp: _binop, ast.UnaryOp: _signed_number,
}


def _convert(node: Any) -> Any:
    converter = _CONVERTERS.get(type(node))
    if converter is None:
        return _malformed(node)
    return converter(node)


def literal_eval(text: str) -> Any:
    """ast.literal_eval(text) for a str: the same literals accepted, the same ValueError/SyntaxError raised."""
    tree = ast.parse(text.lstrip(" \t"), mode="eval")
    return _convert(tree.body)


# ---- a scanner for the literals serpent writes for builtin-only data (what dumps_simple writes): strings without
# backslashes, decimal ints, plain floats, True/False/None, tuples, lists, dicts and sets, no white space (except
# one space after a dict's colon and comma, as in serpent's form of bytes: {'data': '...', 'encoding': 'base64'}).
# It only ever accepts text that ast.literal_eval accepts, with the same result; for anything else (escapes,
# bytes, complex, white space, unusual syntax, errors) it gives up and literal_eval decides.
_TOKEN = re.compile(r"""'([^'\\\n\r]*)'|"([^"\\\n\r]*)"|(-?(?:0|[1-9][0-9]{0,17}))(?![0-9.eEjJxXoObB_])"""
                    r"|(-?[0-9]+\.[0-9]+(?:e[-+]?[0-9]+)?)(?![0-9.eEjJ_])|(True|False|None)(?![0-9A-Za-z_])|([()\[\]{},:])")
_NAMES = {"True": True, "False": False, "None": None}
_match = _TOKEN.match
# a run of single-quoted strings without backslashes: 'a','b','c' (no quote inside, so "','" splits it exactly)
_match_strings = re.compile(r"""'[^'\\\n\r]*'(?:,'[^'\\\n\r]*')*""").match


class _GiveUp(Exception):
    pass


def _scan(text: str, pos: int) -> tuple[Any, int]:
    """The value that starts at pos, and the position after it."""
    if text[pos] == "'":
        # a single-quoted string: its end found at C speed (str.find), then checked for what the regex excludes
        # (a long string, e.g. the base64 text of bytes, took 5 ns a character through the regex)
        end = text.find("'", pos + 1)
        if end > 0:
            value = text[pos + 1:end]
            if "\\" not in value and "\n" not in value and "\r" not in value:
                return value, end + 1
    m = _match(text, pos)
    if m is None:
        raise _GiveUp
    kind = m.lastindex
    if kind == 1 or kind == 2:
        return m.group(kind), m.end()
    if kind == 3:
        return int(m.group(3)), m.end()
    if kind == 4:
        return float(m.group(4)), m.end()
    if kind == 5:
        return _NAMES[m.group(5)], m.end()
    return _scan_container(text, m.group(6), m.end())


_CLOSERS = {"(": ")", "[": "]", "{": "}"}


def _scan_container(text: str, opener: str, pos: int) -> tuple[Any, int]:
    closer = _CLOSERS.get(opener)
    if closer is None:
        raise _GiveUp
    items: list[Any] = []
    if text[pos] == closer:
        return ((), [], {})["([{".index(opener)], pos + 1
    m = _match_strings(text, pos)
    if m is not None:
        # only strings in this container (method names, tags...): split the run at once
        end = m.end()
        c = text[end]
        trailing = c == "," and text[end + 1] == closer
        if c == closer or trailing:
            strings = m.group()[1:-1].split("','")
            end += 2 if trailing else 1
            if opener == "(":
                if len(strings) == 1 and not trailing:
                    return strings[0], end
                return tuple(strings), end
            return (strings if opener == "[" else set(strings)), end
    first, pos = _scan(text, pos)
    if opener == "{" and text[pos] == ":":
        # a dict: key:value pairs
        values: list[Any] = []
        key = first
        while True:
            pos += 1
            if text[pos] == " ":     # (serpent writes bytes as {'data': '...', 'encoding': 'base64'})
                pos += 1
            value, pos = _scan(text, pos)
            items.append(key)
            values.append(value)
            c = text[pos]
            if c == ",":
                pos += 1
                if text[pos] == closer:
                    break
                if text[pos] == " ":
                    pos += 1
                key, pos = _scan(text, pos)
                if text[pos] != ":":
                    raise _GiveUp
            elif c == closer:
                break
            else:
                raise _GiveUp
        return dict(zip(items, values, strict=True)), pos + 1
    items.append(first)
    commas = 0
    while True:
        c = text[pos]
        if c == ",":
            pos += 1
            commas += 1
            if text[pos] == closer:
                break
            value, pos = _scan(text, pos)
            items.append(value)
        elif c == closer:
            break
        else:
            raise _GiveUp
    pos += 1
    if opener == "(":
        if not commas:
            return first, pos                    # (a parenthesized value, not a tuple)
        return tuple(items), pos
    if opener == "[":
        return items, pos
    return set(items), pos


def loads(data: bytes | bytearray) -> Any:
    """serpent.loads(data)."""
    text = data.decode("utf-8")
    if "\x00" in text:
        raise ValueError("The serpent data contains 0-bytes so it cannot be parsed by ast.literal_eval. "
                         "Has it been corrupted?")
    gc.disable()
    try:
        if text.startswith(HEADER):
            try:
                value, end = _scan(text, len(HEADER))
                if end == len(text) or not text[end:].strip(" \t\r\n"):
                    return value
            except (_GiveUp, IndexError, ValueError, TypeError, RecursionError):
                pass
        return literal_eval(text)
    finally:
        gc.enable()
