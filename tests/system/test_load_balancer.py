"""HAProxy (deploy/haproxy.cfg, started by deploy/local-cluster.sh) in front of a 6-node,
3-datacenter cluster: clients importing and counting through it see no failed request while one
node is killed with SIGKILL (and brought back), another is restarted and a third leaves
gracefully, and in the end every node counts exactly the records the clients were told were
stored."""

import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
from collections import Counter

import pytest

from conftest import REPO, http

sys.path.insert(0, str(REPO / "bench"))
from gen_profiles import profile  # noqa: E402  (the benchmarks' realistic profile shape)

# Loopback addresses and ports of this module only.
BASE_ADDRESS = "127.0.2.0"
HTTP_PORT = 18888
GOSSIP_PORT = 17946
LB_PORT = 18080
LB = f"http://{BASE_ADDRESS}:{LB_PORT}"

# The nodes the events hit, one per datacenter (node i is in dc((i-1)%3+1)), so that no partition
# loses more than one of its three replicas to them, even where one event's catching up overlaps
# the next.
KILLED = 1     # dc1
RESTARTED = 2  # dc2
LEAVING = 3    # dc3

GROUP_BY = "python$version_info$0"
COUNT_PATH = "/v1/count?" + urllib.parse.urlencode({"group_by": GROUP_BY})
VERIFIED_COUNT_PATH = COUNT_PATH + "&read_consistency=verified"

# Small batches, each well inside what HAProxy can replay (deploy/haproxy.cfg: a request of up to
# about 15,250 bytes in all is retried; a larger one is not once it was sent).
RECORDS_PER_BATCH = 5
RETRYABLE_BODY_BYTES = 14_000
CLIENTS = 2
# Bounds of the client loop: each client stops after this many requests, and every client stops
# at the deadline whatever happens (the events below took 40 s with a debug build).
MAX_REQUESTS_PER_CLIENT = 4_000
LOOP_DEADLINE_SECONDS = 150
# Between two requests of a client: about 40 requests a second in all, which the debug build on
# two shared cores serves without the nodes' own gossip and repair starving.
PAUSE_SECONDS = 0.04
# Requests here take milliseconds, retries included (a refused connect is retried at once). Only
# a node that accepted and then hung would hold one for timeout server (35 s) before HAProxy
# retried it; nothing here hangs, so an answer later than this is a failure.
CLIENT_TIMEOUT_SECONDS = 60
# Imports sent at once just before the kill, so that some are in flight on the killed node
# (HAProxy then retries them as empty responses, where the node may already have stored them).
BURST = 12
# Gaps between the events: enough for HAProxy's checks (out within about 1.25 s, back after two
# 200s) and for gossip to suspect a killed node (about 3 s), so each event is met on its own.
GAP_SECONDS = 5


