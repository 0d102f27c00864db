"""Detect whether this process runs under a CI system, from its environment variables."""

from __future__ import annotations

import os
from typing import Dict, Mapping, Optional, Union

from .settings import env_flag

# Checked in order. Most providers also set the generic CI=true, so the
# specific variables come first to name the provider.
CI_PROVIDERS = (
    ("GITHUB_ACTIONS", "github-actions"),
    ("GITLAB_CI", "gitlab-ci"),
    ("JENKINS_URL", "jenkins"),
    ("TRAVIS", "travis"),
    ("CIRCLECI", "circleci"),
    ("BUILDKITE", "buildkite"),
    ("TF_BUILD", "azure-pipelines"),
    ("TEAMCITY_VERSION", "teamcity"),
    ("APPVEYOR", "appveyor"),
    ("BITBUCKET_BUILD_NUMBER", "bitbucket-pipelines"),
    ("CODEBUILD_BUILD_ID", "aws-codebuild"),
    ("DRONE", "drone"),
)
GENERIC_CI_VARS = ("CI", "CONTINUOUS_INTEGRATION")
GENERIC_CI_NAME = "generic"


def detect_ci(environ: Optional[Mapping[str, str]] = None) -> Dict[str, Union[bool, Optional[str]]]:
    """{"detected": bool, "name": provider name, "generic", or None when not CI}."""
    environ = os.environ if environ is None else environ
    for variable, name in CI_PROVIDERS:
        if env_flag(environ.get(variable)):
            return {"detected": True, "name": name}
    if any(env_flag(environ.get(variable)) for variable in GENERIC_CI_VARS):
        return {"detected": True, "name": GENERIC_CI_NAME}
    return {"detected": False, "name": None}
