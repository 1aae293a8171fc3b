from __future__ import annotations

import json

import pytest

from conformance.checks import Reply
from conformance.client import Exchange
from conformance.webhooks import Delivery, check_delivery, check_payload
from openapi.operations import load_operations

pytestmark = pytest.mark.unit
IMG_MIXER = next(op for op in load_operations(["v6"]) if op.operation_id == "img_mixer")
URL = "http://127.0.0.1:9/webhook/img_mixer-0?audit=img_mixer-0&kept=yes"
REPLY = Reply(
    IMG_MIXER,
    "webhooks",
    "page example",
    {},
    Exchange("POST", "u", 200, "application/json", b'{"status":"success"}'),
)
PAYLOAD = {"status": "success", "id": 7, "output": ["http://h/a.png"], "track_id": 4242}


def _keys(delivery: Delivery | None, track_id: object = 4242) -> list[str]:
    found = check_delivery(REPLY, URL, delivery, track_id, 7)
    if delivery is not None:
        found += check_payload(REPLY, delivery, track_id, 7)
    return [finding.key for finding in found]


def test_a_good_delivery_passes() -> None:
    assert (
        _keys(
            Delivery(
                "/webhook/img_mixer-0?audit=img_mixer-0&kept=yes",
                "application/json",
                json.dumps(PAYLOAD).encode(),
            )
        )
        == []
    )


@pytest.mark.parametrize(
    ("delivery", "expected"),
    [
        (None, ["img_mixer webhook: is delivered when the job ends"]),
        (
            Delivery("/webhook/img_mixer-0", "application/json", json.dumps(PAYLOAD).encode()),
            ["img_mixer webhook: is POSTed to the URL as given"],
        ),
        (
            Delivery(
                "/webhook/img_mixer-0?audit=img_mixer-0&kept=yes", "text/plain", json.dumps(PAYLOAD).encode()
            ),
            ["img_mixer webhook: content type application/json"],
        ),
        (
            Delivery(
                "/webhook/img_mixer-0?audit=img_mixer-0&kept=yes",
                "application/json",
                json.dumps({**PAYLOAD, "track_id": "4242"}).encode(),
            ),
            ["img_mixer webhook.track_id: echoes track_id with its JSON type"],
        ),
        (
            Delivery(
                "/webhook/img_mixer-0?audit=img_mixer-0&kept=yes",
                "application/json",
                json.dumps({**PAYLOAD, "id": 8}).encode(),
            ),
            ["img_mixer webhook.id: is the job's id"],
        ),
    ],
    ids=["nothing", "query-dropped", "not-json", "track-id-type", "other-id"],
)
def test_each_broken_delivery_is_named(delivery: Delivery | None, expected: list[str]) -> None:
    assert _keys(delivery) == expected
