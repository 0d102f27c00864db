#!/usr/bin/env bash
# Installs what building and testing EspyMetrics needs on Debian (run as root): the C libraries,
# sqlite3, a stock serf agent that the gossip interop tests run beside our nodes, and iptables,
# with which the repair tests cut a datacenter off from the others. The Swift
# toolchain itself is expected on PATH (swift.org's Linux release).
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends \
    pkg-config libuv1-dev libsqlite3-dev libhttp-parser-dev sqlite3 serf iptables >/dev/null
# Tests use pytest (the Python collector) and prometheus_client (a real parser for /metrics);
# install them only where the interpreter lacks them.
python3 -c 'import pytest' 2>/dev/null || python3 -m pip install -q pytest
python3 -c 'import prometheus_client' 2>/dev/null || python3 -m pip install -q prometheus_client
