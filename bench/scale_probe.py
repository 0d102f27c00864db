#!/usr/bin/env python3
"""What bench/scale.sh measures across many processes at once, each command bounded in time.

    scale_probe.py converge --kind espy|serf --expect N --timeout S ADDR...
        Polls every member (HTTP /v1/cluster/members, or Serf's RPC "members") until each
        has listed N alive at least once; prints the seconds from the start until the last one
        did, or "timeout" with how many never did. With --failed F it waits instead until each
        lists F members failed (status dead).
    scale_probe.py cpu PID...        cumulative CPU seconds of these processes (utime + stime)
    scale_probe.py rss PID...        resident set size mean and max, and PSS mean, in MB
    scale_probe.py metric NAME ADDR...   sum over nodes of a Prometheus sample from /metrics
    scale_probe.py truth FILE PATH   ground-truth counts of a $-path over an NDJSON file (JSON)
    scale_probe.py counts --truth JSON --query Q ADDR...   counts at each node against the truth
    scale_probe.py latency --requests N ADDR QUERY   sequential count latency p50/p99 in ms (after 20 warm-up requests)
"""
import argparse
import concurrent.futures
import json
import os
import socket
import sys
import time
import urllib.request


def fetch_json(address, path, timeout=5.0):
    with urllib.request.urlopen(f"http://{address}{path}", timeout=timeout) as response:
        return json.loads(response.read())


def espy_statuses(address):
    members = fetch_json(address, "/v1/cluster/members")["members"]
    return [member["status"] for member in members]


def msgpack_encode(value):
    """The few msgpack shapes a Serf RPC request uses: maps of short strings and small ints."""
    if isinstance(value, dict):
        return bytes([0x80 | len(value)]) + b"".join(msgpack_encode(k) + msgpack_encode(v) for k, v in value.items())
    if isinstance(value, str):
        raw = value.encode()
        return bytes([0xa0 | len(raw)]) + raw
    if isinstance(value, int) and 0 <= value < 128:
        return bytes([value])
    raise ValueError(f"cannot encode {value!r}")


class MsgpackStream:
    """Decodes msgpack values one after another from a socket (Serf RPC answers)."""

    def __init__(self, sock):
        self.sock, self.buffer, self.position = sock, b"", 0

    def take(self, count):
        while len(self.buffer) - self.position < count:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("serf closed the RPC connection")
            self.buffer = self.buffer[self.position:] + chunk
            self.position = 0
        data = self.buffer[self.position:self.position + count]
        self.position += count
        return data

    def number(self, size, signed=False):
        return int.from_bytes(self.take(size), "big", signed=signed)

    def value(self):
        first = self.take(1)[0]
        if first <= 0x7f: return first
        if first >= 0xe0: return first - 0x100
        if 0x80 <= first <= 0x8f: return self.mapping(first & 0x0f)
        if 0x90 <= first <= 0x9f: return [self.value() for _ in range(first & 0x0f)]
        if 0xa0 <= first <= 0xbf: return self.take(first & 0x1f).decode(errors="replace")
        simple = {0xc0: None, 0xc2: False, 0xc3: True}
        if first in simple: return simple[first]
        sized = {0xc4: 1, 0xc5: 2, 0xc6: 4}  # bin
        if first in sized: return self.take(self.number(sized[first]))
        if first in (0xd9, 0xda, 0xdb): return self.take(self.number({0xd9: 1, 0xda: 2, 0xdb: 4}[first])).decode(errors="replace")
        if first in (0xcc, 0xcd, 0xce, 0xcf): return self.number({0xcc: 1, 0xcd: 2, 0xce: 4, 0xcf: 8}[first])
        if first in (0xd0, 0xd1, 0xd2, 0xd3): return self.number({0xd0: 1, 0xd1: 2, 0xd2: 4, 0xd3: 8}[first], signed=True)
        if first in (0xdc, 0xdd): return [self.value() for _ in range(self.number(2 if first == 0xdc else 4))]
        if first in (0xde, 0xdf): return self.mapping(self.number(2 if first == 0xde else 4))
        raise ValueError(f"msgpack type 0x{first:02x} not handled")

    def mapping(self, count):
        return {self.value(): self.value() for _ in range(count)}


def serf_statuses(address):
    """`serf members` over Serf's RPC protocol, without starting a serf process per question."""
    host, port = address.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        stream = MsgpackStream(sock)
        sock.sendall(msgpack_encode({"Command": "handshake", "Seq": 0}) + msgpack_encode({"Version": 1}))
        if stream.value().get("Error"):
            raise RuntimeError("serf handshake refused")
        sock.sendall(msgpack_encode({"Command": "members", "Seq": 1}))
        header = stream.value()
        if header.get("Error"):
            raise RuntimeError(header["Error"])
        return [member["Status"] for member in stream.value()["Members"]]


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

    # Four askers and a pause between sweeps: the probe must not be what loads the machine.
    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        while waiting and time.monotonic() - began < args.timeout:
            asked = sorted(waiting)
            finished = [address for address, ok in zip(asked, pool.map(done, asked)) if ok]
            now = time.monotonic() - began
            for address in finished:
                waiting.discard(address)
                last = now
            if waiting:
                time.sleep(0.5)
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
    """RSS mean and max, and the mean PSS (shared pages split between the processes sharing
    them: 200 processes of one binary share its text), in MB."""
    sizes, shares = [], []
    for pid in pids:
        try:
            with open(f"/proc/{pid}/status") as status:
                sizes += [int(line.split()[1]) / 1024 for line in status if line.startswith("VmRSS:")]
            with open(f"/proc/{pid}/smaps_rollup") as rollup:
                shares += [int(line.split()[1]) / 1024 for line in rollup if line.startswith("Pss:")]
        except OSError:
            pass
    mean = lambda values: sum(values) / max(1, len(values))
    return f"{mean(sizes):.1f} {max(sizes, default=0):.1f} (PSS mean {mean(shares):.1f})"


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
    for _ in range(args.warmup):  # the coordinator's first counts open its connections to the peers
        connection.request("GET", args.query)
        connection.getresponse().read()
    times = []
    not_ok = 0
    for _ in range(args.requests):
        began = time.perf_counter()
        connection.request("GET", args.query)
        response = connection.getresponse()
        response.read()
        times.append((time.perf_counter() - began) * 1000)
        not_ok += response.status != 200
    times.sort()
    refused = f", {not_ok} not 200" if not_ok else ""
    print(f"p50 {times[len(times) // 2]:.2f} ms, p99 {times[min(len(times) - 1, int(len(times) * 0.99))]:.2f} ms{refused}")


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
    c.add_argument("--warmup", type=int, default=20)
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
