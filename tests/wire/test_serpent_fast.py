"""The serpent fast paths (Pyro5._serpent_fast) give exactly what serpent itself gives: the same bytes for
builtin-only data, the same values (and the same acceptance) as serpent.loads / ast.literal_eval."""
from __future__ import annotations

import ast
import math
import random
import re

import pytest
import serpent

from Pyro5 import _serpent_fast, serializers

LEAVES = ["", "hello", "it's", 'say "hi"', "both ' and \"", "tab\there", "new\nline", "back\\slash", "é ü €", "\U0001f600",
          "\x01", 0, 1, -1, 42, 2 ** 40, -(2 ** 62), 10 ** 30, True, False, None, 0.0, -0.0, 1.5, -2.25, 1e-7, 1e300,
          float("inf"), float("nan"), 3j, b"bytes", bytearray(b"ba")]


def random_data(rnd: random.Random, depth: int = 0):
    if depth > 3 or rnd.random() < 0.4:
        return rnd.choice(LEAVES)
    kind = rnd.randrange(5)
    size = rnd.randrange(4)
    if kind == 0:
        return tuple(random_data(rnd, depth + 1) for _ in range(size))
    if kind == 1:
        return [random_data(rnd, depth + 1) for _ in range(size)]
    if kind == 2:
        return {rnd.choice(["a", "b", "key", 1, 2, -3, True, None, 1.5, ("t",)]): random_data(rnd, depth + 1)
                for _ in range(size)}
    if kind == 3:
        return {rnd.choice([1, 2, "x", "y", None, 0.5]) for _ in range(size)}
    return rnd.choice([set(), frozenset({1}), {"__class__": "float", "value": "nan"}])


def same(a, b) -> bool:
    """Equal values of the same types throughout (nan equals nan)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    if isinstance(a, (tuple, list)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    return a == b


def serpent_bytes(data) -> bytes:
    return serpent.Serializer(indent=False, module_in_classname=True).serialize(data)


def test_dumps_simple_writes_serpents_bytes_or_declines():
    rnd = random.Random(1)
    simple = 0
    for _ in range(3000):
        data = random_data(rnd)
        fast = _serpent_fast.dumps_simple(data)
        if fast is not None:
            simple += 1
            assert fast == serpent_bytes(data), data
    assert simple > 500
    for data in (("obj", "method", ("hello", 42), {}), [], {}, (), ((),), [[1, [2, [3]]]], {1: {"a": (None,)}},
                 {1, "a"}, set(), frozenset({2}), [set()]):
        assert _serpent_fast.dumps_simple(data) == serpent_bytes(data)
    for data in (float("nan"), float("inf"), {None: 1}, {1.5: 2}, {(1,): 2}, {None}, {1.5}, {(1,)}, b"x", 1j,
                 [1, 2, {3, None}]):
        assert _serpent_fast.dumps_simple(data) is None, data


def test_dumps_simple_declines_subclasses_and_deep_nesting():
    class MyStr(str):
        pass

    class MyDict(dict):
        pass
    assert _serpent_fast.dumps_simple((MyStr("x"),)) is None
    assert _serpent_fast.dumps_simple([MyDict()]) is None
    deep: list = []
    for _ in range(100):
        deep = [deep]
    assert _serpent_fast.dumps_simple(deep) is None
    circular: list = []
    circular.append(circular)
    assert _serpent_fast.dumps_simple(circular) is None


def test_loads_equals_serpent_loads():
    rnd = random.Random(2)
    for _ in range(3000):
        data = random_data(rnd)
        try:
            text = serpent_bytes(data)
        except (TypeError, ValueError):
            continue
        assert same(_serpent_fast.loads(text), serpent.loads(text)), text


def literal_or_error(text: str):
    try:
        return "ok", ast.literal_eval(text)
    except Exception as x:  # noqa: BLE001 - any error: the fast scanner must then fail the same way
        return "error", type(x)


MUTATIONS = ["", " ", ",", ":", "(", ")", "[", "]", "{", "}", "'", '"', "-", "0", "1", ".", "e", "j", "_", "x",
             "\\", "\n", "\r", "\t", "True", "None", "set()", "#", "+", "é"]


@pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::SyntaxWarning")   # (invalid escapes)
def test_loads_accepts_only_what_literal_eval_accepts():
    """Mutated serpent texts: the fast scanner either gives literal_eval's answer or literal_eval decides."""
    rnd = random.Random(3)
    bases = [serpent_bytes(("obj", "m", ("hello", 42, -1.5, None, True), {"k": [1, 2]})).decode(),
             serpent_bytes({"a": (1,), "b": [], "c": {}, "d": {1, 2}}).decode(),
             serpent_bytes([0, -0, 00.5, "x", ('y',)]).decode(),
             serpent_bytes({"m": {"a", "b"}, "l": ["x", "y", ""], "t": ("p",), "e": ("q", "r"), "s": "'"}).decode()]
    for _ in range(4000):
        text = rnd.choice(bases)
        for _ in range(rnd.randrange(1, 4)):
            pos = rnd.randrange(len(_serpent_fast.HEADER), len(text) + 1)
            cut = rnd.randrange(0, 3)
            text = text[:pos] + rnd.choice(MUTATIONS) + text[pos + cut:]
        expected = literal_or_error(text)
        try:
            got = ("ok", _serpent_fast.loads(text.encode()))
        except Exception as x:  # noqa: BLE001
            got = ("error", type(x))
        if expected[0] == "ok":
            assert got[0] == "ok" and same(got[1], expected[1]), text
        else:
            assert got == expected, text


