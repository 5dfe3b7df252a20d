"""The Pyro5 package itself: namespace set-up, version, config, current_context, logging, 5.x warning."""
from __future__ import annotations

import ast
import os
import subprocess
import sys
import threading
import uuid
from pathlib import Path

import pytest

import Pyro5
from Pyro5 import callcontext, configure, errors


def _env(**extra: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYRO_")}
    env.update(extra)
    return env


def _run(code: str, cwd: Path, **envvars: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=str(cwd),
                          env=_env(**envvars), timeout=60)


def test_first_statement_extends_the_namespace_path():
    source = Path(Pyro5.__file__).read_text()
    first = ast.parse(source).body[0]
    assert ast.unparse(first) == "__path__ = __import__('pkgutil').extend_path(__path__, __name__)"
    assert source.splitlines()[0] == '__path__ = __import__("pkgutil").extend_path(__path__, __name__)'


def test_version_config_and_context():
    assert Pyro5.__version__ == "6.0.0"
    assert isinstance(Pyro5.config, configure.Configuration)
    assert Pyro5.current_context is callcontext.current_context
    assert (Path(Pyro5.__file__).parent / "py.typed").exists()


def test_current_context_defaults():
    ctx = Pyro5.current_context
    assert ctx.client is None and ctx.client_sock_addr is None
    assert ctx.seq == 0 and ctx.msg_flags == 0 and ctx.serializer_id == 0
    assert ctx.annotations == {} and ctx.response_annotations == {}
    assert ctx.correlation_id is None


def test_current_context_is_thread_local():
    ctx = Pyro5.current_context
    ctx.correlation_id = uuid.uuid4()
    ctx.annotations = {"XYZZ": b"data"}
    seen = {}

    def worker():
        seen["before"] = (ctx.correlation_id, dict(ctx.annotations), ctx.seq)
        ctx.seq = 99

    t = threading.Thread(target=worker)
    t.start()
    t.join(10)
    assert not t.is_alive()
    assert seen["before"] == (None, {}, 0)
    assert ctx.seq == 0
    ctx.correlation_id = None
    ctx.annotations = {}


def test_context_to_global_and_from_global():
    ctx = Pyro5.current_context
    corr = uuid.uuid4()
    ctx.correlation_id = corr
    ctx.seq = 17
    ctx.client_sock_addr = ("127.0.0.1", 5555)
    values = ctx.to_global()
    assert values["correlation_id"] == corr and values["seq"] == 17
    result = {}

    def worker():
        ctx.from_global(values)
        result.update(ctx.to_global())

    t = threading.Thread(target=worker)
    t.start()
    t.join(10)
    assert result == values
    ctx.from_global({"correlation_id": None, "seq": 0, "client_sock_addr": None})
    assert ctx.to_global()["seq"] == 0


class _FakeConnection:
    def __init__(self):
        self.tracked_resources = set()


def test_track_resource():
    ctx = Pyro5.current_context
    resource = object()
    with pytest.raises(errors.PyroError, match="cannot track resource on a connectionless call"):
        ctx.track_resource(resource)
    with pytest.raises(errors.PyroError, match="cannot untrack"):
        ctx.untrack_resource(resource)
    conn = _FakeConnection()
    ctx.client = conn
    try:
        ctx.track_resource(resource)
        assert conn.tracked_resources == {resource}
        ctx.untrack_resource(resource)
        ctx.untrack_resource(resource)  # untracking twice is harmless
        assert conn.tracked_resources == set()
    finally:
        ctx.client = None


LOG_CODE = "import logging, Pyro5; logging.getLogger('Pyro5.test').warning('hello from the test')"


def test_pyro_logger_is_quiet_without_loglevel(tmp_path):
    # as the original 5.15: level 9999 on the "Pyro5" logger, no handlers, nothing written anywhere
    code = ("import logging, Pyro5; lg = logging.getLogger('Pyro5'); "
            "print(len(lg.handlers), lg.level, len(logging.getLogger().handlers)); "
            "logging.getLogger('Pyro5.server').warning('unconfigured')")
    p = _run(code, tmp_path, PYRO_LOGFILE=str(tmp_path / "x.log"))
    assert p.returncode == 0, p.stderr
    assert p.stdout.split() == ["0", "9999", "0"]
    assert "unconfigured" not in p.stderr  # no last-resort printing of library warnings
    assert not (tmp_path / "x.log").exists() and not (tmp_path / "pyro5.log").exists()


QUIET_CODE = """
import logging, sys
logging.basicConfig(stream=sys.stdout, level=logging.DEBUG, format='%(name)s:%(message)s')
import Pyro5
logging.getLogger('Pyro5.core').debug('pyro-debug')
logging.getLogger('Pyro5.server').warning('pyro-warning')
logging.getLogger('app').debug('app-debug')
logging.getLogger('Pyro5').setLevel(logging.WARNING)     # an application that wants Pyro's warnings asks so
logging.getLogger('Pyro5.server').warning('asked-warning')
"""


def test_unconfigured_pyro_records_do_not_reach_the_applications_root_logger(tmp_path):
    p = _run(QUIET_CODE, tmp_path)
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert lines == ["app:app-debug", "Pyro5.server:asked-warning"]


@pytest.mark.interop
def test_unconfigured_logging_is_as_quiet_as_the_original(tmp_path):
    from tests._support import refpyro
    p = refpyro.run_orig(QUIET_CODE)
    assert p.stdout.decode().splitlines() == _run(QUIET_CODE, tmp_path).stdout.splitlines()


def test_logging_to_stderr(tmp_path):
    p = _run(LOG_CODE, tmp_path, PYRO_LOGLEVEL="DEBUG", PYRO_LOGFILE="{stderr}")
    assert p.returncode == 0, p.stderr
    assert "Pyro5,INFO] Pyro log configured using built-in defaults, level=DEBUG" in p.stderr
    assert "Pyro5.test,WARNING] hello from the test" in p.stderr
    assert not (tmp_path / "pyro5.log").exists()


def test_logging_to_default_file_pyro5_log(tmp_path):
    # the original 5.15's default log file is pyro5.log (its manual says pyro.log): programs rely on the former
    p = _run(LOG_CODE, tmp_path, PYRO_LOGLEVEL="info")
    assert p.returncode == 0, p.stderr
    text = (tmp_path / "pyro5.log").read_text()
    assert "Pyro log configured" in text and "hello from the test" in text
    assert "hello from the test" not in p.stderr
    assert not (tmp_path / "pyro.log").exists()


LEVEL_CODE = """
import logging, Pyro5
lg = logging.getLogger('Pyro5.x')
lg.info('info-line'); lg.error('error-line'); logging.getLogger('other').error('other-error')
print(logging.getLogger('Pyro5').level, logging.getLogger().level, len(logging.getLogger().handlers))
"""


def test_logging_to_named_file_and_level_filtering(tmp_path):
    # as the original: PYRO_LOGLEVEL configures the root logger (basicConfig-like), so the level applies to all
    logfile = tmp_path / "sub.log"
    p = _run(LEVEL_CODE, tmp_path, PYRO_LOGLEVEL="ERROR", PYRO_LOGFILE=str(logfile))
    assert p.returncode == 0, p.stderr
    assert p.stdout.split() == ["0", "40", "1"]
    text = logfile.read_text()
    assert "error-line" in text and "other-error" in text
    assert "info-line" not in text
    assert Pyro5.config.LOGFILE == "pyro5.log"


@pytest.mark.interop
def test_configured_logging_matches_the_original(tmp_path):
    from tests._support import refpyro
    logs = {}
    for who in ("orig", "ours"):
        folder = tmp_path / who
        folder.mkdir()
        env = refpyro.clean_env(PYRO_LOGLEVEL="ERROR")
        if who == "orig":
            p = subprocess.run([refpyro.orig_python(), "-c", LEVEL_CODE], capture_output=True, text=True,
                               cwd=str(folder), env=env, timeout=60)
        else:
            p = _run(LEVEL_CODE, folder, PYRO_LOGLEVEL="ERROR")
        assert p.returncode == 0, p.stderr
        logs[who] = (p.stdout, sorted(f.name for f in folder.iterdir()),
                     [line.split("]", 1)[1] for line in (folder / "pyro5.log").read_text().splitlines()])
    assert logs["ours"] == logs["orig"]


def test_reload_keeps_config_and_does_not_pile_up_handlers(tmp_path):
    code = """
import importlib, logging, Pyro5, Pyro5.core, Pyro5.socketutil
cfg = Pyro5.config
for _ in range(3):
    importlib.reload(Pyro5)
cfg.COMMTIMEOUT = 7.5
print(Pyro5.config is cfg, Pyro5.core.config is cfg, Pyro5.socketutil._commtimeout())
print(len(logging.getLogger().handlers), len(logging.getLogger('Pyro5').handlers))
"""
    for env in ({}, {"PYRO_LOGLEVEL": "DEBUG", "PYRO_LOGFILE": "{stderr}"}):
        p = _run(code, tmp_path, **env)
        assert p.returncode == 0, p.stderr
        lines = p.stdout.splitlines()
        assert lines[0] == "True True 7.5"
        assert lines[1] == ("1 0" if env else "0 0")


def test_bad_loglevel_warns_and_does_not_crash(tmp_path):
    p = _run(LOG_CODE, tmp_path, PYRO_LOGLEVEL="LOUD", PYRO_LOGFILE="{stderr}")
    assert p.returncode == 0, p.stderr
    assert "PYRO_LOGLEVEL='LOUD' is not a valid logging level" in p.stderr
    assert "Pyro log configured" not in p.stderr


def _fake_dist(tmp_path: Path, dirname: str) -> Path:
    site = tmp_path / "site"
    info = site / dirname
    info.mkdir(parents=True)
    version = dirname.split("-")[1].replace(".dist", "")
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: Pyro5\nVersion: %s\n" % version)
    return site


@pytest.mark.parametrize("dirname,version", [("Pyro5-5.15.dist-info", "5.15"),
                                             ("pyro5-5.9.1-py3.11.egg-info", "5.9.1")])
def test_warning_when_original_pyro5_installed_beside(tmp_path, dirname, version):
    site = _fake_dist(tmp_path, dirname)
    code = "import Pyro5, Pyro5.api, importlib; importlib.reload(Pyro5.api); print('ok', Pyro5.__version__)"
    p = _run(code, tmp_path, PYTHONPATH=str(site))
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == "ok 6.0.0"
    assert "The original Pyro5 %s distribution is installed" % version in p.stderr
    assert "pip uninstall Pyro5" in p.stderr
    assert p.stderr.count("UserWarning") == 1  # warned once


def test_no_warning_without_original(tmp_path):
    site = _fake_dist(tmp_path, "Pyro5-6.1.dist-info")  # some other Pyro5 distribution version: no 5.x warning
    p = _run("import Pyro5.api; print('ok')", tmp_path, PYTHONPATH=str(site))
    assert p.returncode == 0 and "pip uninstall" not in p.stderr
    p = _run("import warnings; warnings.simplefilter('error'); import Pyro5.api; print('ok')", tmp_path)
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == "ok"

