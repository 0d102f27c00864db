#!/usr/bin/env python3
"""Client traffic, faults and figures for bench/faults.sh (issue #13): runs the fault phases one
after another against a running 6-node, 3-datacenter cluster, with imports and count polls
throughout, and prints a table of what was seen. Run through bench/faults.sh, which starts the
cluster, writes the cluster description this reads and removes every fault on exit.

    python3 bench/faults.py --cluster bench/out/faults/cluster.json --profiles profiles.ndjson \\
        --results bench/out/faults/results.json [--phases disk,stop,slowloris,partition]

Exit status 1 when an acknowledged record was lost or a count said it was complete and was wrong;
2 when a phase could not be run as planned (a fault that did not take, a node that never became
ready); 0 otherwise. Standard library only.
"""
import argparse
import base64
import hashlib
import hmac
import http.client
import json
import multiprocessing
import os
import queue
import re
import secrets
import selectors
import socket
import subprocess
import sys
import threading
import time

GROUP_BY = "python$version_info$0"
COUNT_PATH = "/v1/count?group_by=" + GROUP_BY
# Requests are given up after this long: long enough to see a stall of several sub-request
# timeouts, short enough that a hung node cannot hold a phase.
CLIENT_TIMEOUT_S = 30.0
# Import retries back off from 0.5 s doubling up to this, per batch...
RETRY_BACKOFF_MAX_S = 5.0
# ... and go on at most this often before the batch waits for the end-of-phase drain.
RETRY_ATTEMPTS = 100


def now():
    return time.monotonic()


def log(message):
    print("[%s] %s" % (time.strftime("%H:%M:%S"), message), flush=True)


class PhaseError(Exception):
    """A phase could not be run as planned (not a finding about the cluster)."""


def percentile(values, fraction):
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def latency_summary(seconds):
    """p50/p99/max in ms of a list of durations in seconds."""
    if not seconds:
        return {"n": 0, "p50_ms": None, "p99_ms": None, "max_ms": None}
    return {"n": len(seconds), "p50_ms": round(percentile(seconds, 0.50) * 1000, 1),
            "p99_ms": round(percentile(seconds, 0.99) * 1000, 1), "max_ms": round(max(seconds) * 1000, 1)}


# MARK: HTTP

def request(address, method, path, body=None, headers=None, timeout=CLIENT_TIMEOUT_S):
    """One request on a fresh connection: (status, body bytes), or (None, error text)."""
    host, port = address.rsplit(":", 1)
    connection = http.client.HTTPConnection(host, int(port), timeout=timeout)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.read()
    except (OSError, http.client.HTTPException) as error:
        return None, ("%s: %s" % (type(error).__name__, error)).encode()
    finally:
        connection.close()


def get_json(address, path, timeout=10.0):
    status, body = request(address, "GET", path, timeout=timeout)
    if status is None:
        return None, None
    try:
        return status, json.loads(body)
    except ValueError:
        return status, None


class Signer:
    """Signs node-to-node requests as a peer does (Sources/EspyAPI/InternalRequestSigner.swift):
    HMAC-SHA256 over method, target, the body's SHA-256, a timestamp and a nonce."""

    def __init__(self, base64_key):
        self.key = base64.b64decode(base64_key)

    def header(self, method, target, body):
        millis = int(time.time() * 1000)
        nonce = secrets.token_hex(16)
        message = "%s\n%s\n%s\n%d\n%s" % (method, target, hashlib.sha256(body).hexdigest(), millis, nonce)
        mac = hmac.new(self.key, message.encode(), hashlib.sha256).hexdigest()
        return "v1 %d %s %s" % (millis, nonce, mac)


# MARK: Cluster

class Cluster:
    def __init__(self, description):
        self.nodes = description["nodes"]
        self.by_name = {node["name"]: node for node in self.nodes}
        self.partitions = description["partitions"]
        self.sub_request_timeout_ms = description["sub_request_timeout_ms"]
        self.signer = Signer(description["cluster_key"])
        self.tmpfs = description["tmpfs"]
        self.rules_file = description["iptables_rules_file"]
        self.partition_users = description["partition_users"]

    def http(self, name):
        return self.by_name[name]["http"]

    def names(self, datacenter=None):
        return [n["name"] for n in self.nodes if datacenter is None or n["datacenter"] == datacenter]

    def datacenter(self, name):
        return self.by_name[name]["datacenter"]

    def pid_alive(self, name):
        try:
            os.kill(self.by_name[name]["pid"], 0)
            return True
        except OSError:
            return False

    def cpu_seconds(self):
        """User plus system CPU seconds each node's process has used so far."""
        ticks = os.sysconf("SC_CLK_TCK")
        used = {}
        for node in self.nodes:
            try:
                with open("/proc/%d/stat" % node["pid"]) as stat:
                    fields = stat.read().rsplit(")", 1)[1].split()
                used[node["name"]] = (int(fields[11]) + int(fields[12])) / ticks
            except (OSError, IndexError, ValueError):
                used[node["name"]] = None
        return used

    def ready(self, name):
        status, _ = request(self.http(name), "GET", "/v1/ready", timeout=5)
        return status == 200

    def alive_seen_by(self, name):
        status, members = get_json(self.http(name), "/v1/cluster/members", timeout=5)
        if status != 200 or not isinstance(members, (dict, list)):
            return set()
        listed = members.get("members", []) if isinstance(members, dict) else members
        return {m.get("name") for m in listed if m.get("status") == "alive"}

    def digests(self, name):
        """Partition -> 'count:hash' for every partition the node holds; None if it did not answer."""
        body = ",".join(str(p) for p in range(self.partitions)).encode()
        target = "/internal/v1/repair/digests"
        status, answer = request(self.http(name), "POST", target, body=body, timeout=15,
                                 headers={"X-Espy-Signature": self.signer.header("POST", target, body)})
        if status != 200:
            return None
        digests = {}
        for line in answer.decode().splitlines():
            partition, digest = line.split(" ")
            digests[int(partition)] = digest
        return digests

    def convergence_problems(self):
        """What ClusterHarness.convergenceProblems checks: every partition with records held by
        one node per datacenter, all with the same digest, every datacenter holding the same
        number of records, no node holding more partitions than it owns. Returns (problems,
        records per datacenter)."""
        status, partitions = get_json(self.http(self.nodes[0]["name"]), "/v1/cluster/partitions")
        owned = (partitions or {}).get("owned", {}) if status == 200 else {}
        holders = {}
        per_datacenter = {}
        problems = []
        for node in self.nodes:
            digests = self.digests(node["name"])
            if digests is None:
                return ["%s did not answer its digests" % node["name"]], per_datacenter
            if owned and len(digests) > owned.get(node["name"], 0):
                problems.append("%s holds %d partitions, owns %d" % (node["name"], len(digests), owned.get(node["name"], 0)))
            for partition, digest in digests.items():
                holders.setdefault(partition, []).append((node["name"], digest))
                per_datacenter[node["datacenter"]] = per_datacenter.get(node["datacenter"], 0) + int(digest.split(":")[0])
        datacenters = {node["datacenter"] for node in self.nodes}
        for partition, copies in sorted(holders.items()):
            if {self.datacenter(name) for name, _ in copies} != datacenters or len(copies) != len(datacenters):
                problems.append("partition %d held by %s" % (partition, [name for name, _ in copies]))
            elif len({digest for _, digest in copies}) != 1:
                problems.append("partition %d differs: %s" % (partition, ["%s=%s" % c for c in copies]))
        if len(set(per_datacenter.values())) > 1:
            problems.append("records per datacenter differ: %s" % per_datacenter)
        return problems, per_datacenter

    def wait_for_convergence(self, timeout):
        """(the time replicas agreed, or None after `timeout` s; the problems left)."""
        problems = []
        deadline = now() + timeout
        while now() < deadline:
            problems, _ = self.convergence_problems()
            if not problems:
                return now(), []
            time.sleep(2)
        return None, problems

    def metric(self, name, metric):
        """Sum over label sets of a counter or gauge in a node's /metrics; None if unreachable."""
        status, body = request(self.http(name), "GET", "/metrics", timeout=10)
        if status != 200:
            return None
        total = 0.0
        for line in body.decode().splitlines():
            if line.startswith(metric + " ") or line.startswith(metric + "{"):
                total += float(line.rsplit(" ", 1)[1])
        return total

    def pending_hints(self):
        total = 0
        for name in self.names():
            status, partitions = get_json(self.http(name), "/v1/cluster/partitions")
            if status == 200 and partitions:
                total += sum(partitions.get("pending_hints", {}).values())
        return total


