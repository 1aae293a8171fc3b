"""What an accepted request becomes: its parameters with the spec's defaults, the image job, the `meta`
echo (the vendor's key names: H, W, n_samples, init_image joined by commas) and the output file names.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mock_server.contract import Operation
from mock_server.engines.base import ImageJob
from mock_server.engines.synthetic import DEFAULT_SIZE

__all__ = ["build_image_job", "build_meta", "output_names", "request_params"]

# The request fields each product's meta echoes (the vendor's examples), under the vendor's names.
_RENAMED = {"width": "W", "height": "H", "samples": "n_samples"}
_ECHOED: Mapping[str, tuple[str, ...]] = {
    "magic_mix": ("image", "kmax", "kmin", "mix_factor", "negative_prompt", "prompt", "steps"),
    "img_mixer": ("guidance_scale", "init_image", "init_image_weights", "negative_prompt", "prompt", "steps"),
}
_ALWAYS = ("negative_prompt",)  # echoed as null when the request leaves it out


def request_params(operation: Operation, body: Mapping[str, Any]) -> dict[str, Any]:
    """The body without `key`, with the spec's defaults filled in for absent or null fields."""
    params = {name: value for name, value in body.items() if name != "key"}
    for name, schema in operation.request_schema.get("properties", {}).items():
        if params.get(name) is None and "default" in schema:
            params[name] = schema["default"]
    return params


def build_image_job(operation: Operation, params: Mapping[str, Any], seed: int) -> ImageJob:
    if operation.product is None:
        raise ValueError(f"{operation.operation_id} makes no images")
    return ImageJob(
        operation=operation.product,
        params=dict(params),
        width=params.get("width"),
        height=params.get("height"),
        samples=int(params.get("samples", 1)),
        seed=seed,
    )


def build_meta(job: ImageJob, file_prefix: str) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "H": job.height or DEFAULT_SIZE,
        "W": job.width or DEFAULT_SIZE,
        "n_samples": job.samples,
        "file_prefix": file_prefix,
        "outdir": "out",
        "seed": job.seed,
    }
    for name in _ECHOED[job.operation]:
        value = job.params.get(name)
        if name == "init_image" and isinstance(value, list):
            value = ",".join(str(item) for item in value)
        if value is not None or name in _ALWAYS:
            meta[_RENAMED.get(name, name)] = value
    return dict(sorted(meta.items()))


def output_names(job: ImageJob, file_prefix: str) -> list[str]:
    """File names under /generations/: `<prefix>.png` for one magic_mix sample (the vendor's example),
    `<prefix>-<i>.png` otherwise (the img_mixer example uses `-0` even for one sample)."""
    if job.operation == "magic_mix" and job.samples == 1:
        return [f"{file_prefix}.png"]
    return [f"{file_prefix}-{index}.png" for index in range(job.samples)]
