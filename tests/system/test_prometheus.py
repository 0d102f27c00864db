"""Prometheus against a real 3-node cluster: promtool lints every node's /metrics and checks
deploy/prometheus.yml and the rules (with their unit tests); a real Prometheus, configured from
deploy/prometheus.yml with this cluster's targets, scrapes the nodes every second, and its HTTP API
must show members by status, request rates and the rules loaded; a node killed with SIGKILL must
show as down and missing from the others' gossip."""

import math
import shutil
import subprocess
import time
import urllib.parse
from pathlib import Path

import pytest
import yaml

from conftest import REPO, http

DEPLOY = REPO / "deploy"
CONFIG = DEPLOY / "prometheus.yml"
RULES = DEPLOY / "espymetrics-rules.yml"
RULE_TESTS = DEPLOY / "espymetrics-rules.test.yml"

NODES = 3
# Loopback addresses and ports of this module only; Prometheus off 9090, where a packaged
# Prometheus service may listen.
BASE_ADDRESS = "127.0.3.0"
HTTP_PORT = 28888
GOSSIP_PORT = 27946
PROMETHEUS_ADDRESS = "127.0.3.100:29090"
PROMETHEUS_URL = f"http://{PROMETHEUS_ADDRESS}"
# The routes the traffic below hits, and one it never does (its rate must not show up).
HIT_ROUTES = ("/v1/count", "/v1/on_import")
UNHIT_ROUTE = "/v1/download/import"


def datacenter(i: int) -> str:
    return f"dc{(i - 1) % 3 + 1}"


def tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is not installed (Debian package prometheus; deploy/install-debian-packages.sh)")
    return path


def run(*arguments, stdin: bytes = None, timeout: float = 60) -> subprocess.CompletedProcess:
    """Runs a command, prints its output (pytest shows it on failure) and returns the result."""
    result = subprocess.run(arguments, input=stdin, capture_output=True, timeout=timeout)
    print(f"$ {' '.join(map(str, arguments))}  -> exit {result.returncode}\n"
          f"{result.stdout.decode(errors='replace')}{result.stderr.decode(errors='replace')}")
    return result


def send_traffic(cluster, rounds: int = 1):
    """Requests to every node on the routes of HIT_ROUTES (answered 200) and an unknown path (404)."""
    for n in range(rounds):
        for i in range(1, NODES + 1):
            body = ('{"python": {"version_info": [3, 12, %d, "final", 0]}, "hostname": "prom-n%d"}' % (n, i)).encode()
            status, answer = http("POST", cluster.url(i, "/v1/on_import"), body)
            assert status == 200, (i, status, answer)
            status, answer = http("GET", cluster.url(i, "/v1/count?group_by=python.version_info.0"))
            assert status == 200, (i, status, answer)
            status, _ = http("GET", cluster.url(i, "/no/such/path"))
            assert status == 404


def wait_for(what: str, probe, timeout: float, interval: float = 0.5):
    """Calls probe() until it returns (True, value) or timeout seconds pass; returns value, else fails
    with the last thing probe() saw."""
    deadline = time.monotonic() + timeout
    while True:
        done, seen = probe()
        if done:
            return seen
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not seen within {timeout} s; last seen: {seen!r}")
        time.sleep(interval)


def query(expression: str) -> list:
    """The instant vector /api/v1/query answers for `expression`, as [(labels, float value)]."""
    status, answer = http("GET", f"{PROMETHEUS_URL}/api/v1/query?" + urllib.parse.urlencode({"query": expression}))
    assert status == 200 and answer["status"] == "success", (expression, status, answer)
    assert answer["data"]["resultType"] == "vector", answer
    return [(sample["metric"], float(sample["value"][1])) for sample in answer["data"]["result"]]


def by_node(samples: list) -> dict:
    return {labels["node"]: value for labels, value in samples}


