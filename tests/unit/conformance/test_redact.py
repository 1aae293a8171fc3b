"""The key is removed from values (inside longer strings too); reports are serialized afterwards."""

from __future__ import annotations

import pytest

from conformance.redact import FILTERED, Redactor

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("secret", "text", "expected"),
    [
        ("sk-live-123", "https://x/?key=sk-live-123&a=1", f"https://x/?key={FILTERED}&a=1"),
        ("sk-live-123", "Invalid key sk-live-123.", f"Invalid key {FILTERED}."),
        ("sk-live-123", "account-sk-live-1234-x", f"account-{FILTERED}4-x"),
        ("a.b*c+(", "a.b*c+( axb", f"{FILTERED} axb"),
        ('q"u\\o', 'got "q\\"u\\\\o"', f'got "{FILTERED}"'),
        ("", "nothing to hide", "nothing to hide"),
    ],
    ids=["query", "sentence", "embedded", "regex-chars", "json-escaped", "empty-key"],
)
def test_text(secret: str, text: str, expected: str) -> None:
    assert Redactor(secret).text(text) == expected


def test_data_filters_every_string_and_leaves_the_structure() -> None:
    data = {"key": "k1", "tier": "smoke", "nested": [{"note": "sent k1x", "k1": True, "n": 1}]}
    assert Redactor("k1").data(data) == {
        "key": FILTERED,
        "tier": "smoke",
        "nested": [{"note": f"sent {FILTERED}x", FILTERED: True, "n": 1}],
    }


def test_a_common_word_as_key_touches_strings_only() -> None:
    assert Redactor("true").data({"ok": True, "text": "true story"}) == {
        "ok": True,
        "text": f"{FILTERED} story",
    }
