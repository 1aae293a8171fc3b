"""Eager engines: answered within the threshold, queued after it, input errors, failures, the size meta
tells; strict mode."""

from __future__ import annotations

import asyncio
import dataclasses
import io

import pytest
from PIL import Image

from mock_server.engines.base import EngineInputError, ImageJob
from mock_server.pipeline.echo import png_size, with_png_size
from mock_server.pipeline.negotiation import Outcome
from mock_server.pipeline.rendering import render
from mock_server.pipeline.validation import ResponseDraft, validate_response
from openapi.operations import load_operations
from tests.conftest import ClientFactory
from tests.unit.mock_server.bodies import CREATE_PATHS, valid_body, without

pytestmark = [pytest.mark.unit, pytest.mark.timeout(60)]
IMG = CREATE_PATHS["img_mixer"]


def _png(job: ImageJob, shade: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (job.width or 512, job.height or 512), (shade, 0, 0)).save(buffer, format="PNG")
    return buffer.getvalue()


class FakeEngine:
    name = "fake"
    lazy = False

    def __init__(self, delay: float = 0.0, error: Exception | None = None) -> None:
        self.delay = delay
        self.error = error
        self.release = asyncio.Event()

    def estimate_seconds(self, job: ImageJob) -> float:
        return 12.3

    async def render(self, job: ImageJob) -> list[bytes]:
        if self.delay:
            await self.release.wait()
        if self.error is not None:
            raise self.error
        return [_png(job, 200 + index) for index in range(job.samples)]

    async def aclose(self) -> None:
        return None


def test_eager_engine_within_threshold_answers_success_with_its_pngs(mock_client: ClientFactory) -> None:
    with mock_client(engine=FakeEngine()) as client:
        reply = client.post(IMG, json=valid_body("img_mixer")).json()
        image = Image.open(io.BytesIO(client.get(reply["output"][0]).content))
    assert reply["status"] == "success"
    assert image.getpixel((0, 0)) == (200, 0, 0)


def test_eager_engine_past_threshold_answers_processing_then_fetch_succeeds(
    mock_client: ClientFactory,
) -> None:
    engine = FakeEngine(delay=1.0)
    with mock_client(engine=engine, queue_threshold_s=0.05) as client:
        queued = client.post(IMG, json=valid_body("img_mixer")).json()
        still = client.post(queued["fetch_result"], json={"key": "k"}).json()
        client.call(engine.release.set)
        for _ in range(100):
            done = client.post(queued["fetch_result"], json={"key": "k"}).json()
            if done["status"] == "success":
                break
        image = client.get(done["output"][0])
    assert (queued["status"], queued["eta"]) == ("processing", 13)
    assert still["status"] == "processing"
    assert done["output"] == queued["future_links"]
    assert image.status_code == 200


def test_engine_input_error_becomes_the_vendor_error_naming_the_field(mock_client: ClientFactory) -> None:
    engine = FakeEngine(error=EngineInputError("init_image", "init_image[1] did not load: HTTP 404"))
    with mock_client(engine=engine) as client:
        reply = client.post(IMG, json=valid_body("img_mixer")).json()
    assert reply == {"status": "error", "message": "init_image[1] did not load: HTTP 404"}


def test_engine_crash_becomes_a_failed_reply(mock_client: ClientFactory) -> None:
    with mock_client(engine=FakeEngine(error=RuntimeError("out of memory"))) as client:
        reply = client.post(IMG, json=valid_body("img_mixer")).json()
    assert reply["status"] == "failed"
    assert "RuntimeError" in reply["message"]


def test_strict_mode_turns_a_self_violation_into_a_problem() -> None:
    operation = next(op for op in load_operations() if op.operation_id == "img_mixer")
    draft = ResponseDraft(200, {"status": "success", "id": "not-an-int", "output": []}, "success")
    outcome = Outcome("success", "success", 200)
    violations = validate_response(operation, draft)
    strict = render(operation, outcome, draft, violations, strict=True)
    lenient = render(operation, outcome, draft, violations, strict=False)
    assert strict.status_code == 500
    assert b"id: type" in strict.body
    assert lenient.status_code == 200
    assert "id: type" in lenient.headers["x-mixmock-violations"]


class InitImageSizedEngine(FakeEngine):
    """An eager engine that, like the reference engine, renders the first init image's size (96 x 72)
    when the request leaves width and height open."""

    async def render(self, job: ImageJob) -> list[bytes]:
        if self.delay:
            await self.release.wait()
        sized = dataclasses.replace(job, width=job.width or 96, height=job.height or 72)
        return [_png(sized, 200) for _ in range(job.samples)]


def test_eager_success_meta_tells_the_size_the_engine_made(mock_client: ClientFactory) -> None:
    with mock_client(engine=InitImageSizedEngine()) as client:
        reply = client.post(IMG, json=without(valid_body("img_mixer"), "width", "height")).json()
        image = Image.open(io.BytesIO(client.get(reply["output"][0]).content))
    assert reply["status"] == "success"
    assert (reply["meta"]["W"], reply["meta"]["H"]) == image.size == (96, 72)


def test_eager_processing_meta_leaves_an_open_size_out_until_the_job_is_done(
    mock_client: ClientFactory,
) -> None:
    engine = InitImageSizedEngine(delay=1.0)
    with mock_client(engine=engine, queue_threshold_s=0.05) as client:
        queued = client.post(IMG, json=without(valid_body("img_mixer"), "width", "height")).json()
        client.call(engine.release.set)
        for _ in range(100):
            if client.post(queued["fetch_result"], json={"key": "k"}).json()["status"] == "success":
                break
        stored = client.get(f"/_mixmock/jobs/{queued['id']}").json()
    assert queued["status"] == "processing"
    assert {"W", "H"}.isdisjoint(queued["meta"])
    assert (stored["meta"]["W"], stored["meta"]["H"]) == (96, 72)


def test_eager_meta_echoes_a_requested_size(mock_client: ClientFactory) -> None:
    with mock_client(engine=InitImageSizedEngine(delay=1.0), queue_threshold_s=0.05) as client:
        queued = client.post(IMG, json=valid_body("img_mixer")).json()
    assert (queued["meta"]["W"], queued["meta"]["H"]) == (80, 60)


@pytest.mark.parametrize(
    "png",
    [b"", b"GIF89a" + bytes(30), b"\x89PNG\r\n\x1a\n" + bytes(16)],
    ids=["empty", "not-png", "no-ihdr"],
)
def test_meta_keeps_its_size_when_the_bytes_are_not_a_png(png: bytes) -> None:
    meta = {"H": 60, "W": 80, "seed": 1}
    assert png_size(png) is None
    assert with_png_size(meta, png) == meta
