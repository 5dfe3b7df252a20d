"""Pyro5.configure: defaults, PYRO_* environment overrides, reset, as_dict, dump, the CLI."""
from __future__ import annotations

import os
import platform
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import Pyro5
from Pyro5.configure import Configuration

# Every item of the manual's "Overview of Config Items" table: name, type, default.
DEFAULTS = [
    ("COMMTIMEOUT", float, 0.0),
    ("COMPRESSION", bool, False),
    ("DETAILED_TRACEBACK", bool, False),
    ("HOST", str, "localhost"),
    ("MAX_MESSAGE_SIZE", int, 1073741824),
    ("NS_HOST", str, "localhost"),
    ("NS_PORT", int, 9090),
    ("NS_BCPORT", int, 9091),
    ("NS_BCHOST", type(None), None),
    ("NS_AUTOCLEAN", float, 0.0),
    ("NS_LOOKUP_DELAY", float, 0.0),
    ("NATHOST", type(None), None),
    ("NATPORT", int, 0),
    ("BROADCAST_ADDRS", list, ["<broadcast>", "0.0.0.0"]),
    ("ONEWAY_THREADED", bool, True),
    ("POLLTIMEOUT", float, 2.0),
    ("SERVERTYPE", str, "thread"),
    ("SOCK_REUSE", bool, True),
    ("SOCK_NODELAY", bool, False),
    ("PREFER_IP_VERSION", int, 0),
    ("SERPENT_BYTES_REPR", bool, False),
    ("THREADPOOL_SIZE", int, 80),
    ("THREADPOOL_SIZE_MIN", int, 4),
    ("THREADPOOL_PER_CONNECTION", bool, False),   # (ours, not in the manual: issue 16, see docs/differences.md)
    ("SERIALIZER", str, "serpent"),
    ("LOGWIRE", bool, False),
    ("MAX_RETRIES", int, 0),
    ("ITER_STREAMING", bool, True),
    ("ITER_STREAM_LIFETIME", float, 0.0),
    ("ITER_STREAM_LINGER", float, 30.0),
    ("SSL", bool, False),
    ("SSL_SERVERCERT", str, ""),
    ("SSL_SERVERKEY", str, ""),
    ("SSL_SERVERKEYPASSWD", str, ""),
    ("SSL_REQUIRECLIENTCERT", bool, False),
    ("SSL_CLIENTCERT", str, ""),
    ("SSL_CLIENTKEY", str, ""),
    ("SSL_CLIENTKEYPASSWD", str, ""),
    ("SSL_CACERTS", str, ""),
    # the two logging items (environment only in effect at import, but visible as items like the original)
    ("LOGLEVEL", type(None), None),
    ("LOGFILE", str, "pyro5.log"),   # the original 5.15 (the manual says pyro.log)
]
MANUAL_NAMES = {name for name, _, _ in DEFAULTS}
# items of ours beyond the manual's table (listed on the differences page)
OUR_ITEMS = [
    ("MAX_PREHANDSHAKE_SIZE", int, 64 * 1024),     # what a connection may send before its handshake
    ("ASYNC_POOL_SIZE", int, 4),                   # connections of one AsyncProxy (issue 10)
    ("SHARED_POOL_SIZE", int, 4),                  # connections of one Proxy(shared=True) without INFL (issue 11)
    ("CALL_TRACKING", bool, False),                # in-flight call table + statistics for every daemon (issue 14)
    ("WATCHDOG_THRESHOLD", float, 0.0),            # seconds after which a running call is logged (issue 14)
    ("OPENTELEMETRY", bool, False),                # trace calls with opentelemetry-api (issue 14)
    ("NS_LOOKUP_CACHE", float, 0.0),               # seconds a proxy reuses a PYRONAME lookup; 0 = off (issue 12)
]
DEFAULTS += OUR_ITEMS
ALL_NAMES = {name for name, _, _ in DEFAULTS}


