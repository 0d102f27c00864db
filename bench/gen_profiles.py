#!/usr/bin/env python3
"""Writes N deterministic, realistic Python environment profiles as NDJSON.

Shapes follow the original collector (username, uuid, hostname, uname, linux_dist, time,
python{...}); value mixes resemble a large company's fleet: mostly CPython 3.x, a long tail
of 2.7, three OS families, a few architectures, ~20,000 hosts. Same seed, same file.

    python3 bench/gen_profiles.py --count 1000000 --seed 1 > profiles.ndjson
"""
import argparse
import json
import random
import sys

VERSIONS = [((2, 7, 18), 6), ((3, 6, 15), 3), ((3, 8, 18), 10), ((3, 9, 18), 14), ((3, 10, 13), 18),
            ((3, 11, 7), 22), ((3, 12, 4), 17), ((3, 13, 0), 10)]
SYSTEMS = [("Linux", 80), ("Darwin", 15), ("Windows", 5)]
MACHINES = {"Linux": [("x86_64", 85), ("aarch64", 15)], "Darwin": [("arm64", 70), ("x86_64", 30)],
            "Windows": [("AMD64", 100)]}
DISTROS = [("debian", "12"), ("debian", "11"), ("ubuntu", "22.04"), ("ubuntu", "24.04"), ("centos", "7"),
           ("rhel", "9.4"), ("alpine", "3.20")]
OPENSSL = ["OpenSSL 1.0.2k-fips  26 Jan 2017", "OpenSSL 1.1.1w  11 Sep 2023", "OpenSSL 3.0.15 3 Sep 2024",
           "OpenSSL 3.3.2 3 Sep 2024"]
SQLITE = ["3.7.17", "3.31.1", "3.40.1", "3.45.3", "3.46.1"]
IMPLEMENTATIONS = [("CPython", 96), ("PyPy", 4)]


def weighted(rng, pairs):
    return rng.choices([value for value, _ in pairs], weights=[weight for _, weight in pairs])[0]


def profile(rng, index):
    major, minor, micro = weighted(rng, VERSIONS)
    system = weighted(rng, SYSTEMS)
    machine = weighted(rng, MACHINES[system])
    host = "host%05d.dc%d.example.com" % (rng.randrange(20000), rng.randrange(1, 4))
    distro = rng.choice(DISTROS) if system == "Linux" else ("", "")
    return {
        "username": "user%04d" % rng.randrange(3000),
        "uuid": "%032x" % rng.getrandbits(128),
        "hostname": host.split(".")[0],
        "hostfqdn": host,
        "uname": {"system": system, "node": host.split(".")[0],
                  "release": "%d.%d.%d" % (rng.choice([4, 5, 6]), rng.randrange(20), rng.randrange(200)),
                  "version": "#1 SMP", "machine": machine, "processor": machine},
        "linux_dist": {"name": distro[0], "version": distro[1]},
        "time": {"utc": "2026-11-%02d %02d:%02d:%02d.000000" % (rng.randrange(1, 29), rng.randrange(24),
                                                               rng.randrange(60), rng.randrange(60)),
                 "std_utc_offset": rng.choice([-8.0, -5.0, 0.0, 1.0, 5.5])},
        "python": {
            "argv": "/opt/app%d/bin/worker.py --shard %d" % (rng.randrange(400), index % 97),
            "bin": "/usr/bin/python%d.%d" % (major, minor),
            "is_64bit": rng.random() > 0.01,
            "version": "%d.%d.%d (main, Oct  1 2024, 00:00:00) [GCC 12.2.0]" % (major, minor, micro),
            "compiler": "GCC 12.2.0",
            "build_date": "Oct  1 2024 00:00:00",
            "version_info": [major, minor, micro, "final", 0],
            "implementation": weighted(rng, IMPLEMENTATIONS),
            "openssl_version": rng.choice(OPENSSL),
            "sqlite_version": rng.choice(SQLITE),
            "have_ucs4": True,
            "have_readline": rng.random() > 0.2,
        },
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    out = sys.stdout
    for index in range(args.count):
        out.write(json.dumps(profile(rng, index), separators=(",", ":")))
        out.write("\n")


if __name__ == "__main__":
    main()
