"""Command line: send one profile of this interpreter, synchronously."""

from __future__ import annotations

import argparse
import sys
from typing import List, Optional

from . import settings
from .transport import DEFAULT_TIMEOUT, send
from .version import __version__

PROG = "python -m espymetrics_client"

DESCRIPTION = """\
Send one profile of this Python interpreter to an EspyMetrics server
(POST http://HOST:PORT/v1/on_import) and exit. Always exits 0 once the
arguments are valid: a failed send prints a one-line warning to stderr.
"""

EPILOG = """\
examples:
  show what would be sent, and send nothing:
    %(prog)s --dry-run --pretty
  send to a given server:
    %(prog)s --host metrics.internal:8888
  leave out user- and host-identifying fields, wait at most 0.5 s a step:
    %(prog)s --scrub --timeout 0.5

environment:
  ESPYMETRICS_HOST     default for --host (else 127.0.0.1:8888)
  ESPYMETRICS_SCRUB    any value but "0"/"false": always scrub, as --scrub
  ESPYMETRICS_OPT_OUT  any value but "0"/"false": send nothing (so does DO_NOT_TRACK=1)
"""


def positive_seconds(text: str) -> float:
    try:
        seconds = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError("not a number: %r" % text)
    if not seconds > 0:
        raise argparse.ArgumentTypeError("must be more than 0: %r" % text)
    return seconds


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--host",
        metavar="HOST[:PORT]",
        help="server to send to, port %d when left out (default: $%s or %s)"
        % (settings.DEFAULT_PORT, settings.HOST_VAR, settings.DEFAULT_HOST),
    )
    parser.add_argument(
        "--timeout",
        metavar="S",
        type=positive_seconds,
        default=DEFAULT_TIMEOUT,
        help="seconds to wait on each network step (default: %s)" % DEFAULT_TIMEOUT,
    )
    parser.add_argument(
        "--scrub",
        action="store_true",
        help="remove username, hostname, paths, argv and host id (see README)",
    )
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="print the exact JSON body (compact, one line) to stdout and send nothing",
    )
    parser.add_argument(
        "--pretty",
        action="store_true",
        help="with --dry-run: print the same JSON indented, for reading",
    )
    parser.add_argument("--version", action="version", version="%(prog)s " + __version__)
    return parser


def warn(message: str) -> None:
    print("espymetrics: warning: " + message, file=sys.stderr)


def main(argv: Optional[List[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    reason = settings.opt_out_reason()
    if reason is not None:
        warn("opted out by $%s; nothing sent" % reason)
        return 0
    send(
        host=args.host,
        timeout=args.timeout,
        scrub=args.scrub,
        dry_run=args.dry_run,
        pretty=args.pretty,
        on_failure=warn,
    )
    return 0