def _clean_env(**extra: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYRO_")}
    env.update(extra)
    return env


@pytest.fixture
def no_pyro_env(monkeypatch):
    for k in [k for k in os.environ if k.startswith("PYRO_")]:
        monkeypatch.delenv(k)
    return monkeypatch


@pytest.mark.parametrize("name,kind,default", DEFAULTS, ids=[d[0] for d in DEFAULTS])
def test_default_value_and_type(name, kind, default, no_pyro_env):
    cfg = Configuration()
    value = getattr(cfg, name)
    assert value == default
    assert type(value) is kind
    assert getattr(Pyro5.config, name) == default  # the conftest reset the global config to the defaults


def test_items_are_exactly_the_manuals_table_plus_ours():
    assert set(Pyro5.config.as_dict()) - {name for name, _, _ in OUR_ITEMS} == MANUAL_NAMES
    assert set(Pyro5.config.as_dict()) == ALL_NAMES
    assert set(Configuration.__slots__) == ALL_NAMES


def test_every_item_has_a_declared_type_for_type_checkers():
    """Configuration declares each item's type (what mypy sees for `config.X`); a new item needs one too."""
    import typing

    from Pyro5 import configure
    hints = typing.get_type_hints(Configuration)
    assert set(configure._ITEMS) <= set(hints)
    for name, (kind, _default) in configure._ITEMS.items():
        declared = hints[name]
        assert kind in (declared, typing.get_origin(declared)) or kind in typing.get_args(declared), \
            (name, kind, declared)


def test_broadcast_addrs_is_a_fresh_list_each_reset():
    cfg = Configuration(use_environment=False)
    cfg.BROADCAST_ADDRS.append("127.255.255.255")
    cfg.reset(use_environment=False)
    assert cfg.BROADCAST_ADDRS == ["<broadcast>", "0.0.0.0"]
    assert Configuration(use_environment=False).BROADCAST_ADDRS == ["<broadcast>", "0.0.0.0"]


ENV_OVERRIDES = [
    ("COMMTIMEOUT", "1.5", 1.5),
    ("POLLTIMEOUT", " 0.25 ", 0.25),
    ("NS_AUTOCLEAN", "3", 3.0),
    ("NS_PORT", "12345", 12345),
    ("MAX_MESSAGE_SIZE", "1000", 1000),
    ("PREFER_IP_VERSION", "6", 6),
    ("COMPRESSION", "true", True),
    ("COMPRESSION", "TRUE", True),
    ("COMPRESSION", "Yes", True),
    ("COMPRESSION", "on", True),
    ("COMPRESSION", "1", True),
    ("SOCK_REUSE", "false", False),
    ("SOCK_REUSE", "No", False),
    ("SOCK_REUSE", "OFF", False),
    ("SOCK_REUSE", "0", False),
    ("SERVERTYPE", "multiplex", "multiplex"),
    ("SERIALIZER", "msgpack", "msgpack"),
    ("NATHOST", "nat.example.com", "nat.example.com"),
    ("NS_BCHOST", "127.0.0.1", "127.0.0.1"),
    ("SSL_CACERTS", "/etc/certs/ca.pem", "/etc/certs/ca.pem"),
    ("BROADCAST_ADDRS", "127.255.255.255, 10.0.0.255", ["127.255.255.255", "10.0.0.255"]),
    ("BROADCAST_ADDRS", "<broadcast>", ["<broadcast>"]),
]


@pytest.mark.parametrize("name,text,expected", ENV_OVERRIDES)
def test_environment_override(name, text, expected, no_pyro_env):
    no_pyro_env.setenv("PYRO_" + name, text)
    cfg = Configuration()
    assert getattr(cfg, name) == expected
    assert type(getattr(cfg, name)) is type(expected)
    Pyro5.config.reset()  # the global config reads the environment on reset too
    assert getattr(Pyro5.config, name) == expected


def test_ns_host_follows_host_unless_set(no_pyro_env):
    no_pyro_env.setenv("PYRO_HOST", "myhost")
    cfg = Configuration()
    assert cfg.HOST == "myhost" and cfg.NS_HOST == "myhost"
    no_pyro_env.setenv("PYRO_NS_HOST", "nshost")
    cfg.reset()
    assert cfg.HOST == "myhost" and cfg.NS_HOST == "nshost"


BAD_ENV = [
    ("COMMTIMEOUT", "abc", "PYRO_COMMTIMEOUT='abc' is not a valid float"),
    ("NS_PORT", "90x", "PYRO_NS_PORT='90x' is not a valid int"),
    ("THREADPOOL_SIZE", "1.5", "PYRO_THREADPOOL_SIZE='1.5' is not a valid int"),
    ("COMPRESSION", "maybe", "PYRO_COMPRESSION='maybe' is not a valid bool"),
    ("SSL", "", "PYRO_SSL='' is not a valid bool"),
]


@pytest.mark.parametrize("name,text,message", BAD_ENV)
def test_bad_environment_value(name, text, message, no_pyro_env):
    no_pyro_env.setenv("PYRO_" + name, text)
    with pytest.raises(ValueError) as exc:
        Configuration()
    assert message in str(exc.value)
    # without the environment the same process still gets a working config
    assert getattr(Configuration(use_environment=False), name) == dict((d[0], d[2]) for d in DEFAULTS)[name]


def test_reset_with_and_without_environment(no_pyro_env):
    no_pyro_env.setenv("PYRO_COMPRESSION", "yes")
    no_pyro_env.setenv("PYRO_NS_PORT", "7777")
    cfg = Pyro5.config
    cfg.SERVERTYPE = "multiplex"
    cfg.reset()
    assert cfg.COMPRESSION is True and cfg.NS_PORT == 7777 and cfg.SERVERTYPE == "thread"
    cfg.reset(use_environment=False)
    assert cfg.COMPRESSION is False and cfg.NS_PORT == 9090
    cfg.reset(True)
    assert cfg.COMPRESSION is True


def test_unknown_environment_variables_are_ignored(no_pyro_env):
    no_pyro_env.setenv("PYRO_NO_SUCH_ITEM", "1")
    assert Configuration().as_dict() == Configuration(use_environment=False).as_dict()


def test_items_can_be_changed():
    Pyro5.config.COMPRESSION = True
    Pyro5.config.SERVERTYPE = "multiplex"
    assert Pyro5.config.COMPRESSION is True
    assert Pyro5.config.as_dict()["SERVERTYPE"] == "multiplex"


def test_unknown_item_raises_clear_attribute_error():
    with pytest.raises(AttributeError) as exc:
        Pyro5.config.COMPRESION = True  # typo
    assert "unknown Pyro config item 'COMPRESION'" in str(exc.value)
    assert "COMPRESSION" in str(exc.value)  # lists the valid names
    with pytest.raises(AttributeError, match="unknown Pyro config item 'NOPE'"):
        Pyro5.config.NOPE  # noqa: B018
    assert not hasattr(Pyro5.config, "__dict__")


def test_as_dict_and_copy():
    d = Pyro5.config.as_dict()
    assert d == {name: default for name, _, default in DEFAULTS}
    d["HOST"] = "changed"
    assert Pyro5.config.HOST == "localhost"  # as_dict is a snapshot
    other = Pyro5.config.copy()
    assert other.as_dict() == Pyro5.config.as_dict()
    other.BROADCAST_ADDRS.append("x")
    other.HOST = "elsewhere"
    assert Pyro5.config.HOST == "localhost" and "x" not in Pyro5.config.BROADCAST_ADDRS


def _check_dump(text: str, overrides: dict[str, str] | None = None) -> None:
    lines = text.splitlines()
    assert lines[0] == "Pyro version: " + Pyro5.__version__
    assert lines[1].startswith("Loaded from: ")
    assert Path(lines[1][len("Loaded from: "):]).joinpath("configure.py").exists()
    assert lines[2] == "Python version: %s %s (%s, %s)" % (platform.python_implementation(),
                                                           platform.python_version(), platform.system(), os.name)
    assert lines[3] == "Protocol version: 502"
    assert lines[4] == "Currently active global configuration settings:"
    items = lines[5:]
    assert items == sorted(items)
    assert len(items) == len(ALL_NAMES)
    expected = {name: str(default) for name, _, default in DEFAULTS}
    expected.update(overrides or {})
    assert dict(line.split(" = ", 1) if " = " in line else (line[:-2], "") for line in items) == expected


def test_dump():
    text = Pyro5.config.dump()
    _check_dump(text)
    assert "BROADCAST_ADDRS = ['<broadcast>', '0.0.0.0']" in text.splitlines()
    assert "COMMTIMEOUT = 0.0" in text.splitlines()
    Pyro5.config.COMPRESSION = True
    assert "COMPRESSION = True" in Pyro5.config.dump().splitlines()


def test_python_m_configure_prints_dump():
    env = _clean_env(PYRO_COMPRESSION="on", PYRO_NS_PORT="4444")
    p = subprocess.run([sys.executable, "-W", "error", "-m", "Pyro5.configure"], capture_output=True, text=True,
                       env=env, timeout=60)
    assert p.returncode == 0, p.stderr
    assert p.stderr == ""  # no runpy RuntimeWarning about Pyro5.configure being imported by the package
    _check_dump(p.stdout, {"COMPRESSION": "True", "NS_PORT": "4444"})


def test_python_m_configure_bad_env_value_fails_clearly():
    p = subprocess.run([sys.executable, "-m", "Pyro5.configure"], capture_output=True, text=True,
                       env=_clean_env(PYRO_COMMTIMEOUT="abc"), timeout=60)
    assert p.returncode != 0
    assert "PYRO_COMMTIMEOUT='abc' is not a valid float" in p.stderr


def _console_script() -> str | None:
    candidate = Path(sys.executable).with_name("pyro5-check-config")
    if candidate.exists():
        return str(candidate)
    return shutil.which("pyro5-check-config")


def test_pyro5_check_config_console_script():
    script = _console_script()
    if script is None:
        pytest.skip("pyro5-check-config console script is not installed in this environment")
    p = subprocess.run([script], capture_output=True, text=True, env=_clean_env(PYRO_SERVERTYPE="multiplex"),
                       timeout=60)
    assert p.returncode == 0, p.stderr
    _check_dump(p.stdout, {"SERVERTYPE": "multiplex"})
    p = subprocess.run([script, "--help"], capture_output=True, text=True, env=_clean_env(), timeout=60)
    assert p.returncode == 0 and "pyro5-check-config" in p.stdout


def test_main_function(capsys):
    from Pyro5.configure import main
    assert main([]) == 0
    _check_dump(capsys.readouterr().out)
