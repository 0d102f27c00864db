"""Send profiles to an EspyMetrics server over HTTP, with the standard library only.

Nothing here raises: analytics must never break the program that reports.
Return values tell what happened instead.
"""

from __future__ import annotations

import json
import sys
import threading
from typing import IO, Any, Callable, Dict, List, Optional, Sequence, Tuple

from . import settings
from .profile import get_profile
from .scrub import scrub_profile
from .version import __version__

IMPORT_PATH = "/v1/on_import"
BATCH_PATH = "/v1/import"
DEFAULT_TIMEOUT = 2.0
DEFAULT_BATCH_SIZE = 100

# The server's answers are tiny; reading a bounded amount protects us from a
# misbehaving server.
MAX_RESPONSE_BYTES = 1 << 20

FailureCallback = Callable[[str], None]


def build_url(host: str, path: str) -> str:
    """http://HOST:PORT + path.

    A host without a port gets the server's port, 8888: HTTP's own 80 is where
    no EspyMetrics node listens, so "--host metrics.internal" would otherwise
    fail in a way that looks like the server being down. A host given as a URL,
    with its own scheme, is used as written (a proxy in front of the cluster
    may well serve on 80 or 443).
    """
    base = host if "://" in host else "http://" + with_default_port(host)
    return base.rstrip("/") + path


def with_default_port(host: str) -> str:
    """HOST -> HOST:8888; HOST:PORT, [IPv6]:PORT unchanged; a bare IPv6 address gets brackets."""
    authority, slash, rest = host.partition("/")
    if authority.startswith("["):
        has_port = "]:" in authority
    elif authority.count(":") > 1:
        authority, has_port = "[%s]" % authority, False
    else:
        has_port = ":" in authority
    if authority and not has_port:
        authority += ":%d" % settings.DEFAULT_PORT
    return authority + slash + rest


def encode_json(payload: Any) -> bytes:
    """The exact request body: compact JSON, sorted keys, ASCII only."""
    # default=str: a caller's odd value (a datetime, a Path) is sent as text
    # rather than making the whole report fail.
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str).encode("ascii")


def describe_error(error: BaseException) -> str:
    """One line saying why a send failed."""
    reason = getattr(error, "reason", None)  # URLError wraps the socket error here
    code = getattr(error, "code", None)
    if code is not None:  # HTTPError: the server answered, but not with 2xx
        text = "HTTP %s %s" % (code, reason or "")
    else:
        text = str(reason if reason is not None else error) or type(error).__name__
    return " ".join(text.split())


def post_json(url: str, body: bytes, timeout: float) -> Tuple[int, bytes]:
    """POST body as application/json; return (status, response body). Raises on failure.

    timeout bounds each socket operation (connect, send, each read), not the
    total, and not name resolution: a hostname that resolves slowly can take
    longer. report_in_background is the way to never wait on the network.
    """
    # Imported here, not at the top: urllib.request costs ~40 ms to import, and
    # host programs import this package on their start-up path.
    import urllib.request

    request = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers={"Content-Type": "application/json", "User-Agent": "espymetrics_client/" + __version__},
    )
    # No proxies: the server is an internal service, reached directly as the
    # original client's raw socket did; an http_proxy meant for the internet
    # would add delay, or carry the profile outside.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(request, timeout=timeout) as response:
        return response.status, response.read(MAX_RESPONSE_BYTES)


def _prepare(profile: Optional[Dict[str, Any]], scrub: Optional[bool]) -> Dict[str, Any]:
    if profile is None:
        return get_profile(scrub=scrub)
    if settings.scrub_requested(scrub):
        return scrub_profile(profile)
    return profile


def _print_dry_run(payload: Any, body: bytes, pretty: bool, out: Optional[IO[str]]) -> None:
    stream = out if out is not None else sys.stdout
    text = json.dumps(payload, sort_keys=True, indent=2, default=str) if pretty else body.decode("ascii")
    stream.write(text + "\n")
    stream.flush()


def _report_failure(on_failure: Optional[FailureCallback], message: str) -> None:
    if on_failure is None:
        return
    try:
        on_failure(message)
    except Exception:
        pass


