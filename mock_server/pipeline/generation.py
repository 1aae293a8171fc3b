"""Stage 4: the reply's documented body — job creation, ids, meta, URLs, the engine call, fetch state.

Wording comes from the spec's named examples wherever the spec has it (tips, messages, error bodies).
"""

from __future__ import annotations

import asyncio
import copy
import math
from collections.abc import Mapping
from typing import Any

from mock_server.pipeline.echo import build_image_job, build_meta, output_names, request_params
from mock_server.pipeline.intake import Intake
from mock_server.pipeline.negotiation import Outcome
from mock_server.pipeline.validation import ResponseDraft
from mock_server.runtime import Runtime
from mock_server.state.jobs import Job, key_digest
from openapi.operations import Operation
from openapi.vocabulary import UNSIZED_DEFAULT, failed_job_message

__all__ = ["error_body", "error_reply", "generate"]


def error_body(operation: Operation, outcome: Outcome) -> dict[str, Any]:
    """The vendor's error reply for an error outcome: its named example, naming the violations."""
    if outcome.example in operation.examples:
        body = operation.reply_example(outcome.example)
    else:  # server_error_500 / _503: the example of that status's own response in the spec
        body = copy.deepcopy(operation.status_examples[int(outcome.example.rsplit("_", 1)[1])])
    if outcome.example == "error_validation" and outcome.violations:
        body["message"] = " ".join(violation.message for violation in outcome.violations)
    return body


def error_reply(operation: Operation, outcome: Outcome) -> ResponseDraft:
    """The vendor's error reply an error outcome names (validation, key, rate limit, 500, 503...)."""
    return ResponseDraft(outcome.status_code, error_body(operation, outcome), outcome.example)


def _generation_time(runtime: Runtime, job_id: int, params: Mapping[str, Any], samples: int) -> float:
    """Plausible seconds: the vendor reports ~0.4 s per step at 768 x 768 (7.99 s for 20 steps)."""
    width, height = params.get("width") or UNSIZED_DEFAULT, params.get("height") or UNSIZED_DEFAULT
    pixels = width * height / (768 * 768)
    base = 0.6 + 0.38 * int(params.get("steps", 20)) * pixels * samples
    return base * (0.85 + 0.3 * runtime.ids.fraction(job_id, "generation_time"))


async def _new_job(runtime: Runtime, operation: Operation, intake: Intake, outcome: Outcome) -> Job:
    return await runtime.store.create_grouped(
        lambda job_id: _build_job(runtime, operation, intake, outcome, job_id)
    )


def _build_job(runtime: Runtime, operation: Operation, intake: Intake, outcome: Outcome, job_id: int) -> Job:
    prefix = runtime.ids.file_prefix(job_id)
    params = request_params(operation, intake.body)
    seed = params.get("seed")
    if not isinstance(seed, int) or isinstance(seed, bool):
        seed = runtime.ids.random_seed(job_id)
    image_job = build_image_job(operation, params, seed)
    processing = outcome.scenario == "processing" or not runtime.engine.lazy
    eta = outcome.eta if outcome.eta is not None else runtime.settings.default_eta
    polls = outcome.polls if outcome.polls is not None else runtime.settings.processing_polls
    now = runtime.clock.now()
    return Job(
        id=job_id,
        operation_id=operation.operation_id,
        file_prefix=prefix,
        state="processing" if processing else "success",
        created_at=now,
        image_job=image_job,
        output=tuple(f"{intake.origin}/generations/{name}" for name in output_names(image_job, prefix)),
        meta=build_meta(image_job, prefix, UNSIZED_DEFAULT if runtime.engine.lazy else None),
        generation_time=_generation_time(runtime, job_id, params, image_job.samples),
        ready_at=now + eta if processing and runtime.engine.lazy else None,
        polls_needed=polls if processing and runtime.engine.lazy else None,
        webhook=params.get("webhook"),
        track_id=params.get("track_id"),
        extra=_extra(runtime, intake, job_id, processing),
        eager=not runtime.engine.lazy,
        session=intake.session,
    )


def _extra(runtime: Runtime, intake: Intake, job_id: int, processing: bool) -> dict[str, Any]:
    """The key's digest (for the queue limit) and, drawn by the failed-job rate, whether the job fails."""
    extra: dict[str, Any] = {"key": key_digest(intake.body.get("key"), runtime.key_secret, intake.session)}
    rate = runtime.settings.failed_job_rate
    if processing and runtime.engine.lazy and rate > 0 and runtime.ids.fraction(job_id, "fails") < rate:
        extra["fails"] = True
    return extra


def _success(job: Job) -> dict[str, Any]:
    return {
        "status": "success",
        "generationTime": job.generation_time,
        "id": job.id,
        "output": list(job.output),
        "meta": dict(job.meta),
    }


