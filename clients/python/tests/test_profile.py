from __future__ import annotations

import datetime
import getpass
import json
import os
import platform
import re
import socket
import subprocess
import sys
import uuid

import pytest

import espymetrics_client
import espymetrics_client.profile as profile_module
from espymetrics_client import get_profile
from espymetrics_client.ci import detect_ci
from espymetrics_client.host import compute_host_id, parse_os_release, read_os_release

from helpers import run_python, subprocess_env

# The original client's message, key by key, with the type of each value.
ORIGINAL_SHAPE = {
    "username": str,
    "uuid": str,
    "hostname": str,
    "hostfqdn": str,
    "uname": {
        "system": str,
        "node": str,
        "release": str,
        "version": str,
        "machine": str,
        "processor": str,
    },
    "linux_dist": {"name": str, "version": str},
    "time": {"utc": str, "std_utc_offset": float},
    "python": {
        "argv": str,
        "bin": str,
        "is_64bit": bool,
        "version": str,
        "compiler": str,
        "build_date": str,
        "version_info": list,
        "openssl_version": str,
        "sqlite_version": str,
        "have_ucs4": bool,
        "have_readline": bool,
    },
}

ADDED_SHAPE = {
    "python": {"implementation": str},
    "os_release": {"id": str, "version_id": str, "pretty_name": str},
    "libc": {"name": str, "version": str},
    "environment": {"virtualenv": bool, "conda": bool, "prefix": str, "base_prefix": str},
    "ci": {"detected": bool},
    "host_id": str,
    "host_id_source": str,
    "collector": {"name": str, "version": str, "scrubbed": list},
}


def assert_shape(value, shape, path="profile"):
    if isinstance(shape, dict):
        assert isinstance(value, dict), path
        for key, subshape in shape.items():
            assert key in value, "%s.%s is missing" % (path, key)
            assert_shape(value[key], subshape, "%s.%s" % (path, key))
    else:
        assert isinstance(value, shape), "%s is %r, not %s" % (path, value, shape.__name__)


def test_profile_has_every_original_key_with_its_original_type():
    assert_shape(get_profile(), ORIGINAL_SHAPE)


def test_profile_has_the_modern_additions():
    profile = get_profile()
    assert_shape(profile, ADDED_SHAPE)
    assert profile["cpu_count"] == os.cpu_count()
    assert profile["collector"] == {
        "name": "espymetrics_client",
        "version": espymetrics_client.__version__,
        "scrubbed": [],
    }


def test_python_section_describes_this_interpreter():
    python = get_profile()["python"]
    assert python["version_info"] == list(sys.version_info)
    assert len(python["version_info"]) == 5
    assert python["version"] == sys.version
    assert python["bin"] == sys.executable
    assert python["implementation"] == platform.python_implementation()
    assert python["is_64bit"] == (sys.maxsize > 2**32)


def test_time_is_utc_now_and_offset_is_in_hours():
    profile_time = get_profile()["time"]
    sent = datetime.datetime.strptime(profile_time["utc"], "%Y-%m-%d %H:%M:%S.%f")
    now = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
    assert abs((now - sent).total_seconds()) < 60
    assert -14 <= profile_time["std_utc_offset"] <= 14


def test_profile_is_plain_json():
    profile = get_profile()
    assert json.loads(json.dumps(profile)) == profile


def test_uuid_is_per_process_and_host_id_is_per_host():
    first, second = get_profile(), get_profile()
    assert first["uuid"] == second["uuid"]
    uuid.UUID(first["uuid"])
    assert first["host_id"] == second["host_id"]

    other = run_python(
        "import json, espymetrics_client as e; p = e.get_profile(); print(json.dumps([p['uuid'], p['host_id']]))"
    )
    other_uuid, other_host_id = json.loads(other.stdout)
    assert other_uuid != first["uuid"]
    assert other_host_id == first["host_id"]


def test_host_id_hashes_the_machine_id_and_never_contains_it(tmp_path):
    machine_id = "0123456789abcdef0123456789abcdef"
    id_file = tmp_path / "machine-id"
    id_file.write_text(machine_id + "\n")
    host_id, source = compute_host_id([str(tmp_path / "absent"), str(id_file)])
    assert source == "machine-id"
    assert re.fullmatch(r"[0-9a-f]{64}", host_id)
    assert machine_id not in host_id
    assert compute_host_id([str(id_file)]) == (host_id, source)


def test_profile_never_carries_the_raw_machine_id():
    for path in ("/etc/machine-id", "/var/lib/dbus/machine-id"):
        try:
            with open(path) as id_file:
                machine_id = id_file.read().strip()
        except OSError:
            continue
        if machine_id:
            assert machine_id not in json.dumps(get_profile())


def test_host_id_falls_back_to_hostname_and_mac_without_a_machine_id(tmp_path):
    absent = [str(tmp_path / "no-machine-id")]
    host_id, source = compute_host_id(absent)
    assert source in ("hostname+mac", "hostname")
    assert re.fullmatch(r"[0-9a-f]{64}", host_id)
    assert compute_host_id(absent) == (host_id, source)


def fail(*args, **kwargs):
    raise OSError("probe failed on purpose")


