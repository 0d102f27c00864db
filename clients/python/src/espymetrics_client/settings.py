"""Settings that come from the environment: opt-out, destination host, scrubbing.

The environment belongs to the person running the program, so it can only make
the collector send less: code can't override an opt-out or turn scrubbing off.
"""

from __future__ import annotations

import os
from typing import Mapping, Optional

OPT_OUT_VARS = ("ESPYMETRICS_OPT_OUT", "DO_NOT_TRACK")
HOST_VAR = "ESPYMETRICS_HOST"
SCRUB_VAR = "ESPYMETRICS_SCRUB"

DEFAULT_PORT = 8888
DEFAULT_HOST = "127.0.0.1:%d" % DEFAULT_PORT

# Values that mean "not set" for a flag variable; anything else non-empty means "set".
FALSE_WORDS = ("0", "false")


def env_flag(value: Optional[str]) -> bool:
    """True for any non-empty value except "0" and "false" (case and spaces ignored)."""
    if value is None:
        return False
    word = value.strip().lower()
    return word != "" and word not in FALSE_WORDS


def opted_out(environ: Optional[Mapping[str, str]] = None) -> bool:
    """True when ESPYMETRICS_OPT_OUT or DO_NOT_TRACK asks us to send nothing."""
    environ = os.environ if environ is None else environ
    return any(env_flag(environ.get(name)) for name in OPT_OUT_VARS)


def opt_out_reason(environ: Optional[Mapping[str, str]] = None) -> Optional[str]:
    """The name of the variable that opted out, or None."""
    environ = os.environ if environ is None else environ
    for name in OPT_OUT_VARS:
        if env_flag(environ.get(name)):
            return name
    return None


def resolve_host(host: Optional[str] = None, environ: Optional[Mapping[str, str]] = None) -> str:
    """The explicit host, else $ESPYMETRICS_HOST, else 127.0.0.1:8888."""
    environ = os.environ if environ is None else environ
    return host or environ.get(HOST_VAR, "").strip() or DEFAULT_HOST


def scrub_requested(scrub: Optional[bool] = None, environ: Optional[Mapping[str, str]] = None) -> bool:
    """Scrub when the caller asks for it or $ESPYMETRICS_SCRUB is set."""
    environ = os.environ if environ is None else environ
    return bool(scrub) or env_flag(environ.get(SCRUB_VAR))
