"""What an accepted request becomes: its parameters with the spec's defaults, the image job, the `meta`
echo (the vendor's key names: H, W, n_samples, init_image joined by commas) and the output file names.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping
from typing import Any

from mock_server.engines.base import ImageJob
from openapi.operations import Operation
from openapi.vocabulary import UNSIZED_DEFAULT

__all__ = ["build_image_job", "build_meta", "output_names", "png_size", "request_params", "with_png_size"]

# The request fields each product's meta echoes (the vendor's examples), under the vendor's names.
_RENAMED = {"width": "W", "height": "H", "samples": "n_samples"}
_ECHOED: Mapping[str, tuple[str, ...]] = {
    "magic_mix": ("image", "kmax", "kmin", "mix_factor", "negative_prompt", "prompt", "steps"),
    "img_mixer": ("guidance_scale", "init_image", "init_image_weights", "negative_prompt", "prompt", "steps"),
}
_ALWAYS = ("negative_prompt",)  # echoed as null when the request leaves it out


def request_params(operation: Operation, body: Mapping[str, Any]) -> dict[str, Any]:
    """The body without `key`, with the spec's defaults filled in for absent or null fields.

    An integral float in an integer field (`width: 720.0`, `seed: 12265.0`) is an integer to JSON Schema,
    so the contract accepts it; from here on it is that integer (the size of the image, the seed).
    """
    integers = operation.integer_fields
    params = {
        name: int(value) if name in integers and isinstance(value, float) and value.is_integer() else value
        for name, value in body.items()
        if name != "key"
    }
    for name, default in operation.defaults.items():
        if params.get(name) is None:
            params[name] = default
    return params


def build_image_job(operation: Operation, params: Mapping[str, Any], seed: int) -> ImageJob:
    if operation.product is None:
        raise ValueError(f"{operation.operation_id} makes no images")
    return ImageJob(
        product=operation.product,
        params=dict(params),
        width=params.get("width"),
        height=params.get("height"),
        samples=int(params.get("samples", 1)),
        seed=seed,
    )


def build_meta(job: ImageJob, file_prefix: str, default_size: int | None = UNSIZED_DEFAULT) -> dict[str, Any]:
    """`default_size` stands in for a width or height the request left open; None leaves `W`/`H` out
    (an eager engine decides the size itself, and `with_png_size` fills them in once it has)."""
    height, width = job.height or default_size, job.width or default_size
    meta: dict[str, Any] = {} if height is None else {"H": height}
    if width is not None:
        meta["W"] = width
    meta |= {
        "n_samples": job.samples,
        "file_prefix": file_prefix,
        "outdir": "out",
        "seed": job.seed,
    }
    for name in _ECHOED[job.product]:
        value = job.params.get(name)
        if name == "init_image" and isinstance(value, list):
            value = ",".join(str(item) for item in value)
        if value is not None or name in _ALWAYS:
            meta[_RENAMED.get(name, name)] = value
    return dict(sorted(meta.items()))


def output_names(job: ImageJob, file_prefix: str) -> list[str]:
    """File names under /generations/: `<prefix>.png` for one magic_mix sample (the vendor's example),
    `<prefix>-<i>.png` otherwise (the img_mixer example uses `-0` even for one sample)."""
    if job.product == "magic_mix" and job.samples == 1:
        return [f"{file_prefix}.png"]
    return [f"{file_prefix}-{index}.png" for index in range(job.samples)]


def png_size(png: bytes) -> tuple[int, int] | None:
    """(width, height) from a PNG's header, or None when the bytes do not start like a PNG."""
    if len(png) < 24 or png[:8] != b"\x89PNG\r\n\x1a\n" or png[12:16] != b"IHDR":
        return None
    width, height = struct.unpack(">II", png[16:24])
    return int(width), int(height)


def with_png_size(meta: Mapping[str, Any], png: bytes) -> dict[str, Any]:
    """`meta` telling the size the engine actually made (`W`, `H`), keys kept in order."""
    size = png_size(png)
    if size is None:
        return dict(meta)
    return dict(sorted({**meta, "W": size[0], "H": size[1]}.items()))
