"""Turning jobs into plans: the no-UNet-call rule agrees with the spec's, seeds, sizes."""

from __future__ import annotations

import pytest
from PIL import Image

from mock_server.engines.base import EngineInputError, ImageJob
from mock_server.engines.diffusers.plans import denoising_calls, magic_mix_plan, sample_seeds
from openapi import load_spec
from openapi.rules import cross_field_violations

pytestmark = [pytest.mark.reference, pytest.mark.timeout(30)]

SCHEMA = load_spec("v5")["components"]["schemas"]["MagicMixRequest"]
KMAX = [0.0, 0.04, 0.05, 0.1, 0.3, 0.33, 0.5, 0.7, 1.0]


@pytest.mark.parametrize("steps", [1, 2, 3, 7, 10, 20, 30, 50], ids=lambda steps: f"steps-{steps}")
def test_the_engine_rejects_exactly_what_the_spec_rule_rejects(steps: int) -> None:
    for kmax in KMAX:
        spec_rejects = bool(cross_field_violations(SCHEMA, {"kmax": kmax, "steps": steps}))
        assert (denoising_calls(kmax, steps) < 1) is spec_rejects, (kmax, steps)


def job(**params: object) -> ImageJob:
    return ImageJob("magic_mix", {"prompt": "Bed", "image": "data:,", **params}, 100, 60, 1, 0)


def test_phases_index_the_ddim_timesteps_like_the_community_pipeline() -> None:
    plan = magic_mix_plan(job(kmin=0.3, kmax=0.5, steps=20), Image.new("RGB", (8, 8)))
    assert (plan.first_step, plan.layout_end) == (10, 14)
    assert plan.size == (104, 64)
    assert plan.output_size == (100, 60)
    assert plan.image.size == (104, 64)
    assert plan.guidance_scale == 7.5


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"kmin": -0.1}, "kmin"),
        ({"kmax": True}, "kmax"),
        ({"mix_factor": float("nan")}, "mix_factor"),
        ({"steps": 2.5}, "steps"),
        ({"prompt": ""}, "prompt"),
        ({"negative_prompt": 3}, "negative_prompt"),
    ],
    ids=["kmin-negative", "kmax-bool", "mix-nan", "steps-float", "prompt-empty", "negative-not-text"],
)
def test_bad_numbers_name_the_field_and_value(params: dict[str, object], field: str) -> None:
    with pytest.raises(EngineInputError) as caught:
        magic_mix_plan(job(**params), Image.new("RGB", (8, 8)))
    assert caught.value.field == field
    assert repr(params[field]) in caught.value.message or field == "prompt"


@pytest.mark.parametrize(
    ("seed", "expected"),
    [(0, [0, 1]), (-1, [2**63 - 1, 0]), (2**64 + 5, [5, 6])],
    ids=["zero", "negative", "huge"],
)
def test_any_json_integer_seed_maps_into_torch_range(seed: int, expected: list[int]) -> None:
    assert sample_seeds(seed, 2) == expected
