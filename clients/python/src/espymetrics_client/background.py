"""Report from a daemon thread, so the host program never waits on analytics.

At interpreter exit we give in-flight reports a short, bounded time to finish
(exit_wait, 0.5 s by default), then let the process go: a daemon thread still
blocked on the network is simply dropped. The thread never prints: a daemon
thread holding the stderr lock at shutdown can crash the interpreter.
"""

from __future__ import annotations

import atexit
import threading
import time
from typing import Any, Dict, List, Optional

from . import settings
from .transport import DEFAULT_TIMEOUT, send

DEFAULT_EXIT_WAIT = 0.5

_lock = threading.Lock()
_install_lock = threading.Lock()  # held through install(), so racing callers share one report
_in_flight: List[threading.Thread] = []
_exit_wait = 0.0  # the longest exit_wait any caller asked for
_exit_hook_registered = False
_installed = False
_installed_thread: Optional[threading.Thread] = None


def _send_then_forget(kwargs: Dict[str, Any]) -> None:
    try:
        send(**kwargs)
    finally:
        with _lock:
            if threading.current_thread() in _in_flight:
                _in_flight.remove(threading.current_thread())


def _wait_for_in_flight_reports() -> None:
    """atexit hook: join the in-flight reports, together for at most _exit_wait seconds."""
    try:
        with _lock:
            threads = list(_in_flight)
            deadline = time.monotonic() + _exit_wait
        for thread in threads:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            thread.join(remaining)
    except BaseException:
        # Including KeyboardInterrupt: a Ctrl-C while we wait at exit means
        # "stop waiting", and must not print a traceback from an atexit hook.
        pass


def report_in_background(
    profile: Optional[Dict[str, Any]] = None,
    host: Optional[str] = None,
    timeout: float = DEFAULT_TIMEOUT,
    scrub: Optional[bool] = None,
    exit_wait: float = DEFAULT_EXIT_WAIT,
) -> Optional[threading.Thread]:
    """Build and send a profile from a daemon thread; return at once.

    Returns the started thread, or None when opted out or the thread could not
    start (e.g. during interpreter shutdown). Never raises. The profile is
    built in the thread too, since some probes (the FQDN lookup) can be slow.
    """
    global _exit_wait, _exit_hook_registered
    try:
        if settings.opted_out():
            return None
        kwargs = {"profile": profile, "host": host, "timeout": timeout, "scrub": scrub}
        thread = threading.Thread(
            target=_send_then_forget, args=(kwargs,), name="espymetrics-report", daemon=True
        )
        with _lock:
            _exit_wait = max(_exit_wait, float(exit_wait))
            if not _exit_hook_registered:
                atexit.register(_wait_for_in_flight_reports)
                _exit_hook_registered = True
            _in_flight.append(thread)
        try:
            thread.start()
        except BaseException:
            with _lock:
                _in_flight.remove(thread)
            raise
        return thread
    except Exception:
        return None


def install(
    host: Optional[str] = None,
    timeout: float = DEFAULT_TIMEOUT,
    scrub: Optional[bool] = None,
    exit_wait: float = DEFAULT_EXIT_WAIT,
) -> Optional[threading.Thread]:
    """Report this process once, in the background; later calls do nothing.

    Meant for sitecustomize.py or a package's __init__: the "on import"
    report of the original. Returns the thread of the first call, or None.
    """
    global _installed, _installed_thread
    with _install_lock:
        if not _installed:
            _installed = True
            _installed_thread = report_in_background(
                host=host, timeout=timeout, scrub=scrub, exit_wait=exit_wait
            )
        return _installed_thread
