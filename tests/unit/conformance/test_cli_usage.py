"""Usage and configuration errors exit 2 with a message naming the value, before anything is sent."""

from __future__ import annotations

from pathlib import Path

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
        (["--base-url", "http://127.0.0.1:1", "--key", "k", "--poll-interval", "inf"], "--poll-interval inf"),
        (["--base-url", "http://127.0.0.1:1", "--key", "k", "--rate-limit", "1e-300"], "--rate-limit 1e-300"),
        (["--base-url", "http://127.0.0.1:1", "--key", "k", "--rate-limit", "nan"], "--rate-limit nan"),
        (["--base-url", "http://127.0.0.1:1", "--key", "k", "--job-timeout", "-1"], "--job-timeout -1.0"),
        (["--base-url", "http://127.0.0.1:1", "--key", "k", "--timeout", "0"], "--timeout 0.0"),
        (["--base-url", "http://127.0.0.1:1", "--key", "k", "--max-time", "inf"], "--max-time inf"),
        (["--base-url", "http://127.0.0.1:1", "--key", "k", "--fuzz-examples", "0"], "--fuzz-examples 0"),
        (["--base-url", "http://127.0.0.1:1", "--key", "k", "--fail-on", "maybe"], "--fail-on"),
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
        "poll-interval-inf",
        "rate-limit-tiny",
        "rate-limit-nan",
        "job-timeout-negative",
        "timeout-zero",
        "max-time-inf",
        "no-fuzz-examples",
        "fail-on-unknown",
    ],
)
def test_usage_errors_exit_2_naming_the_value(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MIXMOCK_AUDIT_KEY", raising=False)
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_an_unwritable_report_dir_and_a_bad_baseline_exit_2_before_anything_is_sent(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("", encoding="utf-8")
    common = ["--base-url", "http://127.0.0.1:1", "--key", "k"]
    assert main([*common, "--report-dir", str(blocker / "reports")]) == 2
    assert f"--report-dir {str(blocker / 'reports')!r} is not writable" in capsys.readouterr().err
    bad = tmp_path / "known.json"
    bad.write_text("{not json", encoding="utf-8")
    assert main([*common, "--baseline", str(bad)]) == 2
    assert "--baseline: cannot read baseline" in capsys.readouterr().err
    assert main([*common, "--baseline", str(tmp_path / "missing.json")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_dry_run_needs_no_key_and_sends_nothing(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MIXMOCK_AUDIT_KEY", raising=False)
    assert (
        main(
            ["--base-url", "http://127.0.0.1:1", "--tier", "smoke", "--operations", "img_mixer", "--dry-run"]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "smoke: 1 requests" in out
    assert "POST /api/v6/image_editing/img_mixer  page example" in out
