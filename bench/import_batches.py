#!/usr/bin/env python3
"""Posts an NDJSON file to a node's /v1/import in batches, from several keep-alive
connections at once, and reports records/s (each batch is acknowledged only after commit).

    python3 bench/import_batches.py --http 127.0.0.1:8888 --batch 10000 --connections 2 profiles.ndjson
"""
import argparse
import http.client
import json
import queue
import sys
import threading
import time


def batches(path, size):
    with open(path, "rb") as source:
        lines = []
        for line in source:
            lines.append(line)
            if len(lines) == size:
                yield b"".join(lines)
                lines = []
        if lines:
            yield b"".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("file")
    parser.add_argument("--http", default="127.0.0.1:8888")
    parser.add_argument("--batch", type=int, default=10000)
    parser.add_argument("--connections", type=int, default=2)
    args = parser.parse_args()

    work = queue.Queue(maxsize=args.connections * 2)
    totals = {"accepted": 0, "stored": 0, "rejected": 0, "failed": 0}
    lock = threading.Lock()

    def sender():
        host, port = args.http.rsplit(":", 1)
        connection = http.client.HTTPConnection(host, int(port), timeout=600)
        while True:
            body = work.get()
            if body is None:
                return
            connection.request("POST", "/v1/import", body=body, headers={"Content-Type": "application/x-ndjson"})
            response = connection.getresponse()
            answer = json.loads(response.read())
            with lock:
                if response.status != 200:
                    totals["failed"] += 1
                    continue
                totals["accepted"] += answer["accepted"]
                totals["stored"] += answer["stored"]
                totals["rejected"] += len(answer["rejected"])

    threads = [threading.Thread(target=sender) for _ in range(args.connections)]
    for thread in threads:
        thread.start()
    started = time.monotonic()
    for body in batches(args.file, args.batch):
        work.put(body)
    for _ in threads:
        work.put(None)
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    totals["seconds"] = round(elapsed, 2)
    totals["records_per_second"] = round(totals["accepted"] / elapsed)
    print(json.dumps(totals))
    return 0 if totals["failed"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
