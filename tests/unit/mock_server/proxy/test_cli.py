"""`mixmock proxy` settings: flags and MIXMOCK_PROXY_* derived from the declarations, bad values named."""

from __future__ import annotations

from pathlib import Path

import pytest

from mock_server.settings import ProxySettings, SettingsError, load_proxy_settings
from mock_server.tooling.cli import _overrides, _parser, main
from tests.unit.mock_server.command_lines import assert_refused, bad_command_lines, unnamed_variables

pytestmark = [pytest.mark.unit, pytest.mark.timeout(30)]


def test_flags_reach_the_settings() -> None:
    args = _parser().parse_args(
        [
            "proxy",
            "--target",
            "https://modelslab.com",
            "--record",
            "rec",
            "--redact",
            "prompt",
            "--redact",
            "x-team",
            "--block-invalid",
            "--webhooks",
            "relay",
            "--download-host",
            "*.r2.dev",
            "--read-timeout",
            "5",
        ]
    )
    settings = load_proxy_settings(_overrides(args, ProxySettings), environ={})
    assert (settings.target, settings.record, settings.redact) == (
        "https://modelslab.com",
        "rec",
        ("prompt", "x-team"),
    )
    assert (settings.block_invalid, settings.webhooks, settings.download_hosts) == (
        True,
        "relay",
        ("*.r2.dev",),
    )
    assert (settings.read_timeout_s, settings.host) == (5.0, "127.0.0.1")


def test_the_environment_uses_its_own_prefix() -> None:
    settings = load_proxy_settings(
        environ={"MIXMOCK_PROXY_TARGET": "http://127.0.0.1:9", "MIXMOCK_PORT": "1"}
    )
    assert (settings.target, settings.port) == ("http://127.0.0.1:9", 8000)


def test_help_names_every_variable(capsys: pytest.CaptureFixture[str]) -> None:
    assert unnamed_variables(capsys, "proxy", ProxySettings) == []


@bad_command_lines(__file__)
def test_bad_settings_exit_2(capsys: pytest.CaptureFixture[str], command_line: str, words: str) -> None:
    assert_refused(capsys, command_line, words)


def test_learn_on_a_recording_prints_and_writes_the_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.unit.mock_server.replay.conftest import Tape, processing

    tape = Tape()
    tape.create(0.0, {"key": "k", "prompt": "p", "init_image": ["https://a/b.png"]}, processing(1))
    tape.save(tmp_path)
    assert main(["proxy", "--learn", "--record", str(tmp_path)]) == 0
    assert "`escaped_slashes` | seen" in capsys.readouterr().out
    assert (tmp_path / "learn.md").exists()
    assert (tmp_path / "learn.json").exists()


def test_settings_built_in_code_are_checked() -> None:
    with pytest.raises(SettingsError, match="'webhooks'"):
        load_proxy_settings({"webhooks": "forward"}, environ={})