# MARK: Records and the truth

MAJOR = re.compile(rb'"version_info":\[(\d+),')
UUID = re.compile(rb'"uuid":"([0-9a-f]{32})"')


class Ledger:
    """The records handed to the cluster, from the profiles file in order: which were sent,
    which acknowledged, and when, so that a count can be judged against what was acknowledged
    before it was asked and what had been sent before it was answered."""

    def __init__(self, path):
        self.source = open(path, "rb")
        self.lock = threading.Lock()
        self.lines = []           # index -> NDJSON line (kept until acknowledged)
        self.uuids = []
        self.majors = []
        self.acknowledged = []    # index -> bool
        self.acked_count = 0
        self.sent_count = 0
        self.ack_times = []       # (monotonic time, acked count after it), appended in order
        self.exhausted = False

    def take(self, count):
        """The next `count` new records: list of indexes (empty when the file is used up)."""
        with self.lock:
            taken = []
            while len(taken) < count:
                line = self.source.readline()
                if not line:
                    self.exhausted = True
                    break
                line = line.rstrip(b"\n")
                if not line:
                    continue
                index = len(self.lines)
                self.lines.append(line)
                self.uuids.append(UUID.search(line).group(1).decode())
                self.majors.append(MAJOR.search(line).group(1).decode())
                self.acknowledged.append(False)
                taken.append(index)
            self.sent_count += len(taken)
            return taken

    def body(self, indexes):
        with self.lock:
            return b"\n".join(self.lines[i] for i in indexes)

    def acknowledge(self, indexes):
        with self.lock:
            fresh = [i for i in indexes if not self.acknowledged[i]]
            for i in fresh:
                self.acknowledged[i] = True
            if fresh:
                self.acked_count += len(fresh)
                self.ack_times.append((now(), self.acked_count))

    def acked_before(self, moment):
        """Records acknowledged to the client before `moment` (monotonic)."""
        with self.lock:
            low, high = 0, len(self.ack_times)
            while low < high:
                middle = (low + high) // 2
                if self.ack_times[middle][0] < moment:
                    low = middle + 1
                else:
                    high = middle
            return self.ack_times[low - 1][1] if low else 0

    def truth_by_major(self):
        with self.lock:
            counts = {}
            for index, acked in enumerate(self.acknowledged):
                if acked:
                    counts[self.majors[index]] = counts.get(self.majors[index], 0) + 1
            return counts

    def unacknowledged(self):
        with self.lock:
            return [i for i, acked in enumerate(self.acknowledged) if not acked]


# MARK: Traffic

class Importer:
    """Posts batches of new records to the target nodes from several threads at about `rate`
    records/s, and retries what a 503 names as failed (or a whole batch that got no usable
    answer) at the same node, backing off, as a client pinned to its node would. Keeps, per
    phase, the statuses each node answered and the batch latencies."""

    def __init__(self, cluster, ledger, rate, batch, threads):
        self.cluster = cluster
        self.ledger = ledger
        self.rate = rate
        self.batch = batch
        self.thread_count = threads
        self.lock = threading.Lock()
        self.targets = []          # per thread: list of node names it rotates over
        self.accept_new = True
        self.stopping = False
        self.retries = []          # (due time, node, indexes, attempt)
        self.statuses = {}         # node -> status -> batches
        self.failed_records = {}   # node -> records a 503 named as failed
        self.latencies = []        # (start, seconds, node, status)
        self.threads = []
        self.tokens = 0.0
        self.token_time = now()

    def set_targets(self, per_thread):
        with self.lock:
            self.targets = per_thread

    def reset_stats(self):
        with self.lock:
            self.statuses, self.failed_records, self.latencies = {}, {}, []

    def stats(self):
        with self.lock:
            return ({n: dict(s) for n, s in self.statuses.items()}, dict(self.failed_records), list(self.latencies))

    def start(self):
        for number in range(self.thread_count):
            thread = threading.Thread(target=self.run, args=(number,), daemon=True)
            thread.start()
            self.threads.append(thread)

    def pending_retries(self):
        with self.lock:
            return sum(len(r[2]) for r in self.retries)

    def stop(self):
        self.stopping = True
        for thread in self.threads:
            thread.join(timeout=CLIENT_TIMEOUT_S + 5)

    def wait_for_tokens(self, count):
        """Paces new records to `rate` per second over all threads."""
        while not self.stopping:
            with self.lock:
                moment = now()
                self.tokens = min(self.rate, self.tokens + (moment - self.token_time) * self.rate)
                self.token_time = moment
                if self.tokens >= count:
                    self.tokens -= count
                    return True
            time.sleep(0.02)
        return False

    def next_work(self, number, turn):
        """(node, indexes, attempt) to send now, or None to wait a little."""
        with self.lock:
            moment = now()
            for position, (due, node, indexes, attempt) in enumerate(self.retries):
                if due <= moment:
                    del self.retries[position]
                    return node, indexes, attempt
            if not self.accept_new or not self.targets:
                return None
            rotation = self.targets[number % len(self.targets)]
            node = rotation[turn % len(rotation)]
        if not self.wait_for_tokens(self.batch):
            return None
        indexes = self.ledger.take(self.batch)
        return (node, indexes, 0) if indexes else None

    def run(self, number):
        connections = {}
        turn = 0
        while not self.stopping:
            work = self.next_work(number, turn)
            if work is None:
                time.sleep(0.05)
                continue
            turn += 1
            node, indexes, attempt = work
            status, answer, seconds, started = self.post(connections, node, indexes)
            failed = self.settle(node, indexes, status, answer)
            with self.lock:
                self.statuses.setdefault(node, {})
                key = str(status) if status is not None else "no answer"
                self.statuses[node][key] = self.statuses[node].get(key, 0) + 1
                self.latencies.append((started, seconds, node, status))
                if failed:
                    if status == 503:
                        self.failed_records[node] = self.failed_records.get(node, 0) + len(failed)
                    if attempt + 1 < RETRY_ATTEMPTS:
                        backoff = min(RETRY_BACKOFF_MAX_S, 0.5 * 2 ** attempt)
                        self.retries.append((now() + backoff, node, failed, attempt + 1))
                    else:
                        # Left for the end-of-phase drain, which may send it anywhere.
                        self.retries.append((now() + 3600, node, failed, attempt + 1))
        for connection in connections.values():
            connection.close()

    def post(self, connections, node, indexes):
        body = self.ledger.body(indexes)
        started = now()
        host, port = self.cluster.http(node).rsplit(":", 1)
        for _ in range(2):  # once more on a fresh connection if a kept-alive one was closed under us
            connection = connections.get(node) or http.client.HTTPConnection(host, int(port), timeout=CLIENT_TIMEOUT_S)
            connections[node] = connection
            try:
                connection.request("POST", "/v1/import", body=body, headers={"Content-Type": "application/x-ndjson"})
                response = connection.getresponse()
                answer = response.read()
                if response.getheader("Connection", "").lower() == "close":
                    connection.close()
                    connections.pop(node, None)
                return response.status, answer, now() - started, started
            except (OSError, http.client.HTTPException) as error:
                connection.close()
                connections.pop(node, None)
                last = str(error)
                if isinstance(error, socket.timeout):
                    break
        return None, last.encode(), now() - started, started

    def settle(self, node, indexes, status, answer):
        """Marks what the answer acknowledged; returns the indexes to send again."""
        try:
            parsed = json.loads(answer) if status is not None else None
        except ValueError:
            parsed = None
        if status == 200 and isinstance(parsed, dict):
            rejected = {r["index"] for r in parsed.get("rejected", [])}
            if rejected:
                log("unexpected: %s rejected %d generated records: %s" % (node, len(rejected), parsed["rejected"][:2]))
            self.ledger.acknowledge([i for k, i in enumerate(indexes) if k not in rejected])
            return []
        if status == 503 and isinstance(parsed, dict) and "failed" in parsed:
            failed = {f["index"] for f in parsed["failed"]}
            rejected = {r["index"] for r in parsed.get("rejected", [])}
            self.ledger.acknowledge([i for k, i in enumerate(indexes) if k not in failed and k not in rejected])
            return [i for k, i in enumerate(indexes) if k in failed]
        return indexes

    def drain(self, deadline, fallback):
        """Sends every retry still waiting at once, to its node, then to `fallback` nodes in
        turn, until none is left or the deadline passes; returns records still unacknowledged."""
        with self.lock:
            self.retries = [(0, node, indexes, 0) for _, node, indexes, _ in self.retries]
        rounds = 0
        while now() < deadline:
            with self.lock:
                left = sum(len(r[2]) for r in self.retries)
                if left == 0:
                    return 0
                if rounds % 10 == 9:  # the pinned node keeps refusing: let another one try
                    self.retries = [(0, fallback[rounds % len(fallback)], indexes, 0) for _, _, indexes, _ in self.retries]
            rounds += 1
            time.sleep(1)
        return self.pending_retries()


