"""Stage 0: every `Prefer` header of a request, read once into reply and fault preferences."""

from __future__ import annotations

import pytest

from mock_server.parsing import Latency
from mock_server.pipeline import preferences
from mock_server.pipeline.preferences import Prefer, PreferenceError, Preferences
from mock_server.services.faults import FaultPreferences

pytestmark = [pytest.mark.unit, pytest.mark.timeout(30)]


def test_one_parse_gives_reply_and_fault_preferences() -> None:
    prefer = preferences.parse_prefer(["scenario=processing, latency=200ms", 'fault="slow-body"; x=1, eta=4'])
    assert prefer.reply == Preferences(scenario="processing", eta=4.0)
    assert prefer.faults == FaultPreferences(Latency("fixed", 0.2), "slow-body")
    assert preferences.parse_prefer([]) == Prefer()


def test_the_first_value_of_a_name_wins_and_unknown_names_are_ignored() -> None:
    prefer = preferences.parse_prefer(["Scenario=error", "scenario=success, respond-async, wait=10"])
    assert prefer.reply == Preferences(scenario="error")


def test_request_preferences_win_over_defaults_name_by_name() -> None:
    request = preferences.parse_prefer(["eta=1, fault=none"])
    defaults = preferences.parse_prefer(["scenario=processing, eta=9, latency=1s"])
    merged = request.over(defaults)
    assert merged.reply == Preferences(scenario="processing", eta=1.0)
    assert merged.faults == FaultPreferences(Latency("fixed", 1.0), "none")


@pytest.mark.parametrize(
    ("header", "detail"),
    [
        ("fault=explode", "fault='explode' is not one of 500, 503, drop, slow-body, none"),
        ("latency=soon", "latency='soon'"),
        ("scenario=slow", "scenario='slow' is not one of success, processing, error, failed"),
        ("polls=5000", "polls='5000' must be between 0 and 1000"),
        ("eta=nan", "eta='nan' must be between 0 and 86400 seconds"),
        ("code=418", "code='418' is not one of"),
    ],
    ids=["unknown-fault", "bad-latency", "unknown-scenario", "too-many-polls", "nan-eta", "odd-code"],
)
def test_a_bad_value_is_an_error_naming_it(header: str, detail: str) -> None:
    with pytest.raises(PreferenceError) as raised:
        preferences.parse_prefer([header])
    assert detail in str(raised.value)
    assert str(raised.value).startswith("Prefer header: ")


def test_rules_take_reply_preferences_only() -> None:
    assert preferences.reply_preferences({"scenario": "failed", "fault": "drop"}, "rules") == Preferences(
        scenario="failed"
    )
    with pytest.raises(PreferenceError, match="rules: eta='x'"):
        preferences.reply_preferences({"eta": "x"}, "rules")