@pytest.fixture(scope="module")
def cluster(cluster_factory):
    cluster = cluster_factory(BASE_ADDRESS, http_port=HTTP_PORT, gossip_port=GOSSIP_PORT)
    cluster.start(NODES)

    # On a new cluster, start can return while the nodes still reconcile their partitions (each
    # answered /v1/ready 200 before it learnt that the others catch up too), and for about half
    # a second a count answers 503 with every partition missing. Not what this module tests.
    def counts_answered():
        statuses = [http("GET", cluster.url(i, "/v1/count"))[0] for i in range(1, NODES + 1)]
        return statuses == [200] * NODES, statuses
    wait_for("every node answering /v1/count", counts_answered, timeout=30, interval=0.2)
    return cluster


# (a) ---------------------------------------------------------------------------------------------

def test_promtool_check_metrics_passes_on_every_node(cluster):
    tool("promtool")
    send_traffic(cluster, rounds=2)
    for i in range(1, NODES + 1):
        status, exposition = http("GET", cluster.url(i, "/metrics"))
        assert status == 200 and isinstance(exposition, bytes), (i, status)
        text = exposition.decode()
        # The families the rules use are there, with series, so promtool lints more than headers.
        for family, kind in [("espymetrics_http_requests_total", "counter"),
                             ("espymetrics_http_request_duration_seconds", "histogram"),
                             ("espymetrics_gossip_members", "gauge"),
                             ("espymetrics_cluster_partitions", "gauge"),
                             ("espymetrics_cluster_hints_pending", "gauge"),
                             ("espymetrics_node_ready", "gauge"),
                             ("espymetrics_gossip_refutations_total", "counter")]:
            assert f"# TYPE {family} {kind}\n" in text, (i, family)
            assert f"# HELP {family} " in text, (i, family)
        for route in HIT_ROUTES:
            assert f'espymetrics_http_requests_total{{route="{route}",method=' in text, (i, route)
            assert f'espymetrics_http_request_duration_seconds_bucket{{route="{route}",le="+Inf"}}' in text, (i, route)
        for state in ("fully_replicated", "under_replicated", "catching_up", "handing_off"):
            assert f'espymetrics_cluster_partitions{{state="{state}"}}' in text, (i, state)
        result = run("promtool", "check", "metrics", stdin=exposition)
        assert result.returncode == 0, f"promtool check metrics on n{i}:\n{result.stdout.decode()}{result.stderr.decode()}"
        assert result.stdout.strip() == b"" and result.stderr.strip() == b"", "promtool reported problems"


def test_promtool_check_metrics_would_catch_a_lint_problem(cluster):
    """The check above can fail: the same exposition with a counter renamed off `_total` does."""
    _, exposition = http("GET", cluster.url(1, "/metrics"))
    broken = exposition.replace(b"espymetrics_http_requests_total", b"espymetrics_http_requests")
    assert broken != exposition
    result = run("promtool", "check", "metrics", stdin=broken)
    assert result.returncode != 0
    assert b"espymetrics_http_requests counter metrics should have \"_total\" suffix" in result.stdout + result.stderr


# (b) ---------------------------------------------------------------------------------------------

def test_prometheus_config_lists_the_local_cluster():
    config = yaml.safe_load(CONFIG.read_text())
    assert config["rule_files"] == ["espymetrics-rules.yml"]
    (job,) = config["scrape_configs"]
    assert job["job_name"] == "espymetrics" and job.get("metrics_path", "/metrics") == "/metrics"
    targets = {(target, group["labels"]["node"], group["labels"]["datacenter"])
               for group in job["static_configs"] for target in group["targets"]}
    assert targets == {(f"127.0.0.{10 + i}:8888", f"n{i}", datacenter(i)) for i in range(1, 7)}


def test_promtool_checks_config_and_rules():
    tool("promtool")
    result = run("promtool", "check", "config", str(CONFIG))
    assert result.returncode == 0 and b"SUCCESS: 1 rule files found" in result.stdout
    result = run("promtool", "check", "rules", str(RULES))
    assert result.returncode == 0 and b"SUCCESS" in result.stdout
    result = run("promtool", "test", "rules", str(RULE_TESTS))
    assert result.returncode == 0 and b"SUCCESS" in result.stdout


# (c) ---------------------------------------------------------------------------------------------

