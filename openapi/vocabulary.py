"""The vendor's vocabulary, named once for the mock, the reference engine and the audit.

Words the spec holds (the failed job's message, "Request not found") are read from its named examples:
the spec decides, code picks. What no spec can say (the size the mock gives an img_mixer request that
names none) is defined here, with the reason.
"""

from __future__ import annotations

import functools
from typing import Any, Literal, get_args

__all__ = [
    "PRODUCTS",
    "SCENARIOS",
    "UNSIZED_DEFAULT",
    "OperationKind",
    "Product",
    "Scenario",
    "failed_job_message",
    "not_found_message",
]

Product = Literal["magic_mix", "img_mixer"]
PRODUCTS: tuple[Product, ...] = get_args(Product)
OperationKind = Literal["create", "fetch"]
# The `status` of every reply body, and the scenarios a client can ask the mock for.
Scenario = Literal["success", "processing", "error", "failed"]
SCENARIOS: tuple[Scenario, ...] = get_args(Scenario)

# img_mixer without width/height: the vendor uses the first init image's size (v6 page). The mock does
# not download inputs, so it answers this size; the reference engine uses the image's real size.
UNSIZED_DEFAULT = 512


def _example_message(spec: str, operation_id: str, example: str) -> str:
    from openapi.operations import load_operations

    operation = next(op for op in load_operations([spec]) if op.operation_id == operation_id)
    message: Any = operation.examples[example]["message"]
    return str(message)


@functools.cache
def failed_job_message() -> str:
    """Why a job failed, in the vendor's words ("Failed, Try Again"): the spec's `failed` example."""
    return _example_message("v6", "img_mixer", "failed")


@functools.cache
def not_found_message() -> str:
    """A fetch of an unknown or expired id ("Request not found"): the spec's `failed_not_found` example."""
    return _example_message("v6", "fetch_v6", "failed_not_found")
