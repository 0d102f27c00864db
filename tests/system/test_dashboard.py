"""The dashboard (/ui/) in a real browser, Debian's Chromium through Selenium, against a real
3-node cluster holding records whose counts the test knows."""

import json
import shutil
import signal
import subprocess
import time
from collections import Counter

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.support.ui import Select, WebDriverWait

from conftest import http, node_binary

WEEKS = ["2026-11-02", "2026-11-09", "2026-11-16"]
# (week, major, minor, system, distro, distro version, openssl, records): every record from its own host.
FLEET = [
    (0, 3, 8, "Linux", "debian", "11", "OpenSSL 1.1.1w  11 Sep 2023", 30),
    (0, 3, 11, "Linux", "debian", "12", "OpenSSL 3.0.15 3 Sep 2024", 10),
    (1, 3, 8, "Linux", "debian", "11", "OpenSSL 1.1.1w  11 Sep 2023", 20),
    (1, 3, 11, "Linux", "ubuntu", "24.04", "OpenSSL 3.0.15 3 Sep 2024", 20),
    (2, 3, 8, "Linux", "debian", "11", "OpenSSL 1.1.1w  11 Sep 2023", 10),
    (2, 3, 12, "Linux", "ubuntu", "24.04", "OpenSSL 3.0.15 3 Sep 2024", 20),
    (2, 3, 12, "Darwin", "", "", "OpenSSL 3.3.2 3 Sep 2024", 10),
]


def records():
    host = 0
    for week, major, minor, system, distro, distro_version, openssl, count in FLEET:
        for i in range(count):
            host += 1
            yield {
                "hostname": f"host{host:04d}",
                "uname": {"system": system, "machine": "x86_64"},
                "linux_dist": {"name": distro, "version": distro_version},
                "python": {"version_info": [major, minor, 1, "final", 0], "implementation": "CPython", "openssl_version": openssl},
                # Tuesday noon of the week, spread by a minute per record so every record is its own event.
                "server_time": f"{WEEKS[week][:8]}{int(WEEKS[week][8:]) + 1:02d}T12:{i // 60:02d}:{i % 60:02d}Z",
            }


def expected_versions(system=None):
    counts = Counter()
    for week, major, minor, row_system, *_, count in FLEET:
        if system in (None, row_system):
            counts[(WEEKS[week], f"{major}.{minor}")] += count
    return counts


@pytest.fixture(scope="module")
def cluster(cluster_factory):
    cluster = cluster_factory("127.0.4.0", http_port=38888, gossip_port=37946)
    cluster.start(3)
    body = "\n".join(json.dumps(r) for r in records()).encode()
    # An operator's import with kept server_time (from this host, which needs no token).
    status, answer = http("POST", cluster.url(1, "/v1/import?keep_server_time=true"), body,
                          headers={"Content-Type": "application/x-ndjson"})
    assert status == 200 and answer["accepted"] == 120 and not answer["rejected"], answer
    return cluster


@pytest.fixture(scope="module")
def browser():
    chromedriver = shutil.which("chromedriver")
    assert chromedriver, "chromium-driver is not installed (deploy/install-debian-packages.sh installs it)"
    options = Options()
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,1700"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(chromedriver))
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


def console_errors(browser):
    return [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]


def wait_for(browser, condition, what, timeout=30):
    try:
        return WebDriverWait(browser, timeout, poll_frequency=0.2).until(lambda driver: condition(driver))
    except Exception as error:
        raise AssertionError(f"{what} within {timeout} s; page problems: "
                             f"{browser.find_element('id', 'problems').text!r}; console: {console_errors(browser)}") from error


def version_table(browser):
    """(bucket, version) -> records, as the page's data table under the chart shows them."""
    rows = browser.execute_script(
        "return [...document.querySelectorAll('#data-versions tbody tr')].map(r => [...r.cells].map(c => c.textContent))")
    return Counter({(bucket, version): int(count) for bucket, version, count, _ in rows})


def version_chart(browser):
    """(bucket, version) -> percent, as the drawn chart holds them."""
    data = browser.execute_script(
        "const c = Chart.getChart('chart-versions'); return c ? {labels: c.data.labels, sets: c.data.datasets.map(d => [d.label, d.data])} : null")
    assert data, "no chart drawn on #chart-versions"
    return {(bucket, label): value for label, values in data["sets"] for bucket, value in zip(data["labels"], values) if value}


def percents(counts):
    totals = Counter()
    for (bucket, _), count in counts.items():
        totals[bucket] += count
    return {key: round(count * 100 / totals[key[0]], 2) for key, count in counts.items()}


