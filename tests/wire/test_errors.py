"""Pyro5.errors: the exception hierarchy and the (remote) traceback helpers."""
from __future__ import annotations

import builtins
import os
import subprocess
import sys
import textwrap

import pytest

import Pyro5
from Pyro5 import errors

HIERARCHY = [
    ("PyroError", "Exception"),
    ("NamingError", "PyroError"),
    ("DaemonError", "PyroError"),
    ("SecurityError", "PyroError"),
    ("CommunicationError", "PyroError"),
    ("ConnectionClosedError", "CommunicationError"),
    ("TimeoutError", "CommunicationError"),
    ("ProtocolError", "CommunicationError"),
    ("MessageTooLargeError", "ProtocolError"),
    ("SerializeError", "ProtocolError"),
]


@pytest.mark.parametrize("name,parent", HIERARCHY)
def test_hierarchy(name, parent):
    cls = getattr(errors, name)
    base = getattr(errors, parent, None) or getattr(builtins, parent)
    assert cls.__bases__ == (base,)
    assert issubclass(cls, errors.PyroError) or cls is errors.PyroError
    # on the wire errors travel as Pyro5.errors.<Name>
    assert cls.__module__ == "Pyro5.errors" and cls.__qualname__ == name
    assert str(cls("what went wrong")) == "what went wrong"


def test_not_related_by_accident():
    assert not issubclass(errors.NamingError, errors.CommunicationError)
    assert not issubclass(errors.SerializeError, errors.MessageTooLargeError)
    assert errors.TimeoutError is not builtins.TimeoutError
    assert not issubclass(errors.TimeoutError, builtins.TimeoutError)
    assert set(errors.__all__) >= {name for name, _ in HIERARCHY}


def _level3(arg):
    secret_local = {"answer": 42}  # noqa: F841 - must appear in the detailed traceback
    return arg // 2


def _level2(text):
    helper_value = "helper-" + text  # noqa: F841
    return _level3(text)


def _raise_typeerror():
    try:
        _level2("going down...")
    except TypeError:
        return sys.exc_info()
    raise AssertionError("no exception")


def test_format_traceback_plain_from_exc_info():
    try:
        _level2("x")
    except TypeError:
        lines = errors.format_traceback()
    text = "".join(lines)
    assert isinstance(lines, list) and all(isinstance(x, str) for x in lines)
    assert text.startswith("Traceback (most recent call last):")
    assert "in _level3" in text and "return arg // 2" in text
    assert text.rstrip().endswith("TypeError: unsupported operand type(s) for //: 'str' and 'int'")
    assert "secret_local" not in text


def test_format_traceback_detailed_shows_source_and_locals():
    ex_type, ex_value, ex_tb = _raise_typeerror()
    lines = errors.format_traceback(ex_type, ex_value, ex_tb, detailed=True)
    text = "".join(lines)
    assert " EXCEPTION <class 'TypeError'>: unsupported operand type(s) for //: 'str' and 'int'" in text
    assert "Extended stacktrace follows (most recent call last)" in text
    assert "Source code:\n    return arg // 2\n" in text
    assert "Local values:\n" in text
    assert "    arg = 'going down...'\n" in text
    assert "    secret_local = {'answer': 42}\n" in text
    assert "    helper_value = 'helper-going down...'\n" in text
    assert 'line ' in text and __file__ in text
    # frames appear in order, the last frame is the one that raised
    assert text.index("in _level2") < text.index("in _level3")
    assert lines[-2].startswith(" EXCEPTION <class 'TypeError'>")


class _BadRepr:
    def __repr__(self):
        raise RuntimeError("repr exploded")


class _Worker:
    def crash(self, value):
        broken = _BadRepr()  # noqa: F841
        huge = "x" * 100000  # noqa: F841
        raise ValueError("bad value %r" % value)


def test_format_traceback_detailed_robust_against_failing_and_huge_reprs():
    try:
        _Worker().crash(7)
    except ValueError:
        lines = errors.format_traceback(detailed=True)
    text = "".join(lines)
    assert "broken = <ERROR IN REPR: RuntimeError: repr exploded>" in text
    assert "in _Worker.crash" in text  # method frames show Class.method
    assert "value = 7" in text
    assert len(text) < 20000  # the huge local value got truncated
    assert "characters more" in text


def test_format_traceback_takes_exception_value_only():
    try:
        raise KeyError("k")
    except KeyError as x:
        exc = x
    text = "".join(errors.format_traceback(None, exc, None))
    assert "KeyError: 'k'" in text and "raise KeyError" in text


