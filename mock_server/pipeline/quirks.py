"""The `observed` profile: the vendor's live quirks, each a named transformation of a documented reply.

Every quirk is listed in `QUIRKS` with the evidence for it, so an audit can look for one finding per
quirk. `breaks_spec` says whether the quirk makes the reply invalid against the documented spec
(the others change wording or wire format only).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mock_server.pipeline.negotiation import Outcome
from openapi.operations import Operation

__all__ = ["QUIRKS", "Quirk", "apply_quirks", "escape_slashes", "select_quirks"]

Body = dict[str, Any]


@dataclass(frozen=True)
class Quirk:
    name: str
    description: str
    breaks_spec: bool
    applies: Callable[[Operation, str], bool]  # (operation, example name of the reply)
    transform: Callable[[Operation, Outcome, Body], Body]


def _rename_message(_: Operation, __: Outcome, body: Body) -> Body:
    return {("messege" if key == "message" else key): value for key, value in body.items()}


def _output_string(_: Operation, __: Outcome, body: Body) -> Body:
    return {**body, "output": ""}


def _proxy_links_string(_: Operation, __: Outcome, body: Body) -> Body:
    return {**body, "proxy_links": ""}


def _laravel_object(_: Operation, outcome: Outcome, body: Body) -> Body:
    messages: dict[str, list[str]] = {}
    for violation in outcome.violations:
        messages.setdefault(str(violation.path[0]) if violation.path else "body", []).append(
            violation.laravel
        )
    return {**body, "message": messages} if messages else body


# The legacy error catalogue's rate-limit reply, word for word (stablediffusionapi.com/docs, errors).
LEGACY_RATE_LIMIT: Body = {
    "status": "error",
    "messege": "Rate limit exceeded",
    "tips": "you are sending same request multiple times, spam filter is enabled, please wait for 30 seconds "
    "and try again",
}


def _legacy_rate_limit(_: Operation, __: Outcome, body: Body) -> Body:
    return dict(LEGACY_RATE_LIMIT)


def _eta_float(operation: Operation, outcome: Outcome, body: Body) -> Body:
    # Live replies carry etas like 13.067986918399999: the estimate before rounding.
    return {**body, "eta": float(body["eta"]) + 0.0679869184}


def _fetch_result_v3(_: Operation, __: Outcome, body: Body) -> Body:
    return {**body, "fetch_result": body["fetch_result"].replace("/api/v5/fetch/", "/api/v3/fetch/")}


def _is(*examples: str) -> Callable[[Operation, str], bool]:
    return lambda operation, example: example in examples


def _create(example: str) -> Callable[[Operation, str], bool]:
    return lambda operation, name: operation.kind == "create" and name == example


QUIRKS: Sequence[Quirk] = (
    Quirk(
        "messege_typo",
        "`messege` instead of `message` in fetch-processing replies (a live client's model of that reply).",
        True,
        lambda operation, example: operation.kind == "fetch" and example == "processing",
        _rename_message,
    ),
    Quirk(
        "legacy_rate_limit",
        'The rate-limit reply is the legacy catalogue\'s: {"messege": "Rate limit exceeded", "tips": ...} '
        "instead of the 2026 page's message with retry_after.",
        True,
        _is("error_rate_limit"),
        _legacy_rate_limit,
    ),
    Quirk(
        "processing_output_string",
        'A processing reply carries `output: ""` instead of `[]` (live legacy captures).',
        True,
        _create("processing"),
        _output_string,
    ),
    Quirk(
        "proxy_links_empty_string",
        'A magic_mix processing reply carries `proxy_links: ""` (the vendor\'s other image-editing examples; '
        "the img_mixer captures have no proxy_links at all).",
        True,
        lambda operation, example: (
            operation.kind == "create" and operation.product != "img_mixer" and example == "processing"
        ),
        _proxy_links_string,
    ),
    Quirk(
        "laravel_validation_object",
        'Validation errors carry a Laravel message object: {"prompt": ["The prompt field is required."]}.',
        True,
        _is("error_validation"),
        _laravel_object,
    ),
    Quirk(
        "eta_float",
        "`eta` is a float with a long fraction (live captures: 13.067986918399999), not an integer.",
        True,
        _create("processing"),
        _eta_float,
    ),
    Quirk(
        "v5_fetch_result_v3",
        "v5 processing replies point `fetch_result` at the legacy /api/v3/fetch/{id} (live legacy captures).",
        False,
        lambda operation, example: (
            operation.spec == "v5" and operation.kind == "create" and example == "processing"
        ),
        _fetch_result_v3,
    ),
    Quirk(
        "escaped_slashes",
        "JSON escapes every `/` as `\\/` (the vendor's PHP encoder); parsers read the same values.",
        False,
        lambda operation, example: True,
        lambda operation, outcome, body: body,  # applied to the encoded bytes by `escape_slashes`
    ),
)
_BY_NAME: Mapping[str, Quirk] = {quirk.name: quirk for quirk in QUIRKS}


def select_quirks(profile: str, names: Sequence[str]) -> tuple[Quirk, ...]:
    """The quirks a profile applies: none when documented; all, or the named ones, when observed."""
    if profile != "observed":
        return ()
    unknown = [name for name in names if name not in _BY_NAME]
    if unknown:
        raise ValueError(f"unknown quirk(s) {', '.join(unknown)}; known quirks: {', '.join(_BY_NAME)}")
    return tuple(_BY_NAME[name] for name in names) if names else tuple(QUIRKS)


def apply_quirks(
    quirks: Sequence[Quirk], operation: Operation, outcome: Outcome, example: str, body: Body
) -> Body:
    for quirk in quirks:
        if quirk.applies(operation, example):
            body = quirk.transform(operation, outcome, body)
    return body


def escape_slashes(encoded: bytes) -> bytes:
    return encoded.replace(b"/", b"\\/")
