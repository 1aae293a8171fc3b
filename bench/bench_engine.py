"""Benchmark of the reference engine: p50 latency per request against the FLOP bound and an unoptimised peer.

    python bench/bench_engine.py                     # full-size SD-1.5 architecture, random weights, CUDA
    python bench/bench_engine.py --tiny --repeats 3  # tiny models on the CPU (exercises the harness)
    python bench/bench_engine.py --device cpu --shrink 12 --repeats 1  # full-size models, 64 px, CPU

Cases: magic_mix 768x768, 20 steps, kmin 0.3, kmax 0.5 (10 UNet calls) and img_mixer 800x600,
41 steps, 2 images. Both run end to end through `DiffusersEngine.render` (data: URIs, no network).
The bound is the FLOPs counted for one request (torch's FlopCounterMode) over the peak rate; the peer is
the same engine with every optimisation off (float32, no TF32, classic attention, no channels-last,
eager, batch 1). Random weights have the real FLOP and latency profile; values do not matter.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import io
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from diffusers import AutoencoderKL, UNet2DConditionModel
from diffusers.models.attention_processor import AttnProcessor
from PIL import Image
from torch.utils.flop_counter import FlopCounterMode
from transformers import (
    CLIPTextConfig,
    CLIPTextModel,
    CLIPTextModelWithProjection,
    CLIPVisionConfig,
    CLIPVisionModelWithProjection,
)

from mock_server.engines.base import ImageJob
from mock_server.engines.diffusers import DiffusersEngine
from mock_server.engines.diffusers.image_mixer import run_image_mixer
from mock_server.engines.diffusers.loading import (
    ClipPreprocess,
    LoadedModels,
    MagicMixModels,
    MixerModels,
    Module,
    load_models,
)
from mock_server.engines.diffusers.magic_mix import run_magic_mix
from mock_server.engines.diffusers.plans import magic_mix_plan, mixer_plan
from mock_server.engines.diffusers.tiny import _scheduler, init_tiny_models, tiny_tokenizer

H100_BF16_TFLOPS = 790.0  # dense bf16 measured on an H100 (8192^3 matmul)


def _tower(width: int, layers: int) -> dict[str, Any]:
    """A CLIP ViT-L/14 tower's shape: 64-wide heads, an MLP four times as wide, projected to 768."""
    return {
        "hidden_size": width,
        "intermediate_size": 4 * width,
        "num_attention_heads": width // 64,
        "num_hidden_layers": layers,
        "projection_dim": 768,
    }


def _text_config() -> CLIPTextConfig:
    return CLIPTextConfig(vocab_size=49408, max_position_embeddings=77, **_tower(768, 12))


def full_size_models(device: torch.device, dtype: torch.dtype) -> LoadedModels:
    """SD-1.5's UNet (860M), VAE (84M), CLIP ViT-L/14 text and vision towers, random weights."""
    unet_class: Module = UNet2DConditionModel
    vae_class: Module = AutoencoderKL

    def build(factory: Callable[[], Any]) -> Any:
        with torch.device(device):
            module = factory()
        return module.to(dtype=dtype).eval().requires_grad_(False)

    def unet() -> Any:
        return build(lambda: unet_class(sample_size=64, cross_attention_dim=768))

    def vae() -> Any:
        return build(
            lambda: vae_class(
                block_out_channels=(128, 256, 512, 512),
                down_block_types=("DownEncoderBlock2D",) * 4,
                up_block_types=("UpDecoderBlock2D",) * 4,
                layers_per_block=2,
                latent_channels=4,
                sample_size=512,
            )
        )

    vision = CLIPVisionConfig(image_size=224, patch_size=14, **_tower(1024, 24))
    scheduler = dict(_scheduler().config)
    tokenizer = tiny_tokenizer()  # any tokenizer pads to 77 tokens: the cost is the same
    return LoadedModels(
        magic_mix=MagicMixModels(
            unet(), vae(), build(lambda: CLIPTextModel(_text_config())), tokenizer, scheduler
        ),
        img_mixer=MixerModels(
            unet(),
            vae(),
            build(lambda: CLIPVisionModelWithProjection(vision)),
            build(lambda: CLIPTextModelWithProjection(_text_config())),
            tokenizer,
            ClipPreprocess(),
            scheduler,
        ),
        device=device,
        dtype=dtype,
    )


