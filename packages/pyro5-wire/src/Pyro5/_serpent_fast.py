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
import json
import re
from typing import Any, Callable

__all__ = ["dumps_simple", "dumps_call", "loads", "loads_call", "loads_plain"]

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
    t = type(obj)
    if t in _REPR:      # (a usual reply: one value, or a flat tuple or list; no list of parts for these)
        return (HEADER + repr(obj)).encode("utf-8")
    if (t is tuple or t is list) and _REPR.issuperset(map(type, obj)):
        if len(obj) < _FORMATS_MAX:
            if t is tuple:
                return (_HEADER_TUPLE_FORMATS[len(obj)] % obj).encode("utf-8")
            return (_HEADER_LIST_FORMATS[len(obj)] % tuple(obj)).encode("utf-8")
        return (HEADER + ("(%s)" if t is tuple else "[%s]") % ",".join(map(repr, obj))).encode("utf-8")
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
_VALUE = re.compile(r""""([^"\\\n\r]*)"|(-?(?:0|[1-9][0-9]{0,17}))(?![0-9.eEjJxXoObB_])"""
                    r"|(-?[0-9]+\.[0-9]+(?:e[-+]?[0-9]+)?)(?![0-9.eEjJ_])|(True|False|None)(?![0-9A-Za-z_])").match
_NAMES = {"True": True, "False": False, "None": None}
_OPENERS = {"(": ")", "[": "]", "{": "}"}
# a plain string or int (as _VALUE, but single-quoted strings without a double quote)
_FLAT_ITEM = r"""(?:'[^'"\\\n\r]*'|-?(?:0|[1-9][0-9]{0,17})(?![0-9.eEjJxXoObB_]))"""
_FLAT = {"(": re.compile(r"\(%s(?:,%s)+\)" % (_FLAT_ITEM, _FLAT_ITEM)).match,
         "[": re.compile(r"\[%s(?:,%s)+\]" % (_FLAT_ITEM, _FLAT_ITEM)).match}
_scan_json = json.JSONDecoder().scan_once  # type: ignore[attr-defined]
_MAX_NESTING = 100      # (deeper: literal_eval decides; Python's parser refuses more than 200 levels)


class _GiveUp(Exception):
    pass


def _scan(text: str, pos: int) -> Any:
    """The value of the literal text[pos:] (all of it), in one loop over the tokens (no recursion, no function
    call per value: a batch of 100 calls is about 1,100 tokens)."""
    stack: list[tuple[Any, str, int]] = []
    items: Any = None   # the values of the innermost open container (None: at the top level)
    closer = ""         # its closing character
    mode = 0            # '(': the commas seen; '{': 0 not known yet, 1 a dict (items: key, value, key...), 2 a set
    expect = True       # a value may come next (else a comma, a colon or the closer)
    end = len(text)
    value: Any
    while pos < end:
        c = text[pos]
        if c == "'":
            # a single-quoted string: its end found at C speed (str.find), then checked for what is not plain
            # (a long string, e.g. the base64 text of bytes, took 5 ns a character through a regex)
            stop = text.find("'", pos + 1)
            if not expect or stop < 0:
                raise _GiveUp
            value = text[pos + 1:stop]
            if "\\" in value or "\n" in value or "\r" in value:
                raise _GiveUp
            pos = stop + 1
        elif c == ",":
            if expect or items is None:
                raise _GiveUp
            if closer == ")":
                mode += 1
            elif closer == "}":
                if mode == 0:
                    mode = 2
                elif mode == 1 and len(items) & 1:      # (a key without its value)
                    raise _GiveUp
            expect = True
            pos += 1
            if text[pos] == " ":     # (serpent writes bytes as {'data': '...', 'encoding': 'base64'})
                pos += 1
            continue
        elif c == closer:
            if expect and items and closer == "}" and mode == 1 and len(items) & 1:
                raise _GiveUp       # (a colon and no value; a comma before the closer is a trailing comma)
            if closer == ")":
                value = tuple(items) if mode else (items[0] if items else ())   # ((x) is x, not a tuple)
            elif closer == "]":
                value = items
            elif mode == 1:
                value = dict(zip(items[::2], items[1::2], strict=True))
            else:
                value = set(items) if items else {}
            items, closer, mode = stack.pop()
            pos += 1
        elif c in _OPENERS:
            if not expect or len(stack) >= _MAX_NESTING:
                raise _GiveUp
            match = _FLAT.get(c)
            m = None if match is None else match(text, pos)
            if m is not None:
                # a tuple or list of two or more plain strings and ints: read at C speed by json's scanner (the
                # strings have no backslash and no double quote, so quoting them with " makes the same strings)
                try:
                    value = _scan_json("[%s]" % m.group()[1:-1].replace("'", '"'), 0)[0]
                except (ValueError, StopIteration):     # (e.g. a control character: json refuses it, Python not)
                    m = None
            if m is None:
                stack.append((items, closer, mode))
                items = []
                closer = _OPENERS[c]
                mode = 0
                pos += 1
                continue
            if c == "(":
                value = tuple(value)
            pos = m.end()
        elif c == ":":
            if expect or closer != "}":
                raise _GiveUp
            if mode == 0 and len(items) == 1:
                mode = 1
            elif mode != 1 or not len(items) & 1:
                raise _GiveUp
            expect = True
            pos += 1
            if text[pos] == " ":
                pos += 1
            continue
        else:
            m = _VALUE(text, pos)
            if not expect or m is None:
                raise _GiveUp
            kind = m.lastindex
            if kind == 1:
                value = m.group(1)
            elif kind == 2:
                value = int(m.group(2))
            elif kind == 3:
                value = float(m.group(3))
            else:
                value = _NAMES[m.group(4)]
            pos = m.end()
        # a value: the whole text at the top level, else the next item of the open container
        if items is None:
            if pos != end:
                raise _GiveUp
            return value
        items.append(value)
        expect = False
    raise _GiveUp


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
                return _scan(text, len(HEADER))
            except (_GiveUp, IndexError, ValueError, TypeError, RecursionError):
                pass
        return literal_eval(text)
    finally:
        gc.enable()


