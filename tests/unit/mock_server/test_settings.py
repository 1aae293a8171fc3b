"""Settings: defaults < config file < environment < command line, and clear errors for bad values."""

from __future__ import annotations

from pathlib import Path

import pytest

from mock_server.settings import Settings, SettingsError, load_settings, settings_from_json, settings_to_json

pytestmark = [pytest.mark.unit, pytest.mark.timeout(30)]


def test_defaults() -> None:
    settings = load_settings(environ={})
    assert (settings.port, settings.profile, settings.error_status, settings.api_keys) == (
        8000,
        "documented",
        "vendor",
        frozenset(),
    )
    assert settings.store.endswith(".sqlite3")


@pytest.mark.parametrize("suffix", [".yaml", ".toml"])
def test_precedence(tmp_path: Path, suffix: str) -> None:
    config = tmp_path / f"mixmock{suffix}"
    config.write_text(
        'port = 9001\nprofile = "observed"\nseed = 3\n'
        if suffix == ".toml"
        else "port: 9001\nprofile: observed\nseed: 3\n"
    )
    environ = {"MIXMOCK_PORT": "9002", "MIXMOCK_SEED": "4"}
    settings = load_settings({"port": 9003}, config_file=str(config), environ=environ)
    assert (settings.port, settings.seed, settings.profile) == (9003, 4, "observed")


def test_keys_file_and_list(tmp_path: Path) -> None:
    keys = tmp_path / "keys.txt"
    keys.write_text("# team keys\nalpha\n\nbeta\n")
    settings = load_settings({"api_keys": ["gamma"], "api_keys_file": str(keys)}, environ={})
    assert settings.api_keys == frozenset({"alpha", "beta", "gamma"})


def test_max_batch_from_environment() -> None:
    assert load_settings(environ={}).max_batch == 4
    assert load_settings(environ={"MIXMOCK_MAX_BATCH": "1"}).max_batch == 1


def test_ratios_from_environment() -> None:
    settings = load_settings(environ={"MIXMOCK_RATIOS": "processing=0.3, failed=0.1"})
    assert dict(settings.ratios) == {"processing": 0.3, "failed": 0.1}


@pytest.mark.parametrize(
    ("overrides", "environ", "words"),
    [
        ({"port": 70000}, {}, "'port' = 70000"),
        ({}, {"MIXMOCK_PORT": "eighty"}, "MIXMOCK_PORT"),
        ({}, {"MIXMOCK_PROFILE": "weird"}, "expected one of documented, observed"),
        ({"ratios": {"processing": 1.5}}, {}, "processing=1.5"),
        ({"ratios": {"slow": 0.1}}, {}, "'slow'"),
        ({"ratios": {"processing": 0.7, "error": 0.7}}, {}, "more than 1"),
        ({"workers": 0}, {}, "'workers' = 0"),
        ({}, {"MIXMOCK_MAX_BATCH": "0"}, "'max_batch' = 0"),
        ({"public_url": "mock.test"}, {}, "'mock.test'"),
        ({"strict": "maybe"}, {}, "'maybe'"),
        ({"api_keys_file": "/nonexistent/keys"}, {}, "cannot read api keys file"),
    ],
)
def test_bad_values_are_named(overrides: dict[str, object], environ: dict[str, str], words: str) -> None:
    with pytest.raises(SettingsError) as raised:
        load_settings(overrides, environ=environ)
    assert words in str(raised.value)


def test_bad_config_file(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("colour: blue\n")
    with pytest.raises(SettingsError, match="unknown setting 'colour'"):
        load_settings(config_file=str(config), environ={})


def test_json_round_trip_for_workers() -> None:
    settings = Settings(api_keys=frozenset({"a"}), ratios={"processing": 0.2}, quirks=("eta_float",), seed=5)
    assert settings_from_json(settings_to_json(settings)) == settings
