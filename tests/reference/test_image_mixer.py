"""Image Mixer on tiny random models: weighted CLIP tokens, guidance, sizes from the first image."""

from __future__ import annotations

import io
from typing import Any

import pytest
from PIL import Image

from mock_server.engines.base import EngineInputError
from mock_server.engines.diffusers import DiffusersEngine
from tests.reference.conftest import data_uri, mixer_job, picture, render

pytestmark = [pytest.mark.reference, pytest.mark.timeout(120)]


def size_of(png: bytes) -> tuple[int, int]:
    return Image.open(io.BytesIO(png)).size


def test_four_init_images_work(engine: DiffusersEngine) -> None:
    outputs = render(engine, mixer_job(images=4))
    assert len(outputs) == 1
    assert size_of(outputs[0]) == (32, 32)


def test_same_seed_same_bytes_other_seed_other_bytes(engine: DiffusersEngine) -> None:
    first = render(engine, mixer_job(seed=3))
    assert render(engine, mixer_job(seed=3)) == first
    assert render(engine, mixer_job(seed=4)) != first


@pytest.mark.parametrize(
    ("width", "height", "first_size", "expected"),
    [
        (None, None, (48, 40), (48, 40)),
        (None, None, (61, 35), (64, 32)),
        (None, None, (2048, 1024), (1024, 512)),
        (40, None, (48, 24), (40, 24)),
        (None, 16, (48, 24), (32, 16)),
        (36, 20, (48, 24), (36, 20)),
    ],
    ids=["first-image", "rounded-to-8", "capped-at-1024", "height-from-aspect", "width-from-aspect", "given"],
)
def test_size_defaults_from_the_first_init_image(
    engine: DiffusersEngine,
    width: int | None,
    height: int | None,
    first_size: tuple[int, int],
    expected: tuple[int, int],
) -> None:
    images = [data_uri(Image.new("RGB", first_size, "red")), data_uri(picture((20, 60)))]
    job = mixer_job(init_image=images, width=width, height=height, steps=1)
    assert size_of(render(engine, job)[0]) == expected


@pytest.mark.parametrize(
    "change",
    [
        {"negative_prompt": "blurry"},
        {"prompt": "tulip woman"},
        {"guidance_scale": 3},
        {"init_image_weights": "0.5,1"},
        {"init_image_weights": [1, 0.2]},
    ],
    ids=["negative-prompt", "prompt", "guidance", "weights-string", "weights-list"],
)
def test_every_parameter_changes_the_result(engine: DiffusersEngine, change: dict[str, Any]) -> None:
    assert render(engine, mixer_job(**change)) != render(engine, mixer_job())


def test_legacy_comma_separated_init_image(engine: DiffusersEngine) -> None:
    job = mixer_job()
    joined = mixer_job(init_image=",".join(job.params["init_image"]))
    assert render(engine, joined) == render(engine, job)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"init_image_weights": "0.5"}, "init_image_weights"),
        ({"init_image_weights": "a,b"}, "init_image_weights"),
        ({"init_image_weights": "0.5,9"}, "init_image_weights"),
        ({"init_image": []}, "init_image"),
        ({"init_image": [data_uri(picture())] * 5}, "init_image"),
        ({"guidance_scale": "high"}, "guidance_scale"),
        ({"steps": 0}, "steps"),
        ({"init_image": ["data:image/png;base64,AAAA"]}, "init_image[0]"),
    ],
    ids=[
        "weights-count",
        "weights-text",
        "weights-range",
        "no-images",
        "five-images",
        "guidance-type",
        "steps-0",
        "undecodable",
    ],
)
def test_bad_inputs_name_the_field(engine: DiffusersEngine, change: dict[str, Any], field: str) -> None:
    with pytest.raises(EngineInputError) as caught:
        render(engine, mixer_job(**change))
    assert caught.value.field == field
