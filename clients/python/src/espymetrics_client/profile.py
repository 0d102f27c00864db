"""Build the profile: what one Python process reports about itself.

The shape keeps every key of the original EspyMetrics client's message and adds
what it lacked (implementation, distro from os-release, libc, CPU count,
virtualenv/conda, CI, a stable host id, the collector's own name and version).
Every probe is wrapped: a failing one leaves an empty value, never an exception.
"""

from __future__ import annotations

import datetime
import getpass
import importlib.util
import os
import platform
import shlex
import socket
import sys
import time
import uuid
from typing import Any, Callable, Dict, Optional, TypeVar

from .ci import detect_ci
from .host import compute_host_id, read_os_release
from .scrub import scrub_profile
from .settings import scrub_requested
from .version import __version__

COLLECTOR_NAME = "espymetrics_client"

# Random per process, as in the original: it tells one process's reports apart
# without saying anything about who ran it.
PROCESS_UUID = str(uuid.uuid4())

UNAME_FIELDS = ("system", "node", "release", "version", "machine", "processor")

T = TypeVar("T")


def probe(read: Callable[[], T], default: T) -> T:
    """read(), or default if it raises anything: one broken field must not cost the profile."""
    try:
        return read()
    except Exception:
        return default


def _module_available(name: str) -> bool:
    # Looking the module up instead of importing it: importing readline can
    # change the host program's terminal handling.
    if name in sys.modules:
        return sys.modules[name] is not None
    return importlib.util.find_spec(name) is not None


def _openssl_version() -> str:
    import ssl  # imported here: a Python built without ssl must still report

    return ssl.OPENSSL_VERSION


def _sqlite_version() -> str:
    import sqlite3  # imported here: a Python built without sqlite3 must still report

    return sqlite3.sqlite_version


def get_python_info() -> Dict[str, Any]:
    return {
        # A shell-quoted string, as the original sent it.
        "argv": probe(lambda: " ".join(shlex.quote(arg) for arg in sys.argv), ""),
        "bin": probe(lambda: sys.executable or "", ""),
        "is_64bit": probe(lambda: sys.maxsize > 2**32, False),
        "version": probe(lambda: sys.version, ""),
        "compiler": probe(platform.python_compiler, ""),
        "build_date": probe(lambda: platform.python_build()[1], ""),
        "version_info": probe(lambda: list(sys.version_info), []),
        "openssl_version": probe(_openssl_version, ""),
        "sqlite_version": probe(_sqlite_version, ""),
        "have_ucs4": probe(lambda: sys.maxunicode > 0xFFFF, False),
        "have_readline": probe(lambda: _module_available("readline"), False),
        "implementation": probe(platform.python_implementation, ""),
    }


def get_uname_info() -> Dict[str, str]:
    def field(name: str) -> str:
        return probe(lambda: str(getattr(platform.uname(), name)), "")

    return {name: field(name) for name in UNAME_FIELDS}


def get_time_info() -> Dict[str, Any]:
    return {
        # Same text form as the original's str(datetime.utcnow()), always with microseconds.
        "utc": probe(
            lambda: datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f"),
            "",
        ),
        # Hours east of UTC outside daylight saving time.
        "std_utc_offset": probe(lambda: -time.timezone / 3600.0, 0.0),
    }


def get_environment_info() -> Dict[str, Any]:
    def base_prefix() -> str:
        # real_prefix is how virtualenv < 20 marked itself; base_prefix is venv's (3.3+).
        return getattr(sys, "real_prefix", None) or getattr(sys, "base_prefix", sys.prefix)

    def is_conda() -> bool:
        return any(os.path.isdir(os.path.join(prefix, "conda-meta")) for prefix in (sys.prefix, base_prefix()))

    return {
        "virtualenv": probe(lambda: sys.prefix != base_prefix(), False),
        "conda": probe(is_conda, False),
        "prefix": probe(lambda: sys.prefix, ""),
        "base_prefix": probe(base_prefix, ""),
    }


def get_libc_info() -> Dict[str, str]:
    return {
        "name": probe(lambda: platform.libc_ver()[0], ""),
        "version": probe(lambda: platform.libc_ver()[1], ""),
    }


def get_profile(scrub: Optional[bool] = None) -> Dict[str, Any]:
    """The profile of this interpreter and host, as a JSON-ready dict. Never raises.

    scrub=True (or $ESPYMETRICS_SCRUB) removes the fields in scrub.SCRUBBED_FIELDS.
    """
    os_release = probe(read_os_release, {})
    host_id, host_id_source = probe(compute_host_id, ("", ""))
    profile = {
        "username": probe(getpass.getuser, ""),
        "uuid": PROCESS_UUID,
        "hostname": probe(socket.gethostname, ""),
        "hostfqdn": probe(socket.getfqdn, ""),
        "uname": get_uname_info(),
        "linux_dist": {"name": os_release.get("NAME", ""), "version": os_release.get("VERSION_ID", "")},
        "os_release": {
            "id": os_release.get("ID", ""),
            "version_id": os_release.get("VERSION_ID", ""),
            "pretty_name": os_release.get("PRETTY_NAME", ""),
        },
        "time": get_time_info(),
        "python": get_python_info(),
        "libc": get_libc_info(),
        "cpu_count": probe(os.cpu_count, None),
        "environment": get_environment_info(),
        "ci": probe(detect_ci, {"detected": False, "name": None}),
        "host_id": host_id,
        "host_id_source": host_id_source,
        "collector": {"name": COLLECTOR_NAME, "version": __version__, "scrubbed": []},
    }
    if probe(lambda: scrub_requested(scrub), True):
        profile = scrub_profile(profile)
    return profile
