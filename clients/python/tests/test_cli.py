from __future__ import annotations

import json
import subprocess
import sys

import pytest

from espymetrics_client.cli import main

from helpers import subprocess_env


def run_cli(*args: str, **extra_env: str) -> "subprocess.CompletedProcess[str]":
    return subprocess.run(
        [sys.executable, "-m", "espymetrics_client", *args],
        env=subprocess_env(**extra_env),
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_cli_sends_one_profile(server, capsys):
    assert main(["--host", server.host]) == 0
    assert capsys.readouterr() == ("", "")
    (body,) = server.json_bodies()
    assert "python" in body


def test_cli_dry_run_prints_json_and_sends_nothing(server, capsys, monkeypatch):
    monkeypatch.setenv("ESPYMETRICS_HOST", server.host)
    assert main(["--dry-run"]) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 1
    assert "username" in json.loads(out)
    assert server.requests == []


def test_cli_scrub_dry_run(capsys):
    assert main(["--dry-run", "--scrub", "--pretty"]) == 0
    profile = json.loads(capsys.readouterr().out)
    assert "username" not in profile and "node" not in profile["uname"]


def test_cli_exits_0_with_a_one_line_warning_when_sending_fails(closed_host, capsys):
    assert main(["--host", closed_host, "--timeout", "0.5"]) == 0
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("espymetrics: warning: could not send to http://" + closed_host)
    assert captured.err.count("\n") == 1


def test_cli_respects_opt_out(server, capsys, monkeypatch):
    monkeypatch.setenv("DO_NOT_TRACK", "1")
    assert main(["--host", server.host, "--dry-run"]) == 0
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "DO_NOT_TRACK" in captured.err
    assert server.requests == []


def test_cli_help_has_examples(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    for text in ("examples:", "--dry-run", "--scrub", "--timeout", "ESPYMETRICS_OPT_OUT"):
        assert text in out


@pytest.mark.parametrize("bad_timeout", ["0", "-1", "soon"])
def test_cli_rejects_a_bad_timeout(bad_timeout, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--timeout", bad_timeout])
    assert exit_info.value.code == 2


def test_python_dash_m_dry_run():
    result = run_cli("--dry-run")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["python"]["version_info"] == list(sys.version_info)


def test_python_dash_m_exits_0_when_the_server_is_unreachable(closed_host):
    result = run_cli("--host", closed_host, "--timeout", "0.5")
    assert result.returncode == 0
    assert result.stdout == ""
    assert len(result.stderr.splitlines()) == 1
    assert "Connection refused" in result.stderr or "refused" in result.stderr.lower()
