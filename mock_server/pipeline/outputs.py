"""Serving output files: `/generations/<file_prefix>.png` and `/generations/<file_prefix>-<i>.png`.

Beside the pipeline, not a stage of it: a download is no vendor operation. A lazy engine renders on
first download (cached; concurrent first downloads share one render); an eager engine's bytes come from
the job store. A job whose eta has passed ends as planned before its file is served (a job the
failed-job rate picked has no file). A store that fails gives a 503 problem.
"""

from __future__ import annotations

import re

from starlette.responses import Response

from mock_server.problems import Problem, problem_response, store_unavailable
from mock_server.runtime import Runtime
from mock_server.state.jobs import Job, StoreError

__all__ = ["serve_image"]

_NAME = re.compile(
    r"^(?P<prefix>[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})(?:-(?P<index>\d{1,2}))?\.png$"
)


def _not_found(name: str, why: str) -> Response:
    return problem_response(Problem(404, "no-image", "No such image", f"/generations/{name}: {why}"))


async def serve_image(runtime: Runtime, name: str, session: str = "") -> Response:
    """The file, for a request of `session`: another session's job's file is one no job made."""
    try:
        return await _serve(runtime, name, session)
    except StoreError as error:
        runtime.health.failed(error)
        return problem_response(store_unavailable(error))


async def _serve(runtime: Runtime, name: str, session: str) -> Response:
    match = _NAME.match(name)
    if match is None:
        return _not_found(name, "not a name this mock gives its output files")
    prefix, index = match["prefix"], int(match["index"] or 0)
    job = runtime.store.by_prefix(prefix)
    if job is None or job.session != session:
        return _not_found(name, "no job made this file")
    job = await runtime.lifecycle.settle(job)
    if job.state != "success":
        return _not_found(name, f"job {job.id} is {job.state}; the file exists once it succeeds")
    if index >= job.image_job.samples:
        return _not_found(name, f"job {job.id} made {job.image_job.samples} image(s)")
    png = await _png(runtime, job, index)
    if png is None:
        return _not_found(name, f"job {job.id} stored no image {index}")
    return Response(png, media_type="image/png", headers={"Cache-Control": "public, max-age=86400"})


async def _png(runtime: Runtime, job: Job, index: int) -> bytes | None:
    if not runtime.engine.lazy:
        return runtime.store.get_image(job.file_prefix, index)
    images = await runtime.images.get_or_render(job.file_prefix, lambda: runtime.engine.render(job.image_job))
    return images[index] if index < len(images) else None
