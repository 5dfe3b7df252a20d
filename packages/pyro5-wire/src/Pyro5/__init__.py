__path__ = __import__("pkgutil").extend_path(__path__, __name__)
__doc__ = """Pyro5 - Python Remote Objects (wire-compatible reimplementation, protocol 502).

``Pyro5.config`` holds the configuration (builtin defaults overridden by PYRO_* environment variables),
``Pyro5.current_context`` the call context (per thread and per asyncio task). Import ``Pyro5.api`` for the main API.
Logging is configured only when the environment variable PYRO_LOGLEVEL is set (file from PYRO_LOGFILE,
default ``pyro5.log`` as in the original 5.15; ``{stderr}`` logs to the standard error output); otherwise the
"Pyro5" logger is kept quiet (level 9999) like the original does.
"""

import logging as _logging  # noqa: E402 - the __path__ statement must come first
import os as _os  # noqa: E402
import sys as _sys  # noqa: E402
import warnings as _warnings  # noqa: E402

__version__ = "6.0.0"

_orig_argv = " ".join(getattr(_sys, "orig_argv", ()))
if _sys.argv[:1] == ["-m"] and ("-m Pyro5.configure" in _orig_argv or "-mPyro5.configure" in _orig_argv):
    # `python -m Pyro5.configure`: this package imports configure before runpy executes it as __main__,
    # which is harmless here; keep runpy's RuntimeWarning about it out of the tool's output.
    _warnings.filterwarnings("ignore", message="'Pyro5.configure' found in sys.modules", category=RuntimeWarning)
del _orig_argv

from .callcontext import current_context as current_context  # noqa: E402
from .configure import global_config as config  # noqa: E402, F401 - the same object after importlib.reload(Pyro5)

_LOG_FORMAT = "[%(asctime)s.%(msecs)03d,%(name)s,%(levelname)s] %(message)s"
_QUIET_LEVEL = 9999   # above CRITICAL: the original's level for the Pyro5 logger when logging is not asked for


def _configure_logging() -> tuple[str | None, str | None]:
    """Logging as the original Pyro5 5.15 sets it up at import; returns (logfile, loglevel) as given.

    Without PYRO_LOGLEVEL the "Pyro5" logger gets level 9999: Pyro's records (DEBUG included) reach neither an
    application's root logger nor Python's last-resort stderr handler; an application that wants them sets a
    level on the "Pyro5" logger itself. With PYRO_LOGLEVEL the root logger is configured like
    logging.basicConfig() does (only when it has no handlers yet, so a reload or an application's own set-up
    is left alone): a handler writing to PYRO_LOGFILE (default ``pyro5.log``; ``{stderr}`` is the standard
    error output) and the level; the "Pyro5" logger then passes everything on (level NOTSET).
    """
    log = _logging.getLogger("Pyro5")
    level = _os.environ.get("PYRO_LOGLEVEL")
    logfile = _os.environ.get("PYRO_LOGFILE")
    if not level:
        log.setLevel(_QUIET_LEVEL)
        return logfile, level
    text = level.strip()
    if text.isdigit():
        levelvalue = int(text)
    else:
        levelvalue = _logging.getLevelName(text.upper())
        if not isinstance(levelvalue, int):
            _warnings.warn("PYRO_LOGLEVEL=%r is not a valid logging level (use DEBUG, INFO, WARNING, ERROR, "
                           "CRITICAL or a number); Pyro logging was not configured" % level, stacklevel=3)
            log.setLevel(_QUIET_LEVEL)
            return logfile, level
    log.setLevel(_logging.NOTSET)
    root = _logging.getLogger()
    if not root.handlers:
        filename = logfile or "pyro5.log"
        if filename == "{stderr}":
            handler: _logging.Handler = _logging.StreamHandler(_sys.stderr)
        else:
            try:
                handler = _logging.FileHandler(filename)
            except OSError as x:
                _warnings.warn("cannot open PYRO_LOGFILE=%r (%s); Pyro logs to stderr instead" % (filename, x),
                               stacklevel=3)
                handler = _logging.StreamHandler(_sys.stderr)
        handler.setFormatter(_logging.Formatter(_LOG_FORMAT, "%Y-%m-%d %H:%M:%S"))
        root.addHandler(handler)
        root.setLevel(levelvalue)
    log.info("Pyro log configured using built-in defaults, level=%s", level)
    return logfile, level


def _original_pyro5_version() -> str | None:
    """Version of an original 'Pyro5' distribution found on sys.path (its .dist-info/.egg-info folder), or None.

    A plain directory scan instead of importlib.metadata keeps ``import Pyro5`` cheap."""
    for entry in _sys.path:
        try:
            names = _os.listdir(entry or ".")
        except (OSError, TypeError, ValueError):
            continue
        for name in names:
            lowered = name.lower()
            if not lowered.startswith("pyro5-"):
                continue
            for suffix in (".dist-info", ".egg-info"):
                if lowered.endswith(suffix):
                    return name[len("pyro5-"):-len(suffix)].split("-")[0]
    return None


def _warn_original_pyro5() -> None:
    """Warn once when an original Pyro5 5.x distribution is installed beside us (they share files)."""
    try:
        version = _original_pyro5_version()
    except Exception:  # never let this check break the import
        return
    if version and version.startswith("5."):
        _warnings.warn(
            "The original Pyro5 %s distribution is installed beside pyro5 6 (pyro5-wire). Both ship files in "
            "the same 'Pyro5' package folder, so they conflict: run 'pip uninstall Pyro5' first and then "
            "reinstall pyro5-wire (and the other pyro5-* distributions you use)." % version,
            UserWarning, stacklevel=3)


_pyro_logfile, _pyro_loglevel = _configure_logging()
_warn_original_pyro5()
