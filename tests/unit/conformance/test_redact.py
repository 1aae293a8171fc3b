"""The key is filtered as a token, never as a fragment of other words."""

from __future__ import annotations

import pytest

from conformance.redact import FILTERED, Redactor

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("secret", "text", "expected"),
    [
        ("k", "smoke tier: key=k", f"smoke tier: key={FILTERED}"),
        ("k", '{"key": "k", "tier": "smoke"}', f'{{"key": "{FILTERED}", "tier": "smoke"}}'),
        ("sk-live-123", "https://x/?key=sk-live-123&a=1", f"https://x/?key={FILTERED}&a=1"),
        ("sk-live-123", "Invalid key sk-live-123.", f"Invalid key {FILTERED}."),
        ("sk-live-123", "sk-live-1234 is another key", "sk-live-1234 is another key"),
        ("a.b", "a.b axb", f"{FILTERED} axb"),
        ("", "nothing to hide", "nothing to hide"),
    ],
    ids=["short-key", "json", "query", "sentence", "longer-token", "regex-chars", "empty-key"],
)
def test_text(secret: str, text: str, expected: str) -> None:
    assert Redactor(secret).text(text) == expected


def test_data_filters_the_key_field_and_keeps_other_names() -> None:
    data = {"key": "k", "tier": "smoke", "nested": [{"key": "other", "note": "sent k"}]}
    assert Redactor("k").data(data) == {
        "key": FILTERED,
        "tier": "smoke",
        "nested": [{"key": FILTERED, "note": f"sent {FILTERED}"}],
    }