# ---- the usual small call and its reply, written and read in one step -----------------------------------------------
# A call whose object id and method are str, whose arguments are a tuple of str/int/bool/None and whose keyword
# arguments are empty is most calls; its reply is often one such value or a flat tuple/list of them. Going through
# dumps_simple/_scan costs a Python function call or a loop step per value (a small call: 2.8 us to write, 6 us to
# read); here one %-format writes it, and one regex match plus json's C scanner reads it.
_PLAIN_STR = r"'[^'\"\\\x00-\x1f]*'"      # (no quote of either kind, no backslash, no control character: Python's
#                                           literal and json's literal of the same characters, with " for ', are
#                                           the same string)
_PLAIN = r"(?:%s|-?(?:0|[1-9][0-9]{0,17}))" % _PLAIN_STR     # (18 digits at most: no int-size limit is ever hit)
# a tuple (or list) of plain values: group 1 the items of two or more, group 2 the one item of "(x,)"
_PLAIN_TUPLE = r"\((?:({0}(?:,{0})+)|({0}),|)\)".format(_PLAIN)
_PLAIN_LIST = r"\[({0}(?:,{0})*)?\]".format(_PLAIN)
_PLAIN_DICT = r"\{{(?:{0}:{1}(?:,{0}:{1})*)?\}}".format(_PLAIN_STR, _PLAIN)
_CALL = re.compile(r"\('([^'\"\\\x00-\x1f]*)','([^'\"\\\x00-\x1f]*)',(?:%s|%s),(%s)\)"
                   % (_PLAIN_TUPLE, _PLAIN_LIST, _PLAIN_DICT)).fullmatch
_REPLY = re.compile(r"%s|%s|(%s)|'([^'\"\\\x00-\x1f]*)'|(-?(?:0|[1-9][0-9]{0,17}))|(None|True|False)"
                    % (_PLAIN_TUPLE, _PLAIN_LIST, _PLAIN_DICT)).fullmatch
_HEADER_LENGTH = len(HEADER)
_HEADER_BYTES = HEADER.encode("ascii")
_NOT_PLAIN = object()          # (loads_plain: not a plain value, the generic path decides)
_PLAIN_LIMIT = 32 * 1024     # (bigger data: the regex could run over a long text only to fail; _scan decides)


def _plain_items(items: str) -> list:
    """The values of a comma-separated text of _PLAIN items, read by json's C scanner."""
    return _scan_json("[%s]" % items.replace("'", '"'), 0)[0]


def _plain_item(item: str) -> Any:
    return item[1:-1] if item[0] == "'" else int(item)


