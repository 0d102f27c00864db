from __future__ import annotations

import copy
import json
import sys
from pathlib import Path

import pytest

from espymetrics_client import SCRUBBED_FIELDS, get_profile, scrub_profile, send

README = Path(__file__).resolve().parent.parent / "README.md"


def lookup(profile, dotted_path):
    value = profile
    for key in dotted_path.split("."):
        if not isinstance(value, dict) or key not in value:
            return KeyError
        value = value[key]
    return value


def assert_scrubbed(profile):
    for dotted_path in SCRUBBED_FIELDS:
        assert lookup(profile, dotted_path) is KeyError, dotted_path + " was not removed"
    assert profile["collector"]["scrubbed"] == list(SCRUBBED_FIELDS)


def test_scrub_removes_the_documented_fields_and_keeps_the_rest():
    full = get_profile()
    scrubbed = scrub_profile(full)
    assert_scrubbed(scrubbed)
    assert scrubbed["uuid"] == full["uuid"]
    assert scrubbed["python"]["version_info"] == full["python"]["version_info"]
    assert scrubbed["uname"]["system"] == full["uname"]["system"]
    assert scrubbed["linux_dist"] == full["linux_dist"]


def test_scrub_covers_the_original_identifying_fields():
    for field in ("username", "hostname", "hostfqdn", "uname.node", "python.argv", "python.bin"):
        assert field in SCRUBBED_FIELDS


def test_scrub_leaves_its_argument_unchanged():
    full = get_profile()
    before = copy.deepcopy(full)
    scrub_profile(full)
    assert full == before


def test_scrubbed_json_holds_no_paths_or_host_id():
    full = get_profile()
    text = json.dumps(get_profile(scrub=True))
    for secret in (sys.executable, sys.prefix, full["host_id"], full["hostfqdn"]):
        if len(secret) >= 6:
            assert secret not in text


def test_get_profile_scrubs_when_the_environment_asks(monkeypatch):
    monkeypatch.setenv("ESPYMETRICS_SCRUB", "1")
    assert_scrubbed(get_profile())
    # Code can't turn off a scrub that the person running it asked for.
    assert_scrubbed(get_profile(scrub=False))


def test_scrub_env_zero_means_no_scrub(monkeypatch):
    monkeypatch.setenv("ESPYMETRICS_SCRUB", "0")
    assert "username" in get_profile()


@pytest.mark.parametrize("how", ["argument", "environment"])
def test_send_scrubs_even_a_profile_built_unscrubbed(server, monkeypatch, how):
    profile = get_profile()
    if how == "environment":
        monkeypatch.setenv("ESPYMETRICS_SCRUB", "1")
        assert send(profile, host=server.host) is True
    else:
        assert send(profile, host=server.host, scrub=True) is True
    (body,) = server.json_bodies()
    assert_scrubbed(body)


def test_readme_lists_every_scrubbed_field():
    readme = README.read_text()
    for dotted_path in SCRUBBED_FIELDS:
        assert "`%s`" % dotted_path in readme