class CountPoller:
    """Polls counts at some nodes from a thread and keeps every answer with its timing."""

    def __init__(self, cluster, names, consistency, pause):
        self.cluster = cluster
        self.names = names
        self.consistency = consistency
        self.pause = pause
        self.answers = []  # dicts: node, start, seconds, status, partial, count, error
        self.lock = threading.Lock()
        self.stopping = False
        self.thread = threading.Thread(target=self.run, daemon=True)

    def set_names(self, names):
        with self.lock:
            self.names = names

    def run(self):
        turn = 0
        path = COUNT_PATH + ("&read_consistency=verified" if self.consistency == "verified" else "")
        while not self.stopping and turn < 1_000_000:
            with self.lock:
                names = list(self.names)
            if not names:
                time.sleep(0.2)
                continue
            name = names[turn % len(names)]
            turn += 1
            started = now()
            status, body = request(self.cluster.http(name), "GET", path)
            seconds = now() - started
            answer = {"node": name, "start": started, "end": started + seconds, "seconds": seconds,
                      "wall": time.strftime("%H:%M:%S", time.gmtime(time.time() - seconds)),
                      "status": status, "partial": None, "count": None, "consistency": self.consistency}
            if status is None:
                answer["error"] = body.decode()[:200]
            else:
                try:
                    parsed = json.loads(body)
                    answer["count"] = parsed.get("record_count")
                    answer["partial"] = parsed.get("coverage", {}).get("partial")
                except ValueError:
                    answer["error"] = body.decode()[:200]
            with self.lock:
                self.answers.append(answer)
            time.sleep(self.pause)

    def take(self, since, until=None):
        with self.lock:
            return [a for a in self.answers if a["start"] >= since and (until is None or a["start"] < until)]


class Probe:
    """Times one request at one node over and over from a thread (a new connection each time,
    as a new client would open), keeping (start, seconds, status)."""

    def __init__(self, address, path, pause):
        self.address, self.path, self.pause = address, path, pause
        self.samples = []
        self.stopping = False
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self):
        turn = 0
        while not self.stopping and turn < 1_000_000:
            turn += 1
            started = now()
            status, _ = request(self.address, "GET", self.path)
            with self.lock:
                self.samples.append((started, now() - started, status))
            time.sleep(self.pause)

    def take(self, since, until):
        with self.lock:
            return [s for s in self.samples if since <= s[0] < until]


# MARK: Judging counts

class Judge:
    """A count that said it was complete (200, "partial": false) is wrong if it lacks records
    acknowledged before it was asked, or has more than had been sent when it was answered.
    With read_consistency=one an acknowledged batch may not have reached the replica read yet
    (docs/api.md): up to `one_window_s` after its acknowledgement that is reported as `short
    within the documented window`, not as wrong. A phase may excuse more with `excused` (a
    datacenter cut off: docs/operations.md's second window for `one`); those are counted as
    `excused_stale`, with the largest shortfall. With `verified` nothing is excused."""

    def __init__(self, ledger, one_window_s):
        self.ledger = ledger
        self.one_window_s = one_window_s

    def judge(self, answers, excused=lambda answer: False):
        result = {"answers": len(answers), "complete": 0, "failed": 0, "partial": 0, "wrong": [],
                  "short_in_window": 0, "excused_stale": 0, "excused_max_short": 0, "excused_examples": []}
        for answer in answers:
            if answer["status"] != 200:
                result["failed"] += 1
                continue
            if answer["partial"] is not False:
                result["partial"] += 1
                continue
            result["complete"] += 1
            count = answer["count"]
            strict_low = self.ledger.acked_before(answer["start"])
            high = self.ledger_sent_before(answer["end"])
            if count is not None and count > high:
                result["wrong"].append("%s (%s): %d, more than the %d records ever sent" % (answer["node"], answer["consistency"], count, high))
            elif count is None or count < strict_low:
                window_low = self.ledger.acked_before(answer["start"] - self.one_window_s)
                if answer["consistency"] == "one" and count is not None and count >= window_low:
                    result["short_in_window"] += 1
                elif excused(answer):
                    result["excused_stale"] += 1
                    result["excused_max_short"] = max(result["excused_max_short"], strict_low - (count or 0))
                    if len(result["excused_examples"]) < 5:
                        result["excused_examples"].append("%s at %sZ: %s of %d" % (answer["node"], answer["wall"], count, strict_low))
                else:
                    result["wrong"].append("%s (%s) asked at %sZ: %s of %d acknowledged before it was asked, said complete"
                                           % (answer["node"], answer["consistency"], answer["wall"], count, strict_low))
        return result

    def ledger_sent_before(self, moment):
        # Records are taken from the file just before they are first sent; sent_count only grows,
        # so the count at judging time is an upper bound of what was sent before `moment`.
        return self.ledger.sent_count


# MARK: Phases

