"""Pictures in and out of the engine: any PIL mode to RGB, sizes, pixel tensors, PNG bytes."""

from __future__ import annotations

import io

import torch
from PIL import ExifTags, Image, ImageOps

__all__ = ["compute_size", "fit_within", "from_pixels", "png_bytes", "round_to_grid", "to_pixels", "to_rgb"]

GRID = 8  # the SD VAE downsamples by 8


def round_to_grid(value: int) -> int:
    return max(GRID, int(value / GRID + 0.5) * GRID)  # half up: 20 -> 24, as a person rounds


def compute_size(width: int, height: int) -> tuple[int, int]:
    """The size the models work at: the requested one rounded to multiples of 8."""
    return round_to_grid(width), round_to_grid(height)


def fit_within(size: tuple[int, int], limit: int) -> tuple[int, int]:
    """`size` scaled down (aspect kept) so that neither side exceeds `limit`, on the 8-pixel grid."""
    width, height = size
    scale = min(1.0, limit / max(width, height))
    return compute_size(min(limit, round(width * scale)), min(limit, round(height * scale)))


def to_rgb(image: Image.Image) -> Image.Image:
    """RGB for any input mode: transparency over white, 16-bit greys scaled, EXIF rotation applied.

    An upright RGB image is returned as it is (no copy: a request's images can be large)."""
    if image.getexif().get(ExifTags.Base.Orientation, 1) != 1:
        image = ImageOps.exif_transpose(image)
    if image.mode == "RGB":
        return image
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    if image.mode.startswith("I;16"):
        image = image.convert("I").point(lambda value: value * (1 / 257)).convert("L")
    return image.convert("RGB")


def to_pixels(image: Image.Image, size: tuple[int, int]) -> torch.Tensor:
    """A (1, 3, H, W) float tensor in [-1, 1] of `image` resized to `size`."""
    resized = to_rgb(image).resize(size, Image.Resampling.LANCZOS)
    width, height = resized.size
    data = torch.frombuffer(bytearray(resized.tobytes()), dtype=torch.uint8)
    pixels = data.view(height, width, 3).permute(2, 0, 1).unsqueeze(0).float()
    return pixels / 127.5 - 1.0


def from_pixels(pixels: torch.Tensor) -> list[Image.Image]:
    """(B, 3, H, W) values in [-1, 1] to B RGB images."""
    data = ((pixels.float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).permute(0, 2, 3, 1).cpu()
    return [Image.fromarray(item.contiguous().numpy()) for item in data]


def png_bytes(image: Image.Image, size: tuple[int, int]) -> bytes:
    """PNG of `image` at exactly `size` (the request's, when the model worked on the 8-pixel grid)."""
    if image.size != size:
        image = image.resize(size, Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()
