"""What a recording says about the vendor: which `observed` quirks it really showed, and what else differs.

Every recorded reply (and webhook payload) of a spec operation is checked against the branch its
`status` names, as the documented profile promises. Each difference is then either explained by a quirk
of `mock_server/pipeline/quirks.py: QUIRKS` (each has a detector here, keyed by its name) or listed as a
new difference. A quirk is reported as seen where the observed profile applies it, seen elsewhere, not
seen although it had the chance, or without evidence either way. The result is a suggested quirk list
and a report a person reads (`learn.md`) next to the same facts as JSON (`learn.json`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mock_server.pipeline.quirks import QUIRKS, Quirk
from mock_server.pipeline.violations import describe_value
from mock_server.proxy.contract import operation_named, webhook_validator
from mock_server.proxy.report import Difference, LearnReport, QuirkEvidence
from mock_server.replay.recording import Recorded, Recording, load_recording
from openapi.operations import Operation
from openapi.vocabulary import not_found_message

__all__ = ["DETECTORS", "Detector", "Observation", "example_of", "gaps", "learn_report", "observe"]

Body = Mapping[str, Any]


@dataclass(frozen=True)
class Observation:
    """One body the vendor sent: a reply to a spec operation, or a webhook payload."""

    source: str
    operation: Operation
    where: str  # "reply" | "webhook"
    http_status: int
    body: Body
    raw: bytes
    example: str  # the named example of the spec the body stands for: processing, error_rate_limit...


def _message(body: Body) -> Any:
    return body.get("message", body.get("messege"))


def _fields(*names: str) -> Callable[[Observation], bool]:
    return lambda observation: any(name in observation.body for name in names)


def _legacy_rate_limit(observation: Observation) -> bool:
    """The legacy catalogue's rate-limit reply: `messege` and `tips` (its own quirk, not messege_typo's)."""
    body = observation.body
    return observation.example == "error_rate_limit" and "messege" in body and "tips" in body


@dataclass(frozen=True)
class Detector:
    """How a quirk shows in a recorded body, and the top-level fields whose differences it explains."""

    shown: Callable[[Observation], bool]
    explains: frozenset[str] = frozenset()
    possible: Callable[[Observation], bool] = lambda observation: True  # could this body show it at all?


DETECTORS: Mapping[str, Detector] = {
    "messege_typo": Detector(
        lambda o: "messege" in o.body and not _legacy_rate_limit(o), frozenset({"messege", "message"})
    ),
    "legacy_rate_limit": Detector(
        _legacy_rate_limit, frozenset({"messege", "message", "tips", "retry_after"})
    ),
    "processing_output_string": Detector(
        lambda o: o.operation.kind == "create" and o.example == "processing" and o.body.get("output") == "",
        frozenset({"output"}),
    ),
    "proxy_links_empty_string": Detector(
        lambda o: o.body.get("proxy_links") == "", frozenset({"proxy_links"})
    ),
    "laravel_validation_object": Detector(
        lambda o: o.body.get("status") == "error" and isinstance(_message(o.body), Mapping),
        frozenset({"message", "messege"}),
    ),
    "eta_float": Detector(lambda o: isinstance(o.body.get("eta"), float), frozenset({"eta"})),
    "v5_fetch_result_v3": Detector(
        lambda o: o.operation.spec == "v5" and "/api/v3/fetch/" in str(o.body.get("fetch_result", "")),
        frozenset({"fetch_result"}),
    ),
    # Only a body with a slash in it can show whether its slashes are escaped.
    "escaped_slashes": Detector(lambda o: b"\\/" in o.raw, possible=lambda o: b"/" in o.raw),
}


def _lead(text: str) -> str:
    return text.lower().split(".")[0].strip()


def example_of(operation: Operation, body: Body, http_status: int) -> str:
    """The named example a recorded body stands for (the observed profile's quirks apply per example)."""
    status, message = body.get("status"), _message(body)
    if status in {"success", "processing"}:
        return str(status)
    if status == "failed":
        return (
            "failed_not_found" if message == not_found_message() and operation.kind == "fetch" else "failed"
        )
    if isinstance(message, Mapping):
        return "error_validation"
    if http_status in {500, 503}:
        return f"server_error_{http_status}"
    for name, example in operation.examples.items():
        documented = example.get("message") if isinstance(example, Mapping) else None
        if (
            name.startswith("error")
            and isinstance(message, str)
            and isinstance(documented, str)
            and _lead(message)
            and _lead(message) == _lead(documented)
        ):
            return name
    if isinstance(message, str) and "rate limit" in message.lower():
        return "error_rate_limit"
    return "error_validation" if operation.kind == "create" and status == "error" else str(status)


def _observation(recorded: Recorded) -> Observation | None:
    if (
        recorded.kind not in {"create", "fetch", "webhook"}
        or recorded.spec is None
        or recorded.operation is None
    ):
        return None
    try:
        operation = operation_named(recorded.spec, recorded.operation)
    except KeyError:
        return None
    webhook = recorded.kind == "webhook"
    body = recorded.request_json if webhook else recorded.reply_json
    if not isinstance(body, Mapping):
        return None
    raw = recorded.request_text.encode("utf-8") if webhook else recorded.content
    status = 200 if webhook else recorded.status
    return Observation(
        recorded.source,
        operation,
        "webhook" if webhook else "reply",
        status,
        body,
        raw,
        example_of(operation, body, status),
    )


def observe(recording: Recording) -> list[Observation]:
    return [found for found in map(_observation, recording.entries) if found is not None]


@dataclass(frozen=True)
class _Gap:
    field: str
    keyword: str
    message: str
    value: str


def _validator(observation: Observation) -> Any:
    status = str(observation.body.get("status"))
    if observation.where == "webhook":
        if status not in observation.operation.webhook_branches:
            return None
        return webhook_validator(observation.operation.spec, observation.operation.operation_id, status)
    branches = observation.operation.branch_validators.get(observation.http_status, {})
    return branches.get(status, observation.operation.response_validators.get(observation.http_status))


def gaps(observation: Observation) -> list[_Gap]:
    """Where a body leaves the documented contract: schema errors, then fields its branch does not declare."""
    operation, body = observation.operation, observation.body
    validator = _validator(observation)
    if validator is None:
        return [
            _Gap("status", "enum", f"no documented {observation.where} has status {body.get('status')!r}", "")
        ]
    found = []
    for error in validator.iter_errors(dict(body)):
        path = list(error.instance_path)
        name = str(path[0]) if path else str(getattr(error.kind, "property", "") or "<body>")
        found.append(_Gap(name, error.kind.name, str(error.message), describe_value(body.get(name))))
    branches = operation.webhook_branches if observation.where == "webhook" else operation.reply_branches
    declared = branches.get(str(body.get("status")), {}).get("properties", {})
    for name in body:
        if name not in declared:
            found.append(
                _Gap(name, "undeclared", f"the documented branch has no {name!r}", describe_value(body[name]))
            )
    return found


def _scope(quirk: Quirk, observation: Observation) -> bool:
    """Whether the observed profile applies the quirk to this body (the mock never alters webhooks)."""
    return observation.where == "reply" and quirk.applies(observation.operation, observation.example)


def _evidence(quirk: Quirk, observations: Sequence[Observation]) -> QuirkEvidence:
    detector = DETECTORS[quirk.name]
    evidence = QuirkEvidence(quirk.name, quirk.description, "no evidence")
    for observation in observations:
        in_scope = _scope(quirk, observation) and detector.possible(observation)
        seen = detector.shown(observation)
        evidence.in_scope += in_scope
        evidence.seen_in_scope += seen and in_scope
        evidence.seen_elsewhere += seen and not in_scope
        if seen and len(evidence.examples) < 3:
            operation = observation.operation.operation_id
            evidence.examples.append(
                f"{operation} {observation.example} {observation.where} ({observation.source})"
            )
    if evidence.seen_in_scope:
        evidence.verdict = "seen"
    elif evidence.seen_elsewhere:
        evidence.verdict = "seen elsewhere"
    elif evidence.in_scope:
        evidence.verdict = "not seen"
    return evidence


def _differences(observations: Sequence[Observation]) -> list[Difference]:
    totals: Counter[tuple[str, str, str]] = Counter()
    found: dict[tuple[str, ...], Difference] = {}
    for observation in observations:
        status = str(observation.body.get("status"))
        group = (observation.operation.operation_id, observation.where, status)
        totals[group] += 1
        explained = set().union(*(found.explains for found in DETECTORS.values() if found.shown(observation)))
        for gap in gaps(observation):
            if gap.field in explained:
                continue
            key = (*group, gap.field, gap.keyword)
            difference = found.setdefault(key, Difference(*group, gap.field, gap.keyword, gap.message))
            difference.count += 1
            if len(difference.examples) < 3:
                difference.examples.append(observation.source)
            if gap.value and gap.value not in difference.values and len(difference.values) < 3:
                difference.values.append(gap.value)
    for difference in found.values():
        difference.out_of = totals[(difference.operation, difference.where, difference.status)]
    return sorted(found.values(), key=lambda d: (d.operation, d.where, d.status, d.field, d.keyword))


def learn_report(recording: Recording | str | Path) -> LearnReport:
    """The report for a recording (or the directory holding one)."""
    if not isinstance(recording, Recording):
        recording = load_recording(recording)
    observations = observe(recording)
    counts: Counter[str] = Counter(entry.kind for entry in recording.entries)
    counts["jobs"] = len(recording.lifecycles)
    sources = sorted({entry.source.split("#", 1)[0] for entry in recording.entries})
    return LearnReport(
        sources,
        dict(counts),
        [_evidence(quirk, observations) for quirk in QUIRKS],
        _differences(observations),
    )
