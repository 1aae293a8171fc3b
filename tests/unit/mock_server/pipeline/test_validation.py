"""Request violations: every range bound, wrong types, missing fields, cross-field rules, all reported."""

from __future__ import annotations

from typing import Any

import pytest

from mock_server.pipeline.intake import Intake
from mock_server.pipeline.validation import MAX_VIOLATIONS, ResponseDraft, validate_request, validate_response
from openapi.operations import load_operations
from tests.conftest import ClientFactory
from tests.unit.mock_server.bodies import CREATE_PATHS, valid_body, without

pytestmark = [pytest.mark.unit, pytest.mark.timeout(60)]

OPERATIONS = {operation.operation_id: operation for operation in load_operations()}
MAGIC = ("magic_mix_enterprise", "magic_mix_v5")
SAMPLES_MAX = {"img_mixer": 1, "magic_mix_enterprise": 1, "magic_mix_v5": 4}

# (operation ids, field, a value just out of range, the same bound just inside)
BOUNDS: list[tuple[tuple[str, ...], str, Any, Any]] = [
    (tuple(CREATE_PATHS), "steps", 0, 1),
    (tuple(CREATE_PATHS), "steps", 51, 50),
    (("img_mixer",), "guidance_scale", 0.99, 1),
    (("img_mixer",), "guidance_scale", 20.01, 20),
    (tuple(CREATE_PATHS), "width", 0, 1),
    (tuple(CREATE_PATHS), "width", 1025, 1024),
    (tuple(CREATE_PATHS), "height", 0, 1),
    (tuple(CREATE_PATHS), "height", 1025, 1024),
    (tuple(CREATE_PATHS), "samples", 0, 1),
    (MAGIC, "kmin", -0.01, 0),
    (MAGIC, "kmin", 1.01, 1),
    (MAGIC, "kmax", -0.01, 1),
    (MAGIC, "kmax", 1.01, 1),
    (MAGIC, "mix_factor", -0.01, 0),
    (MAGIC, "mix_factor", 1.01, 1),
]
BOUND_CASES = [
    pytest.param(operation_id, field, bad, good, id=f"{operation_id}-{field}={bad}")
    for operation_ids, field, bad, good in BOUNDS
    for operation_id in operation_ids
] + [
    pytest.param(
        op, "samples", SAMPLES_MAX[op] + 1, SAMPLES_MAX[op], id=f"{op}-samples={SAMPLES_MAX[op] + 1}"
    )
    for op in CREATE_PATHS
]


def _post(mock_client: ClientFactory, operation_id: str, body: Any) -> dict[str, Any]:
    with mock_client() as client:
        reply: dict[str, Any] = client.post(CREATE_PATHS[operation_id], json=body).json()
    return reply


@pytest.mark.parametrize(("operation_id", "field", "bad", "good"), BOUND_CASES)
def test_each_range_bound_is_enforced_and_named(
    mock_client: ClientFactory, operation_id: str, field: str, bad: Any, good: Any
) -> None:
    # steps=1 with kmax=0.5 breaks the cross-field rule int(kmax * steps) >= 1 on magic_mix; keep it apart.
    extra = {"kmax": 1} if operation_id in MAGIC and field == "steps" else {}
    rejected = _post(mock_client, operation_id, valid_body(operation_id, **extra, **{field: bad}))
    accepted = _post(mock_client, operation_id, valid_body(operation_id, **extra, **{field: good}))
    assert rejected["status"] == "error"
    assert f"{field}={bad}" in rejected["message"]
    assert accepted["status"] == "success", accepted


@pytest.mark.parametrize(
    ("operation_id", "field", "value", "words"),
    [
        ("img_mixer", "steps", "41", "must be an integer"),
        ("img_mixer", "steps", 4.5, "must be an integer"),
        ("img_mixer", "guidance_scale", "high", "must be a number"),
        ("img_mixer", "prompt", ["rose"], "must be a string"),
        ("img_mixer", "init_image", "https://img.example/a.png", "must be an array"),
        ("img_mixer", "seed", 1.5, "must be an integer or null"),
        ("img_mixer", "track_id", "abc", "must be an integer or null"),
        ("magic_mix_enterprise", "track_id", 7, "must be a string or null"),
        ("magic_mix_v5", "image", "not a url", "must be a valid URL"),
        ("magic_mix_v5", "webhook", "nope", "must be a valid URL"),
        ("magic_mix_v5", "kmax", True, "must be a number"),
    ],
)
def test_wrong_types_are_named_with_the_value(
    mock_client: ClientFactory, operation_id: str, field: str, value: Any, words: str
) -> None:
    reply = _post(mock_client, operation_id, valid_body(operation_id, **{field: value}))
    assert reply["status"] == "error"
    assert words in reply["message"]
    assert field in reply["message"]


