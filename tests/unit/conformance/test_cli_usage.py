"""Usage and configuration errors exit 2 with a message naming the value, before anything is sent."""

from __future__ import annotations

import pytest

from conformance.cli import main

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--base-url", "http://127.0.0.1:1/api/v6", "--key", "k"], "must be an origin without a path"),
        (["--base-url", "ftp://x", "--key", "k"], "is not an http(s) origin"),
        (["--base-url", "http://127.0.0.1:1"], "no API key"),
        (["--base-url", "http://127.0.0.1:1", "--key", "k", "--tier", "smok"], "--tier 'smok'"),
        (["--base-url", "http://127.0.0.1:1", "--key", "k", "--specs", "v7"], "--specs 'v7'"),
        (["--base-url", "http://127.0.0.1:1", "--key", "k", "--operations", "mixer"], "--operations 'mixer'"),
        (["--base-url", "http://127.0.0.1:1", "--key", "k", "--budget", "0"], "--budget 0"),
        (["--base-url", "http://127.0.0.1:1", "--key", "k", "--write-baseline"], "needs --baseline"),
        (["--key", "k"], "--base-url"),
        (
            ["--base-url", "http://127.0.0.1:1", "--key", "k", "--image-url", "ftp://x/a.png"],
            "'ftp://x/a.png'",
        ),
        (
            ["--base-url", "http://127.0.0.1:1", "--key", "k", "--image-url", "http://a b/c.png"],
            "not a valid URI",
        ),
    ],
    ids=[
        "path-in-base-url",
        "not-http",
        "no-key",
        "unknown-tier",
        "unknown-spec",
        "unknown-operation",
        "zero-budget",
        "write-baseline-alone",
        "no-base-url",
        "image-url-not-http",
        "image-url-not-a-uri",
    ],
)
def test_usage_errors_exit_2_naming_the_value(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MIXMOCK_AUDIT_KEY", raising=False)
    assert main(argv) == 2
    assert message in capsys.readouterr().err
