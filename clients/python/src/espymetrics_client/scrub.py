"""Remove the fields that identify a person or a host from a profile."""

from __future__ import annotations

import copy
from typing import Any, Dict

# Dotted paths into the profile. Everything that names or locates a user or a
# machine: names, paths (which often hold a home directory), the command line,
# and the stable host id (a hash, but one that links all reports of a host, and
# whose hostname fallback can be reversed by hashing a list of known hostnames).
# The per-process uuid stays: it is random and links nothing beyond one process.
SCRUBBED_FIELDS = (
    "username",
    "hostname",
    "hostfqdn",
    "host_id",
    "uname.node",
    "python.argv",
    "python.bin",
    "environment.prefix",
    "environment.base_prefix",
)


def _remove_path(profile: Dict[str, Any], dotted_path: str) -> None:
    *parents, leaf = dotted_path.split(".")
    container = profile
    for key in parents:
        container = container.get(key)
        if not isinstance(container, dict):
            return
    container.pop(leaf, None)


def scrub_profile(profile: Dict[str, Any]) -> Dict[str, Any]:
    """A scrubbed copy of profile (the argument is left unchanged).

    The copy's collector.scrubbed lists the fields that were removed, so a
    reader of the data can tell "scrubbed" from "missing".
    """
    scrubbed = copy.deepcopy(profile)
    for dotted_path in SCRUBBED_FIELDS:
        _remove_path(scrubbed, dotted_path)
    collector = scrubbed.setdefault("collector", {})
    if isinstance(collector, dict):
        collector["scrubbed"] = list(SCRUBBED_FIELDS)
    return scrubbed