@pytest.mark.parametrize("text", ["(5)", "(1,)", "()", "[1,]", "{1:2,}", "{1,}", "set()", "-0", "-0.0", "01.5",
                                  "1_000", "1e5", "0x10", "True", "(True,False,None)", "'a' 'b'", "5 ", "5\n",
                                  "'\\x41'", "b'x'", "1+2j", "-1-2j", "--1", "{[1]:2}", "{'a':1,'b'}", "(,)", "[,]",
                                  "'unterminated", "1 # comment", "x", "12345678901234567890123",
                                  "('a')", "('a',)", "('a','b')", "['a',]", "['a','b',]", "{'a','b',}", "{'a':'b'}",
                                  "{'a','b':1}", "('a','b'", "['a','b']x", "['a',,'b']", "['','']", "{''}", "('a'),",
                                  "(1, 2)", "[1, 2]", "{1: 2}", "(1 ,2)", "{1:}", "{:1}", "{1:2:3}", "{1,2:3}",
                                  "{1:2,3}", "(1]", "[1)", "{1,2}", "{1}", "((),[],{})", "[[[]]]", "1,2", "(1,2)3",
                                  "('a')('b')", "{'a':1}['a']", "'a'[0]", "[True,False,None,-5,-0.5,\"q'\"]",
                                  "(1,2)", "[1,'a',-3]", "('\x01',1)", "['a\"b',1]", "(1,2,)", "[1,2]x", "[1,2]]",
                                  "(123456789012345678,1)", "(1234567890123456789,1)", "('é','\u2028',0)",
                                  "[0,-0,01]", "[1,2.5]", "(1,True)", "[['a','b'],('c',2)]", "[1, 2]"])
@pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::SyntaxWarning")
def test_loads_edge_cases_like_literal_eval(text):
    full = _serpent_fast.HEADER + text
    expected = literal_or_error(full)
    try:
        got = ("ok", _serpent_fast.loads(full.encode()))
    except Exception as x:  # noqa: BLE001
        got = ("error", type(x))
    if expected[0] == "ok":
        assert got[0] == "ok" and same(got[1], expected[1])
    else:
        assert got == expected


@pytest.mark.parametrize("depth", [1, 99, 100, 101, 150, 199, 200, 201, 400])
def test_deep_nesting_is_what_literal_eval_makes_of_it(depth):
    """The scanner has no recursion: beyond _MAX_NESTING levels it leaves the text to literal_eval (whose parser
    refuses more than 200 levels), so the fast path never accepts what serpent.loads refuses."""
    for opener, closer in (("[", "]"), ("(", ",)"), ("{1:", "}")):
        full = _serpent_fast.HEADER + opener * depth + "1" + closer * depth
        expected = literal_or_error(full)
        try:
            got = ("ok", _serpent_fast.loads(full.encode()))
        except Exception as x:  # noqa: BLE001
            got = ("error", type(x))
        assert got[0] == expected[0] and (got == expected if got[0] == "error" else same(got[1], expected[1]))


def test_batches_scan_to_the_same_values():
    calls = [("echo", ("hello", 42), {}), ("m", [], {"k": [1, {"x"}]}), ("n", (("t",),), None)] * 40
    for data in (("obj", "<batch>", calls, {}), [("hello", 42)] * 100, [[], (), {}, set()] * 10):
        text = serpent_bytes(data)
        assert same(_serpent_fast.loads(text), serpent.loads(text))


