"""Install hints for the modules of the other pyro5 distributions.

All pyro5 distributions ship modules into the one ``Pyro5`` package, so ``import Pyro5.server`` on a machine
without pyro5-server would fail with a bare "No module named 'Pyro5.server'". The finder below sits at the
end of ``sys.meta_path``: it is only asked after every regular finder came up empty, and for the public module
names of our sibling distributions it raises ModuleNotFoundError naming the distribution to install.
For any other name it returns None, as a finder that knows nothing.

Because it raises, ``importlib.util.find_spec("Pyro5.server")`` raises that ModuleNotFoundError too when
pyro5-server is missing (instead of returning None): test for it with ``try: import Pyro5.server``.
"""
from __future__ import annotations

import sys
from typing import Any

# public module -> distribution that ships it
MODULE_DISTRIBUTION = {
    "Pyro5.client": "pyro5-client",
    "Pyro5.aio.client": "pyro5-client",
    "Pyro5.server": "pyro5-server",
    "Pyro5.svr_threads": "pyro5-server",
    "Pyro5.svr_multiplex": "pyro5-server",
    "Pyro5.svr_existingconn": "pyro5-server",
    "Pyro5.aio.server": "pyro5-server",
    "Pyro5.nameserver": "pyro5-naming",
    "Pyro5.nsc": "pyro5-naming",
    "Pyro5.top": "pyro5-naming",
    "Pyro5.utils.echoserver": "pyro5-naming",
    "Pyro5.utils.httpgateway": "pyro5-httpgateway",
    "Pyro5.compatibility": "pyro5-compat4",
    "Pyro5.compatibility.Pyro4": "pyro5-compat4",
}
# shared folders without an __init__.py: they exist when one of these distributions is installed
SHARED_FOLDERS = {
    "Pyro5.utils": ("pyro5-naming (Pyro5.utils.echoserver)", "pyro5-httpgateway (Pyro5.utils.httpgateway)"),
    "Pyro5.aio": ("pyro5-client (Pyro5.aio.client)", "pyro5-server (Pyro5.aio.server)"),
}


def hint(fullname: str) -> str | None:
    """The message for a missing module of ours, or None when the name is not one of ours."""
    dist = MODULE_DISTRIBUTION.get(fullname)
    if dist is not None:
        return "%s needs %s: pip install %s" % (fullname, dist, dist)
    shipped_by = SHARED_FOLDERS.get(fullname)
    if shipped_by is not None:
        return "%s is shipped by %s: pip install the one you need" % (fullname, " and ".join(shipped_by))
    return None


def missing_module_error(fullname: str, package_path: list[str]) -> ModuleNotFoundError | None:
    """For ``from Pyro5 import server``: Python swallows the finder's error there and reports "cannot import
    name", so the package's __getattr__ asks this. The error with the hint when `fullname` is one of ours and not
    installed; None when it is not ours or is installed (but not imported yet)."""
    message = hint(fullname)
    if message is None or "." in fullname[len("Pyro5."):]:
        return None
    import importlib.machinery
    if importlib.machinery.PathFinder.find_spec(fullname, package_path) is not None:
        return None
    return ModuleNotFoundError(message, name=fullname)


class InstallHintFinder:
    """A meta path finder of last resort that turns a missing sibling module into an install hint."""

    @classmethod
    def find_spec(cls, fullname: str, path: Any = None, target: Any = None) -> None:
        message = hint(fullname)
        if message is not None:
            raise ModuleNotFoundError(message, name=fullname)
        return None

    @classmethod
    def invalidate_caches(cls) -> None:
        """Nothing cached (importlib.invalidate_caches calls this on every finder)."""


def install() -> None:
    """Put the finder at the end of sys.meta_path (once)."""
    if not any(getattr(f, "__name__", None) == InstallHintFinder.__name__ and
               getattr(f, "__module__", None) == __name__ for f in sys.meta_path):
        sys.meta_path.append(InstallHintFinder)
