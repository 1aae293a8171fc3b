"""Eager engines: answered within the threshold, queued after it, input errors, failures; strict mode."""

from __future__ import annotations

import asyncio
import io

import pytest
from PIL import Image

from mock_server.contract import load_operations
from mock_server.engines.base import EngineInputError, ImageJob
from mock_server.negotiation import Outcome
from mock_server.rendering import render
from mock_server.validation import ResponseDraft, validate_response
from tests.conftest import ClientFactory
from tests.unit.mock_server.bodies import CREATE_PATHS, valid_body

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
        client.portal.call(engine.release.set)  # type: ignore[union-attr]
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
