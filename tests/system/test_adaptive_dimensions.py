"""Adaptive dimensions on a real 3-node cluster: a question on a path that is not declared is
answered by reading bodies the first time, and makes every node build a rollup of that path in
the background (listed in /v1/dimensions); once built, the same questions are answered from it,
by every node, with the answers the scan gave and the ground truth computed here."""

import json
import random
import sys
import time
import urllib.parse
from collections import Counter

import pytest

from conftest import REPO, http

sys.path.insert(0, str(REPO / "bench"))
from gen_profiles import profile  # noqa: E402  (the benchmarks' realistic profile shape)

_rng = random.Random(5)
RECORDS = [profile(_rng, index) for index in range(3000)]
QUESTIONS = [
    [("group_by", "uname$release"), ("where", "uname$system:Linux")],
    [("group_by", "python$version_info$0"), ("where", "uname$release:" + RECORDS[0]["uname"]["release"])],
    [("group_by", "uname$release"), ("top", "5")],
]


def truth(question):
    """The counts map the question's answer must have, from the records sent."""
    group = next(value for name, value in question if name == "group_by")
    filters = [value.split(":", 1) for name, value in question if name == "where"]

    def value(record, path):
        for key in path.split("$"):
            record = record.get(key) if isinstance(record, dict) else (record[int(key)] if isinstance(record, list) and key.isdigit() and int(key) < len(record) else None)
            if record is None:
                return None
        return str(record)

    return dict(Counter(value(r, group) for r in RECORDS if all(value(r, p) == v for p, v in filters) and value(r, group) is not None))


def ask(cluster, node, question):
    status, answer = http("GET", cluster.url(node, "/v1/count?" + urllib.parse.urlencode(question)))
    assert status == 200 and answer["coverage"]["partial"] is False, answer
    return answer


@pytest.fixture(scope="module")
def cluster(cluster_factory):
    cluster = cluster_factory("127.0.6.0", http_port=28888, gossip_port=27946)
    cluster.start(3)
    body = "\n".join(json.dumps(r) for r in RECORDS).encode()
    status, answer = http("POST", cluster.url(1, "/v1/import"), body, headers={"Content-Type": "application/x-ndjson"})
    assert status == 200 and answer["accepted"] == len(RECORDS) and not answer["rejected"], answer
    return cluster


def adaptive_paths(cluster, node):
    status, answer = http("GET", cluster.url(node, "/v1/dimensions"))
    assert status == 200, answer
    assert "uname$release" not in answer["declared"]
    return {entry["path"]: entry for entry in answer["adaptive"]["paths"]}


def test_an_undeclared_path_gets_a_rollup_that_answers_like_the_scan(cluster):
    assert all(adaptive_paths(cluster, node) == {} for node in (1, 2, 3))
    scanned = [ask(cluster, 1, question) for question in QUESTIONS]
    for question, answer in zip(QUESTIONS, scanned):
        assert answer["counts"] == truth(question), (question, answer["counts"])
    # Every node coordinates once (reading its own replicas first, by scan): each builds its own rollup.
    for node in (2, 3):
        for question, first in zip(QUESTIONS, scanned):
            assert ask(cluster, node, question)["counts"] == first["counts"], (node, question)
    deadline = time.monotonic() + 60
    while not all(adaptive_paths(cluster, node).get("uname$release", {}).get("ready") for node in (1, 2, 3)):
        assert time.monotonic() < deadline, [adaptive_paths(cluster, node) for node in (1, 2, 3)]
        time.sleep(0.2)
    before = {node: adaptive_paths(cluster, node)["uname$release"]["answers"] for node in (1, 2, 3)}

    for node in (1, 2, 3):
        for question, first in zip(QUESTIONS, scanned):
            answer = ask(cluster, node, question)
            assert answer["counts"] == first["counts"] and answer.get("rows") == first.get("rows"), (node, question)
    after = {node: adaptive_paths(cluster, node)["uname$release"]["answers"] for node in (1, 2, 3)}
    assert all(after[node] > before[node] for node in (1, 2, 3)), (before, after)

    # Records written after the build are counted by the writes that store them.
    rng = random.Random(6)
    more = [profile(rng, index) for index in range(3000, 3500)]
    status, answer = http("POST", cluster.url(2, "/v1/import"), "\n".join(json.dumps(r) for r in more).encode(),
                          headers={"Content-Type": "application/x-ndjson"})
    assert status == 200 and answer["accepted"] == len(more), answer
    RECORDS.extend(more)
    for node in (1, 2, 3):
        assert ask(cluster, node, QUESTIONS[0])["counts"] == truth(QUESTIONS[0])
