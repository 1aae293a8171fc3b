"""Valid request bodies and paths for every operation the mock serves (shared by the mock's tests)."""

from __future__ import annotations

from typing import Any

CREATE_PATHS = {
    "img_mixer": "/api/v6/image_editing/img_mixer",
    "magic_mix_enterprise": "/api/v1/enterprise/image_editing/magic_mix",
    "magic_mix_v5": "/api/v5/magic_mix",
}
FETCH_PATHS = {  # the fetch operation each create operation's processing reply links to
    "img_mixer": "/api/v6/image_editing/fetch/{id}",
    "magic_mix_enterprise": "/api/v1/enterprise/image_editing/fetch/{id}",
    "magic_mix_v5": "/api/v5/fetch/{id}",
}
FETCH_OPERATIONS = {
    "fetch_v6": FETCH_PATHS["img_mixer"],
    "fetch_enterprise": FETCH_PATHS["magic_mix_enterprise"],
}
FETCH_OPERATIONS |= {"fetch_v5": FETCH_PATHS["magic_mix_v5"], "fetch_v3_alias": "/api/v3/fetch/{id}"}


def valid_body(operation_id: str, **changes: Any) -> dict[str, Any]:
    """A small valid body (small images keep downloads fast), with `changes` applied."""
    if operation_id == "img_mixer":
        body: dict[str, Any] = {
            "key": "test-key",
            "prompt": "rose man",
            "negative_prompt": "A polluted city",
            "init_image": ["https://img.example/a.png", "https://img.example/b.png"],
            "width": 80,
            "height": 60,
            "guidance_scale": 10,
            "steps": 41,
            "samples": 1,
            "seed": 12345,
            "webhook": None,
            "track_id": None,
        }
    else:
        body = {
            "key": "test-key",
            "prompt": "Bed",
            "negative_prompt": "low quality",
            "image": "https://img.example/bed.jpg",
            "width": 64,
            "height": 48,
            "kmin": 0.3,
            "kmax": 0.5,
            "mix_factor": 0.5,
            "steps": 20,
            "samples": 1,
            "seed": 1829183163,
            "webhook": None,
            "track_id": None,
        }
    body.update(changes)
    return body


def without(body: dict[str, Any], *names: str) -> dict[str, Any]:
    return {key: value for key, value in body.items() if key not in names}
