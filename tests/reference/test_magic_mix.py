"""MagicMix on tiny random models: reproducible, sensitive to every parameter, any input mode."""

from __future__ import annotations

import io
from typing import Any

import pytest
from PIL import Image

from mock_server.engines.base import EngineInputError
from mock_server.engines.diffusers import DiffusersEngine
from tests.reference.conftest import data_uri, magic_mix_job, max_pixel_difference, picture, render

pytestmark = [pytest.mark.reference, pytest.mark.timeout(120)]


def test_same_seed_gives_identical_bytes(engine: DiffusersEngine) -> None:
    assert render(engine, magic_mix_job(seed=5)) == render(engine, magic_mix_job(seed=5))


@pytest.mark.parametrize("seed", [6, -1, 2**70], ids=["other", "negative", "huge"])
def test_another_seed_gives_another_image(engine: DiffusersEngine, seed: int) -> None:
    assert render(engine, magic_mix_job(seed=seed)) != render(engine, magic_mix_job(seed=5))


def test_samples_are_distinct_pngs_of_the_requested_size(engine: DiffusersEngine) -> None:
    outputs = render(engine, magic_mix_job(samples=3, width=40, height=24))
    assert len(outputs) == 3
    assert len(set(outputs)) == 3
    for output in outputs:
        image = Image.open(io.BytesIO(output))
        assert (image.format, image.size, image.mode) == ("PNG", (40, 24), "RGB")


def test_the_first_sample_matches_a_single_sample_request(engine: DiffusersEngine) -> None:
    # Same seed, same noise; only float rounding differs between a UNet batch of 2 and one of 4 rows.
    assert (
        max_pixel_difference(render(engine, magic_mix_job(samples=2))[0], render(engine, magic_mix_job())[0])
        <= 3
    )


@pytest.mark.parametrize(
    "change",
    [
        {"negative_prompt": "blurry"},
        {"prompt": "Chair"},
        {"kmin": 0.1},
        {"kmax": 0.75},
        {"mix_factor": 0.9},
        {"steps": 10},
        {"guidance_scale": 2.0},
        {"image": data_uri(picture(seed=3))},
    ],
    ids=["negative-prompt", "prompt", "kmin", "kmax", "mix-factor", "steps", "guidance", "image"],
)
def test_every_parameter_changes_the_result(engine: DiffusersEngine, change: dict[str, Any]) -> None:
    assert render(engine, magic_mix_job(**change)) != render(engine, magic_mix_job())


def test_paper_mixing_differs_from_community_mixing(engine: DiffusersEngine) -> None:
    community = render(engine, magic_mix_job())
    engine.mixing = "paper"
    try:
        paper = render(engine, magic_mix_job())
    finally:
        engine.mixing = "community"
    assert paper != community


@pytest.mark.parametrize("mode", ["RGBA", "LA", "L", "P", "1", "I;16"], ids=str)
def test_any_input_mode_works(engine: DiffusersEngine, mode: str) -> None:
    outputs = render(engine, magic_mix_job(image=data_uri(picture(mode=mode))))
    assert Image.open(io.BytesIO(outputs[0])).size == (32, 32)


@pytest.mark.parametrize(
    ("kmax", "steps"),
    [(0.0, 20), (0.5, 1), (0.04, 20)],
    ids=["kmax-0", "one-step", "small-kmax"],
)
def test_no_unet_call_is_rejected_naming_the_values(engine: DiffusersEngine, kmax: float, steps: int) -> None:
    with pytest.raises(
        EngineInputError, match=rf"kmax={kmax:g} with steps={steps} leaves no denoising step"
    ) as caught:
        render(engine, magic_mix_job(kmax=kmax, steps=steps))
    assert caught.value.field == "kmax"


def test_kmin_above_kmax_skips_the_layout_phase(engine: DiffusersEngine) -> None:
    assert render(engine, magic_mix_job(kmin=0.9)) == render(engine, magic_mix_job(kmin=0.6))


def test_a_bad_image_url_is_an_input_error(engine: DiffusersEngine) -> None:
    with pytest.raises(EngineInputError, match="Unable to fetch image from provided URL") as caught:
        render(engine, magic_mix_job(image="data:text/plain,hello"))
    assert caught.value.field == "image"


def test_numbers_are_checked_before_the_image_is_fetched(engine: DiffusersEngine) -> None:
    with pytest.raises(EngineInputError) as caught:
        render(engine, magic_mix_job(image="http://127.0.0.1/never-fetched.png", mix_factor=2))
    assert caught.value.field == "mix_factor"
