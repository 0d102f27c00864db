from __future__ import annotations

import io
import json
import time

import pytest

from espymetrics_client import Batcher, get_profile, report_in_background, send, send_batch, settings
from espymetrics_client.profile import PROCESS_UUID
from espymetrics_client.transport import build_url, encode_json

ORIGINAL_TOP_KEYS = {"username", "uuid", "hostname", "hostfqdn", "uname", "linux_dist", "time", "python"}


def test_send_posts_the_profile_as_json_to_on_import(server):
    profile = get_profile()
    assert send(profile, host=server.host) is True
    (request,) = server.requests
    assert request["method"] == "POST"
    assert request["path"] == "/v1/on_import"
    assert request["headers"]["Content-Type"] == "application/json"
    assert request["body"] == encode_json(profile)
    assert json.loads(request["body"]) == profile


def test_send_without_a_profile_sends_this_interpreters(server):
    assert send(host=server.host) is True
    (body,) = server.json_bodies()
    assert ORIGINAL_TOP_KEYS <= set(body)
    assert body["uuid"] == PROCESS_UUID


def test_host_comes_from_the_environment(server, monkeypatch):
    monkeypatch.setenv("ESPYMETRICS_HOST", server.host)
    assert send({"probe": 1}) is True
    assert server.json_bodies() == [{"probe": 1}]


def test_host_may_carry_its_scheme(server):
    assert send({"probe": 1}, host="http://%s/" % server.host) is True
    assert server.requests[0]["path"] == "/v1/on_import"


@pytest.mark.parametrize(
    "host, url",
    [
        ("nonsense", "http://nonsense:8888/v1/on_import"),
        ("metrics.internal/", "http://metrics.internal:8888/v1/on_import"),
        ("10.0.0.5:9000", "http://10.0.0.5:9000/v1/on_import"),
        ("[::1]", "http://[::1]:8888/v1/on_import"),
        ("[::1]:9000", "http://[::1]:9000/v1/on_import"),
        ("::1", "http://[::1]:8888/v1/on_import"),
        ("http://proxy.internal", "http://proxy.internal/v1/on_import"),
        ("https://proxy.internal:8443/", "https://proxy.internal:8443/v1/on_import"),
    ],
)
def test_a_host_without_a_port_gets_the_servers_port(host, url):
    assert build_url(host, "/v1/on_import") == url


def test_a_host_without_a_port_is_sent_to_the_default_port(server, monkeypatch):
    # The recording server stands in for a node on the default port (8888 itself may be taken).
    monkeypatch.setattr(settings, "DEFAULT_PORT", int(server.host.rsplit(":", 1)[1]))
    assert send({"probe": 1}, host="127.0.0.1") is True
    assert server.json_bodies() == [{"probe": 1}]


def test_proxy_settings_are_ignored(server, closed_host, monkeypatch):
    for name in ("http_proxy", "HTTP_PROXY"):
        monkeypatch.setenv(name, "http://" + closed_host)
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.delenv("NO_PROXY", raising=False)
    assert send({"probe": 1}, host=server.host) is True


def test_server_error_is_a_failure_not_an_exception(server):
    server.status = 500
    messages = []
    assert send({"probe": 1}, host=server.host, on_failure=messages.append) is False
    assert len(messages) == 1 and "HTTP 500" in messages[0]


def test_refused_connection_fails_quickly_without_raising(closed_host):
    messages = []
    started = time.monotonic()
    assert send(host=closed_host, timeout=2.0, on_failure=messages.append) is False
    assert time.monotonic() - started < 2.0
    assert "refused" in messages[0].lower()


def test_silent_server_fails_within_the_timeout(black_hole_host):
    started = time.monotonic()
    assert send({"probe": 1}, host=black_hole_host, timeout=0.5) is False
    assert time.monotonic() - started < 1.5


@pytest.mark.parametrize("host", ["127.0.0.1:notaport", "127.0.0.1:99999", "[::1", "ftp://127.0.0.1:1"])
def test_bad_hosts_fail_without_raising(host):
    assert send({"probe": 1}, host=host, timeout=0.5) is False