def _remote_exception():
    exc = ZeroDivisionError("division by zero")
    exc._pyroTraceback = [
        "Traceback (most recent call last):\n",
        '  File "/srv/app.py", line 12, in div\n    return a // b\n',
        "ZeroDivisionError: division by zero\n",
    ]
    return exc


def test_get_pyro_traceback_without_remote_part():
    try:
        _level2("y")
    except TypeError:
        lines = errors.get_pyro_traceback()
    text = "".join(lines)
    assert "TypeError" in text and "Remote traceback" not in text


def test_get_pyro_traceback_with_remote_part():
    try:
        raise _remote_exception()
    except ZeroDivisionError:
        lines = errors.get_pyro_traceback()
    text = "".join(lines)
    local, _, remote = text.partition(" +--- This exception occured remotely (Pyro) - Remote traceback:\n")
    assert local.startswith("Traceback (most recent call last):")
    assert "ZeroDivisionError: division by zero" in local
    assert remote.splitlines() == [
        " | Traceback (most recent call last):",
        ' |   File "/srv/app.py", line 12, in div',
        " |     return a // b",
        " | ZeroDivisionError: division by zero",
        " +--- End of remote traceback",
    ]


def test_get_pyro_traceback_explicit_args_and_exception_object():
    exc = _remote_exception()
    try:
        raise exc
    except ZeroDivisionError:
        info = sys.exc_info()
    text1 = "".join(errors.get_pyro_traceback(*info))
    text2 = "".join(errors.get_pyro_traceback(exc))
    assert "Remote traceback" in text1 and text1 == text2
    with pytest.raises(TypeError):
        errors.get_pyro_traceback("not an exception")


def test_get_pyro_traceback_detailed_when_configured():
    Pyro5.config.DETAILED_TRACEBACK = True
    try:
        _level2("z")
    except TypeError:
        text = "".join(errors.get_pyro_traceback())
    assert "Local values:" in text and "secret_local = {'answer': 42}" in text


def test_excepthook_writes_remote_traceback_to_stderr(capsys):
    try:
        raise _remote_exception()
    except ZeroDivisionError:
        errors.excepthook(*sys.exc_info())
    err = capsys.readouterr().err
    assert "ZeroDivisionError: division by zero" in err
    assert " +--- This exception occured remotely (Pyro) - Remote traceback:" in err
    assert ' |   File "/srv/app.py", line 12, in div' in err
    assert err.rstrip().endswith("+--- End of remote traceback")


def test_excepthook_as_sys_excepthook_in_a_process():
    code = textwrap.dedent("""
        import sys
        import Pyro5.errors
        sys.excepthook = Pyro5.errors.excepthook
        exc = Pyro5.errors.NamingError("unknown name: foo")
        exc._pyroTraceback = ["Traceback (most recent call last):\\n", "NamingError: remote side\\n"]
        raise exc
    """)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYRO_")}
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert p.returncode == 1
    assert "Pyro5.errors.NamingError: unknown name: foo" in p.stderr
    assert " | NamingError: remote side" in p.stderr
    assert " +--- End of remote traceback" in p.stderr


def test_detailed_traceback_leaves_out_module_globals():
    code = textwrap.dedent("""
        import Pyro5.errors
        GLOBAL_MARKER = "should not be listed"
        def fail(x):
            y = x * 2
            raise RuntimeError("boom %d" % y)
        try:
            fail(21)
        except RuntimeError:
            print("".join(Pyro5.errors.format_traceback(detailed=True)))
    """)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYRO_")}
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert p.returncode == 0, p.stderr
    assert "GLOBAL_MARKER" not in p.stdout
    assert "    x = 21\n    y = 42\n" in p.stdout
    assert " EXCEPTION <class 'RuntimeError'>: boom 42" in p.stdout


@pytest.mark.interop
def test_remote_traceback_text_matches_the_original_pyro5():
    from tests._support import refpyro
    code = textwrap.dedent("""
        import Pyro5.errors
        x = ZeroDivisionError("div")
        x._pyroTraceback = ["Traceback (most recent call last):\\n", "  File 'a.py', line 1, in f\\n",
                            "ZeroDivisionError: division by zero\\n"]
        try:
            raise x
        except Exception:
            text = "".join(Pyro5.errors.get_pyro_traceback())
        print(text[text.index("ZeroDivisionError: div"):], end="")
    """)
    theirs = refpyro.run_orig(code).stdout.decode()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYRO_")}
    ours = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert ours.returncode == 0, ours.stderr
    assert ours.stdout == theirs
    assert "Remote traceback" in theirs
