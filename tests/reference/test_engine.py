"""The engine as the server sees it: batching on one worker, estimates, settings errors."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from mock_server.engines.base import Engine
from mock_server.engines.diffusers import DiffusersEngine
from tests.reference.conftest import magic_mix_job, max_pixel_difference, mixer_job, render

pytestmark = [pytest.mark.reference, pytest.mark.timeout(120)]


@pytest.fixture(scope="module")
def batching_engine(tiny_models: Path) -> Iterator[DiffusersEngine]:
    created = DiffusersEngine.create(tiny_models, device="cpu", batch_window_s=0.5, warmup=False)
    yield created
    asyncio.run(created.aclose())


def test_the_engine_meets_the_contract(engine: DiffusersEngine) -> None:
    assert isinstance(engine, Engine)
    assert (engine.name, engine.lazy) == ("diffusers", False)


@pytest.mark.parametrize(
    ("first", "second"),
    [
        (magic_mix_job(seed=1), magic_mix_job(seed=2, prompt="Chair", mix_factor=0.8)),
        (mixer_job(seed=1), mixer_job(seed=2, prompt="tulip", guidance_scale=4)),
    ],
    ids=["magic_mix", "img_mixer"],
)
def test_concurrent_compatible_jobs_share_a_batch_and_match_running_alone(
    batching_engine: DiffusersEngine, engine: DiffusersEngine, first: object, second: object
) -> None:
    async def together() -> list[list[bytes]]:
        return list(await asyncio.gather(batching_engine.render(first), batching_engine.render(second)))  # type: ignore[arg-type]

    batched = asyncio.run(together())
    assert batching_engine.worker.batch_sizes[-1] == 2
    alone = [render(engine, first), render(engine, second)]  # type: ignore[arg-type]
    # Equal up to float rounding: a GEMM over 4 rows does not round exactly like one over 2.
    for batched_outputs, alone_outputs in zip(batched, alone, strict=True):
        assert max_pixel_difference(batched_outputs[0], alone_outputs[0]) <= 3


def test_incompatible_jobs_run_in_separate_batches(batching_engine: DiffusersEngine) -> None:
    async def together() -> None:
        await asyncio.gather(
            batching_engine.render(magic_mix_job(steps=8)), batching_engine.render(magic_mix_job(steps=10))
        )

    asyncio.run(together())
    assert list(batching_engine.worker.batch_sizes)[-2:] == [1, 1]


def test_estimates_grow_with_the_work(engine: DiffusersEngine) -> None:
    small = engine.estimate_seconds(magic_mix_job(steps=10))
    assert (
        0
        < small
        < engine.estimate_seconds(magic_mix_job(steps=40))
        < engine.estimate_seconds(magic_mix_job(steps=40, samples=4, width=512, height=512))
    )


def test_estimate_is_honest_within_a_factor_of_five(engine: DiffusersEngine) -> None:
    import time

    job = mixer_job(steps=20, width=64, height=64)
    render(engine, job)  # warm
    started = time.perf_counter()
    render(engine, job)
    measured = time.perf_counter() - started
    assert measured / 5 < engine.estimate_seconds(job) < measured * 5


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"device": "tpu"}, "device must be"),
        ({"device": "cuda"}, "no CUDA device"),
        ({"dtype": "float8"}, "dtype must be"),
        ({"mixing": "both"}, "mixing must be"),
        ({"allow_hosts": ["10.0.0.0/99"]}, "allow_hosts"),
    ],
    ids=["device", "cuda-missing", "dtype", "mixing", "allow-hosts"],
)
def test_bad_settings_are_reported_with_the_value(
    tiny_models: Path, options: dict[str, object], message: str
) -> None:
    import torch

    if options.get("device") == "cuda" and torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    with pytest.raises(ValueError, match=message):
        DiffusersEngine.create(tiny_models, warmup=False, **options)  # type: ignore[arg-type]