def rule_names() -> set:
    return {rule.get("alert") or rule["record"] for group in yaml.safe_load(RULES.read_text())["groups"]
            for rule in group["rules"]}


@pytest.fixture(scope="module")
def prometheus(cluster, tmp_path_factory):
    """A real Prometheus with deploy/prometheus.yml, this cluster's nodes as targets and a 1 s scrape
    and evaluation interval, running until the module is done (or its start failed)."""
    binary = tool("prometheus")
    directory = tmp_path_factory.mktemp("prometheus")
    config = yaml.safe_load(CONFIG.read_text())
    config["global"].update(scrape_interval="1s", scrape_timeout="900ms", evaluation_interval="1s")
    config["rule_files"] = [str(RULES)]
    (job,) = config["scrape_configs"]
    job["static_configs"] = [{"targets": [cluster.http_address(i)], "labels": {"node": f"n{i}", "datacenter": datacenter(i)}}
                             for i in range(1, NODES + 1)]
    config_file = directory / "prometheus.yml"
    config_file.write_text(yaml.safe_dump(config, sort_keys=False))
    log = directory / "prometheus.log"
    with log.open("wb") as log_file:
        process = subprocess.Popen([binary, f"--config.file={config_file}", f"--storage.tsdb.path={directory / 'data'}",
                                    f"--web.listen-address={PROMETHEUS_ADDRESS}"],
                                   stdin=subprocess.DEVNULL, stdout=log_file, stderr=subprocess.STDOUT)
    try:
        def ready():
            assert process.poll() is None, f"prometheus exited with {process.returncode}:\n{log.read_text()}"
            try:
                status, _ = http("GET", f"{PROMETHEUS_URL}/-/ready", timeout=2)
            except OSError as error:
                return False, repr(error)
            return status == 200, status
        wait_for("Prometheus ready", ready, timeout=30)

        def targets_up():
            _, answer = http("GET", f"{PROMETHEUS_URL}/api/v1/targets?state=active")
            health = {t["labels"].get("node"): (t["health"], t["lastError"]) for t in answer["data"]["activeTargets"]}
            return len(health) == NODES and all(h == "up" for h, _ in health.values()), health
        wait_for("every target up", targets_up, timeout=30)
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
        print(f"--- prometheus.log (last 20 lines)\n" + "\n".join(log.read_text(errors="replace").splitlines()[-20:]))


def test_prometheus_sees_members_by_status(prometheus):
    def every_node_sees_three_alive():
        alive = by_node(query('espymetrics_gossip_members{job="espymetrics", status="alive"}'))
        return alive == {f"n{i}": NODES for i in range(1, NODES + 1)}, alive
    wait_for("every node reporting 3 alive members", every_node_sees_three_alive, timeout=15)
    for status in ("suspect", "dead", "left"):
        samples = by_node(query(f'espymetrics_gossip_members{{job="espymetrics", status="{status}"}}'))
        assert samples == {f"n{i}": 0 for i in range(1, NODES + 1)}, (status, samples)

    # The recording rules: members by status as the nodes see them, and none missing.
    def recorded():
        seen = {(name, labels["status"]): value for name in ("min", "max")
                for labels, value in query(f'status:espymetrics_gossip_members:{name}{{job="espymetrics"}}')}
        seen["not alive"] = [value for _, value in query("job:espymetrics_members_not_alive:max")]
        expected = {(name, status): (NODES if status == "alive" else 0)
                    for name in ("min", "max") for status in ("alive", "suspect", "dead", "left")}
        expected["not alive"] = [0]
        return seen == expected, seen
    wait_for("the members recording rules", recorded, timeout=15)
    # A series no node exposes is absent, not zero.
    assert query('espymetrics_gossip_members{status="reaped"}') == []


