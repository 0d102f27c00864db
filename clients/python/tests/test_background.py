from __future__ import annotations

import time

from espymetrics_client import background, install, report_in_background

from helpers import run_python


def test_report_in_background_sends_from_a_daemon_thread(server):
    thread = report_in_background(host=server.host)
    assert thread is not None and thread.daemon
    thread.join(10)
    (body,) = server.json_bodies()
    assert "python" in body and "uuid" in body


def test_report_in_background_returns_at_once_even_if_the_server_hangs(black_hole_host):
    started = time.monotonic()
    thread = report_in_background(host=black_hole_host, timeout=0.5)
    assert time.monotonic() - started < 0.5
    assert thread is not None
    thread.join(5)
    assert not thread.is_alive()  # the send gave up after its timeout


def test_install_reports_once_per_process(server, monkeypatch):
    monkeypatch.setattr(background, "_installed", False)
    monkeypatch.setattr(background, "_installed_thread", None)
    first = install(host=server.host)
    assert install(host=server.host) is first
    first.join(10)
    time.sleep(0.1)
    assert len(server.requests) == 1


def test_exit_waits_only_briefly_for_a_hanging_server(black_hole_host):
    code = (
        "import espymetrics_client as e\n"
        "thread = e.report_in_background(host=%r, timeout=30, exit_wait=0.5)\n"
        "print('started' if thread else 'not started')\n" % black_hole_host
    )
    started = time.monotonic()
    result = run_python(code, timeout=20)
    elapsed = time.monotonic() - started
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "started"
    assert result.stderr == ""
    assert elapsed < 2.0, "exit took %.2f s" % elapsed


def test_exit_waits_for_a_send_that_is_almost_done(server):
    # The program ends right after starting the report; the exit wait lets it land.
    code = (
        "import espymetrics_client as e\n"
        "e.install(host=%r, exit_wait=5)\n"
        "e.install(host=%r, exit_wait=5)\n" % (server.host, server.host)
    )
    result = run_python(code, timeout=20)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert len(server.requests) == 1
    assert server.requests[0]["path"] == "/v1/on_import"


def test_exit_is_quiet_when_the_server_is_down(closed_host):
    result = run_python("import espymetrics_client as e; e.install(host=%r)" % closed_host)
    assert result.returncode == 0
    assert result.stdout == result.stderr == ""