@pytest.mark.parametrize(
    ("operation_id", "field", "message"),
    [
        ("img_mixer", "prompt", "The prompt field is required."),
        ("img_mixer", "init_image", "The init image field is required."),
        ("magic_mix_v5", "image", "The image field is required."),
        ("magic_mix_enterprise", "prompt", "The prompt field is required."),
    ],
)
def test_missing_fields_use_the_vendor_wording(
    mock_client: ClientFactory, operation_id: str, field: str, message: str
) -> None:
    assert _post(mock_client, operation_id, without(valid_body(operation_id), field))["message"] == message


def test_every_violation_is_reported_not_only_the_first(mock_client: ClientFactory) -> None:
    body = valid_body("img_mixer", steps=51, width=0, init_image=["x"] * 5)
    message = _post(mock_client, "img_mixer", without(body, "prompt"))["message"]
    for part in (
        "prompt field is required",
        "steps=51",
        "width=0",
        "init image must not have more than 4 items",
    ):
        assert part in message


@pytest.mark.parametrize("operation_id", MAGIC)
def test_cross_field_rule_names_kmax_and_steps(mock_client: ClientFactory, operation_id: str) -> None:
    reply = _post(mock_client, operation_id, valid_body(operation_id, kmax=0.04, steps=20))
    assert reply["status"] == "error"
    assert "kmax=0.04" in reply["message"]
    assert "steps=20" in reply["message"]


@pytest.mark.parametrize("value", [10**30, -(10**30)], ids=["huge", "huge-negative"])
def test_huge_numbers_are_range_errors(mock_client: ClientFactory, value: int) -> None:
    reply = _post(mock_client, "img_mixer", valid_body("img_mixer", steps=value))
    assert reply["status"] == "error"
    assert f"steps={value}" in reply["message"]


def test_huge_seed_is_accepted_and_echoed(mock_client: ClientFactory) -> None:
    reply = _post(mock_client, "img_mixer", valid_body("img_mixer", seed=2**80))
    assert reply["meta"]["seed"] == 2**80


def test_unknown_fields_are_accepted(mock_client: ClientFactory) -> None:
    assert (
        _post(mock_client, "img_mixer", valid_body("img_mixer", init_image_weights="0.5,0.7"))["status"]
        == "success"
    )


def test_page_examples_validate() -> None:
    for operation in OPERATIONS.values():
        intake = Intake(
            {"key": "k", "prompt": "p", "init_image": ["https://a.b/c"], "image": "https://a.b/c"},
            None,
            {},
            "",
            {},
        )
        assert validate_request(operation, intake, frozenset()) == [], operation.operation_id


def test_validate_response_reports_the_branch_the_status_selects() -> None:
    operation = OPERATIONS["img_mixer"]
    draft = ResponseDraft(
        200,
        {
            "status": "processing",
            "eta": "soon",
            "id": 1,
            "fetch_result": "https://m.test/f/1",
            "future_links": [],
        },
        "processing",
    )
    violations = validate_response(operation, draft)
    assert [violation.field for violation in violations] == ["eta"]


def test_validate_response_rejects_an_undeclared_status() -> None:
    draft = ResponseDraft(418, {"status": "error", "message": "teapot"}, "error_validation")
    assert validate_response(OPERATIONS["img_mixer"], draft)[0].keyword == "status"


def _intake(body: Any) -> Intake:
    return Intake(body, None, {}, "", {})


def test_violations_are_capped_and_the_rest_counted() -> None:
    body = {"key": "k", "prompt": "p", "init_image": [0] * 99_000, "steps": "many", "width": "wide"}
    violations = validate_request(OPERATIONS["img_mixer"], _intake(body), frozenset())
    assert len(violations) == MAX_VIOLATIONS + 1
    assert violations[-1].keyword == "more"
    assert violations[-1].message.endswith("more violations are not listed.")
    assert {"maxItems", "type"} <= {violation.keyword for violation in violations}
    assert all(len(violation.message) <= 300 for violation in violations)


def test_a_long_list_is_still_seen_past_its_maximum() -> None:
    body = valid_body("img_mixer", init_image=["https://img.example/a.png"] * 5000)
    (violation,) = validate_request(OPERATIONS["img_mixer"], _intake(body), frozenset())
    assert violation.keyword == "maxItems"


@pytest.mark.parametrize(
    ("key", "received"),
    [
        pytest.param(["sk-1"], "received an array", id="array"),
        pytest.param(123456789, "received a number", id="number"),
        pytest.param(" ", "received an empty string", id="blank"),
        pytest.param(None, "received null", id="null"),
    ],
)
def test_a_bad_key_is_described_never_shown(key: Any, received: str) -> None:
    body = valid_body("img_mixer", key=key)
    (violation,) = validate_request(OPERATIONS["img_mixer"], _intake(body), frozenset())
    assert violation.message == f"The key is missing or empty ({received})."
