"""End to end against a real EspyMetrics node: set ESPYMETRICS_BIN to the built executable.

    ESPYMETRICS_BIN=.build/debug/espymetrics python3 -m pytest clients/python/tests/test_against_node.py

Starts `espymetrics serve` on free loopback ports with a fresh data directory,
sends this interpreter's profile with the collector, and checks that the
node counts it by implementation and by major version.
"""

from __future__ import annotations

import json
import os
import platform
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Dict

import pytest

from espymetrics_client import send

from helpers import free_port

NODE_START_TIMEOUT = 60.0
NODE_STOP_TIMEOUT = 15.0


def http_get(url: str, timeout: float = 5.0):
    """(status, body) for GET url, without proxies; HTTP errors are returned, not raised."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def log_tail(log_path: Path) -> str:
    try:
        return log_path.read_text(errors="replace")[-4000:]
    except OSError:
        return "(no log)"


@pytest.fixture
def node(tmp_path):
    """A running single node; yields its base URL. Stopped with SIGTERM, which must exit 0."""
    binary = os.environ.get("ESPYMETRICS_BIN")
    if not binary:
        pytest.skip("ESPYMETRICS_BIN is not set: point it at the built espymetrics executable to run this test")
    if not os.access(binary, os.X_OK):
        pytest.fail("ESPYMETRICS_BIN=%s is not an executable file" % binary)

    http_port = free_port()
    gossip_port = free_port()
    while gossip_port == http_port:
        gossip_port = free_port()
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    log_path = tmp_path / "node.log"
    command = [
        binary, "serve",
        "--http", "127.0.0.1:%d" % http_port,
        "--gossip", "127.0.0.1:%d" % gossip_port,
        "--data-dir", str(data_dir),
        "--name", "test-node",
    ]  # fmt: skip
    with open(log_path, "wb") as log_file:
        process = subprocess.Popen(command, stdout=log_file, stderr=subprocess.STDOUT)
    base_url = "http://127.0.0.1:%d" % http_port
    try:
        wait_until_healthy(process, base_url, log_path)
        yield base_url
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(NODE_STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
                pytest.fail("node did not stop within %s s of SIGTERM:\n%s" % (NODE_STOP_TIMEOUT, log_tail(log_path)))
    assert process.returncode == 0, "node exited %s after SIGTERM:\n%s" % (process.returncode, log_tail(log_path))


def wait_until_healthy(process: subprocess.Popen, base_url: str, log_path: Path) -> None:
    deadline = time.monotonic() + NODE_START_TIMEOUT
    last_problem = "no answer yet"
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail("node exited with %s before it was healthy:\n%s" % (process.returncode, log_tail(log_path)))
        try:
            status, body = http_get(base_url + "/v1/health", timeout=1.0)
            if status == 200 and json.loads(body).get("status") == "ok":
                return
            last_problem = "HTTP %s %r" % (status, body[:200])
        except Exception as error:  # not listening yet
            last_problem = repr(error)
        time.sleep(0.1)
    pytest.fail("node not healthy after %s s (%s):\n%s" % (NODE_START_TIMEOUT, last_problem, log_tail(log_path)))


def count(base_url: str, query: str) -> Dict[str, Any]:
    status, body = http_get(base_url + "/v1/count?" + query)
    assert status == 200, "GET /v1/count?%s answered %s: %r" % (query, status, body[:500])
    return json.loads(body)


def test_node_counts_the_collectors_profile(node):
    assert send(host=node.split("://", 1)[1], timeout=5.0) is True

    # Read-your-write on one node: once /v1/on_import has answered, the record counts.
    by_implementation = count(node, "group_by=python$implementation")
    assert by_implementation["counts"] == {platform.python_implementation(): 1}
    assert by_implementation["record_count"] == 1
    assert by_implementation["grouped_by"] == "python$implementation"

    major = str(sys.version_info[0])
    by_major_version = count(node, "group_by=python$version_info$0")
    assert by_major_version["counts"] == {major: 1}
    assert by_major_version["record_count"] == 1

    # A client library that percent-encodes "$" must get the same answer.
    assert count(node, "group_by=python%24version_info%240") == by_major_version