def _plain_dict(text: str) -> dict | None:
    """The dict of a _PLAIN_DICT text; None when it has a "__class__" key (a class dict: recreate_classes decides)."""
    if len(text) == 2:
        return {}
    value = _scan_json(text.replace("'", '"'), 0)[0]
    return None if "__class__" in value else value


def _plain_text(data: bytes | bytearray) -> str | None:
    """The text of serpent data that the one-step readers may read (small, serpent's header, utf-8), else None."""
    if len(data) > _PLAIN_LIMIT or not data.startswith(_HEADER_BYTES):
        return None
    try:
        return data.decode()        # (utf-8; quicker than str(data, "utf-8"))
    except UnicodeDecodeError:
        return None


def loads_call(data: bytes | bytearray) -> tuple | None:
    """serpent.loads(data) of a usual small call (see above: plain arguments, plain keyword arguments), else None
    (the generic path decides, errors included)."""
    text = _plain_text(data)
    if text is None:
        return None
    m = _CALL(text, _HEADER_LENGTH)
    if m is None:
        return None
    obj, method, items, item, list_items, kwargs = m.groups()
    kwargs = _plain_dict(kwargs)
    if kwargs is None:
        return None
    if items is not None:   # (the usual call of several arguments: _plain_items inline)
        vargs: Any = tuple(_scan_json("[%s]" % items.replace("'", '"'), 0)[0])
    elif item is not None:
        vargs = (_plain_item(item),)
    elif text[m.end(2) + 2] == "(":
        vargs = ()
    else:
        vargs = _plain_items(list_items) if list_items is not None else []
    return obj, method, vargs, kwargs


_NAMES_BY_TEXT = {"None": None, "True": True, "False": False}


def loads_plain(data: bytes | bytearray) -> Any:
    """serpent.loads(data) of one str/int/bool/None or a flat tuple, list or dict of them (a usual small reply), or
    _NOT_PLAIN (the generic path decides, errors and class dicts included)."""
    text = _plain_text(data)
    if text is None:
        return _NOT_PLAIN
    m = _REPLY(text, _HEADER_LENGTH)
    if m is None:
        return _NOT_PLAIN
    kind = m.lastindex
    if kind is None:                # "()" or "[]"
        return () if text[-1] == ")" else []
    value = m.group(kind)
    if kind == 1:       # (the usual reply of several values: _plain_items inline)
        return tuple(_scan_json("[%s]" % value.replace("'", '"'), 0)[0])
    if kind == 2:
        return (_plain_item(value),)
    if kind == 3:
        return _plain_items(value)
    if kind == 4:
        value = _plain_dict(value)
        return _NOT_PLAIN if value is None else value
    if kind == 5:
        return value
    if kind == 6:
        return int(value)
    return _NAMES_BY_TEXT[value]


def dumps_call(obj: Any, method: Any, vargs: Any, kwargs: Any) -> bytes | None:
    """serpent's bytes of the call (obj, method, vargs, kwargs) when obj and method are str, vargs is a tuple of
    str/int/bool/None and kwargs is empty; else None (dumps_simple or serpent decides)."""
    if type(obj) is not str or type(method) is not str or type(vargs) is not tuple or type(kwargs) is not dict or \
            kwargs or not _REPR.issuperset(map(type, vargs)):
        return None
    if len(vargs) < _FORMATS_MAX:
        return (_CALL_FORMATS[len(vargs)] % (obj, method, *vargs)).encode("utf-8")
    return ("%s(%r,%r,(%s),{})" % (HEADER, obj, method, ",".join(map(repr, vargs)))).encode("utf-8")


# %-formats with one %r per item (the repr of each made inside the formatting, not through map(repr) and join)
_FORMATS_MAX = 8
_TUPLE_FORMATS = ["()", "(%r,)"] + ["(%s)" % ",".join(["%r"] * n) for n in range(2, _FORMATS_MAX)]
_LIST_FORMATS = ["[%s]" % ",".join(["%r"] * n) for n in range(_FORMATS_MAX)]
_HEADER_TUPLE_FORMATS = [HEADER + f for f in _TUPLE_FORMATS]
_HEADER_LIST_FORMATS = [HEADER + f for f in _LIST_FORMATS]
_CALL_FORMATS = [HEADER + "(%r,%r," + f + ",{})" for f in _TUPLE_FORMATS]