def test_prometheus_sees_request_rates(cluster, prometheus):
    # The counters of these routes may first appear now: keep the traffic going over a few
    # scrapes so that rate() has two different samples of each.
    def rates_positive():
        send_traffic(cluster)
        raw = query('sum by (node, route) (rate(espymetrics_http_requests_total{job="espymetrics", status="200", '
                    f'route=~"{"|".join(HIT_ROUTES)}"}}[30s]))')
        recorded = query('node_route_status:espymetrics_http_requests:rate2m{status="200", '
                         f'route=~"{"|".join(HIT_ROUTES)}"}}')
        seen = {kind: {(labels["node"], labels["route"]): value for labels, value in samples}
                for kind, samples in (("raw", raw), ("recorded", recorded))}
        want = {(f"n{i}", route) for i in range(1, NODES + 1) for route in HIT_ROUTES}
        done = all(set(rates) == want and all(value > 0 and math.isfinite(value) for value in rates.values())
                   for rates in seen.values())
        return done, seen
    wait_for("request rates > 0 on every node for " + ", ".join(HIT_ROUTES), rates_positive, timeout=20, interval=1)

    cluster_wide = {labels["route"]: value for labels, value in
                    query('route_status:espymetrics_http_requests:rate2m{status="200"}')}
    assert all(cluster_wide.get(route, 0) > 0 for route in HIT_ROUTES), cluster_wide
    # Nobody asked for a download: no rate for it.
    assert query(f'node_route_status:espymetrics_http_requests:rate2m{{route="{UNHIT_ROUTE}"}}') == []
    # The unknown path shows as route="other", answered 404, and is not counted as failing.
    assert query('route_status:espymetrics_http_requests:rate2m{route="other", status="404"}') != []
    errors = {labels["route"]: value for labels, value in query("route:espymetrics_http_requests_5xx:ratio_rate2m")}
    assert all(errors.get(route) == 0 for route in HIT_ROUTES), errors


def test_prometheus_loads_the_rules(prometheus):
    def rules_evaluated():
        _, answer = http("GET", f"{PROMETHEUS_URL}/api/v1/rules")
        groups = answer["data"]["groups"]
        seen = {rule["name"]: (rule["health"], rule.get("lastError", "")) for group in groups for rule in group["rules"]}
        return {group["name"] for group in groups} == {"espymetrics-recording", "espymetrics-alerts"} \
            and set(seen) == rule_names() and all(health == "ok" for health, _ in seen.values()), seen
    seen = wait_for("every rule loaded and evaluated without error", rules_evaluated, timeout=15)
    assert all(error == "" for _, error in seen.values()), seen
    # A healthy cluster: no alert pending or firing.
    assert query('ALERTS{alertname=~"EspyMetrics.*"}') == []


def test_prometheus_sees_a_killed_node_down(cluster, prometheus):
    """Runs last: it leaves the cluster one node short."""
    killed = f"n{NODES}"
    started = time.monotonic()
    cluster.kill(NODES)
    print(f"{killed} gone {time.monotonic() - started:.1f} s after SIGKILL")

    def down():
        up = by_node(query('up{job="espymetrics"}'))
        return up == {**{f"n{i}": 1 for i in range(1, NODES)}, killed: 0}, up
    wait_for(f"up == 0 for {killed} only", down, timeout=10)
    print(f"{killed} down in Prometheus {time.monotonic() - started:.1f} s after SIGKILL")

    # The survivors' gossip stops counting it alive (suspect after a few seconds), and the
    # node-down alert goes pending (firing would take its `for: 1m`).
    def survivors_miss_it():
        alive = by_node(query('espymetrics_gossip_members{job="espymetrics", status="alive"}'))
        not_alive = [value for _, value in query("job:espymetrics_members_not_alive:max")]
        alerts = {(labels["alertname"], labels.get("node", ""), labels["alertstate"]) for labels, _ in query("ALERTS")}
        seen = {"alive": alive, "not alive": not_alive, "alerts": alerts}
        return alive == {f"n{i}": NODES - 1 for i in range(1, NODES)} and not_alive == [1] \
            and ("EspyMetricsNodeDown", killed, "pending") in alerts \
            and ("EspyMetricsMembersNotAlive", "", "pending") in alerts, seen
    seen = wait_for("the survivors missing the killed node, alerts pending", survivors_miss_it, timeout=20)
    print(f"members changed and alerts pending {time.monotonic() - started:.1f} s after SIGKILL: {seen}")