def test_serpent_serializer_round_trips_calls_through_the_fast_paths():
    ser = serializers.serializers["serpent"]
    data = ser.dumpsCall("obj", "method", ("hello", 42, [1.5, None], {"k": (True,)}), {"kw": "v"})
    assert data == serpent_bytes(("obj", "method", ("hello", 42, [1.5, None], {"k": (True,)}), {"kw": "v"}))
    assert ser.loadsCall(data) == ("obj", "method", ("hello", 42, [1.5, None], {"k": (True,)}), {"kw": "v"})
    assert ser.loadsCall(memoryview(data)) == ser.loadsCall(data)


def test_uris_and_sets_through_the_fast_path_are_serpents_bytes():
    from Pyro5.core import URI
    ser = serializers.serializers["serpent"]
    slow = serializers._PyroSerpentSerializer(False, True, False)
    uri = URI("PYRO:obj@localhost:9090")
    for data in (uri, [uri, URI("PYROMETA:a,b@h:1"), URI("PYRO:x@./u:/tmp/sock")], {"meta": {"a", "b", 3}},
                 {"handshake": "hi", "meta": {"methods": {"m1", "m2"}, "oneway": set(), "attrs": frozenset({"x"})}}):
        assert ser.dumps(data) == slow.serialize(data)
        assert _serpent_fast.dumps_simple(data) is not None
    assert ser.loads(ser.dumps(uri)) == uri


def test_uri_with_a_type_replacement_or_serpent_converter_goes_through_serpent():
    from Pyro5.core import URI
    ser = serializers.serializers["serpent"]
    uri = URI("PYRO:obj@localhost:9090")
    serializers.SerializerBase.register_type_replacement(URI, lambda u: "replaced " + str(u))
    try:
        assert _serpent_fast.dumps_simple(uri) is None
        assert ser.loads(ser.dumps(uri)) == "replaced PYRO:obj@localhost:9090"
    finally:
        serializers.SerializerBase._type_replacements.pop(URI, None)
    serializers.SerializerBase.register_class_to_dict(URI, lambda u: {"__class__": "my.uri", "text": str(u)})
    try:
        assert _serpent_fast.dumps_simple(uri) is None
        assert b"my.uri" in ser.dumps(uri)
    finally:
        serializers.SerializerBase.unregister_class_to_dict(URI)
    assert _serpent_fast.dumps_simple(uri) is not None


URIS = ["PYRO:bench@127.0.0.1:4444", "PYRO:obj@[::1]:5555", "PYRO:x@./u:/tmp/sock", "PYRONAME:name",
        "PYRONAME:na.me@host:9090", "PYROMETA:a,b@host:1", "PYRO:ünï€@h:1", "PYRONAME:x@localhost"]


@pytest.mark.parametrize("text", URIS)
def test_a_serialized_uri_alone_loads_as_the_generic_path_does(text):
    """serpent data that is one URI (a name server lookup's answer) takes a short cut: the same URI."""
    from Pyro5 import core
    ser = serializers.serializers["serpent"]
    data = ser.dumps(core.URI(text))
    generic = ser._load_recreating(_serpent_fast.loads, data)
    loaded = ser.loads(data)
    assert type(loaded) is type(generic) is core.URI
    assert loaded.__getstate__() == generic.__getstate__() and str(loaded) == str(generic)


def test_uri_short_cut_leaves_everything_else_to_the_generic_path():
    from Pyro5 import core, errors
    ser = serializers.serializers["serpent"]
    start = serializers._SERPENT_URI_START
    assert serializers._serpent_uri_fast(start + b"'PYRO','x',None,'h',1),'extra':1}") is None
    assert serializers._serpent_uri_fast(start + b"'PYRO','it\\'s',None,'h',1)}") is None
    assert ser.loads(start + b"'PYRO','it\\'s',None,'h',1)}").object == "it's"
    with pytest.raises(errors.SerializeError):      # (the same check as the generic path: a bad protocol)
        ser.loads(start + b"'HTTP','x',None,'h',1)}")
    serializers.register_dict_to_class("Pyro5.core.URI", lambda name, d: ("custom", d["state"][1]))
    try:        # a converter registered for the URI is used, as for any other class
        assert ser.loads(ser.dumps(core.URI("PYRO:x@h:1"))) == ("custom", "x")
    finally:
        serializers.unregister_dict_to_class("Pyro5.core.URI")