def test_failing_probes_leave_empty_values_and_never_raise(monkeypatch):
    for module, name in [
        (getpass, "getuser"),
        (socket, "gethostname"),
        (socket, "getfqdn"),
        (platform, "uname"),
        (platform, "python_compiler"),
        (platform, "python_build"),
        (platform, "python_implementation"),
        (platform, "libc_ver"),
        (os, "cpu_count"),
    ]:
        monkeypatch.setattr(module, name, fail)
    monkeypatch.setattr(profile_module, "read_os_release", fail)
    monkeypatch.setattr(profile_module, "compute_host_id", fail)

    profile = get_profile()

    assert_shape(profile, ORIGINAL_SHAPE)
    assert profile["username"] == profile["hostname"] == profile["hostfqdn"] == ""
    assert set(profile["uname"].values()) == {""}
    assert profile["linux_dist"] == {"name": "", "version": ""}
    assert profile["python"]["compiler"] == profile["python"]["implementation"] == ""
    assert profile["libc"] == {"name": "", "version": ""}
    assert profile["cpu_count"] is None
    assert profile["host_id"] == ""


def test_missing_ssl_sqlite3_and_readline_modules_are_fine(monkeypatch):
    # A None entry in sys.modules makes "import name" raise ImportError.
    for name in ("ssl", "sqlite3", "readline"):
        monkeypatch.setitem(sys.modules, name, None)
    python = get_profile()["python"]
    assert python["openssl_version"] == ""
    assert python["sqlite_version"] == ""
    assert python["have_readline"] is False


def test_a_python_without_ssl_sqlite3_or_readline_still_reports(server):
    blocked_imports = "import sys\nfor name in ('ssl', '_ssl', 'sqlite3', 'readline'): sys.modules[name] = None\n"
    result = run_python(blocked_imports + "import espymetrics_client as e\nprint(e.send(host=%r))" % server.host)
    assert result.stdout.strip() == "True", result.stderr
    (body,) = server.json_bodies()
    assert body["python"]["openssl_version"] == ""
    assert body["python"]["sqlite_version"] == ""


OS_RELEASE_TEXT = """\
# a comment
NAME="Debian GNU/Linux"
VERSION_ID="12"
PRETTY_NAME='Debian GNU/Linux 12 (bookworm)'
ID=debian
EMPTY=
HOME_URL="https://www.debian.org/"
BROKEN="unbalanced
"""


def test_parse_os_release_understands_shell_quoting():
    fields = parse_os_release(OS_RELEASE_TEXT)
    assert fields["NAME"] == "Debian GNU/Linux"
    assert fields["VERSION_ID"] == "12"
    assert fields["PRETTY_NAME"] == "Debian GNU/Linux 12 (bookworm)"
    assert fields["ID"] == "debian"
    assert fields["EMPTY"] == ""
    assert fields["BROKEN"] == "unbalanced"


def test_read_os_release_takes_the_first_readable_file(tmp_path):
    release_file = tmp_path / "os-release"
    release_file.write_text(OS_RELEASE_TEXT)
    assert read_os_release([str(tmp_path / "absent"), str(release_file)])["ID"] == "debian"
    assert read_os_release([str(tmp_path / "absent")]) == {}


def test_linux_dist_and_os_release_come_from_os_release(monkeypatch):
    monkeypatch.setattr(profile_module, "read_os_release", lambda: parse_os_release(OS_RELEASE_TEXT))
    profile = get_profile()
    assert profile["linux_dist"] == {"name": "Debian GNU/Linux", "version": "12"}
    assert profile["os_release"] == {
        "id": "debian",
        "version_id": "12",
        "pretty_name": "Debian GNU/Linux 12 (bookworm)",
    }


@pytest.mark.parametrize(
    "environ, expected",
    [
        ({}, {"detected": False, "name": None}),
        ({"CI": "false"}, {"detected": False, "name": None}),
        ({"CI": "true"}, {"detected": True, "name": "generic"}),
        ({"CI": "true", "GITHUB_ACTIONS": "true"}, {"detected": True, "name": "github-actions"}),
        ({"CI": "true", "GITLAB_CI": "true"}, {"detected": True, "name": "gitlab-ci"}),
        ({"JENKINS_URL": "http://jenkins.internal/"}, {"detected": True, "name": "jenkins"}),
        ({"CI": "true", "TRAVIS": "true"}, {"detected": True, "name": "travis"}),
        ({"CI": "true", "CIRCLECI": "true"}, {"detected": True, "name": "circleci"}),
        ({"CI": "true", "BUILDKITE": "true"}, {"detected": True, "name": "buildkite"}),
    ],
)
def test_detect_ci(environ, expected):
    assert detect_ci(environ) == expected


def test_profile_reports_ci_from_the_environment(monkeypatch):
    assert get_profile()["ci"] == {"detected": False, "name": None}
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    assert get_profile()["ci"] == {"detected": True, "name": "github-actions"}


def test_environment_detects_a_virtualenv(tmp_path):
    venv_dir = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv_dir)], check=True)
    venv_python = venv_dir / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    result = subprocess.run(
        [str(venv_python), "-c", "import json, espymetrics_client as e; print(json.dumps(e.get_profile()['environment']))"],
        env=subprocess_env(),
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    environment = json.loads(result.stdout)
    assert environment["virtualenv"] is True
    assert os.path.samefile(environment["prefix"], str(venv_dir))