class ClientLoop:
    """The clients: threads sending imports and counts through HAProxy only, recording every
    answer; an import counts as done only when every record of it was acknowledged."""

    def __init__(self):
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.started = time.monotonic()
        self.deadline = self.started + LOOP_DEADLINE_SECONDS
        self.sent_records = 0            # records sent so far, acknowledged or not
        self.acknowledged = Counter()    # acknowledged distinct records by major Python version
        self.requests = Counter()        # (kind, outcome) -> how many
        self.duplicates = 0              # acknowledged records the node already had: a replay
        self.failures = []               # (seconds since start, kind, what went wrong)
        self.overcounts = []             # counts above every record ever sent: double counting
        self.shortfall = 0               # records acknowledged before a count and missing from it
        self.threads = [threading.Thread(target=self.run, args=(client,), name=f"client{client}", daemon=True)
                        for client in range(CLIENTS)]

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def start(self):
        for thread in self.threads:
            thread.start()

    def finish(self):
        self.stop.set()
        for thread in self.threads:
            thread.join(CLIENT_TIMEOUT_SECONDS + 5)
        assert not any(thread.is_alive() for thread in self.threads), "a client thread did not stop"

    def burst(self, count: int) -> list:
        """Starts `count` imports at once, each from a client of its own; returns their threads."""
        def one(client: int):
            try:
                self.import_batch(client, 0, random.Random(client))
            except Exception as error:
                self.fail("exception", f"{type(error).__name__}: {error}")
        threads = [threading.Thread(target=one, args=(CLIENTS + k,), daemon=True) for k in range(count)]
        for thread in threads:
            thread.start()
        return threads

    def fail(self, kind: str, what: str):
        with self.lock:
            self.failures.append((round(self.elapsed(), 2), kind, what))

    def run(self, client: int):
        rng = random.Random(client)
        sequence = 0
        for request in range(MAX_REQUESTS_PER_CLIENT):
            if self.stop.is_set() or time.monotonic() >= self.deadline:
                return
            try:
                if request % 3 == 2:
                    self.count()
                else:
                    self.import_batch(client, sequence, rng)
                    sequence += 1
            except Exception as error:  # no answer at all (a timeout, a reset), or a bug here
                self.fail("exception", f"{type(error).__name__}: {error}")
            time.sleep(PAUSE_SECONDS)

    def import_batch(self, client: int, sequence: int, rng: random.Random):
        records = []
        for index in range(RECORDS_PER_BATCH):
            record = profile(rng, index)
            # Unique by construction, so the number of distinct records is the number sent.
            record["uuid"] = "%08x%08x%016x" % (0x1b, client, sequence * RECORDS_PER_BATCH + index)
            records.append(record)
        body = "".join(json.dumps(record, separators=(",", ":")) + "\n" for record in records).encode()
        assert len(body) <= RETRYABLE_BODY_BYTES, f"a batch of {len(body)} bytes could not be replayed by HAProxy"
        with self.lock:
            self.sent_records += len(records)
        status, answer = http("POST", LB + "/v1/import", body, timeout=CLIENT_TIMEOUT_SECONDS,
                              headers={"Content-Type": "application/x-ndjson"})
        complete = (status == 200 and isinstance(answer, dict) and answer.get("accepted") == len(records)
                    and not answer.get("rejected") and not answer.get("failed"))
        with self.lock:
            self.requests["import", status if complete else "failed"] += 1
            if complete:
                self.duplicates += answer.get("duplicates", 0)
                self.acknowledged.update(str(record["python"]["version_info"][0]) for record in records)
        if not complete:
            self.fail("import", f"{status} {str(answer)[:400]}")

    def count(self):
        with self.lock:
            acknowledged_before = sum(self.acknowledged.values())
        status, answer = http("GET", LB + COUNT_PATH, timeout=CLIENT_TIMEOUT_SECONDS)
        with self.lock:
            sent_by_now = self.sent_records
        complete = (status == 200 and isinstance(answer, dict)
                    and answer.get("coverage", {}).get("partial") is False)
        with self.lock:
            self.requests["count", status if complete else "failed"] += 1
            if complete:
                counted = answer["record_count"]
                if counted > sent_by_now:
                    self.overcounts.append((round(self.elapsed(), 2), counted, sent_by_now))
                self.shortfall = max(self.shortfall, acknowledged_before - counted)
        if not complete:
            self.fail("count", f"{status} {str(answer)[:400]}")


def haproxy_stats(cluster) -> list:
    """HAProxy's `show stat` (counters since its last start or reload) through its runtime API."""
    with socket.socket(socket.AF_UNIX) as connection:
        connection.settimeout(5)
        connection.connect(str(cluster.directory / "haproxy.sock"))
        connection.sendall(b"show stat\n")
        data = b"".join(iter(lambda: connection.recv(65536), b""))
    lines = data.decode().lstrip("# ").splitlines()
    header = lines[0].split(",")
    return [dict(zip(header, line.split(","))) for line in lines[1:] if line]


# option httplog: ... backend/server Tq/Tw/Tc/Tr/Ta status bytes - - TERM actconn/feconn/beconn/srvconn/retries ...
HTTPLOG = re.compile(r'\] espymetrics (\S+)/(\S+) \S+ (\d+) \d+ \S+ \S+ (\S{4}) \d+/\d+/\d+/\d+/(\+?)(\d+) '
                     r'\d+/\d+ "(\S+) (\S+)')


def haproxy_log_summary(cluster) -> dict:
    """What HAProxy's log says of the clients' requests over the whole run (reloads included):
    answers by status, requests retried, and requests redispatched to another node."""
    summary = {"status": Counter(), "retried": 0, "retries": 0, "redispatched": 0, "by_server": Counter()}
    for line in (cluster.directory / "haproxy.log").read_text(errors="replace").splitlines():
        match = HTTPLOG.search(line)
        if not match or match.group(8) not in ("/v1/import", COUNT_PATH):
            continue
        _, server, status, _, redispatched, retries, _, _ = match.groups()
        summary["status"][status] += 1
        summary["by_server"][server] += 1
        if int(retries):
            summary["retried"] += 1
            summary["retries"] += int(retries)
        if redispatched:
            summary["redispatched"] += 1
    return summary


