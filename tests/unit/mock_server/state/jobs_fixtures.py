"""A job to store, for the store tests of every backend."""

from __future__ import annotations

from mock_server.engines.base import ImageJob
from mock_server.state.jobs import Job


def make_job(job_id: int, **changes: object) -> Job:
    image_job = ImageJob("magic_mix", {"prompt": "Bed", "seed": 2**80}, 64, 48, 1, 2**80)
    fields: dict[str, object] = {
        "id": job_id,
        "operation_id": "magic_mix_v5",
        "file_prefix": f"prefix-{job_id}",
        "state": "processing",
        "created_at": 1.0,
        "image_job": image_job,
        "output": ("http://m.test/generations/a.png",),
        "meta": {"H": 48},
        "generation_time": 1.5,
        "polls_needed": 2,
        "track_id": 7,
    }
    fields.update(changes)
    return Job(**fields)  # type: ignore[arg-type]
