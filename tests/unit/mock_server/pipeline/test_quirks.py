"""The observed profile: each listed quirk shows, one at a time; documented replies show none."""

from __future__ import annotations

import pytest

from mock_server.pipeline.quirks import QUIRKS, select_quirks
from tests.conftest import ClientFactory
from tests.unit.mock_server.bodies import CREATE_PATHS, FETCH_PATHS, valid_body, without

pytestmark = [pytest.mark.unit, pytest.mark.timeout(60)]


def _replies(mock_client: ClientFactory, **settings: object) -> dict[str, bytes]:
    """One reply of each quirk-prone kind."""
    with mock_client(strict=False, **settings) as client:
        queued = client.post(
            CREATE_PATHS["magic_mix_v5"],
            json=valid_body("magic_mix_v5"),
            headers={"Prefer": "scenario=processing"},
        )
        return {
            "processing": queued.content,
            "fetch_processing": client.post(
                FETCH_PATHS["magic_mix_v5"].format(id=queued.json()["id"]), json={"key": "k"}
            ).content,
            "rate_limit": client.post(
                CREATE_PATHS["img_mixer"],
                json=valid_body("img_mixer"),
                headers={"Prefer": "example=error_rate_limit"},
            ).content,
            "validation": client.post(
                CREATE_PATHS["img_mixer"], json=without(valid_body("img_mixer"), "prompt")
            ).content,
        }


EVIDENCE = {
    "messege_typo": ("rate_limit", b'"messege":"Rate limit exceeded'),
    "processing_output_string": ("processing", b'"output":""'),
    "proxy_links_empty_string": ("processing", b'"proxy_links":""'),
    "laravel_validation_object": ("validation", b'"message":{"prompt":["The prompt field is required."]}'),
    "eta_float": ("processing", b'"eta":5.0679869184'),
    "v5_fetch_result_v3": ("processing", b"/api/v3/fetch/1"),
    "escaped_slashes": ("processing", b"http:\\/\\/mock.test\\/"),
}


def test_every_quirk_has_evidence_here() -> None:
    assert set(EVIDENCE) == {quirk.name for quirk in QUIRKS}


@pytest.mark.parametrize("name", list(EVIDENCE))
def test_each_quirk_alone(mock_client: ClientFactory, name: str) -> None:
    kind, evidence = EVIDENCE[name]
    alone = _replies(mock_client, profile="observed", quirks=(name,))
    documented = _replies(mock_client)
    assert evidence in alone[kind]
    assert evidence not in documented[kind]


def test_observed_profile_applies_every_quirk(mock_client: ClientFactory) -> None:
    replies = _replies(mock_client, profile="observed")
    for name, (kind, evidence) in EVIDENCE.items():
        if name != "escaped_slashes":
            evidence = evidence.replace(b"/", b"\\/")
        assert evidence in replies[kind], name


def test_fetch_processing_uses_messege_when_observed(mock_client: ClientFactory) -> None:
    assert b'"messege":"try again later."' in _replies(mock_client, profile="observed")["fetch_processing"]


def test_unknown_quirk_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown quirk"):
        select_quirks("observed", ["typo"])


def test_documented_profile_selects_no_quirks() -> None:
    assert select_quirks("documented", ["eta_float"]) == ()
