"""Which distribution ships what (DESIGN.md §2): the reference of the packaging tests."""
from __future__ import annotations

DISTRIBUTIONS = ["pyro5-wire", "pyro5-client", "pyro5-server", "pyro5-naming", "pyro5-httpgateway",
                 "pyro5-compat4", "pyro5-full"]

# direct dependencies (Requires-Dist); siblings are pinned to the 6.x line
REQUIRES = {
    "pyro5-wire": {"serpent", "msgpack"},
    "pyro5-client": {"pyro5-wire"},
    "pyro5-server": {"pyro5-wire"},
    "pyro5-naming": {"pyro5-wire", "pyro5-server", "pyro5-client", "regex"},
    "pyro5-httpgateway": {"pyro5-wire", "pyro5-client", "waitress"},
    "pyro5-compat4": {"pyro5-wire", "pyro5-client", "pyro5-server", "pyro5-naming"},
    "pyro5-full": {"pyro5-wire", "pyro5-client", "pyro5-server", "pyro5-naming", "pyro5-httpgateway",
                   "pyro5-compat4"},
}

# optional extras: distribution -> {extra: requirement names}
EXTRAS = {
    "pyro5-naming": {"etcd": {"etcd3gw"}},
    "pyro5-client": {"otel": {"opentelemetry-api"}},
    "pyro5-server": {"otel": {"opentelemetry-api"}},
}


def closure(dist: str) -> set[str]:
    """The pyro5 distributions that `pip install <dist>` installs, itself included."""
    todo, seen = [dist], set()
    while todo:
        d = todo.pop()
        if d not in seen:
            seen.add(d)
            todo.extend(r for r in REQUIRES[d] if r.startswith("pyro5-"))
    return seen


def third_party(dists: set[str]) -> set[str]:
    """The non-pyro5 distributions that installing `dists` pulls in."""
    return {r for d in dists for r in REQUIRES[d] if not r.startswith("pyro5-")}


# the public files each wheel must ship (paths inside the wheel)
PUBLIC_FILES = {
    "pyro5-wire": {"Pyro5/__init__.py", "Pyro5/configure.py", "Pyro5/errors.py", "Pyro5/core.py",
                   "Pyro5/protocol.py", "Pyro5/serializers.py", "Pyro5/socketutil.py", "Pyro5/callcontext.py",
                   "Pyro5/api.py", "Pyro5/check_install.py", "Pyro5/otel.py", "Pyro5/py.typed"},
    "pyro5-client": {"Pyro5/client.py", "Pyro5/aio/client.py"},
    "pyro5-server": {"Pyro5/server.py", "Pyro5/svr_threads.py", "Pyro5/svr_multiplex.py",
                     "Pyro5/svr_existingconn.py", "Pyro5/aio/server.py"},
    "pyro5-naming": {"Pyro5/nameserver.py", "Pyro5/nsc.py", "Pyro5/top.py", "Pyro5/utils/echoserver.py"},
    "pyro5-httpgateway": {"Pyro5/utils/httpgateway.py"},
    "pyro5-compat4": {"Pyro5/compatibility/Pyro4.py"},
    "pyro5-full": set(),
}

# folders in which a distribution may add private files (a name starting with a single "_": modules, assets,
# private sub-packages). Pyro5/, Pyro5/utils/ and Pyro5/aio/ are shared folders: nobody but pyro5-wire ships an
# __init__.py in Pyro5/, and nobody ships Pyro5/utils/__init__.py or Pyro5/aio/__init__.py.
PRIVATE_DIRS = {
    "pyro5-wire": ["Pyro5/"],
    "pyro5-client": ["Pyro5/", "Pyro5/aio/"],
    "pyro5-server": ["Pyro5/", "Pyro5/aio/"],
    "pyro5-naming": ["Pyro5/", "Pyro5/utils/"],
    "pyro5-httpgateway": ["Pyro5/", "Pyro5/utils/"],
    "pyro5-compat4": ["Pyro5/"],
    "pyro5-full": [],
}

# folders owned entirely by one distribution: it may ship anything inside (incl. an __init__.py)
OWNED_TREES = {
    "pyro5-compat4": ["Pyro5/compatibility/"],
}

# importable public modules per distribution
MODULES = {
    "pyro5-wire": ["Pyro5", "Pyro5.configure", "Pyro5.errors", "Pyro5.core", "Pyro5.protocol", "Pyro5.serializers",
                   "Pyro5.socketutil", "Pyro5.callcontext", "Pyro5.api", "Pyro5.check_install", "Pyro5.otel"],
    "pyro5-client": ["Pyro5.client", "Pyro5.aio.client"],
    "pyro5-server": ["Pyro5.server", "Pyro5.svr_threads", "Pyro5.svr_multiplex", "Pyro5.svr_existingconn",
                     "Pyro5.aio.server"],
    "pyro5-naming": ["Pyro5.nameserver", "Pyro5.nsc", "Pyro5.top", "Pyro5.utils.echoserver"],
    "pyro5-httpgateway": ["Pyro5.utils.httpgateway"],
    "pyro5-compat4": ["Pyro5.compatibility.Pyro4"],
    "pyro5-full": [],
}

# console scripts: name -> entry point
SCRIPTS = {
    "pyro5-wire": {"pyro5-check-config": "Pyro5.configure:main", "pyro5-check-install": "Pyro5.check_install:main"},
    "pyro5-client": {},
    "pyro5-server": {},
    "pyro5-naming": {"pyro5-ns": "Pyro5.nameserver:main", "pyro5-nsc": "Pyro5.nsc:main",
                     "pyro5-echoserver": "Pyro5.utils.echoserver:main", "pyro5-top": "Pyro5.top:main"},
    "pyro5-httpgateway": {"pyro5-httpgateway": "Pyro5.utils.httpgateway:main"},
    "pyro5-compat4": {},
    "pyro5-full": {},
}

# Pyro5.api names whose distribution is missing in a thin client: (name, distribution that provides it)
API_NAMES_ELSEWHERE = [("Daemon", "pyro5-server"), ("expose", "pyro5-server"), ("serve", "pyro5-server"),
                       ("start_ns", "pyro5-naming")]


def owner_of_module(module: str) -> str | None:
    for dist, mods in MODULES.items():
        if module in mods:
            return dist
    return None


def is_allowed(dist: str, path: str) -> bool:
    """May `dist` ship the file `path` (a path inside the wheel, outside its .dist-info)?"""
    if path in PUBLIC_FILES[dist]:
        return True
    if any(path.startswith(tree) for tree in OWNED_TREES.get(dist, [])):
        return True
    for folder in PRIVATE_DIRS[dist]:
        if path.startswith(folder):
            rest = path[len(folder):]
            if rest.startswith("_") and not rest.startswith("__"):
                return True
    return False
