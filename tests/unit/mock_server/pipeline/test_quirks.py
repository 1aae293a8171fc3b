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
    "messege_typo": ("fetch_processing", b'"messege":"try again later."'),
    "legacy_rate_limit": (
        "rate_limit",
        b'"messege":"Rate limit exceeded","tips":"you are sending same request',
    ),
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


def test_observed_rate_limit_is_the_legacy_reply_word_for_word(mock_client: ClientFactory) -> None:
    with mock_client(strict=False, profile="observed") as client:
        reply = client.post(
            CREATE_PATHS["img_mixer"],
            json=valid_body("img_mixer"),
            headers={"Prefer": "example=error_rate_limit"},
        ).json()
    assert reply == {
        "status": "error",
        "messege": "Rate limit exceeded",
        "tips": "you are sending same request multiple times, spam filter is enabled, please wait for 30 "
        "seconds and try again",
    }


def test_observed_img_mixer_processing_has_no_proxy_links(mock_client: ClientFactory) -> None:
    with mock_client(strict=False, profile="observed") as client:
        reply = client.post(
            CREATE_PATHS["img_mixer"], json=valid_body("img_mixer"), headers={"Prefer": "scenario=processing"}
        ).json()
    assert reply["status"] == "processing"
    assert "proxy_links" not in reply


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"prompt": ""}, {"prompt": ["The prompt field is required."]}),
        ({"init_image": []}, {"init_image": ["The init image field is required."]}),
        ({"steps": 99}, {"steps": ["The steps must not be greater than 50."]}),
        ({"width": "wide"}, {"width": ["The width must be an integer."]}),
    ],
    ids=["empty-prompt", "no-init-images", "steps-too-big", "width-not-a-number"],
)
def test_observed_validation_errors_are_laravels_words(
    mock_client: ClientFactory, change: dict[str, object], expected: dict[str, list[str]]
) -> None:
    with mock_client(strict=False, profile="observed") as client:
        reply = client.post(CREATE_PATHS["img_mixer"], json={**valid_body("img_mixer"), **change}).json()
    assert reply["status"] == "error"
    assert reply["message"] == expected


def test_unknown_quirk_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown quirk"):
        select_quirks("observed", ["typo"])


def test_documented_profile_selects_no_quirks() -> None:
    assert select_quirks("documented", ["eta_float"]) == ()
