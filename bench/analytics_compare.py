#!/usr/bin/env python3
"""Asks EspyMetrics and DuckDB the same analytics questions over the same records and checks
that the answers agree.

The records are the node's own export (so `server_time` matches), loaded into an in-memory DuckDB
table with one typed column per path the questions read: the strongest form of the peer, since
it parses no JSON at query time. Prints, per question, DuckDB's median time over --repeat runs,
EspyMetrics' median over as many sequential requests (keep-alive), and whether the counts agree.

    bench/analytics_compare.py --http 127.0.0.11:8888 --export records.ndjson
"""
import argparse
import http.client
import json
import statistics
import sys
import time
import urllib.parse

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
}

# name, EspyMetrics parameters, DuckDB SQL giving (key values..., count[, distinct]), whether
# rows keep their bucket first.
QUESTIONS = [
    ("major where Linux",
     [("group_by", "python$version_info$0"), ("where", "uname$system:Linux")],
     "SELECT major, count(*) FROM r WHERE system = 'Linux' GROUP BY ALL"),
    ("major x minor per week",
     [("group_by", "python$version_info$0"), ("group_by", "python$version_info$1"), ("bucket", "week")],
     "SELECT strftime(date_trunc('week', ts), '%Y-%m-%d'), major, minor, count(*) FROM r GROUP BY ALL"),
    ("openssl, distinct hostname",
     [("group_by", "python$openssl_version"), ("distinct", "hostname")],
     "SELECT openssl, count(*), count(DISTINCT hostname) FROM r GROUP BY ALL"),
    ("top 5 distros",
     [("group_by", "linux_dist$name"), ("top", "5")],
     "SELECT distro, count(*) FROM r GROUP BY ALL ORDER BY 2 DESC LIMIT 5"),
    ("major where Linux, newest 100,000",
     [("group_by", "python$version_info$0"), ("where", "uname$system:Linux"), ("limit", "100000")],
     "SELECT major, count(*) FROM (SELECT * FROM r ORDER BY ts DESC LIMIT 100000) WHERE system = 'Linux' GROUP BY ALL"),
    ("release where Linux (undeclared path: scan)",
     [("group_by", "uname$release"), ("where", "uname$system:Linux")],
     "SELECT release, count(*) FROM r WHERE system = 'Linux' GROUP BY ALL"),
]


def espy_rows(answer, has_bucket, has_distinct):
    rows = {}
    for row in answer["rows"]:
        if row["key"] == "(other)":
            continue
        key = tuple(([row["bucket"]] if has_bucket else []) + list(row["key"].values()))
        rows[key] = (row["count"], row["distinct"]) if has_distinct else (row["count"],)
    return rows


def duck_rows(result, has_distinct):
    rows = {}
    for values in result:
        width = len(values) - (2 if has_distinct else 1)
        key = tuple("" if v is None else str(v) for v in values[:width])
        rows[key] = tuple(values[width:])
    return rows


def agree(espy, duck, has_distinct, error):
    if set(espy) != set(duck):
        return "DIFFERENT KEYS"
    for key, (count, *distinct) in espy.items():
        if count != duck[key][0]:
            return "DIFFERENT COUNT at %s: %d vs %d" % (key, count, duck[key][0])
        if has_distinct and abs(distinct[0] - duck[key][1]) > max(1, 3 * error * duck[key][1]):
            return "DISTINCT OUT OF 3x ERROR at %s: %d vs %d" % (key, distinct[0], duck[key][1])
    return "agree (%d rows)" % len(espy)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--http", required=True, help="HOST:PORT of a node")
    parser.add_argument("--export", required=True, help="NDJSON export of the node's records")
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()

    db = duckdb.connect()
    started = time.perf_counter()
    extracted = ", ".join("json_extract_string(json, '%s') AS %s" % (path, name) for name, path in COLUMNS.items())
    db.execute("CREATE TABLE r AS SELECT CAST(json_extract_string(json, '$.server_time') AS TIMESTAMP) AS ts, %s "
               "FROM read_ndjson_objects(?, maximum_object_size = 1048576)" % extracted, [args.export])
    loaded = db.execute("SELECT count(*) FROM r").fetchone()[0]
    print("duckdb %s: loaded %d records into typed columns in %.1f s" % (duckdb.__version__, loaded, time.perf_counter() - started))

    host, port = args.http.split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=60)
    failures = 0
    for name, parameters, sql in QUESTIONS:
        has_bucket = any(p == "bucket" for p, _ in parameters)
        has_distinct = any(p == "distinct" for p, _ in parameters)
        target = "/v1/count?" + urllib.parse.urlencode(parameters, safe="$:")
        duck_times, espy_times = [], []
        for _ in range(args.repeat):
            started = time.perf_counter()
            result = db.execute(sql).fetchall()
            duck_times.append(time.perf_counter() - started)
            started = time.perf_counter()
            connection.request("GET", target)
            response = connection.getresponse()
            body = response.read()
            espy_times.append(time.perf_counter() - started)
            if response.status != 200:
                sys.exit("%s answered %d: %s" % (target, response.status, body[:300]))
        answer = json.loads(body)
        verdict = agree(espy_rows(answer, has_bucket, has_distinct), duck_rows(result, has_distinct),
                        has_distinct, answer.get("distinct_error", 0))
        failures += not verdict.startswith("agree")
        coverage = answer.get("coverage", {})
        print("%-45s duckdb %8.2f ms  espymetrics %8.2f ms  (%.1fx)  %s, partial=%s, records=%d" % (
            name, 1000 * statistics.median(duck_times), 1000 * statistics.median(espy_times),
            statistics.median(espy_times) / statistics.median(duck_times), verdict,
            coverage.get("partial"), answer["record_count"]))
        print("    GET %s" % target)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
