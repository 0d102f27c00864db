#!/usr/bin/env python3
"""What bench/scale.sh measures across many processes at once, each command bounded in time.

    scale_probe.py converge --kind espy|serf --expect N --timeout S ADDR...
        Polls every member (HTTP /v1/cluster/members, or `serf members -rpc-addr`) until each
        has listed N alive at least once; prints the seconds from the start until the last one
        did, or "timeout" with how many never did. With --failed F it waits instead until each
        lists F members failed (status dead).
    scale_probe.py cpu PID...        cumulative CPU seconds of these processes (utime + stime)
    scale_probe.py rss PID...        "mean max" resident set size in MB
    scale_probe.py metric NAME ADDR...   sum over nodes of a Prometheus sample from /metrics
    scale_probe.py truth FILE PATH   ground-truth counts of a $-path over an NDJSON file (JSON)
    scale_probe.py counts --truth JSON --query Q ADDR...   counts at each node against the truth
    scale_probe.py latency --requests N ADDR QUERY   sequential count latency p50/p99 in ms
"""
import argparse
import concurrent.futures
import json
import os
import subprocess
import sys
import time
import urllib.request


def fetch_json(address, path, timeout=5.0):
    with urllib.request.urlopen(f"http://{address}{path}", timeout=timeout) as response:
        return json.loads(response.read())


def espy_statuses(address):
    members = fetch_json(address, "/v1/cluster/members")["members"]
    return [member["status"] for member in members]


def serf_statuses(address):
    output = subprocess.run(["serf", "members", f"-rpc-addr={address}"], capture_output=True, text=True,
                            timeout=10).stdout
    return [fields[2] for fields in (line.split() for line in output.splitlines()) if len(fields) >= 3]


def converge(args):
    statuses = espy_statuses if args.kind == "espy" else serf_statuses
    failed_word = "dead" if args.kind == "espy" else "failed"
    waiting = set(args.addresses)
    began = time.monotonic()
    last = 0.0

    def done(address):
        try:
            seen = statuses(address)
        except Exception:
            return False
        if args.failed is not None:
            return seen.count(failed_word) >= args.failed
        return seen.count("alive") >= args.expect

    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        while waiting and time.monotonic() - began < args.timeout:
            finished = [address for address, ok in zip(list(waiting), pool.map(done, list(waiting))) if ok]
            now = time.monotonic() - began
            for address in finished:
                waiting.discard(address)
                last = now
            if waiting:
                time.sleep(0.2)
    if waiting:
        print(f"timeout ({len(waiting)} of {len(args.addresses)} never did)")
        return 1
    print(f"{last:.1f}")
    return 0


def cpu_seconds(pids):
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except (OSError, IndexError):
            pass
    return total / ticks


def rss(pids):
    sizes = []
    for pid in pids:
        try:
            with open(f"/proc/{pid}/status") as status:
                for line in status:
                    if line.startswith("VmRSS:"):
                        sizes.append(int(line.split()[1]) / 1024)
        except OSError:
            pass
    return f"{sum(sizes) / max(1, len(sizes)):.1f} {max(sizes, default=0):.1f}"


def metric(args):
    total = 0.0
    for address in args.addresses:
        try:
            with urllib.request.urlopen(f"http://{address}/metrics", timeout=5) as response:
                for line in response.read().decode().splitlines():
                    if line.startswith(args.name + " ") or line.startswith(args.name + "{"):
                        total += float(line.rsplit(" ", 1)[1])
        except Exception:
            pass
    print(f"{total:.0f}")


def value_at(record, path):
    value = record
    for segment in path.split("$"):
        if isinstance(value, list) and segment.lstrip("-").isdigit():
            index = int(segment)
            if not -len(value) <= index < len(value):
                return None
            value = value[index]
        elif isinstance(value, dict) and segment in value:
            value = value[segment]
        else:
            return None
    return value


def truth(args):
    counts, missing, total = {}, 0, 0
    with open(args.file) as source:
        for line in source:
            total += 1
            value = value_at(json.loads(line), args.path)
            if value is None:
                missing += 1
            else:
                key = json.dumps(value) if isinstance(value, (dict, list)) else str(value)
                counts[key] = counts.get(key, 0) + 1
    print(json.dumps({"counts": counts, "record_count": total, "error_count": missing}))


def counts(args):
    expected = json.loads(args.truth)
    exact, wrong, unavailable = 0, [], []
    for address in args.addresses:
        try:
            answer = fetch_json(address, args.query, timeout=30)
        except urllib.error.HTTPError as error:
            body = error.read().decode(errors="replace")
            unavailable.append(f"{address}: {error.code} {body[:160]}")
            continue
        except Exception as error:
            unavailable.append(f"{address}: {error}")
            continue
        if answer.get("counts") == expected["counts"] and answer.get("record_count") == expected["record_count"]:
            exact += 1
        else:
            wrong.append(f"{address}: record_count {answer.get('record_count')} partial {answer.get('coverage', {}).get('partial')}")
    print(f"{exact} of {len(args.addresses)} exact" + "".join(f"; wrong {w}" for w in wrong)
          + "".join(f"; unavailable {u}" for u in unavailable))
    return 0 if not wrong else 1


def latency(args):
    host, port = args.address.rsplit(":", 1)
    import http.client
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    times = []
    for _ in range(args.requests):
        began = time.perf_counter()
        connection.request("GET", args.query)
        response = connection.getresponse()
        response.read()
        times.append((time.perf_counter() - began) * 1000)
    times.sort()
    print(f"p50 {times[len(times) // 2]:.2f} ms, p99 {times[min(len(times) - 1, int(len(times) * 0.99))]:.2f} ms")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    c = commands.add_parser("converge")
    c.add_argument("--kind", choices=["espy", "serf"], required=True)
    c.add_argument("--expect", type=int, default=0)
    c.add_argument("--failed", type=int)
    c.add_argument("--timeout", type=float, default=120)
    c.add_argument("addresses", nargs="+")
    for name in ("cpu", "rss"):
        c = commands.add_parser(name)
        c.add_argument("pids", nargs="+", type=int)
    c = commands.add_parser("metric")
    c.add_argument("name")
    c.add_argument("addresses", nargs="+")
    c = commands.add_parser("truth")
    c.add_argument("file")
    c.add_argument("path")
    c = commands.add_parser("counts")
    c.add_argument("--truth", required=True)
    c.add_argument("--query", required=True)
    c.add_argument("addresses", nargs="+")
    c = commands.add_parser("latency")
    c.add_argument("--requests", type=int, default=200)
    c.add_argument("address")
    c.add_argument("query")
    args = parser.parse_args()
    if args.command == "converge":
        return converge(args)
    if args.command == "cpu":
        print(f"{cpu_seconds(args.pids):.2f}")
    elif args.command == "rss":
        print(rss(args.pids))
    elif args.command == "metric":
        metric(args)
    elif args.command == "truth":
        truth(args)
    elif args.command == "counts":
        return counts(args)
    elif args.command == "latency":
        latency(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
