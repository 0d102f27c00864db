"""docs/openapi.yaml checked against a real node by schemathesis (PyPI): generated requests,
valid and invalid, for every public endpoint; no 5xx, every answer in the documented schema,
status and content type, invalid input refused. bench/fuzz.sh runs the same far longer."""

import os
import signal
import subprocess
import sys
import time

import pytest

from conftest import REPO, http, node_binary

TOKEN = "contract-test-operator-token-0123"
ADDRESS = "127.0.5.1:48888"
# Fixed so that CI runs the same cases every time; bench/fuzz.sh varies it.
SEED = "20261203"


def ready(base):
    try:
        return http("GET", base + "/v1/ready", timeout=2)[0] == 200
    except OSError:
        return False


@pytest.fixture(scope="module")
def node(tmp_path_factory):
    directory = tmp_path_factory.mktemp("contract")
    config = directory / "node.toml"
    # With an operator token, generated requests to remove and leave meet a 401 (leave would stop the node).
    config.write_text(f'[http]\noperator_tokens = ["{TOKEN}"]\n')
    log = open(directory / "node.log", "w")
    process = subprocess.Popen([node_binary(), "serve", "--config", str(config), "--http", ADDRESS,
                                "--gossip", "127.0.5.1:47946", "--data-dir", str(directory / "data"), "--name", "contract"],
                               stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while not ready(f"http://{ADDRESS}"):
        assert time.monotonic() < deadline and process.poll() is None, (directory / "node.log").read_text()
        time.sleep(0.2)
    yield process, directory / "node.log"
    process.send_signal(signal.SIGINT)
    process.wait(timeout=30)
    log.close()


def schemathesis(*arguments, workdir):
    command = [sys.executable, "-m", "schemathesis.cli", "run", str(REPO / "docs" / "openapi.yaml"), "--url", f"http://{ADDRESS}",
               "--checks", "all",
               # unsupported_method: it sends QUERY, a method http_parser 2.9 cannot parse, which is a 400
               # "malformed request" (405 for the methods HTTP/1.1 defines: HTTPTests, NodeEndToEndTests).
               # positive_data_acceptance: some rules span parameters (until after since, distinct
               # without limit), which a schema per parameter cannot say; they are 400s naming them.
               "--exclude-checks", "unsupported_method,positive_data_acceptance",
               "--seed", SEED, "--max-examples", "60", "--no-color", *arguments]
    # In a directory of its own: schemathesis keeps a cache (.schemathesis/) where it runs.
    result = subprocess.run(command, capture_output=True, text=True, timeout=600, cwd=workdir,
                            env=dict(os.environ, SCHEMATHESIS_TELEMETRY="false"))
    print(result.stdout[-6000:])
    return result


def test_every_endpoint_keeps_its_contract_for_generated_requests(node, tmp_path):
    process, log = node
    result = schemathesis(workdir=tmp_path)
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert "passed" in result.stdout
    # With the operator token, remove is exercised too (leave is left out: it would stop the node).
    result = schemathesis("-H", f"Authorization: Bearer {TOKEN}", "--exclude-path", "/v1/cluster/leave", workdir=tmp_path)
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert process.poll() is None, "the node died under generated requests:\n" + log.read_text()[-3000:]
    status, health = http("GET", f"http://{ADDRESS}/v1/health")
    assert status == 200 and health["ready"], health
