"""`.dockerignore` matching, and what the project's own file lets into the build context."""

from __future__ import annotations

import pytest

from tests.docker.dockerignore import DockerIgnore
from tests.docker.images import REPO_ROOT

pytestmark = pytest.mark.unit

ALLOWLIST = DockerIgnore.from_text("*\n!src/\n**/__pycache__\n# a comment\n\n*.md\n!README.md\n")


@pytest.mark.parametrize(
    ("path", "excluded"),
    [
        ("src/app.py", False),
        ("src/deep/er/app.py", False),
        ("src/__pycache__/app.cpython-311.pyc", True),
        ("src/deep/__pycache__", True),
        ("tests/test_app.py", True),
        (".venv/bin/python", True),
        ("NOTES.md", True),
        ("README.md", False),
    ],
    ids=lambda value: str(value),
)
def test_last_matching_rule_wins_for_a_path_or_its_parents(path: str, excluded: bool) -> None:
    assert ALLOWLIST.excludes(path) is excluded


@pytest.mark.parametrize(
    "path",
    [
        ".venv/bin/python",
        ".git/HEAD",
        "tests/__init__.py",
        "models/model_index.json",
        "reports/audit.json",
        "mock_server/__pycache__/x.cpython-311.pyc",
        "jobs.sqlite3",
    ],
)
def test_project_context_leaves_out_local_state(path: str) -> None:
    assert DockerIgnore.from_file(REPO_ROOT / ".dockerignore").excludes(path)


@pytest.mark.parametrize(
    "path",
    [
        "pyproject.toml",
        "README.md",
        "openapi/v6-image-editing.yaml",
        "mock_server/engines/base.py",
        "conformance/cli.py",
    ],
)
def test_project_context_keeps_what_the_images_install(path: str) -> None:
    assert not DockerIgnore.from_file(REPO_ROOT / ".dockerignore").excludes(path)