def haproxy_transitions(cluster) -> list:
    """(server, "UP" or "DOWN") as HAProxy's health checks changed them, in order."""
    transitions = []
    for line in (cluster.directory / "haproxy.log").read_text(errors="replace").splitlines():
        # The log's copy; HAProxy prints the same on standard error after "[WARNING] (pid) : ".
        match = re.match(r"Server espymetrics_nodes/(\S+) is (UP|DOWN)\b", line)
        if match:
            transitions.append(match.groups())
    return transitions


def wait_for_exit(cluster, i: int, seconds: float):
    pid = cluster.pid(i)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            (cluster.directory / f"n{i}" / "node.pid").unlink(missing_ok=True)
            return
        time.sleep(0.2)
    raise AssertionError(f"n{i} (pid {pid}) still runs {seconds} s after it was told to leave\n{cluster.log_tails()}")


@pytest.fixture(scope="module")
def cluster(cluster_factory):
    cluster = cluster_factory(BASE_ADDRESS, HTTP_PORT, GOSSIP_PORT)
    cluster.environment["ESPY_CLUSTER_LB_PORT"] = str(LB_PORT)
    cluster.start(6)
    result = cluster.script("haproxy")
    print(result.stdout)
    return cluster


def test_haproxy_config_is_valid(cluster):
    """The template as shipped, and what local-cluster.sh made of it, pass haproxy -c."""
    for config in (REPO / "deploy" / "haproxy.cfg", cluster.directory / "haproxy.cfg"):
        result = subprocess.run(["haproxy", "-c", "-f", str(config)], capture_output=True, text=True)
        assert result.returncode == 0, f"{config}: {result.stdout}{result.stderr}"
    generated = (cluster.directory / "haproxy.cfg").read_text()
    assert f"bind {BASE_ADDRESS}:{LB_PORT}" in generated
    assert re.findall(r"^\s*server (\S+) (\S+)", generated, re.M) == [
        (f"n{i}", cluster.http_address(i)) for i in range(1, 7)]


def test_haproxy_forwards_the_public_api_only(cluster):
    status, answer = http("GET", LB + "/v1/ready")
    assert status == 200 and answer["ready"] is True
    # Node-to-node and operator paths stay off the balancer: from HAProxy's address (this host)
    # a node without operator tokens would take a leave from anyone.
    assert http("GET", LB + "/internal/v1/newest")[0] == 404
    assert http("POST", LB + "/v1/cluster/leave", b"")[0] == 403
    assert http("POST", LB + "/v1/import?keep_server_time=true", b'{"a":1}')[0] == 403
    # HAProxy answered those itself: had the leave reached a node, it would have taken it (202).
    assert all(http("GET", cluster.url(i, "/v1/ready"))[0] == 200 for i in range(1, 7))


