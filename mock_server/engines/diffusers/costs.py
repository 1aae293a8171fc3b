"""How long a request takes on this engine: UNet calls times a measured cost, corrected as batches run.

One UNet call costs `per_call + per_row * rows * latent_pixels` seconds (rows = 2 per sample with
classifier-free guidance), fitted from two timed calls at warm-up; the VAE is counted as a fixed
number of batch-1 UNet rows per sample (its FLOPs at 768x768: encode 1.2, decode 2.7). Each finished
batch nudges a correction factor towards measured / predicted.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["VAE_ROWS", "CostModel", "fit_cost_model"]

VAE_ROWS = {"magic_mix": 4.0, "img_mixer": 3.0}  # encode + decode, decode only, in UNet-row equivalents
_SMOOTHING = 0.3


@dataclass
class CostModel:
    per_call: float = 0.05
    per_row_pixel: float = 2e-6
    correction: float = 1.0

    def request_seconds(self, operation: str, calls: int, latent_pixels: int, samples: int) -> float:
        rows = 2 * samples
        unet = calls * (self.per_call + self.per_row_pixel * rows * latent_pixels)
        vae = VAE_ROWS.get(operation, 4.0) * samples * self.per_row_pixel * latent_pixels
        return self.correction * (unet + vae)

    def observe(self, predicted: float, measured: float) -> None:
        if predicted <= 0 or measured <= 0:
            return
        ratio = self.correction * measured / predicted
        self.correction = (1 - _SMOOTHING) * self.correction + _SMOOTHING * ratio


def _best_of(call: Callable[[], None], repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        call()
        best = min(best, time.perf_counter() - started)
    return best


def fit_cost_model(
    time_call: Callable[[int], None], small: int = 8, large: int = 32, repeats: int = 2
) -> CostModel:
    """Per-call and per-pixel costs from `time_call(side)`: one guided UNet call on side x side latents."""
    time_call(small)  # the first call pays for lazy initialisation
    short = _best_of(lambda: time_call(small), repeats)
    long = _best_of(lambda: time_call(large), repeats)
    pixels_small, pixels_large = small * small * 2, large * large * 2
    per_row_pixel = max(1e-12, (long - short) / (pixels_large - pixels_small))
    per_call = max(0.0, short - per_row_pixel * pixels_small)
    return CostModel(per_call=per_call, per_row_pixel=per_row_pixel)
