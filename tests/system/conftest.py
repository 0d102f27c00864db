"""Real clusters for the system tests: nodes started by deploy/local-cluster.sh, as an operator
starts them, each test module on its own loopback addresses and ports so modules never meet."""

import json
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "deploy" / "local-cluster.sh"


def node_binary() -> str:
    """ESPYMETRICS_BIN (README's test command sets it), else a build in the repository."""
    if os.environ.get("ESPYMETRICS_BIN"):
        return os.environ["ESPYMETRICS_BIN"]
    for candidate in (".build/release/espymetrics", ".build-release/release/espymetrics", ".build/debug/espymetrics"):
        if (REPO / candidate).is_file():
            return str(REPO / candidate)
    pytest.fail("no espymetrics binary: build one (swift build) or set ESPYMETRICS_BIN")


def http(method: str, url: str, body: bytes = None, timeout: float = 10.0, headers: dict = None):
    """(status, parsed JSON or raw bytes) of one request; HTTP errors are answers, not exceptions."""
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, raw = error.code, error.read()
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, raw


class LocalCluster:
    """deploy/local-cluster.sh with its own directory, addresses and ports."""

    def __init__(self, directory: Path, base_address: str, http_port: int, gossip_port: int):
        self.directory = directory
        self.base_address = base_address
        self.http_port = http_port
        self.gossip_port = gossip_port
        self.binary = node_binary()
        self.environment = dict(
            os.environ,
            ESPYMETRICS_BIN=self.binary,
            ESPY_CLUSTER_DIR=str(directory),
            ESPY_CLUSTER_BASE_ADDRESS=base_address,
            ESPY_CLUSTER_HTTP_PORT=str(http_port),
            ESPY_CLUSTER_GOSSIP_PORT=str(gossip_port),
            ESPY_CLUSTER_READY_TIMEOUT="180",
        )

    def script(self, *arguments: str, check: bool = True) -> subprocess.CompletedProcess:
        result = subprocess.run([str(SCRIPT), *arguments], env=self.environment, capture_output=True, text=True,
                                timeout=300)
        if check and result.returncode != 0:
            raise AssertionError(f"local-cluster.sh {' '.join(arguments)} failed ({result.returncode}):\n"
                                 f"{result.stdout}\n{result.stderr}\n{self.log_tails()}")
        return result

    def start(self, count: int):
        return self.script("start", str(count))

    def stop(self):
        return self.script("stop", check=False)

    def ip(self, i: int) -> str:
        head, last = self.base_address.rsplit(".", 1)
        return f"{head}.{int(last) + i}"

    def http_address(self, i: int) -> str:
        return f"{self.ip(i)}:{self.http_port}"

    def url(self, i: int, path: str) -> str:
        return f"http://{self.http_address(i)}{path}"

    def pid(self, i: int) -> int:
        return int((self.directory / f"n{i}" / "node.pid").read_text())

    def kill(self, i: int, sig: int = signal.SIGKILL, wait: float = 30.0):
        """Sends `sig` to node i and waits for the process to be gone."""
        pid = self.pid(i)
        os.kill(pid, sig)
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.1)
        else:
            raise AssertionError(f"n{i} (pid {pid}) still runs {wait} s after signal {sig}")
        (self.directory / f"n{i}" / "node.pid").unlink(missing_ok=True)

    def log_tails(self, lines: int = 15) -> str:
        parts = []
        for log in sorted(self.directory.glob("n*/node.log")):
            tail = log.read_text(errors="replace").splitlines()[-lines:]
            parts.append(f"--- {log.parent.name}/node.log (last {len(tail)} lines)\n" + "\n".join(tail))
        return "\n".join(parts)


@pytest.fixture(scope="module")
def cluster_factory(tmp_path_factory, request):
    """Makes LocalClusters and stops every one of them when the module is done."""
    made = []

    def make(base_address: str, http_port: int = 8888, gossip_port: int = 7946) -> LocalCluster:
        directory = tmp_path_factory.mktemp(request.module.__name__.rsplit(".", 1)[-1])
        cluster = LocalCluster(directory, base_address, http_port, gossip_port)
        made.append(cluster)
        return cluster

    yield make
    for cluster in made:
        cluster.stop()