class Bench:
    def __init__(self, args):
        with open(args.cluster) as source:
            self.cluster = Cluster(json.load(source))
        self.args = args
        self.ledger = Ledger(args.profiles)
        self.importer = Importer(self.cluster, self.ledger, args.rate, args.batch, args.import_threads)
        everyone = self.cluster.names()
        self.pollers = [CountPoller(self.cluster, everyone, "one", 0.05), CountPoller(self.cluster, everyone, "one", 0.05),
                        CountPoller(self.cluster, everyone, "verified", 0.2)]
        window = self.cluster.sub_request_timeout_ms / 1000 + 1
        self.judge = Judge(self.ledger, window)
        self.results = {"config": {"rate": args.rate, "batch": args.batch, "import_threads": args.import_threads,
                                   "sub_request_timeout_ms": self.cluster.sub_request_timeout_ms,
                                   "one_window_s": window}, "phases": {}}
        self.disk_grown = False

    def all_targets(self):
        return [self.cluster.names()] * self.args.import_threads

    def set_pollers(self, names):
        for poller in self.pollers:
            poller.set_names(names)

    def run(self, phases):
        self.importer.set_targets(self.all_targets())
        self.importer.start()
        for poller in self.pollers:
            poller.thread.start()
        status = 0
        try:
            for phase in phases:
                log("phase %s" % phase)
                self.importer.accept_new = True
                self.importer.set_targets(self.all_targets())
                self.set_pollers(self.cluster.names())
                started = now()
                cpu_start = self.cluster.cpu_seconds()
                try:
                    if phase != "disk":
                        self.grow_disk()
                    result = getattr(self, "phase_" + phase)()
                except PhaseError as error:
                    log("phase %s could not be run: %s" % (phase, error))
                    result = {"error": str(error)}
                    status = 2
                result["seconds"] = round(now() - started, 1)
                cpu_end = self.cluster.cpu_seconds()
                result["node_cpu_percent"] = {n: None if cpu_start[n] is None or cpu_end[n] is None else
                                              round(100 * (cpu_end[n] - cpu_start[n]) / (now() - started)) for n in cpu_start}
                self.results["phases"][phase] = result
                self.save()
                if "error" in result:
                    break
            self.results["final"] = self.final_check()
        finally:
            self.importer.stop()
            for poller in self.pollers:
                poller.stopping = True
            self.save()
        final = self.results.get("final", {})
        wrong = sum(len(p.get("counts", {}).get("wrong", [])) for p in self.results["phases"].values())
        self.print_table()
        if final.get("lost") or wrong:
            return 1
        if final.get("lost") is None:
            return 2  # no complete download: whether records were lost is not known
        return status

    def save(self):
        with open(self.args.results, "w") as out:
            json.dump(self.results, out, indent=1, default=str)

    # Shared steps

    def grow_disk(self):
        """The disk phase's node starts on a small tmpfs; every other phase wants it roomy."""
        if not self.disk_grown:
            subprocess.run(["mount", "-o", "remount,size=" + self.cluster.tmpfs["grown_size"], self.cluster.tmpfs["path"]], check=True)
            self.disk_grown = True

    def wait(self, seconds, check=None):
        """Sleeps up to `seconds`, polling `check` every 0.5 s; returns when it is true."""
        deadline = now() + seconds
        while now() < deadline:
            if check is not None and check():
                return True
            time.sleep(0.5)
        return check() if check is not None else True

    def settle(self):
        """Stops new imports, drains retries, waits for the replicas to agree, and checks
        counts at every node against what was acknowledged. Returns figures."""
        self.importer.accept_new = False
        unacked = self.importer.drain(now() + 120, self.cluster.names())
        time.sleep(1)  # answers in flight land in the ledger
        drained_at = now()
        result = {"records_not_acknowledged_after_drain": unacked}
        converged_at, problems = self.cluster.wait_for_convergence(self.args.converge_timeout)
        converged = None if converged_at is None else converged_at - drained_at
        result["replicas_agree_s_after_traffic"] = None if converged is None else round(converged, 1)
        result["convergence_problems"] = problems[:8]
        everyone_ready = self.wait(self.args.ready_timeout, lambda: all(self.cluster.ready(n) for n in self.cluster.names()))
        result["all_ready_s_after_traffic"] = round(now() - drained_at, 1) if everyone_ready else None
        result.update(self.count_everywhere())
        log("settled: replicas agree %s s, every node ready %s s after traffic stopped (%d problems left); %d acknowledged, verified counts %s"
            % (result["replicas_agree_s_after_traffic"], result["all_ready_s_after_traffic"], len(problems), result["acknowledged"], result["counted_verified"]))
        return result

    def count_everywhere(self):
        """A verified count at every node against the acknowledged records."""
        acked = self.ledger.acked_count
        sent = self.ledger.sent_count
        truth = self.ledger.truth_by_major()
        counted = {}
        lost = 0
        wrong_groups = []
        for name in self.cluster.names():
            deadline = now() + 60
            while True:
                status, answer = get_json(self.cluster.http(name), COUNT_PATH + "&read_consistency=verified", timeout=60)
                if (status == 200 and answer) or now() >= deadline:
                    break
                time.sleep(2)
            if status != 200 or not answer:
                counted[name] = "status %s" % status
                continue
            counted[name] = answer.get("record_count")
            if isinstance(counted[name], int):
                lost = max(lost, acked - counted[name])
            groups = {k: v for k, v in answer.get("counts", {}).items()}
            if sent == acked and groups != truth:
                wrong_groups.append("%s: %s, expected %s" % (name, groups, truth))
        return {"acknowledged": acked, "sent": sent, "counted_verified": counted,
                "lost_by_count": lost, "group_mismatches": wrong_groups[:3]}

    def judge_counts(self, since, until, excused=lambda a: False):
        answers = []
        for poller in self.pollers:
            answers += poller.take(since, until)
        judged = self.judge.judge(answers, excused)
        by_consistency = {}
        for consistency in ("one", "verified"):
            picked = [a for a in answers if a["consistency"] == consistency]
            by_consistency[consistency] = {"latency": latency_summary([a["seconds"] for a in picked]),
                                           "over_sub_request_timeout": sum(1 for a in picked if a["seconds"] * 1000 > self.cluster.sub_request_timeout_ms),
                                           "over_twice_it": sum(1 for a in picked if a["seconds"] * 1000 > 2 * self.cluster.sub_request_timeout_ms),
                                           "failed": sum(1 for a in picked if a["status"] != 200),
                                           "partial": sum(1 for a in picked if a["status"] == 200 and a["partial"] is not False)}
        judged["by_consistency"] = by_consistency
        slowest = sorted(answers, key=lambda a: -a["seconds"])[:5]
        judged["slowest"] = ["%s %s at %sZ: %.2f s, %s%s" % (a["node"], a["consistency"], a["wall"], a["seconds"], a["status"],
                                                           (" " + a["error"]) if a.get("error") else "") for a in slowest]
        if judged["wrong"]:
            for line in judged["wrong"][:5]:
                log("WRONG COMPLETE ANSWER: " + line)
        judged["wrong"] = judged["wrong"][:20]
        return judged

    def import_figures(self):
        statuses, failed_records, latencies = self.importer.stats()
        return {"statuses": statuses, "records_named_failed": failed_records,
                "batch_latency": latency_summary([l[1] for l in latencies])}

    # 1. A node whose disk fills up

    def phase_disk(self):
        victim = self.cluster.tmpfs["node"]
        address = self.cluster.http(victim)
        self.importer.reset_stats()
        started = now()
        health = {"answered": 0, "not_answered": 0, "statuses": {}}
        reasons = []
        stop_watch = threading.Event()

        def watch():
            while not stop_watch.is_set():
                status, answer = get_json(address, "/v1/health", timeout=5)
                key = str(status) if status is not None else "no answer"
                health["statuses"][key] = health["statuses"].get(key, 0) + 1
                if status is None:
                    health["not_answered"] += 1
                else:
                    health["answered"] += 1
                    for reason in (answer or {}).get("not_ready", []):
                        if reason not in reasons and len(reasons) < 10:
                            reasons.append(reason)
                stop_watch.wait(0.5)

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()

        def failing():
            status, answer = get_json(address, "/v1/health", timeout=5)
            return status == 200 and any("failing" in r for r in (answer or {}).get("not_ready", []))

        try:
            if not self.wait(self.args.fill_timeout, failing):
                raise PhaseError("%s's shard never reported failing writes within %d s (tmpfs %s too large for the records sent?)"
                                 % (victim, self.args.fill_timeout, self.cluster.tmpfs["size"]))
            full_at = now()
            log("%s's writes fail after %.1f s, %d records acknowledged so far" % (victim, full_at - started, self.ledger.acked_count))
            self.wait(self.args.full_seconds)
            statuses_full, _, _ = self.importer.stats()
            grown_at = now()
            size = self.cluster.tmpfs["grown_size"]
            self.grow_disk()
            log("tmpfs grown to %s" % size)
            recovered = self.wait(self.args.ready_timeout, lambda: not failing())
            writes_ok_at = now()
            ready = self.wait(self.args.ready_timeout, lambda: self.cluster.ready(victim))
            ready_at = now()
            log("%s: writes succeed %.1f s, ready %.1f s after the tmpfs grew" % (victim, writes_ok_at - grown_at, ready_at - grown_at))
            self.wait(10)
        finally:
            stop_watch.set()
            watcher.join()
        imports = self.import_figures()
        counts = self.judge_counts(started, now())
        settled = self.settle()
        return {"node": victim, "tmpfs": self.cluster.tmpfs["size"], "grown_to": self.cluster.tmpfs["grown_size"],
                "fill_s": round(full_at - started, 1), "full_s": round(grown_at - full_at, 1),
                "stayed_up": self.cluster.pid_alive(victim) and health["not_answered"] == 0,
                "pid_alive": self.cluster.pid_alive(victim), "health": health, "not_ready_reasons": reasons,
                "victim_import_statuses_while_full": statuses_full.get(victim, {}),
                "writes_succeed_s_after_growing": round(writes_ok_at - grown_at, 1) if recovered else None,
                "ready_s_after_growing": round(ready_at - grown_at, 1) if ready else None,
                "imports": imports, "counts": counts, "after": settled}

    # 2. A node that stops answering (SIGSTOP)

    def phase_stop(self):
        victim = self.args.stop_node
        others = [n for n in self.cluster.names() if n != victim]
        pid = self.cluster.by_name[victim]["pid"]
        self.importer.set_targets([others] * self.args.import_threads)
        self.set_pollers(others)
        self.importer.reset_stats()
        baseline_from = now()
        self.wait(self.args.baseline_seconds)
        _, _, before_latencies = self.importer.stats()
        stopped_at = now()
        os.kill(pid, 19)  # SIGSTOP
        log("%s stopped (SIGSTOP)" % victim)
        try:
            self.wait(self.args.stop_seconds)
        finally:
            continued_at = now()
            os.kill(pid, 18)  # SIGCONT
        log("%s continued (SIGCONT)" % victim)
        ready = self.wait(self.args.ready_timeout, lambda: self.cluster.ready(victim))
        ready_at = now()
        log("%s ready %.1f s after SIGCONT" % (victim, ready_at - continued_at))
        self.set_pollers(self.cluster.names())
        self.importer.set_targets(self.all_targets())
        self.wait(10)
        _, _, latencies = self.importer.stats()
        during_imports = [l[1] for l in latencies if stopped_at <= l[0] < continued_at]
        result = {"node": victim, "stopped_s": round(continued_at - stopped_at, 1),
                  "sub_request_timeout_ms": self.cluster.sub_request_timeout_ms,
                  "counts_before": self.judge_counts(baseline_from, stopped_at),
                  "counts_during": self.judge_counts(stopped_at, continued_at),
                  "counts_after": self.judge_counts(continued_at, now()),
                  "import_batch_latency_before": latency_summary([l[1] for l in before_latencies if l[0] < stopped_at]),
                  "import_batch_latency_during": latency_summary(during_imports),
                  "ready_s_after_sigcont": round(ready_at - continued_at, 1) if ready else None,
                  "imports": self.import_figures()}
        result["counts"] = {"wrong": result["counts_before"]["wrong"] + result["counts_during"]["wrong"] + result["counts_after"]["wrong"]}
        result["after"] = self.settle()
        return result

    # 3. Slowloris: 2,000 connections that never finish a request

    def phase_slowloris(self):
        victim = self.args.slowloris_node
        address = self.cluster.http(victim)
        peers = [n for n in self.cluster.names() if n != victim]
        self.importer.reset_stats()
        probes = {"health": Probe(address, "/v1/health", 0.05), "count": Probe(address, COUNT_PATH, 0.05)}
        for probe in probes.values():
            probe.thread.start()
        hints_kept_before = sum(self.cluster.metric(n, "espymetrics_cluster_hints_kept_total") or 0 for n in peers)
        write_failures_before = sum(self.cluster.metric(n, "espymetrics_cluster_replica_write_failures_total") or 0 for n in peers)
        baseline_from = now()
        cpu_baseline = self.cluster.cpu_seconds()
        self.wait(self.args.baseline_seconds)
        attack_from = now()
        cpu_attack = self.cluster.cpu_seconds()
        # In a process of its own, so that holding 2,000 sockets does not take the measuring
        # clients' interpreter lock.
        opened = multiprocessing.Value("i", 0)
        report = multiprocessing.Queue()
        loris_process = multiprocessing.Process(target=Slowloris.run_in_process, daemon=True,
                                                args=(address, self.args.slow_connections, self.args.slowloris_seconds, opened, report))
        loris_process.start()
        open_deadline = now() + 60
        while opened.value < self.args.slow_connections and now() < open_deadline and loris_process.is_alive():
            time.sleep(0.2)
        opened_at = now()
        log("%d slow connections open at %s in %.1f s" % (opened.value, victim, opened_at - attack_from))
        connections_metric = self.cluster.metric(victim, "espymetrics_http_connections")
        pending_hints_during = self.cluster.pending_hints()
        try:
            loris = report.get(timeout=self.args.slowloris_seconds + 60)
        except queue.Empty:
            raise PhaseError("the slow connections' process did not report")
        finally:
            loris_process.join(timeout=10)
            if loris_process.is_alive():
                loris_process.kill()
        ended_at = now()
        cpu_end = self.cluster.cpu_seconds()
        pending_hints_end = self.cluster.pending_hints()
        hints_kept = sum(self.cluster.metric(n, "espymetrics_cluster_hints_kept_total") or 0 for n in peers) - hints_kept_before
        write_failures = sum(self.cluster.metric(n, "espymetrics_cluster_replica_write_failures_total") or 0 for n in peers) - write_failures_before
        self.wait(5)
        for probe in probes.values():
            probe.stopping = True
        for probe in probes.values():
            probe.thread.join(timeout=CLIENT_TIMEOUT_S + 5)

        def summary(samples):
            figures = latency_summary([s[1] for s in samples])
            figures["not_200"] = sum(1 for s in samples if s[2] != 200)
            return figures

        def share(start, end, seconds):
            return {n: None if start[n] is None or end[n] is None else round(100 * (end[n] - start[n]) / seconds) for n in start}

        result = {"node": victim, "slow_connections_wanted": self.args.slow_connections,
                  "cpu_percent_before": share(cpu_baseline, cpu_attack, attack_from - baseline_from),
                  "cpu_percent_during": share(cpu_attack, cpu_end, ended_at - attack_from),
                  "slow_connections_opened": loris["opened"], "open_s": round(opened_at - attack_from, 1),
                  "kinds": loris["kinds"], "closed_by_node": loris["closed_by_node"], "closed_by_kind": loris["closed_by_kind"],
                  "reopened": loris["reopened"], "refused_or_reset": loris["errors"], "answers_to_slow_connections": loris["answers"],
                  "http_connections_metric_during": connections_metric,
                  "health_before": summary(probes["health"].take(baseline_from, attack_from)),
                  "health_during": summary(probes["health"].take(opened_at, ended_at)),
                  "count_before": summary(probes["count"].take(baseline_from, attack_from)),
                  "count_during": summary(probes["count"].take(opened_at, ended_at)),
                  "peer_hints_kept_during": hints_kept, "peer_replica_write_failures_during": write_failures,
                  "pending_hints_during": pending_hints_during, "pending_hints_end": pending_hints_end,
                  "imports": self.import_figures(),
                  "counts": self.judge_counts(baseline_from, now())}
        _, _, latencies = self.importer.stats()
        result["import_batch_latency_before"] = latency_summary([l[1] for l in latencies if l[0] < attack_from])
        result["import_batch_latency_during"] = latency_summary([l[1] for l in latencies if opened_at <= l[0] < ended_at])
        result["import_batch_latency_during_at_node"] = latency_summary([l[1] for l in latencies if opened_at <= l[0] < ended_at and l[2] == victim])
        result["after"] = self.settle()
        return result

    # 4. A datacenter cut off for a minute

    def iptables_rules(self):
        """DROP what one side's nodes send to the other side's addresses. Outgoing connections
        of a node leave from 127.0.0.1 whatever address it listens on, so the rules tell the sides
        apart by the sending socket's owner (the two sides run as different users, as in
        NetworkPartitionTests) and only ever match this cluster's addresses."""
        cut = self.args.cut_datacenter
        users = self.cluster.partition_users
        rules = []
        for node in self.cluster.nodes:
            for other in self.cluster.nodes:
                if (node["datacenter"] == cut) == (other["datacenter"] == cut):
                    continue
                sender = users["cut"] if node["datacenter"] == cut else users["rest"]
                rule = ["OUTPUT", "-o", "lo", "-m", "owner", "--uid-owner", sender,
                        "-d", other["http"].rsplit(":", 1)[0] + "/32", "-j", "DROP"]
                if rule not in rules:
                    rules.append(rule)
        return rules

    def phase_partition(self):
        cut = self.args.cut_datacenter
        inside = self.cluster.names(cut)
        outside = [n for n in self.cluster.names() if n not in inside]
        # Both sides keep importing: some threads write through the cut datacenter's nodes, the
        # others through the rest; retries stay with their node, as a client in that datacenter's.
        threads = self.args.import_threads
        self.importer.set_targets([inside if k % 3 == 2 else outside for k in range(threads)])
        self.set_pollers([inside[0], outside[0], inside[-1], outside[-1]])
        self.importer.reset_stats()
        baseline_from = now()
        self.wait(self.args.baseline_seconds)
        rules = self.iptables_rules()
        # Written before any rule is added: bench/faults.sh deletes what this file lists on exit.
        with open(self.cluster.rules_file, "w") as out:
            for rule in rules:
                out.write(" ".join(rule) + "\n")
        cut_at = now()
        for rule in rules:
            subprocess.run(["iptables", "-A"] + rule, check=True)
        log("%s cut off (%d iptables rules)" % (cut, len(rules)))
        try:
            noticed = self.wait(60, lambda: inside[0] not in self.cluster.alive_seen_by(outside[0])
                                and outside[0] not in self.cluster.alive_seen_by(inside[0]))
            noticed_at = now()
            if not noticed:
                raise PhaseError("the sides did not see each other fail within 60 s of the cut")
            log("the sides saw each other fail %.1f s after the cut" % (noticed_at - cut_at))
            self.wait(max(0, self.args.cut_seconds - (now() - cut_at)))
            imports_during = self.import_figures()
        finally:
            healed_at = now()
            for rule in rules:
                subprocess.run(["iptables", "-D"] + rule, check=False)
            os.unlink(self.cluster.rules_file)
        log("healed after %.1f s" % (healed_at - cut_at))
        digests_inside = self.cluster.digests(inside[0]) or {}
        self.importer.accept_new = False
        everyone = set(self.cluster.names())
        rejoined = self.wait(120, lambda: all(self.cluster.alive_seen_by(n) >= everyone for n in everyone))
        rejoined_at = now()
        unacked = self.importer.drain(now() + 120, self.cluster.names())
        drained_at = now()
        converged_at, problems = self.cluster.wait_for_convergence(self.args.converge_timeout)
        log("replicas agree %s s after healing" % (None if converged_at is None else round(converged_at - healed_at, 1)))
        stale_until = converged_at or now()

        def excused(answer):
            # Documented (docs/operations.md, "What partial answers mean"): with
            # read_consistency=one, a replica cut off from writes is still read and undercounts
            # until hints and anti-entropy bring it the other side's writes. Any node's count may
            # read such a replica (its own datacenter's replica busy or declining), and after the
            # heal too: a member reaped during the cut joins again without refuting, so nothing
            # marks it behind.
            return answer["consistency"] == "one" and cut_at <= answer["start"] < stale_until

        counts = self.judge_counts(baseline_from, now(), excused)
        counts_cut = self.judge_counts(cut_at, healed_at, excused)
        result = {"datacenter": cut, "nodes_cut": inside, "rules": len(rules), "cut_s": round(healed_at - cut_at, 1),
                  "failure_seen_s_after_cut": round(noticed_at - cut_at, 1),
                  "members_alive_again_s_after_heal": round(rejoined_at - healed_at, 1) if rejoined else None,
                  "retries_acknowledged_s_after_heal": round(drained_at - healed_at, 1), "not_acknowledged_after_drain": unacked,
                  "replicas_agree_s_after_heal": None if converged_at is None else round(converged_at - healed_at, 1),
                  "convergence_problems": problems[:8],
                  "records_in_cut_dc_node_at_heal": sum(int(d.split(":")[0]) for d in digests_inside.values()),
                  "imports_during_cut": imports_during, "counts": counts, "counts_during_cut": counts_cut}
        result["after"] = self.settle()
        return result

    # The end: every acknowledged record, exactly once

    def download(self, name):
        """Every record id a download from `name` gives: (ids, lines, complete). A download that
        misses partitions ends without its last chunk; http.client's read() raises on that
        (readline() would not)."""
        host, port = self.cluster.http(name).rsplit(":", 1)
        connection = http.client.HTTPConnection(host, int(port), timeout=300)
        seen = set()
        lines = 0
        carry = b""
        try:
            connection.request("GET", "/v1/download/import")
            response = connection.getresponse()
            if response.status != 200:
                return seen, 0, False
            while True:
                block = response.read(1 << 20)
                if not block:
                    break
                block = carry + block
                complete_lines, _, carry = block.rpartition(b"\n")
                for line in complete_lines.split(b"\n"):
                    if line:
                        lines += 1
                        found = UUID.search(line)
                        if found:
                            seen.add(found.group(1).decode())
            return seen, lines, carry == b""
        except (OSError, http.client.HTTPException) as error:
            log("download from %s broke off (partitions without an answering replica?): %s" % (name, error))
            return seen, lines, False
        finally:
            connection.close()

    def final_check(self):
        """Downloads every record from one node (each partition from one replica; the replicas
        were just found to agree) and compares ids with what was acknowledged."""
        name = self.cluster.names()[0]
        attempts = []
        for _ in range(6):
            seen, lines, complete = self.download(name)
            attempts.append({"lines": lines, "complete": complete})
            if complete:
                break
            time.sleep(15)
        acked = [u for u, a in zip(self.ledger.uuids, self.ledger.acknowledged) if a]
        missing = [u for u in acked if u not in seen]
        sent = set(self.ledger.uuids)
        result = {"node": name, "download_complete": complete, "download_attempts": attempts, "lines": lines, "distinct": len(seen),
                  "acknowledged": len(acked), "sent": len(sent), "lost": len(missing) if complete else None,
                  "missing_from_incomplete_download": None if complete else len(missing), "lost_examples": missing[:5],
                  "duplicates": lines - len(seen), "never_sent": len(seen - sent),
                  "not_acknowledged": len(sent) - len(acked)}
        if missing:
            result["missing_by_holder"] = self.where_missing(missing)
        result.update(self.count_everywhere())
        log("final: %d acknowledged, %d downloaded (%d distinct, complete: %s), %d missing"
            % (len(acked), lines, len(seen), complete, len(missing)))
        return result

    def where_missing(self, missing):
        """For records missing from the download: their partitions, and each node's digest of them."""
        lines = {u: l for u, l in zip(self.ledger.uuids, self.ledger.lines)}
        partitions = {}
        for uuid in missing:
            # The record id is the SHA-256 of the compact JSON as sent (gen_profiles writes it
            # compact); its partition is the first 8 bytes, big-endian, modulo the partition count.
            digest = hashlib.sha256(lines[uuid]).digest()
            partition = int.from_bytes(digest[:8], "big") % self.cluster.partitions
            partitions[partition] = partitions.get(partition, 0) + 1
        holders = {}
        for name in self.cluster.names():
            digests = self.cluster.digests(name) or {}
            holders[name] = {p: digests.get(p) for p in list(partitions)[:10]}
        return {"partitions": len(partitions), "records_per_partition": dict(list(partitions.items())[:10]), "digests": holders}

    def print_table(self):
        rows = []
        phases = self.results["phases"]
        sub = self.cluster.sub_request_timeout_ms

        def lat(figures):
            if not figures or not figures.get("n"):
                return "-"
            return "p50 %s / p99 %s / max %s ms (n=%d)" % (figures["p50_ms"], figures["p99_ms"], figures["max_ms"], figures["n"])

        def answers(c):
            return "%d failed, %d partial, %d complete, %d wrong" % (c["failed"], c["partial"], c["complete"], len(c["wrong"]))

        if "disk" in phases and "error" not in phases["disk"]:
            p = phases["disk"]
            rows += [("disk full: node, tmpfs", "%s, %s (grown to %s)" % (p["node"], p["tmpfs"], p["grown_to"])),
                     ("disk full: writes failing after", "%s s of imports" % p["fill_s"]),
                     ("disk full: its import answers while full", json.dumps(p["victim_import_statuses_while_full"])),
                     ("disk full: its import answers, whole phase", json.dumps(p["imports"]["statuses"].get(p["node"], {}))),
                     ("disk full: records named failed in 503s, by node", json.dumps(p["imports"]["records_named_failed"])),
                     ("disk full: stayed up (pid, every health poll answered)", "%s (%s)" % (p["stayed_up"], json.dumps(p["health"]["statuses"]))),
                     ("disk full: writes succeed / ready after growing", "%s s / %s s" % (p["writes_succeed_s_after_growing"], p["ready_s_after_growing"])),
                     ("disk full: acknowledged / counted (verified, each node)", "%d / %s" % (p["after"]["acknowledged"], json.dumps(p["after"]["counted_verified"]))),
                     ("disk full: counts polled during the phase", answers(p["counts"]))]
        if "stop" in phases and "error" not in phases["stop"]:
            p = phases["stop"]
            for label, key in (("before", "counts_before"), ("during", "counts_during"), ("after", "counts_after")):
                c = p[key]
                rows.append(("SIGSTOP %s %s s: count (one) %s" % (p["node"], p["stopped_s"], label), lat(c["by_consistency"]["one"]["latency"])))
                rows.append(("SIGSTOP: count (verified) %s" % label, lat(c["by_consistency"]["verified"]["latency"])))
                rows.append(("SIGSTOP: counts %s" % label, answers(c)))
            rows += [("SIGSTOP: sub-request timeout (default)", "%d ms" % sub),
                     ("SIGSTOP: slowest counts during", "; ".join(p["counts_during"]["slowest"][:3])),
                     ("SIGSTOP: import batch latency before / during", "%s | %s" % (lat(p["import_batch_latency_before"]), lat(p["import_batch_latency_during"]))),
                     ("SIGSTOP: ready after SIGCONT", "%s s" % p["ready_s_after_sigcont"])]
        if "slowloris" in phases and "error" not in phases["slowloris"]:
            p = phases["slowloris"]
            rows += [("slowloris: connections held at %s" % p["node"], "%d opened in %s s %s; closed by node %s (answers %s), reopened %d" % (
                         p["slow_connections_opened"], p["open_s"], json.dumps(p["kinds"]), json.dumps(p["closed_by_kind"]), json.dumps(p["answers_to_slow_connections"]), p["reopened"])),
                     ("slowloris: /v1/health before", lat(p["health_before"])), ("slowloris: /v1/health during", lat(p["health_during"]) + ", not 200: %d" % p["health_during"]["not_200"]),
                     ("slowloris: /v1/count before", lat(p["count_before"])), ("slowloris: /v1/count during", lat(p["count_during"]) + ", not 200: %d" % p["count_during"]["not_200"]),
                     ("slowloris: peers' hints kept / replica write failures during", "%d / %d" % (p["peer_hints_kept_during"], p["peer_replica_write_failures_during"])),
                     ("slowloris: import batch latency before / during (all nodes)", "%s | %s" % (lat(p["import_batch_latency_before"]), lat(p["import_batch_latency_during"]))),
                     ("slowloris: counts polled cluster-wide", answers(p["counts"])),
                     ("slowloris: node CPU % before", json.dumps(p["cpu_percent_before"])),
                     ("slowloris: node CPU % during", json.dumps(p["cpu_percent_during"]))]
        if "partition" in phases and "error" not in phases["partition"]:
            p = phases["partition"]
            rows += [("partition: %s (%s) cut off" % (p["datacenter"], ", ".join(p["nodes_cut"])), "%s s, failure seen after %s s" % (p["cut_s"], p["failure_seen_s_after_cut"])),
                     ("partition: import answers during the cut", json.dumps(p["imports_during_cut"]["statuses"])),
                     ("partition: members alive again / retries acknowledged after heal", "%s s / %s s" % (p["members_alive_again_s_after_heal"], p["retries_acknowledged_s_after_heal"])),
                     ("partition: every node's digests agree after heal", "%s s" % p["replicas_agree_s_after_heal"]),
                     ("partition: short complete answers, one, cut to convergence (documented)", "%d, at most %d records short; %s" % (
                         p["counts"]["excused_stale"], p["counts"]["excused_max_short"], "; ".join(p["counts"]["excused_examples"][:3]))),
                     ("partition: counts polled (both sides)", answers(p["counts"])),
                     ("partition: slowest counts", "; ".join(p["counts"]["slowest"][:3]))]
        for name, p in phases.items():
            for key in ("counts", "counts_during"):
                c = p.get(key, {})
                if "by_consistency" in c:
                    one, verified = c["by_consistency"]["one"], c["by_consistency"]["verified"]
                    rows.append(("%s: %s slower than %d ms / %d ms, one | verified" % (name, key.replace("_", " "), sub, 2 * sub),
                                 "%d / %d of %d | %d / %d of %d (max %s ms)" % (one["over_sub_request_timeout"], one["over_twice_it"], one["latency"]["n"],
                                                                  verified["over_sub_request_timeout"], verified["over_twice_it"], verified["latency"]["n"],
                                                                  verified["latency"]["max_ms"])))
        for name, p in phases.items():
            if "error" in p:
                rows.append(("%s: NOT RUN" % name, p["error"]))
            elif "after" in p:
                a = p["after"]
                rows.append(("%s: after traffic stopped, replicas agree / all ready" % name, "%s s / %s s" % (a["replicas_agree_s_after_traffic"], a["all_ready_s_after_traffic"])))
                rows.append(("%s: node CPU %% over the phase (of one core)" % name, json.dumps(p.get("node_cpu_percent"))))
                rows.append(("%s: acknowledged / verified count at each node" % name, "%d / %s" % (a["acknowledged"], json.dumps(a["counted_verified"]))))
        final = self.results.get("final")
        if final:
            rows += [("all: records acknowledged / sent", "%d / %d" % (final["acknowledged"], final["sent"])),
                     ("all: downloaded from %s (distinct, duplicates, complete)" % final["node"], "%d (%d, %d, %s)" % (final["lines"], final["distinct"], final["duplicates"], final["download_complete"])),
                     ("all: verified count at every node", json.dumps(final["counted_verified"])),
                     ("all: RECORDS LOST (target 0)", str(final["lost"]) if final["download_complete"] else
                      "unknown: no complete download (%d acknowledged records not in the partial one)" % final["missing_from_incomplete_download"])]
        width = max(len(r[0]) for r in rows) if rows else 10
        print()
        for label, value in rows:
            print("%-*s  %s" % (width, label, value))


