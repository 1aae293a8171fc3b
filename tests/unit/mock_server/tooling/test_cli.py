"""The `mixmock` command line: help, and exit code 2 with a clear message for bad settings."""

from __future__ import annotations

from pathlib import Path

import pytest

from mock_server.settings import Settings
from mock_server.tooling.cli import main
from tests.unit.mock_server.command_lines import assert_refused, bad_command_lines, unnamed_variables

pytestmark = [pytest.mark.unit, pytest.mark.timeout(30)]


@pytest.mark.parametrize("command", ["serve", "worker"])
def test_help_names_every_env_var(capsys: pytest.CaptureFixture[str], command: str) -> None:
    assert unnamed_variables(capsys, command, Settings) == []


@bad_command_lines(__file__)
def test_bad_settings_exit_2(capsys: pytest.CaptureFixture[str], command_line: str, words: str) -> None:
    assert_refused(capsys, command_line, words)


def test_version_is_the_installed_packages(capsys: pytest.CaptureFixture[str]) -> None:
    from importlib.metadata import version

    with pytest.raises(SystemExit) as raised:
        main(["--version"])
    assert raised.value.code == 0
    assert capsys.readouterr().out == f"mixmock {version('mixmock')}\n"


def test_bad_rules_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text("rules: [{then: {scenario: sometimes}}]")
    assert main(["serve", "--rules", str(rules)]) == 2
    assert "scenario='sometimes'" in capsys.readouterr().err


def test_engine_flags_reach_the_settings() -> None:
    from mock_server.settings import load_settings
    from mock_server.tooling.cli import _overrides, _parser

    args = _parser().parse_args(
        ["serve", "--mixing", "paper", "--allow-host", "127.0.0.0/8", "--allow-host", "images.local"]
    )
    settings = load_settings(_overrides(args))
    assert settings.mixing == "paper"
    assert settings.allow_hosts == ("127.0.0.0/8", "images.local")


def _unusable_stores(tmp_path: Path) -> list[tuple[str, str]]:
    (tmp_path / "a-file").write_text("")
    (tmp_path / "garbage.sqlite3").write_bytes(b"not a database" * 300)
    return [
        (str(tmp_path / "a-file" / "jobs.sqlite3"), "cannot be created"),  # its folder would be a file
        (str(tmp_path / "garbage.sqlite3"), "file is not a database"),
        (str(tmp_path), "is a folder"),
    ]


@pytest.mark.parametrize("workers", ["1", "2"])
def test_an_unusable_store_exits_2_naming_the_path(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], workers: str
) -> None:
    """Checked before any worker starts: no traceback, no crash loop of restarted workers."""
    for store, reason in _unusable_stores(tmp_path):
        assert main(["serve", "--store", store, "--workers", workers, "--port", "1"]) == 2
        err = capsys.readouterr().err
        assert err.startswith("mixmock: error: setting 'store'")
        assert store in err
        assert reason in err
        assert "Traceback" not in err


@pytest.mark.parametrize(
    ("raw", "mode"),
    [("auto", "auto"), ("open", "open"), ("off", "off"), ("false", "off"), ("true", "auto")],
)
def test_the_admin_setting_takes_a_mode_or_a_boolean(raw: str, mode: str) -> None:
    from mock_server.settings import load_settings

    assert load_settings(environ={"MIXMOCK_ADMIN": raw}).admin == mode


def test_a_bad_admin_mode_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as raised:
        main(["serve", "--admin", "sometimes"])
    assert raised.value.code == 2
    assert "invalid choice: 'sometimes'" in capsys.readouterr().err