def _data_uri(size: tuple[int, int], seed: int) -> str:
    buffer = io.BytesIO()
    Image.effect_mandelbrot(size, (-2.0 + seed * 0.1, -1.5, 1.0, 1.5), 100).convert("RGB").save(buffer, "PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def cases(shrink: int) -> dict[str, ImageJob]:
    """The two vendor examples; `shrink` divides the sizes (the tiny run stays quick on a CPU)."""
    magic, (mixer_w, mixer_h) = 768 // shrink, (800 // shrink // 8 * 8, 600 // shrink // 8 * 8)
    return {
        f"magic_mix {magic}x{magic} 20 steps": ImageJob(
            "magic_mix",
            {
                "prompt": "Bed",
                "image": _data_uri((512, 512), 0),
                "kmin": 0.3,
                "kmax": 0.5,
                "mix_factor": 0.5,
                "steps": 20,
            },
            magic,
            magic,
            1,
            12345,
        ),
        f"img_mixer {mixer_w}x{mixer_h} 41 steps 2 images": ImageJob(
            "img_mixer",
            {
                "prompt": "rose man",
                "init_image": [_data_uri((512, 512), 0), _data_uri((512, 512), 5)],
                "steps": 41,
                "guidance_scale": 10,
            },
            mixer_w,
            mixer_h,
            1,
            12345,
        ),
    }


def counted_tflop(engine: DiffusersEngine, job: ImageJob) -> float:
    """FLOPs of one request (every matmul, convolution and attention), counted while it runs."""
    stand_in = Image.new("RGB", (512, 512))
    counter = FlopCounterMode(display=False)
    with torch.inference_mode(), counter:
        if job.product == "magic_mix" and engine.models.magic_mix is not None:
            run_magic_mix(engine.models.magic_mix, [magic_mix_plan(job, stand_in)], engine.mixing)
        elif engine.models.img_mixer is not None:
            run_image_mixer(engine.models.img_mixer, [mixer_plan(job, [stand_in, stand_in])])
    return counter.get_total_flops() / 1e12


def p50_seconds(engine: DiffusersEngine, job: ImageJob, repeats: int) -> float:
    async def timed() -> list[float]:
        await engine.render(job)  # warm-up (cuDNN autotuning, lazy allocations, compilation)
        times = []
        for _ in range(repeats):
            started = time.perf_counter()
            await engine.render(job)
            if engine.models.device.type == "cuda":
                torch.cuda.synchronize()
            times.append(time.perf_counter() - started)
        return times

    return statistics.median(asyncio.run(timed()))


def unoptimised(models: LoadedModels) -> None:
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    for stack in (models.magic_mix, models.img_mixer):
        if stack is not None:
            stack.unet.set_attn_processor(AttnProcessor())
            stack.vae.set_attn_processor(AttnProcessor())


def build(args: argparse.Namespace, *, optimised: bool, scratch: Path) -> DiffusersEngine:
    device = torch.device(args.device)
    dtype = torch.bfloat16 if optimised and device.type == "cuda" else torch.float32
    if args.tiny:
        models = load_models(init_tiny_models(scratch), device, dtype)
    else:
        models = full_size_models(device, dtype)
    if optimised:
        torch.backends.cuda.matmul.allow_tf32 = True
        for stack in (models.magic_mix, models.img_mixer):
            if stack is not None and device.type == "cuda":
                stack.unet.to(memory_format=torch.channels_last)
            if stack is not None and args.compile:
                stack.unet = torch.compile(stack.unet)
    else:
        unoptimised(models)
    return DiffusersEngine(models, max_batch_samples=4 if optimised else 1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument(
        "--tiny", action="store_true", help="tiny random models, sizes / 4 (a CPU harness check)"
    )
    parser.add_argument(
        "--shrink",
        type=int,
        default=None,
        help="divide the image sizes by N (default 1; 4 with --tiny): the full-size models on a CPU",
    )
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--compile", action="store_true", help="torch.compile the UNet in the optimised run")
    parser.add_argument("--peak-tflops", type=float, default=None, help="peak rate for the bound (CUDA: 790)")
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error(f"--repeats must be at least 1, got {args.repeats}")
    shrink = args.shrink if args.shrink is not None else (4 if args.tiny else 1)
    if not 1 <= shrink <= 12:
        parser.error(f"--shrink must be between 1 and 12, got {shrink}")
    peak = args.peak_tflops or (H100_BF16_TFLOPS if args.device.startswith("cuda") else None)
    results: dict[str, dict[str, float]] = {}
    for label, optimised in (("optimised", True), ("peer", False)):
        with tempfile.TemporaryDirectory() as scratch:
            engine = build(args, optimised=optimised, scratch=Path(scratch))
            for name, job in cases(shrink).items():
                row = results.setdefault(name, {})
                if optimised:
                    row["tflop"] = counted_tflop(engine, job)
                row[label] = p50_seconds(engine, job, args.repeats)
            asyncio.run(engine.aclose())
            del engine
            if torch.cuda.is_available():
                torch.cuda.empty_cache()
    kind = "tiny random models" if args.tiny else "SD-1.5 architecture, random weights"
    name = torch.cuda.get_device_name() if args.device.startswith("cuda") else "CPU"
    print(f"# {kind} on {args.device} ({name}); p50 of {args.repeats}; torch {torch.__version__}")
    headers = ("TFLOP", "bound s", "optimised s", "peer s", "peer/opt", "opt/bound")
    print(f"{'case':38} " + " ".join(f"{header:>11}" for header in headers))
    for case, row in results.items():
        bound = row["tflop"] / peak if peak else float("nan")
        values = (row["tflop"], bound, row["optimised"], row["peer"])
        ratios = (row["peer"] / row["optimised"], row["optimised"] / bound)
        print(f"{case:38} " + " ".join(f"{value:11.4f}" for value in values + ratios))
    if not peak:
        print("(no bound: pass --peak-tflops for this device)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