def test_clients_see_no_failure_through_kill_restart_and_leave(cluster):
    loop = ClientLoop()

    def event(what: str):
        print(f"[{loop.elapsed():6.1f} s] {what}", flush=True)

    loop.start()
    try:
        # One event after the other, each over before the next begins. Two would not go together:
        # - with n1 dead and n2 restarting, the partitions replicated on both (about a quarter)
        #   have one live replica of three, below their write quorum of two: every node rightly
        #   answers 503 to imports of them, however often HAProxy retries;
        # - a leaving node drops a partition, and so finishes, only once every owner of it is live
        #   and confirmed holding its records (RepairRound's `blocked`): a leave while n1 is dead
        #   waits for n1, or for repair.leave_timeout_ms (10 minutes).
        # So the killed node comes back before the restart: `start 6` starts the one node of
        # n1..n6 that is not running and waits until all six are ready and see six alive members.
        time.sleep(GAP_SECONDS)
        event(f"kill -9 n{KILLED}, {BURST} imports in flight")
        burst = loop.burst(BURST)
        time.sleep(0.004)
        cluster.kill(KILLED, signal.SIGKILL)
        for thread in burst:
            thread.join(CLIENT_TIMEOUT_SECONDS + 5)
        time.sleep(GAP_SECONDS)
        event(f"local-cluster.sh start 6 (brings n{KILLED} back)")
        print(cluster.start(6).stdout)
        event(f"n{KILLED} is back and every node is ready")
        time.sleep(GAP_SECONDS)

        event(f"SIGINT n{RESTARTED} (stop, keeping its data)")
        cluster.kill(RESTARTED, signal.SIGINT, wait=40)
        event(f"n{RESTARTED} exited")
        time.sleep(2)
        event(f"local-cluster.sh start 6 (brings n{RESTARTED} back)")
        print(cluster.start(6).stdout)
        event(f"n{RESTARTED} is back and every node is ready")
        time.sleep(GAP_SECONDS)

        # HAProxy keeps listing n3 after it left: its checks fail and it is out of rotation.
        event(f"n{LEAVING} leaves (espymetrics leave)")
        left = subprocess.run([cluster.binary, "leave", "--http", cluster.http_address(LEAVING)],
                              capture_output=True, text=True, timeout=60)
        assert left.returncode == 0, f"leave failed: {left.stdout}{left.stderr}"
        print(left.stdout.strip())
        wait_for_exit(cluster, LEAVING, 120)
        event(f"n{LEAVING} has handed off its partitions and exited")
        time.sleep(GAP_SECONDS)
    finally:
        loop.finish()
    event("clients stopped")

    summary = haproxy_log_summary(cluster)
    stats = haproxy_stats(cluster)
    backend = next(row for row in stats if row["svname"] == "BACKEND")
    print(f"client requests: {dict(loop.requests)}; records sent {loop.sent_records}, "
          f"acknowledged {sum(loop.acknowledged.values())} ({dict(loop.acknowledged)}), "
          f"acknowledged as duplicates (a batch stored, then replayed) {loop.duplicates}")
    print(f"HAProxy log, the clients' requests: answers {dict(summary['status'])}, retried {summary['retried']} "
          f"({summary['retries']} retries), redispatched {summary['redispatched']}; "
          f"answered by {dict(sorted(summary['by_server'].items()))}")
    print(f"HAProxy counters since its last reload: retries {backend['wretr']}, redispatches {backend['wredis']}; "
          "per node (retries of requests sent to it, redispatches away from it): "
          + ", ".join(f"{row['svname']} {row['wretr']}/{row['wredis']}" for row in stats
                      if row["pxname"] == "espymetrics_nodes" and row["svname"].startswith("n")))
    transitions = haproxy_transitions(cluster)
    print(f"HAProxy health checks: {transitions}")
    print(f"largest shortfall of a count against the records acknowledged before it (read_consistency=one): "
          f"{loop.shortfall}")
    for failure in loop.failures[:20]:
        print("FAILED", failure)

    assert loop.requests["import", 200] > 100 and loop.requests["count", 200] > 50, "too little traffic to tell"
    assert not loop.failures, f"{len(loop.failures)} client requests failed; first: {loop.failures[:5]}"
    assert not loop.overcounts, f"counts above every record ever sent (double counting): {loop.overcounts[:5]}"
    # The checks took each node out when it went and back only once it answered /v1/ready with
    # 200 (retries alone would hide a missing check, at ten times the retries).
    expected_transitions = [(f"n{KILLED}", "DOWN"), (f"n{KILLED}", "UP"), (f"n{RESTARTED}", "DOWN"),
                            (f"n{RESTARTED}", "UP"), (f"n{LEAVING}", "DOWN")]
    remaining = iter(transitions)
    assert all(step in remaining for step in expected_transitions), \
        f"HAProxy's checks did not follow the events {expected_transitions}: {transitions}"
    last = {server: state for server, state in transitions}
    assert last.get(f"n{LEAVING}") == "DOWN" and all(
        last.get(f"n{i}", "UP") == "UP" for i in range(1, 7) if i != LEAVING), f"final states: {last}"

    expected = dict(loop.acknowledged)
    total = sum(expected.values())
    answers = {"HAProxy": http("GET", LB + VERIFIED_COUNT_PATH, timeout=60)}
    for i in (i for i in range(1, 7) if i != LEAVING):
        answers[f"n{i}"] = http("GET", cluster.url(i, VERIFIED_COUNT_PATH), timeout=60)
    wrong = {where: (status, answer) for where, (status, answer) in answers.items()
             if status != 200 or answer.get("record_count") != total or answer.get("counts") != expected
             or answer.get("coverage", {}).get("partial") is not False}
    assert not wrong, (f"verified counts differ from the {total} records acknowledged ({expected}):\n"
                       + "\n".join(f"{where}: {status} {str(answer)[:600]}" for where, (status, answer) in wrong.items())
                       + "\n" + cluster.log_tails())