def _processing(operation: Operation, intake: Intake, job: Job, eta: float) -> dict[str, Any]:
    template = operation.reply_example("processing")
    fetch_path = (operation.fetch_path or "").replace("{id}", str(job.id))
    return {
        "status": "processing",
        "tip": template.get("tip", ""),
        "eta": math.ceil(eta),
        "message": template.get("message", ""),
        "fetch_result": intake.origin + fetch_path,
        "id": job.id,
        "output": [],
        "future_links": list(job.output),
        "meta": dict(job.meta),
    }


async def _eager(
    runtime: Runtime, operation: Operation, intake: Intake, outcome: Outcome, job: Job
) -> ResponseDraft:
    """An eager engine gets `queue_threshold_s` to finish; after that the client polls. None from
    `start_engine`: another process renders the job (an engine worker, for `--engine remote`)."""
    task = runtime.lifecycle.start_engine(job)
    if task is not None and outcome.scenario != "processing":
        try:
            done = await asyncio.wait_for(asyncio.shield(task), runtime.settings.queue_threshold_s)
        except TimeoutError:
            pass
        else:
            if done.state == "success":
                return ResponseDraft(outcome.status_code, _success(done), "success", job=done)
            if "input_error" in done.extra:  # the engine could not use an input: the vendor's error reply
                body = {"status": "error", "message": done.message or "Invalid input"}
                return ResponseDraft(outcome.status_code, body, "error_validation", job=done)
            body = {**operation.reply_example("failed"), "message": done.message or failed_job_message()}
            return ResponseDraft(outcome.status_code, body, "failed", job=done)
    eta = runtime.engine.estimate_seconds(job.image_job)
    return ResponseDraft(outcome.status_code, _processing(operation, intake, job, eta), "processing", job=job)


async def _create(runtime: Runtime, operation: Operation, intake: Intake, outcome: Outcome) -> ResponseDraft:
    if outcome.scenario == "error":
        return error_reply(operation, outcome)
    if outcome.scenario == "failed":
        return ResponseDraft(outcome.status_code, operation.reply_example(outcome.example), outcome.example)
    job = await _new_job(runtime, operation, intake, outcome)
    if not runtime.engine.lazy:
        return await _eager(runtime, operation, intake, outcome, job)
    if outcome.scenario == "processing":
        eta = job.ready_at - job.created_at if job.ready_at is not None else runtime.settings.default_eta
        body = _processing(operation, intake, job, eta)
        return ResponseDraft(outcome.status_code, body, outcome.example, job=job)
    return ResponseDraft(outcome.status_code, _success(job), outcome.example, job=job)


def _same_family(runtime: Runtime, job: Job, fetch: Operation) -> bool:
    """A job is fetched where its create reply's fetch_result points: the fetch of its own base URL.

    The vendor's products keep their jobs apart (an img_mixer id is unknown to the enterprise fetch), so
    a client polling the wrong fetch URL gets "Request not found" here too.
    """
    return any(
        entry.operation.operation_id == job.operation_id and entry.operation.spec == fetch.spec
        for entry in runtime.routes
    )


def _job_id(intake: Intake) -> int | None:
    raw = intake.path_params.get("id", "")
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 19 else None


async def _fetch(runtime: Runtime, operation: Operation, intake: Intake, outcome: Outcome) -> ResponseDraft:
    code = outcome.status_code
    if outcome.scenario == "error" or (outcome.forced and outcome.example != "success"):
        body = (
            error_body(operation, outcome)
            if outcome.scenario == "error"
            else operation.reply_example(outcome.example)
        )
        return ResponseDraft(code, body, outcome.example)
    job_id = _job_id(intake)
    job = None if job_id is None else await runtime.store.aget(job_id)
    if job is not None and runtime.clock.now() - job.created_at >= runtime.settings.job_ttl_s:
        job = None  # expired like the vendor's after 24 hours; the purge loop deletes it later
    if job is None or job.session != intake.session or not _same_family(runtime, job, operation):
        return ResponseDraft(code, operation.reply_example("failed_not_found"), "failed_not_found")
    if outcome.forced and job.state == "processing":  # Prefer: scenario=success finishes the job now
        job = await runtime.lifecycle.finish(job, "success")
    job = await runtime.lifecycle.advance_on_fetch(job)
    if job.state == "processing":
        return ResponseDraft(code, operation.reply_example("processing"), "processing", job=job)
    if job.state == "failed":
        body = {
            "status": "failed",
            "id": job.id,
            "message": job.message or failed_job_message(),
            "output": "",
        }
        return ResponseDraft(code, body, "failed", job=job)
    body = {"status": "success", "id": job.id, "output": list(job.output)}
    return ResponseDraft(code, body, "success", job=job)


async def generate(runtime: Runtime, operation: Operation, intake: Intake, outcome: Outcome) -> ResponseDraft:
    if operation.kind == "fetch":
        return await _fetch(runtime, operation, intake, outcome)
    return await _create(runtime, operation, intake, outcome)
