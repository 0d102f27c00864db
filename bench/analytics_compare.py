#!/usr/bin/env python3
"""Asks EspyMetrics, DuckDB and SQLite's json_extract the same analytics questions over the
same records and checks that the answers agree.

The records are the node's own export (so `server_time` matches), loaded twice:
- into an in-memory DuckDB table with one typed column per path the questions read: the
  strongest form of the peer, since it parses no JSON at query time;
- into an in-memory SQLite table of the JSON bodies (and `server_time`, indexed), read through
  a view of `json_extract` columns: what a query over stored bodies costs in SQLite itself.
Prints, per question, each peer's median time over --repeat runs, EspyMetrics' median over as
many sequential requests (keep-alive), and whether the counts agree. A question on a path that
is not declared is timed twice: its first answer (read from the bodies; it makes the nodes
build an adaptive rollup of the path), then, once every node lists that rollup ready in
/v1/dimensions, the medians of the answers it gives.

    bench/analytics_compare.py --http 127.0.0.11:8888 --export records.ndjson
"""
import argparse
import http.client
import json
import sqlite3
import statistics
import sys
import time
import urllib.parse
import urllib.request

import duckdb

COLUMNS = {
    "major": "$.python.version_info[0]",
    "minor": "$.python.version_info[1]",
    "system": "$.uname.system",
    "release": "$.uname.release",
    "openssl": "$.python.openssl_version",
    "distro": "$.linux_dist.name",
    "hostname": "$.hostname",
    "uuid": "$.uuid",
    "utc_offset": "$.time.std_utc_offset",
}

# name, EspyMetrics parameters, SQL giving (key values..., count[, distinct]) in both peers'
# dialects ({week} is the dialect's Monday of `ts`).
QUESTIONS = [
    ("major where Linux",
     [("group_by", "python$version_info$0"), ("where", "uname$system:Linux")],
     "SELECT major, count(*) FROM r WHERE system = 'Linux' GROUP BY 1"),
    ("major x minor per week",
     [("group_by", "python$version_info$0"), ("group_by", "python$version_info$1"), ("bucket", "week")],
     "SELECT {week}, major, minor, count(*) FROM r GROUP BY 1, 2, 3"),
    ("openssl, distinct hostname",
     [("group_by", "python$openssl_version"), ("distinct", "hostname")],
     "SELECT openssl, count(*), count(DISTINCT hostname) FROM r GROUP BY 1"),
    ("distinct Linux hosts per minor, per week",
     [("group_by", "python$version_info$1"), ("where", "uname$system:Linux"), ("bucket", "week"), ("distinct", "hostname")],
     "SELECT {week}, minor, count(*), count(DISTINCT hostname) FROM r WHERE system = 'Linux' GROUP BY 1, 2"),
    ("top 5 distros",
     [("group_by", "linux_dist$name"), ("top", "5")],
     "SELECT distro, count(*) FROM r GROUP BY 1 ORDER BY 2 DESC LIMIT 5"),
    ("major where Linux, newest 100,000",
     [("group_by", "python$version_info$0"), ("where", "uname$system:Linux"), ("limit", "100000")],
     "SELECT major, count(*) FROM (SELECT * FROM r ORDER BY ts DESC LIMIT 100000) WHERE system = 'Linux' GROUP BY 1"),
    ("release where Linux (undeclared path: adaptive)",
     [("group_by", "uname$release"), ("where", "uname$system:Linux")],
     "SELECT release, count(*) FROM r WHERE system = 'Linux' GROUP BY 1"),
    ("UTC offset where Linux (undeclared path, 5 values: adaptive)",
     [("group_by", "time$std_utc_offset"), ("where", "uname$system:Linux")],
     "SELECT utc_offset, count(*) FROM r WHERE system = 'Linux' GROUP BY 1"),
]
# The undeclared path of each adaptive question.
ADAPTIVE = {"release where Linux (undeclared path: adaptive)": "uname$release",
            "UTC offset where Linux (undeclared path, 5 values: adaptive)": "time$std_utc_offset"}


def espy_rows(answer, has_bucket, has_distinct):
    rows = {}
    for row in answer["rows"]:
        if row["key"] == "(other)":
            continue
        key = tuple(([row["bucket"]] if has_bucket else []) + list(row["key"].values()))
        rows[key] = (row["count"], row["distinct"]) if has_distinct else (row["count"],)
    return rows


def peer_rows(result, has_distinct):
    rows = {}
    for values in result:
        width = len(values) - (2 if has_distinct else 1)
        key = tuple("" if v is None else str(v) for v in values[:width])
        rows[key] = tuple(values[width:])
    return rows


def agree(espy, peer, has_distinct, error):
    if set(espy) != set(peer):
        return "DIFFERENT KEYS"
    for key, (count, *distinct) in espy.items():
        if count != peer[key][0]:
            return "DIFFERENT COUNT at %s: %d vs %d" % (key, count, peer[key][0])
        if has_distinct and abs(distinct[0] - peer[key][1]) > max(1, 3 * error * peer[key][1]):
            return "DISTINCT OUT OF 3x ERROR at %s: %d vs %d" % (key, distinct[0], peer[key][1])
    return "agree (%d rows)" % len(espy)


