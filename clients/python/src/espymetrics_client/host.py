"""Facts about the host: the OS release, libc, and a stable, non-reversible host id."""

from __future__ import annotations

import hashlib
import shlex
import socket
import uuid
from typing import Dict, Iterable, Optional, Tuple

OS_RELEASE_PATHS = ("/etc/os-release", "/usr/lib/os-release")
MACHINE_ID_PATHS = ("/etc/machine-id", "/var/lib/dbus/machine-id")

# Hashing the machine id together with our own label keeps the raw id private
# and keeps our host_id from matching another tool's plain hash of the same file.
HOST_ID_LABEL = "espymetrics-host-id:"


def parse_os_release(text: str) -> Dict[str, str]:
    """Parse os-release(5) text: KEY=value lines whose values use shell quoting."""
    fields = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, raw_value = line.partition("=")
        try:
            value = " ".join(shlex.split(raw_value))
        except ValueError:  # unbalanced quotes: keep the text rather than lose the field
            value = raw_value.strip().strip("\"'")
        fields[key.strip()] = value
    return fields


def read_os_release(paths: Iterable[str] = OS_RELEASE_PATHS) -> Dict[str, str]:
    """The first readable os-release file, parsed; {} where there is none (macOS, Windows)."""
    for path in paths:
        try:
            with open(path, encoding="utf-8", errors="replace") as release_file:
                return parse_os_release(release_file.read())
        except OSError:
            continue
    return {}


def read_machine_id(paths: Iterable[str] = MACHINE_ID_PATHS) -> Optional[str]:
    """The systemd/D-Bus machine id, or None when no file holds one."""
    for path in paths:
        try:
            with open(path, encoding="ascii", errors="replace") as id_file:
                machine_id = id_file.read().strip()
        except OSError:
            continue
        if machine_id:
            return machine_id
    return None


def _hash_for_host_id(text: str) -> str:
    return hashlib.sha256((HOST_ID_LABEL + text).encode("utf-8")).hexdigest()


def _is_hardware_mac(node: int) -> bool:
    # uuid.getnode() falls back to a random number with the multicast bit set
    # when it finds no MAC; such a number changes every process.
    return not (node >> 40) & 1


def compute_host_id(machine_id_paths: Iterable[str] = MACHINE_ID_PATHS) -> Tuple[str, str]:
    """(host_id, source): the same for every process on a host, never the raw machine id.

    source is "machine-id", "hostname+mac" or "hostname", so readers know how
    stable the id is (a hostname alone can be shared or renamed).
    """
    machine_id = read_machine_id(machine_id_paths)
    if machine_id:
        return _hash_for_host_id(machine_id), "machine-id"
    hostname = socket.gethostname()
    node = uuid.getnode()
    if _is_hardware_mac(node):
        return _hash_for_host_id("%s:%012x" % (hostname, node)), "hostname+mac"
    return _hash_for_host_id(hostname), "hostname"