class Slowloris:
    """Holds `count` connections to one node that never finish a request, from one thread:
    a third send nothing, a third send a request line and headers one header at a time every
    10 s, a third send headers and part of a body, then nothing. A connection the node closes
    (408 after http.request_timeout_ms, or the idle timeout) is opened again, as an attacker
    would; answers read from them are counted by status line."""

    def __init__(self, address, count, shared_opened=None):
        host, port = address.rsplit(":", 1)
        self.target = (host, int(port))
        self.count = count
        self.shared_opened = shared_opened
        self.closed_by_kind = {}
        self.opened = 0
        self.closed_by_node = 0
        self.reopened = 0
        self.errors = 0
        self.answers = {}
        self.kinds = {"idle": 0, "trickling_headers": 0, "partial_body": 0}

    def open(self, kind):
        connection = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        connection.settimeout(5)
        connection.connect(self.target)
        if kind == "trickling_headers":
            connection.sendall(b"GET /v1/count HTTP/1.1\r\nHost: x\r\n")
        elif kind == "partial_body":
            connection.sendall(b"POST /v1/import HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-ndjson\r\n"
                               b"Content-Length: 100000\r\n\r\n{\"partial\":")
        connection.setblocking(False)
        return connection

    @staticmethod
    def run_in_process(address, count, seconds, opened, report):
        loris = Slowloris(address, count, opened)
        try:
            loris.run(seconds)
        finally:
            report.put({"opened": loris.opened, "kinds": loris.kinds, "closed_by_node": loris.closed_by_node,
                        "closed_by_kind": loris.closed_by_kind, "reopened": loris.reopened, "errors": loris.errors,
                        "answers": loris.answers})

    def run(self, seconds):
        kinds = list(self.kinds)
        selector = selectors.DefaultSelector()
        held = set()
        try:
            for number in range(self.count):
                kind = kinds[number % 3]
                try:
                    connection = self.open(kind)
                except OSError:
                    self.errors += 1
                    continue
                selector.register(connection, selectors.EVENT_READ, kind)
                held.add(connection)
                self.kinds[kind] += 1
                self.opened += 1
                if self.shared_opened is not None:
                    self.shared_opened.value = self.opened
            deadline = now() + seconds
            next_trickle = now() + 10
            while now() < deadline:
                for key, _ in selector.select(timeout=1):
                    connection = key.fileobj
                    try:
                        data = connection.recv(4096)
                    except OSError:
                        data = b""
                    if data.startswith(b"HTTP/1."):
                        status = data[9:12].decode(errors="replace")
                        self.answers[status] = self.answers.get(status, 0) + 1
                    selector.unregister(connection)
                    connection.close()
                    held.discard(connection)
                    self.closed_by_node += 1
                    self.closed_by_kind[key.data] = self.closed_by_kind.get(key.data, 0) + 1
                    try:
                        fresh = self.open(key.data)
                        selector.register(fresh, selectors.EVENT_READ, key.data)
                        held.add(fresh)
                        self.reopened += 1
                    except OSError:
                        self.errors += 1
                if now() >= next_trickle:
                    next_trickle = now() + 10
                    for key in list(selector.get_map().values()):
                        if key.data == "trickling_headers":
                            try:
                                key.fileobj.send(b"X-Slow-%d: x\r\n" % int(now()))
                            except OSError:
                                pass
        finally:
            for connection in held:
                connection.close()
            selector.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cluster", required=True, help="cluster description written by bench/faults.sh")
    parser.add_argument("--profiles", required=True, help="NDJSON profiles from bench/gen_profiles.py")
    parser.add_argument("--results", required=True, help="where the figures go, as JSON")
    parser.add_argument("--phases", default="disk,stop,slowloris,partition")
    parser.add_argument("--rate", type=int, default=2000, help="new records per second, all import threads together")
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--import-threads", type=int, default=3)
    parser.add_argument("--baseline-seconds", type=float, default=15)
    parser.add_argument("--fill-timeout", type=float, default=300)
    parser.add_argument("--full-seconds", type=float, default=20)
    parser.add_argument("--ready-timeout", type=float, default=300)
    parser.add_argument("--converge-timeout", type=float, default=400)
    parser.add_argument("--stop-node", default="n4")
    parser.add_argument("--stop-seconds", type=float, default=20)
    parser.add_argument("--slowloris-node", default="n5")
    parser.add_argument("--slow-connections", type=int, default=2000)
    parser.add_argument("--slowloris-seconds", type=float, default=45)
    parser.add_argument("--cut-datacenter", default="dc3")
    parser.add_argument("--cut-seconds", type=float, default=60)
    args = parser.parse_args()
    phases = [p for p in args.phases.split(",") if p]
    for phase in phases:
        if not hasattr(Bench, "phase_" + phase):
            parser.error("unknown phase %r" % phase)
    if "disk" in phases and phases[0] != "disk":
        parser.error("disk must be the first phase: its node's small tmpfs fills in any phase before it")
    return Bench(args).run(phases)


if __name__ == "__main__":
    sys.exit(main())