def load_duckdb(export):
    db = duckdb.connect()
    started = time.perf_counter()
    extracted = ", ".join("json_extract_string(json, '%s') AS %s" % (path, name) for name, path in COLUMNS.items())
    db.execute("CREATE TABLE r AS SELECT CAST(json_extract_string(json, '$.server_time') AS TIMESTAMP) AS ts, %s "
               "FROM read_ndjson_objects(?, maximum_object_size = 1048576)" % extracted, [export])
    loaded = db.execute("SELECT count(*) FROM r").fetchone()[0]
    print("duckdb %s: loaded %d records into typed columns in %.1f s" % (duckdb.__version__, loaded, time.perf_counter() - started))
    return lambda sql: db.execute(sql.format(week="strftime(date_trunc('week', ts), '%Y-%m-%d')")).fetchall()


def load_sqlite(export):
    db = sqlite3.connect(":memory:")
    started = time.perf_counter()
    db.execute("CREATE TABLE bodies (ts TEXT NOT NULL, body TEXT NOT NULL)")
    with open(export, encoding="utf-8") as lines:
        db.executemany("INSERT INTO bodies VALUES (json_extract(?1, '$.server_time'), ?1)",
                       ((line,) for line in lines if line.strip()))
    db.execute("CREATE INDEX bodies_by_time ON bodies (ts)")
    extracted = ", ".join("json_extract(body, '%s') AS %s" % (path, name) for name, path in COLUMNS.items())
    db.execute("CREATE VIEW r AS SELECT ts, %s FROM bodies" % extracted)
    loaded = db.execute("SELECT count(*) FROM bodies").fetchone()[0]
    print("sqlite %s: loaded %d JSON bodies in %.1f s" % (sqlite3.sqlite_version, loaded, time.perf_counter() - started))
    return lambda sql: db.execute(sql.format(week="date(substr(ts, 1, 10), 'weekday 0', '-6 days')")).fetchall()


def timed(run):
    started = time.perf_counter()
    result = run()
    return time.perf_counter() - started, result


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--http", required=True, help="HOST:PORT of a node")
    parser.add_argument("--export", required=True, help="NDJSON export of the node's records")
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()

    peers = [("duckdb", load_duckdb(args.export)), ("sqlite json_extract", load_sqlite(args.export))]
    host, port = args.http.split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=60)

    def ask(target):
        connection.request("GET", target)
        response = connection.getresponse()
        body = response.read()
        if response.status != 200:
            sys.exit("%s answered %d: %s" % (target, response.status, body[:300]))
        return json.loads(body)

    def nodes():
        return [member["http"] for member in ask("/v1/cluster/members")["members"] if member["status"] == "alive"]

    def wait_until_built(path, limit=600):
        """Seconds until every node's rollup of `path` is ready (nodes that never read bodies
        for the question list nothing; waiting stops when no node is still building)."""
        started = time.perf_counter()
        while time.perf_counter() - started < limit:
            states = []
            for address in nodes():
                with urllib.request.urlopen("http://%s/v1/dimensions" % address, timeout=10) as response:
                    states += [entry["ready"] for entry in json.load(response)["adaptive"]["paths"] if entry["path"] == path]
            if states and all(states):
                return time.perf_counter() - started, len(states)
            time.sleep(0.5)
        sys.exit("the adaptive rollup of %s was not built within %d s" % (path, limit))

    failures = 0
    for name, parameters, sql in QUESTIONS:
        has_bucket = any(p == "bucket" for p, _ in parameters)
        has_distinct = any(p == "distinct" for p, _ in parameters)
        target = "/v1/count?" + urllib.parse.urlencode(parameters, safe="$:")
        times = {peer: [] for peer, _ in peers + [("espymetrics", None)]}
        results = {}
        if name in ADAPTIVE:
            elapsed, first = timed(lambda: ask(target))
            built, listing = wait_until_built(ADAPTIVE[name])
            print("%s: first answer %.1f ms (read from bodies); rollup ready on %d node(s) %.1f s later"
                  % (name, 1000 * elapsed, listing, built))
        for _ in range(args.repeat):
            for peer, run in peers:
                elapsed, results[peer] = timed(lambda: run(sql))
                times[peer].append(elapsed)
            elapsed, answer = timed(lambda: ask(target))
            times["espymetrics"].append(elapsed)
        espy = espy_rows(answer, has_bucket, has_distinct)
        medians = {peer: 1000 * statistics.median(samples) for peer, samples in times.items()}
        print("%s (espymetrics: %d records, partial=%s)" % (name, answer["record_count"], answer.get("coverage", {}).get("partial")))
        print("    GET %s" % target)
        print("    espymetrics %9.2f ms" % medians["espymetrics"])
        for peer, _ in peers:
            verdict = agree(espy, peer_rows(results[peer], has_distinct), has_distinct, answer.get("distinct_error", 0))
            failures += not verdict.startswith("agree")
            print("    %-19s %9.2f ms (espymetrics %.2fx of it)  %s" % (
                peer, medians[peer], medians["espymetrics"] / medians[peer], verdict))
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
