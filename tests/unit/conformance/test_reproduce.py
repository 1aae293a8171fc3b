from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from conformance.cases import KEY_MARKER
from conformance.reproduce import curl

pytestmark = pytest.mark.unit


def test_the_reproducer_is_one_line_with_the_key_as_a_variable() -> None:
    body = json.dumps({"prompt": "it's a rose", "key": KEY_MARKER})
    line = curl(
        "POST",
        "http://127.0.0.1:8000/api/v5/magic_mix",
        body,
        "application/json",
        {"Prefer": "scenario=processing"},
    )
    assert "\n" not in line
    assert line.startswith(
        "curl -sS -X POST http://127.0.0.1:8000/api/v5/magic_mix -H 'Content-Type: application/json'"
    )
    assert "'\"$MIXMOCK_AUDIT_KEY\"'" in line


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_the_shell_reads_the_reproducer_back_as_the_body_sent() -> None:
    body = json.dumps({"prompt": 'it\'s "a" rose $HOME', "key": KEY_MARKER})
    line = curl("POST", "http://h/x", body, "application/json", {})
    script = 'curl() { for a in "$@"; do printf \'%s\\n\' "$a"; done; }; ' + line
    out = subprocess.run(
        ["bash", "-c", script],
        capture_output=True,
        text=True,
        check=True,
        env={"MIXMOCK_AUDIT_KEY": "s3cr3t"},
    ).stdout.splitlines()
    assert json.loads(out[-1]) == {"prompt": 'it\'s "a" rose $HOME', "key": "s3cr3t"}
    assert curl("GET", "http://h/a.png", "", "", {}) == "curl -sS -o download.bin http://h/a.png"
