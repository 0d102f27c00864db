"""Fixtures: a clean environment, a recording HTTP server, refused and black-hole ports."""

from __future__ import annotations

import socket

import pytest

from espymetrics_client import ci, settings
from helpers import RecordingServer, free_port

# Variables that would change what the collector does; the developer's shell
# or the CI runner (CI=true) may set any of them.
CONTROLLED_ENV_VARS = (
    settings.OPT_OUT_VARS
    + (settings.HOST_VAR, settings.SCRUB_VAR)
    + tuple(variable for variable, _ in ci.CI_PROVIDERS)
    + ci.GENERIC_CI_VARS
)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in CONTROLLED_ENV_VARS:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def server():
    recording_server = RecordingServer()
    yield recording_server
    recording_server.close()


@pytest.fixture
def closed_host() -> str:
    """A loopback port nothing listens on: connecting is refused at once."""
    return "127.0.0.1:%d" % free_port()


@pytest.fixture
def black_hole_host():
    """A loopback port that listens but never accepts or answers.

    The kernel completes the TCP handshake into the backlog, so a client
    connects and sends fine, then waits forever for an answer.
    """
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    yield "127.0.0.1:%d" % listener.getsockname()[1]
    listener.close()