# ---- the one-step paths for a usual small call and its reply (dumps_call, loads_call, loads_plain)
PLAIN_LEAVES = ["", "hello", "it's", 'say "hi"', "tab\there", "new\nline", "back\\slash", "é ü €", "\U0001f600",
                "\x7f", "\u2028", "(", ")", "(1,2)", ",", "[x]", "{a:1}", ":", "__class__", "None", "'", "a'b'c",
                0, 1, -1, 42, -0, 10 ** 17, 10 ** 18 - 1, 10 ** 18, -(10 ** 18), 2 ** 64, -(2 ** 70), 10 ** 40,
                True, False, None, 0.0, -0.0, 1.5, 1e-7, 1e300, float("inf"), float("nan"), b"by", 3j]


def random_plain(rnd: random.Random, depth: int = 0):
    """Mostly the shapes of usual calls and replies (flat tuples, lists and str-keyed dicts), sometimes not."""
    if depth > 2 or rnd.random() < 0.3:
        return rnd.choice(PLAIN_LEAVES)
    size = rnd.choice([0, 1, 1, 2, 2, 3, 5, 9])
    kind = rnd.randrange(6)
    if kind <= 1:
        return tuple(random_plain(rnd, depth + 2) for _ in range(size))
    if kind == 2:
        return [random_plain(rnd, depth + 2) for _ in range(size)]
    if kind == 3:
        return {rnd.choice(["a", "b", "__class__", "value", "it's", 1, None]): random_plain(rnd, depth + 2)
                for _ in range(size)}
    if kind == 4:
        return {rnd.choice([1, 2, "x"]) for _ in range(size)}
    return tuple(random_plain(rnd, depth + 1) for _ in range(size))


def generic_loads(data: bytes):
    """What SerpentSerializer read before the one-step paths (and still reads for everything else)."""
    ser = serializers.serializers["serpent"]
    try:
        return "ok", ser._load_recreating(_serpent_fast.loads, data)
    except Exception as x:  # noqa: BLE001 - the one-step path must fail the same way
        return "error", type(x), _without_addresses(str(x))


def _without_addresses(message: str) -> str:
    return re.sub(" at 0x[0-9a-f]+", "", message)


def serializer_loads(function, data):
    try:
        return "ok", function(data)
    except Exception as x:  # noqa: BLE001
        return "error", type(x), _without_addresses(str(x))


def same_result(a, b) -> bool:
    return a[0] == b[0] and (same(a[1], b[1]) if a[0] == "ok" else a == b)


def test_calls_of_random_arguments_are_serpents_bytes_and_values():
    ser = serializers.serializers["serpent"]
    rnd = random.Random(12)
    one_step_dumps = one_step_loads = 0
    for _ in range(4000):
        obj = rnd.choice(["obj_12345", "", "it's", "PYRO:x@h:1", "é"])
        method = rnd.choice(["echo", "m", "__class__", "a'b"])
        vargs = random_plain(rnd)
        if type(vargs) is not tuple:
            vargs = (vargs,) if rnd.random() < 0.5 else [vargs]
        kwargs = rnd.choice([{}, {}, {}, {"k": random_plain(rnd, 2)}, {"a": 1, "b": "x"}, {"__class__": "float", "value": "nan"}])
        try:
            expected = serpent_bytes((obj, method, vargs, kwargs))
        except (TypeError, ValueError):
            continue
        fast = _serpent_fast.dumps_call(obj, method, vargs, kwargs)
        if fast is not None:
            one_step_dumps += 1
            assert fast == expected
        data = ser.dumpsCall(obj, method, vargs, kwargs)
        assert data == expected
        if _serpent_fast.loads_call(data) is not None:
            one_step_loads += 1
        for variant in (data, bytearray(data), memoryview(data)):
            got = serializer_loads(ser.loadsCall, variant)
            reference = generic_loads(data)
            if reference[0] == "ok" and (type(reference[1]) is not tuple or len(reference[1]) != 4):
                reference = ("error",)
            assert got[0] == reference[0] and (got[0] != "ok" or same(got[1], reference[1])), data
            assert got[0] != "ok" or same(got[1], serpent.loads(data)) or "__class__" in data.decode(), data
    assert one_step_dumps > 250 and one_step_loads > 200


def test_replies_of_random_values_are_serpents_bytes_and_values():
    ser = serializers.serializers["serpent"]
    rnd = random.Random(13)
    one_step = 0
    for _ in range(4000):
        value = random_plain(rnd)
        try:
            expected = serpent_bytes(value)
        except (TypeError, ValueError):
            continue
        data = ser.dumps(value)
        assert data == expected
        if _serpent_fast.loads_plain(data) is not _serpent_fast._NOT_PLAIN:
            one_step += 1
            assert same(_serpent_fast.loads_plain(data), serpent.loads(data)), data
        for variant in (data, bytearray(data), memoryview(data)):
            assert same_result(serializer_loads(ser.loads, variant), generic_loads(data)), data
    assert one_step > 500


