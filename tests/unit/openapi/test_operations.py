"""The one spec reader: operations, their branches, examples, links and compiled validators."""

from __future__ import annotations

import pytest

from openapi.operations import load_operations
from openapi.vocabulary import PRODUCTS, SCENARIOS, failed_job_message, not_found_message

pytestmark = pytest.mark.unit

BY_ID = {operation.operation_id: operation for operation in load_operations()}


def test_every_spec_operation_is_read_once_and_shared() -> None:
    assert sorted(BY_ID) == [
        "fetch_enterprise",
        "fetch_v5",
        "fetch_v6",
        "img_mixer",
        "magic_mix_enterprise",
        "magic_mix_v5",
    ]
    assert load_operations(["v6"])[0] is BY_ID["img_mixer"]


@pytest.mark.parametrize(
    ("operation_id", "product", "fetch_path"),
    [
        ("img_mixer", "img_mixer", "/api/v6/image_editing/fetch/{id}"),
        ("magic_mix_enterprise", "magic_mix", "/api/v1/enterprise/image_editing/fetch/{id}"),
        ("magic_mix_v5", "magic_mix", "/api/v5/fetch/{id}"),
    ],
)
def test_create_operations_know_their_product_and_fetch(
    operation_id: str, product: str, fetch_path: str
) -> None:
    operation = BY_ID[operation_id]
    assert operation.kind == "create"
    assert operation.product == product
    assert operation.fetch_path == fetch_path
    assert operation.link is not None
    assert operation.link.pointer == "/id"
    assert set(operation.webhook_branches) == {"success", "failed"}


def test_reply_branches_are_keyed_by_status_and_refs_are_inlined() -> None:
    operation = BY_ID["fetch_v6"]
    assert operation.kind == "fetch"
    assert operation.product is None
    assert set(operation.reply_branches) == {"success", "processing", "error", "failed"}
    assert "$ref" not in str(operation.request_schema)
    assert operation.url_path({"id": "7"}) == "/api/v6/image_editing/fetch/7"


def test_defaults_and_the_page_example_come_from_the_spec() -> None:
    operation = BY_ID["magic_mix_enterprise"]
    assert operation.defaults["width"] == 768
    assert operation.defaults["kmin"] == 0.3
    assert operation.request_example["prompt"]


def test_server_errors_take_their_own_responses_examples() -> None:
    for operation in BY_ID.values():
        assert operation.status_examples[500]["message"] == "Internal server error. Please try again."
        assert operation.status_examples[503]["status"] == "error"


def test_validators_are_compiled_once_and_judge_like_the_schema() -> None:
    operation = BY_ID["img_mixer"]
    assert operation.request_validator is operation.request_validator
    assert operation.request_validator.is_valid(
        {"key": "k", "prompt": "p", "init_image": ["https://a/b.png"]}
    )
    assert not operation.request_validator.is_valid({"key": "k", "prompt": "p", "init_image": []})
    success = operation.reply_example("success")
    assert operation.branch_validators[200]["success"].is_valid(success)
    assert operation.reply_example("success") is not operation.reply_example("success")


def test_the_vendors_words_are_read_from_the_specs() -> None:
    assert PRODUCTS == ("magic_mix", "img_mixer")
    assert SCENARIOS == ("success", "processing", "error", "failed")
    assert failed_job_message() == "Failed, Try Again"
    assert not_found_message() == "Request not found"
