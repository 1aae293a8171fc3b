"""The reference engine: MagicMix and Image Mixer computed with diffusers, behind the Engine contract."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Literal

import httpx
import torch

from mock_server.engines.base import EngineInputError, ImageJob
from mock_server.engines.diffusers.costs import CostModel, fit_cost_model
from mock_server.engines.diffusers.devices import resolve_device, resolve_dtype
from mock_server.engines.diffusers.image_mixer import run_image_mixer
from mock_server.engines.diffusers.imaging import compute_size, to_rgb
from mock_server.engines.diffusers.loading import LoadedModels, load_models
from mock_server.engines.diffusers.magic_mix import Mixing, run_magic_mix
from mock_server.engines.diffusers.plans import (
    DEFAULT_SIZE,
    MagicMixPlan,
    MixerPlan,
    Plan,
    denoising_calls,
    image_fields,
    magic_mix_plan,
    mixer_plan,
)
from mock_server.engines.diffusers.worker import BatchWorker
from mock_server.engines.image_fetch import FetchPolicy, ImageFetcher, Resolver

__all__ = ["DiffusersEngine", "EngineClosedError"]

MIXINGS = ("community", "paper")


class EngineClosedError(RuntimeError):
    """The engine was closed: the batch it was running is abandoned, new work is refused."""

    def __init__(self) -> None:
        super().__init__("the diffusers engine is shut down")


class DiffusersEngine:
    """Eager engine: a request's images are computed when the job is accepted, on one worker per device."""

    name = "diffusers"
    lazy = False

    def __init__(
        self,
        models: LoadedModels,
        *,
        mixing: Mixing = "community",
        fetcher: ImageFetcher | None = None,
        costs: CostModel | None = None,
        max_batch_samples: int = 4,
        batch_window_s: float = 0.0,
    ) -> None:
        if mixing not in MIXINGS:
            raise ValueError(f"mixing must be one of {', '.join(MIXINGS)}, got {mixing!r}")
        self.models = models
        self.mixing: Mixing = mixing
        self.costs = costs or CostModel()
        self._fetcher = fetcher or ImageFetcher()
        self._closing = threading.Event()
        self.worker: BatchWorker[Plan] = BatchWorker(
            self._run_batch,
            max_batch_samples=max_batch_samples,
            window_s=batch_window_s,
            on_batch=self.costs.observe,
            name=f"diffusers-{models.device}",
        )

    @classmethod
    def create(
        cls,
        model_dir: Path,
        device: str = "auto",
        dtype: str = "auto",
        mixing: Literal["community", "paper"] = "community",
        allow_hosts: Iterable[str] = (),
        *,
        compile: bool = False,
        warmup: bool = True,
        max_batch_samples: int = 4,
        batch_window_s: float = 0.0,
        fetch_policy: FetchPolicy | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        resolver: Resolver | None = None,
    ) -> DiffusersEngine:
        """Load the models under `model_dir` once (see `loading` for the layout) and start the worker."""
        torch_device = resolve_device(device)
        models = load_models(Path(model_dir), torch_device, resolve_dtype(dtype, torch_device))
        _optimise(models, compile=compile)
        policy = fetch_policy or FetchPolicy(allow_hosts=tuple(allow_hosts))
        return cls(
            models,
            mixing=mixing,
            fetcher=ImageFetcher(policy, transport=transport, resolver=resolver),
            costs=_calibrate(models) if warmup else None,
            max_batch_samples=max_batch_samples,
            batch_window_s=batch_window_s,
        )

    def estimate_seconds(self, job: ImageJob) -> float:
        """Run time from the measured per-call cost, plus the work queued ahead of this job."""
        return self._run_seconds(job) + self.worker.backlog_seconds()

    async def render(self, job: ImageJob) -> list[bytes]:
        self._checkpoint()
        fields = image_fields(job)
        if self._models_for(job.product) is None:
            raise EngineInputError("model", f"no {job.product} model is loaded (model directory lacks it)")
        # decoded and converted off the event loop, bounded in pixels and in images at work at once
        images = await self._fetcher.fetch_all(fields, prepare=to_rgb)
        plan: Plan
        async with self._fetcher.image_work:
            if job.product == "magic_mix":
                plan = await asyncio.to_thread(magic_mix_plan, job, images[0])
            else:
                plan = await asyncio.to_thread(mixer_plan, job, images)
        future = self.worker.submit(plan.batch_key, plan, plan.samples, self._run_seconds(job))
        return await asyncio.wrap_future(future)

    async def aclose(self) -> None:
        """Stops promptly: the running batch is abandoned at its next UNet call, queued jobs are cancelled."""
        self._closing.set()
        await asyncio.to_thread(self.worker.close)
        await self._fetcher.aclose()

    def _models_for(self, operation: str) -> Any:
        return self.models.magic_mix if operation == "magic_mix" else self.models.img_mixer

    def _run_seconds(self, job: ImageJob) -> float:
        params = job.params
        steps = _int_or(params.get("steps"), 20)
        if job.product == "magic_mix":
            calls = max(1, denoising_calls(_float_or(params.get("kmax"), 0.5), steps))
        else:
            calls = steps
        width, height = compute_size(job.width or DEFAULT_SIZE, job.height or DEFAULT_SIZE)
        latent_pixels = (width // 8) * (height // 8)
        return self.costs.request_seconds(job.product, calls, latent_pixels, max(1, job.samples))

    def _run_batch(self, plans: Sequence[Plan]) -> list[list[bytes]]:
        with torch.inference_mode():
            magic_mix = [plan for plan in plans if isinstance(plan, MagicMixPlan)]
            mixer = [plan for plan in plans if isinstance(plan, MixerPlan)]
            if magic_mix and self.models.magic_mix is not None:
                return run_magic_mix(self.models.magic_mix, magic_mix, self.mixing, self._checkpoint)
            if mixer and self.models.img_mixer is not None:
                return run_image_mixer(self.models.img_mixer, mixer, self._checkpoint)
        raise RuntimeError(f"no model for plans of type {type(plans[0]).__name__}")

    def _checkpoint(self) -> None:
        if self._closing.is_set():
            raise EngineClosedError


def _int_or(value: Any, default: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else default


def _float_or(value: Any, default: float) -> float:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else default


def _optimise(models: LoadedModels, *, compile: bool) -> None:
    """SDPA attention everywhere; channels-last and (optionally) torch.compile for the UNets on CUDA."""
    for stack in (models.magic_mix, models.img_mixer):
        if stack is None:
            continue
        stack.unet.set_default_attn_processor()
        if models.device.type == "cuda":
            stack.unet.to(memory_format=torch.channels_last)
        if compile:
            stack.unet = torch.compile(stack.unet)


def _calibrate(models: LoadedModels) -> CostModel:
    stack = models.magic_mix or models.img_mixer
    if stack is None:  # load_models guarantees one; kept for the type checker
        return CostModel()
    unet = stack.unet
    width = int(unet.config.cross_attention_dim)

    def time_call(side: int) -> None:
        options: dict[str, Any] = {"device": models.device, "dtype": models.dtype}
        latents = torch.zeros(2, int(unet.config.in_channels), side, side, **options)
        context = torch.zeros(2, 77, width, **options)
        with torch.inference_mode():
            unet(latents, torch.tensor(500), encoder_hidden_states=context)
        if models.device.type == "cuda":
            torch.cuda.synchronize(models.device)

    return fit_cost_model(time_call)