def _deliver(
    path: str,
    payload: Any,
    host: Optional[str],
    timeout: float,
    dry_run: bool,
    pretty: bool,
    out: Optional[IO[str]],
    on_failure: Optional[FailureCallback],
) -> Tuple[Optional[bool], bytes]:
    """(True, answer) sent and accepted; (False, b"") failed; (None, b"") dry run."""
    url = path
    try:
        body = encode_json(payload)
        if dry_run:
            _print_dry_run(payload, body, pretty, out)
            return None, b""
        url = build_url(settings.resolve_host(host), path)
        status, answer = post_json(url, body, timeout)
        if not 200 <= status < 300:
            _report_failure(on_failure, "could not send to %s: HTTP %s" % (url, status))
            return False, b""
        return True, answer
    except Exception as error:
        _report_failure(on_failure, "could not send to %s: %s" % (url, describe_error(error)))
        return False, b""


def send(
    profile: Optional[Dict[str, Any]] = None,
    host: Optional[str] = None,
    timeout: float = DEFAULT_TIMEOUT,
    scrub: Optional[bool] = None,
    dry_run: bool = False,
    pretty: bool = False,
    out: Optional[IO[str]] = None,
    on_failure: Optional[FailureCallback] = None,
) -> Optional[bool]:
    """POST one profile (this interpreter's when None) to http://HOST/v1/on_import.

    Returns True when the server answered 2xx, False when sending failed, and
    None when nothing was sent: opted out, or dry_run (which prints the body to
    out, stdout by default, instead). Never raises; on_failure, if given, gets
    a one-line reason.
    """
    try:
        if settings.opted_out():
            return None
        payload = _prepare(profile, scrub)
    except Exception as error:
        _report_failure(on_failure, "could not build the profile: %s" % describe_error(error))
        return False
    outcome, _ = _deliver(IMPORT_PATH, payload, host, timeout, dry_run, pretty, out, on_failure)
    return outcome


def send_batch(
    profiles: Sequence[Dict[str, Any]],
    host: Optional[str] = None,
    timeout: float = DEFAULT_TIMEOUT,
    scrub: Optional[bool] = None,
    dry_run: bool = False,
    pretty: bool = False,
    out: Optional[IO[str]] = None,
    on_failure: Optional[FailureCallback] = None,
) -> Optional[Dict[str, Any]]:
    """POST profiles as one JSON array to http://HOST/v1/import.

    Returns the server's answer, {"accepted": N, "rejected": [{"index": i,
    "error": "..."}]}, or None when nothing was accepted: opted out, dry run,
    an empty list, or a failure (reported to on_failure). Never raises.
    """
    try:
        if settings.opted_out() or not profiles:
            return None
        payload = [_prepare(profile, scrub) for profile in profiles]
    except Exception as error:
        _report_failure(on_failure, "could not prepare the batch: %s" % describe_error(error))
        return None
    outcome, answer = _deliver(BATCH_PATH, payload, host, timeout, dry_run, pretty, out, on_failure)
    if not outcome:
        return None
    try:
        parsed = json.loads(answer.decode("utf-8"))
    except Exception:
        parsed = None
    # A 2xx answer whose body we can't read still means the batch arrived.
    return parsed if isinstance(parsed, dict) else {}


class Batcher:
    """Collects profiles and sends them max_size at a time to /v1/import.

    Thread-safe. Use as a context manager, or call flush() before exit: profiles
    still buffered are not sent by themselves. A failed batch is dropped, not
    retried (fire and forget, like the original client).
    """

    def __init__(
        self,
        host: Optional[str] = None,
        max_size: int = DEFAULT_BATCH_SIZE,
        timeout: float = DEFAULT_TIMEOUT,
        scrub: Optional[bool] = None,
    ) -> None:
        self.host = host
        self.max_size = max(1, int(max_size))
        self.timeout = timeout
        self.scrub = scrub
        self._pending: List[Dict[str, Any]] = []
        self._lock = threading.Lock()

    def __len__(self) -> int:
        with self._lock:
            return len(self._pending)

    def add(self, profile: Optional[Dict[str, Any]] = None) -> Optional[Dict[str, Any]]:
        """Buffer a profile (this interpreter's when None); send when the buffer is full.

        Returns the server's answer when this call sent a batch, else None.
        """
        if profile is None:
            profile = get_profile(scrub=self.scrub)
        with self._lock:
            self._pending.append(profile)
            full = len(self._pending) >= self.max_size
        return self.flush() if full else None

    def flush(self) -> Optional[Dict[str, Any]]:
        """Send everything buffered now; returns the server's answer or None."""
        with self._lock:
            batch, self._pending = self._pending, []
        if not batch:
            return None
        return send_batch(batch, host=self.host, timeout=self.timeout, scrub=self.scrub)

    def __enter__(self) -> "Batcher":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.flush()
