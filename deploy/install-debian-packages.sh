#!/usr/bin/env bash
# Installs what building, running and testing EspyMetrics needs on Debian (run as root): the C
# libraries; Chart.js, which every node serves to its dashboard (/ui/) from /usr/share/javascript;
# sqlite3; a stock serf agent that the gossip interop tests run beside our nodes; iptables, with
# which the repair tests cut a datacenter off from the others; and the real peers of the system
# tests (tests/system): HAProxy in front of a local cluster, Prometheus (and promtool) scraping
# it, Chromium and its WebDriver for the dashboard. The Swift toolchain itself is expected on
# PATH (swift.org's Linux release).
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends \
    pkg-config libuv1-dev libsqlite3-dev libhttp-parser-dev libjs-chart.js sqlite3 serf iptables \
    haproxy prometheus chromium chromium-driver >/dev/null
# Tests use pytest (the Python collector), prometheus_client (a real parser for /metrics),
# selenium (drives Chromium), PyYAML (reads deploy/prometheus.yml) and schemathesis (checks the
# API against docs/openapi.yaml); install them only where the interpreter lacks them.
python3 -c 'import pytest' 2>/dev/null || python3 -m pip install -q pytest
python3 -c 'import prometheus_client' 2>/dev/null || python3 -m pip install -q prometheus_client
python3 -c 'import selenium' 2>/dev/null || python3 -m pip install -q selenium
python3 -c 'import yaml' 2>/dev/null || python3 -m pip install -q pyyaml
python3 -c 'import schemathesis' 2>/dev/null || python3 -m pip install -q schemathesis
