"""Install hints name installs that work: mixmock is installed from a clone, not from a package index."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]


UNPUBLISHED = re.compile(r"""pip install\s+(?:-\S+\s+)*['"]?mixmock\b""")


def test_install_hints_name_installs_that_work_from_a_clone() -> None:
    """mixmock is not on PyPI: a hint says `pip install '.[audit]'`, never `pip install 'mixmock[audit]'`."""
    texts = [*ROOT.glob("*.md"), *ROOT.glob("*/README.md")]
    for package in ("openapi", "mock_server", "conformance", "bench", "docker"):
        texts += (ROOT / package).rglob("*.py")
    found = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in texts
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if UNPUBLISHED.search(line)
    ]
    assert not found, f"install hints naming an unpublished package: {found}"
