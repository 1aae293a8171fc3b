"""The installed distribution finds its specs without the checkout."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

PROBE = """
import openapi, json
spec = openapi.get_spec("v6")
print(json.dumps({"path": str(spec.path), "title": openapi.load_spec("v6")["info"]["title"]}))
"""


def test_specs_are_found_from_outside_the_checkout(tmp_path: Path) -> None:
    # -I: neither the working directory nor PYTHONPATH is on sys.path, only the installed packages.
    result = subprocess.run(
        [sys.executable, "-I", "-c", PROBE], cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert '"title": "Image Mixer (image editing v6)"' in result.stdout