def test_a_failing_failure_callback_is_ignored(closed_host):
    def broken_callback(message):
        raise RuntimeError("callback broke")

    assert send({"probe": 1}, host=closed_host, on_failure=broken_callback) is False


def test_unserializable_values_are_sent_as_text(server):
    assert send({"when": time, "ok": True}, host=server.host) is True
    assert server.json_bodies()[0]["ok"] is True


@pytest.mark.parametrize(
    "variable, value",
    [("ESPYMETRICS_OPT_OUT", "1"), ("ESPYMETRICS_OPT_OUT", "yes"), ("ESPYMETRICS_OPT_OUT", "TRUE"), ("DO_NOT_TRACK", "1")],
)
def test_opt_out_sends_nothing(server, monkeypatch, capsys, variable, value):
    monkeypatch.setenv(variable, value)
    assert send(host=server.host) is None
    assert send(host=server.host, dry_run=True) is None
    assert send_batch([{"probe": 1}], host=server.host) is None
    assert report_in_background(host=server.host) is None
    time.sleep(0.1)
    assert server.requests == []
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize("value", ["0", "false", "False", ""])
def test_opt_out_values_that_mean_no(server, monkeypatch, value):
    monkeypatch.setenv("ESPYMETRICS_OPT_OUT", value)
    assert send({"probe": 1}, host=server.host) is True


def test_dry_run_prints_exactly_the_body_and_sends_nothing(server):
    profile = get_profile()
    printed = io.StringIO()
    assert send(profile, host=server.host, dry_run=True, out=printed) is None
    assert server.requests == []

    assert send(profile, host=server.host) is True
    assert printed.getvalue() == server.requests[0]["body"].decode("ascii") + "\n"
    assert json.loads(printed.getvalue()) == profile


def test_dry_run_prints_to_stdout_by_default(capsys, server):
    assert send(host=server.host, dry_run=True) is None
    out = capsys.readouterr().out
    assert out.count("\n") == 1
    assert ORIGINAL_TOP_KEYS <= set(json.loads(out))
    assert server.requests == []


def test_pretty_dry_run_is_the_same_json_indented(capsys):
    profile = get_profile()
    send(profile, dry_run=True, pretty=True)
    out = capsys.readouterr().out
    assert out.startswith("{\n  ")
    assert json.loads(out) == profile


def test_send_batch_posts_an_array_to_import(server):
    server.answer = {"accepted": 1, "rejected": [{"index": 1, "error": "not an object"}]}
    profiles = [get_profile(), {"probe": 2}]
    answer = send_batch(profiles, host=server.host)
    assert answer == server.answer
    (request,) = server.requests
    assert request["path"] == "/v1/import"
    assert request["headers"]["Content-Type"] == "application/json"
    assert json.loads(request["body"]) == profiles


def test_send_batch_returns_none_on_failure_or_nothing_to_send(server, closed_host):
    assert send_batch([{"probe": 1}], host=closed_host) is None
    assert send_batch([], host=server.host) is None
    assert server.requests == []


def test_send_batch_scrubs_each_profile(server):
    send_batch([get_profile(), get_profile()], host=server.host, scrub=True)
    for body in server.json_bodies()[0]:
        assert "username" not in body and "hostname" not in body


def test_batcher_sends_when_full_and_on_flush(server):
    server.answer = {"accepted": 2, "rejected": []}
    batcher = Batcher(host=server.host, max_size=2)
    assert batcher.add({"n": 1}) is None
    assert batcher.add({"n": 2}) == {"accepted": 2, "rejected": []}
    batcher.add({"n": 3})
    assert len(batcher) == 1
    batcher.flush()
    assert server.json_bodies() == [[{"n": 1}, {"n": 2}], [{"n": 3}]]
    assert batcher.flush() is None
    assert len(server.requests) == 2


def test_batcher_flushes_when_used_as_a_context_manager(server):
    with Batcher(host=server.host) as batcher:
        batcher.add()
        batcher.add({"n": 2})
    (batch,) = server.json_bodies()
    assert len(batch) == 2
    assert batch[0]["uuid"] == PROCESS_UUID