def test_fleet_charts_show_the_known_counts_and_follow_the_filters(cluster, browser):
    browser.get(cluster.url(2, "/ui/"))
    wait_for(browser, lambda d: d.execute_script("return document.body.dataset.refreshed"), "the fleet view loaded")
    assert version_table(browser) == expected_versions()
    assert version_chart(browser) == pytest.approx(percents(expected_versions()))
    hosts = browser.execute_script(
        "return [...document.querySelectorAll('#data-hosts tbody tr')].map(r => [...r.cells].map(c => c.textContent))")
    assert {version: int(distinct) for version, _, distinct in hosts} == {"3.8": 60, "3.11": 30, "3.12": 30}
    distros = browser.execute_script("return Chart.getChart('chart-distros').data")
    assert dict(zip(distros["labels"], distros["datasets"][0]["data"])) == {
        "debian 11": 60, "ubuntu 24.04": 40, "debian 12": 10, "(empty)": 10}

    Select(browser.find_element("id", "filter-system")).select_by_value("Darwin")
    wait_for(browser, lambda d: "system=Darwin" in d.current_url and version_table(d) == expected_versions("Darwin"),
             "the chart showed only Darwin after choosing it")
    assert version_chart(browser) == pytest.approx(percents(expected_versions("Darwin")))
    # The filter lives in the URL: the same address, opened afresh, shows the same view.
    shared = browser.current_url
    browser.get("about:blank")
    browser.get(shared)
    wait_for(browser, lambda d: d.execute_script("return document.body.dataset.refreshed") and
             version_table(d) == expected_versions("Darwin"), "a shared URL kept its filter")
    assert Select(browser.find_element("id", "filter-system")).first_selected_option.get_attribute("value") == "Darwin"
    assert console_errors(browser) == []


def member_statuses(browser):
    return browser.execute_script(
        "return Object.fromEntries([...document.querySelectorAll('#members tbody tr')].map(r => [r.dataset.node, r.dataset.status]))")


def test_cluster_view_lists_members_and_shows_a_killed_node_failed(cluster, browser, tmp_path):
    browser.get(cluster.url(1, "/ui/?view=cluster"))
    wait_for(browser, lambda d: member_statuses(d) == {"n1": "alive", "n2": "alive", "n3": "alive"}, "3 alive members listed")
    wait_for(browser, lambda d: "3 of 3" in d.find_element("id", "views-summary").text, "all 3 nodes agreeing on the view")
    assert browser.find_element("id", "partitions-full").text == "4096"
    browser.save_screenshot(str(tmp_path / "cluster.png"))

    cluster.kill(3, signal.SIGKILL)
    killed = time.monotonic()
    wait_for(browser, lambda d: member_statuses(d).get("n3") == "dead", "n3 shown dead after kill -9", timeout=60)
    print(f"n3 shown dead {time.monotonic() - killed:.1f} s after kill -9")
    assert member_statuses(browser)["n1"] == "alive" and member_statuses(browser)["n2"] == "alive"
    wait_for(browser, lambda d: d.find_element("id", "partitions-under").text not in ("", "0"), "under-replicated partitions shown")
    assert console_errors(browser) == []


def ready(base):
    try:
        return http("GET", base + "/v1/ready", timeout=2)[0] == 200
    except OSError:
        return False


def test_without_the_chart_library_the_page_says_what_is_missing_and_still_shows_the_numbers(browser, tmp_path):
    config = tmp_path / "node.toml"
    config.write_text('[ui]\nchart_library = "/nonexistent/chart.min.js"\n')
    address = "127.0.4.100:38888"
    log = open(tmp_path / "node.log", "w")
    node = subprocess.Popen([node_binary(), "serve", "--config", str(config), "--http", address, "--gossip", "127.0.4.100:37946",
                             "--data-dir", str(tmp_path / "data"), "--name", "lonely"], stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while not ready(f"http://{address}"):
            assert time.monotonic() < deadline and node.poll() is None, (tmp_path / "node.log").read_text()
            time.sleep(0.2)
        status, answer = http("POST", f"http://{address}/v1/on_import", json.dumps(
            {"python": {"version_info": [3, 13, 0, "final", 0]}}).encode())
        assert status == 200, answer
        assert http("GET", f"http://{address}/ui/lib/chart.js")[0] == 404
        browser.get(f"http://{address}/ui/")
        wait_for(browser, lambda d: d.execute_script("return document.body.dataset.refreshed"), "the fleet view loaded")
        assert "install Debian's libjs-chart.js" in browser.find_element("id", "problems").text
        assert version_table(browser) == Counter({(browser.execute_script(
            "return document.querySelector('#data-versions tbody td').textContent"), "3.13"): 1})
        # The one console error is the missing library itself.
        errors = console_errors(browser)
        assert len(errors) == 1 and "/ui/lib/chart.js" in errors[0]["message"], errors
    finally:
        node.send_signal(signal.SIGINT)
        node.wait(timeout=30)
        log.close()
    assert "the dashboard has no charts: cannot read the chart library /nonexistent/chart.min.js" in (tmp_path / "node.log").read_text()