CALL_BASES = ["('obj_12345','echo',('hello',42),{})", "('o','m',(),{})", "('o','m',('x',),{})", "('o','m',[1,'a'],{})",
              "('o','m',[],{'k':'v','n':-3})", "('o','m',(-0,0,123456789012345678),{})"]
REPLY_BASES = ["('hello',42)", "['a','b',7]", "'text'", "-42", "None", "{'a':1,'b':'x'}", "(1,)", "[]", "()", "{}"]
CALL_MUTATIONS = MUTATIONS + ["1" * 19, "\x00", "\x1f", "\\'", "'a'", "(1,)", "{'__class__':'float','value':'nan'}",
                              "__class__", "0x1", "1.5", "1e5", "-", "--", "''", "\U0001f600", "\ud800"]


@pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::SyntaxWarning")
def test_mutated_calls_and_replies_load_as_the_generic_path_loads_them():
    """Malformed and unusual texts near the one-step shapes: the same value, or the same error, as before."""
    ser = serializers.serializers["serpent"]
    rnd = random.Random(14)
    for _ in range(5000):
        text = rnd.choice(CALL_BASES + REPLY_BASES)
        for _ in range(rnd.randrange(1, 3)):
            pos = rnd.randrange(0, len(text) + 1)
            text = text[:pos] + rnd.choice(CALL_MUTATIONS) + text[pos + rnd.randrange(0, 3):]
        data = (_serpent_fast.HEADER + text).encode("utf-8", "surrogatepass")
        reference = generic_loads(data)
        assert same_result(serializer_loads(ser.loads, data), reference), data
        call = _serpent_fast.loads_call(data)
        if call is not None:
            assert reference[0] == "ok" and same(call, reference[1]), data
        plain = _serpent_fast.loads_plain(data)
        if plain is not _serpent_fast._NOT_PLAIN:
            assert reference[0] == "ok" and same(plain, reference[1]), data


def test_class_dicts_hostile_and_huge_input_take_the_generic_path():
    ser = serializers.serializers["serpent"]
    header = _serpent_fast.HEADER.encode()
    nan_dict = header + b"{'__class__':'float','value':'nan'}"
    assert _serpent_fast.loads_plain(nan_dict) is _serpent_fast._NOT_PLAIN
    assert math.isnan(ser.loads(nan_dict))
    call = header + b"('o','m',(),{'__class__':'float','value':'nan'})"
    assert _serpent_fast.loads_call(call) is None
    assert math.isnan(ser.loadsCall(call)[3])       # (recreate_classes turns the kwargs dict into the float)
    big = header + b"('o','m',('" + b"x" * 40000 + b"',),{})"
    assert _serpent_fast.loads_call(big) is None and ser.loadsCall(big)[2] == ("x" * 40000,)
    huge_int = header + b"('o','m',(" + b"9" * 5000 + b",),{})"
    with pytest.raises(serializers.errors.SerializeError) as fast_error:
        ser.loadsCall(huge_int)
    assert "cannot deserialize" in str(fast_error.value)
    deep = header + b"('o','m',(" + b"(" * 300 + b"1" + b",)" * 300 + b",),{})"
    with pytest.raises(serializers.errors.SerializeError):
        ser.loadsCall(deep)
    for bad in (header + b"('o','m',('\xff',),{})", header + b"('o','m',('\x00',),{})", header + b"('o','m',(1,2,),{})",
                header + b"('o','m',(1 ,2),{})", b"# serpent utf-8 python2.6\n('o','m',(),{})"):
        assert _serpent_fast.loads_call(bad) is None
        assert same_result(serializer_loads(ser.loadsCall, bad), serializer_loads(
            lambda d: serializers._call_tuple(ser._load_recreating(_serpent_fast.loads, d)), bad)), bad


def test_dumps_call_declines_what_is_not_plain():
    class MyStr(str):
        pass
    assert _serpent_fast.dumps_call("o", "m", ("a", 1), {}) == serpent_bytes(("o", "m", ("a", 1), {}))
    for obj, method, vargs, kwargs in (("o", "m", ["a"], {}), ("o", "m", ("a",), {"k": 1}), ("o", "m", (1.5,), {}),
                                       ("o", "m", (MyStr("x"),), {}), (MyStr("o"), "m", (), {}), ("o", "m", (), None),
                                       ("o", "m", ((1,),), {}), ("o", "m", (b"x",), {})):
        assert _serpent_fast.dumps_call(obj, method, vargs, kwargs) is None
