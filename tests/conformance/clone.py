"""An independent reimplementation of the vendor's three products, for auditing the audit.

It reads no spec: its validation is written out by hand, field by field, the way a third party
would build a clone from the vendor's pages. It keeps jobs in memory, finishes queued jobs on a
timer (and posts their webhooks then, whether or not anyone fetches), serves PNGs drawn from the
request and its seed. With `defect` set it gets exactly one thing wrong, the kind of mistake real
reimplementations make; `pages_only` drops the constraints the kit infers beyond the vendor's pages.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import itertools
import json
import math
import random
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
from PIL import Image, ImageDraw
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

KEY = "clone-key"
INVALID_REQUEST = "RefusedError API Request"


@dataclass(frozen=True)
class Field:
    name: str
    kind: str  # "string" | "integer" | "number" | "url" | "urls"
    required: bool = False
    nullable: bool = False
    low: float | None = None
    high: float | None = None
    inferred_low: bool = False  # a bound the vendor's pages do not give (dropped by pages_only)
    inferred_high: bool = False


def _img_mixer_fields() -> list[Field]:
    return [
        Field("prompt", "string", required=True, low=1, inferred_low=True),
        Field("negative_prompt", "string", nullable=True),
        Field("init_image", "urls", required=True, low=1, high=4, inferred_low=True),
        Field("width", "integer", low=1, high=1024, inferred_low=True),
        Field("height", "integer", low=1, high=1024, inferred_low=True),
        Field("steps", "integer", low=1, high=50),
        Field("guidance_scale", "number", low=1, high=20),
        Field("seed", "integer", nullable=True),
        Field("samples", "integer", low=1, high=1, inferred_low=True),
        Field("webhook", "url", nullable=True),
        Field("track_id", "integer", nullable=True),
    ]


def _magic_mix_fields(samples: int) -> list[Field]:
    unit = {"low": 0, "high": 1, "inferred_low": True, "inferred_high": True}
    return [
        Field("prompt", "string", required=True, low=1, inferred_low=True),
        Field("negative_prompt", "string", nullable=True),
        Field("image", "url", required=True),
        Field("width", "integer", low=1, high=1024, inferred_low=True, inferred_high=True),
        Field("height", "integer", low=1, high=1024, inferred_low=True, inferred_high=True),
        Field("kmin", "number", **unit),  # type: ignore[arg-type]
        Field("kmax", "number", **unit),  # type: ignore[arg-type]
        Field("mix_factor", "number", **unit),  # type: ignore[arg-type]
        Field("steps", "integer", low=1, high=50),
        Field("samples", "integer", low=1, high=samples, inferred_low=True),
        Field("seed", "integer", nullable=True),
        Field("webhook", "url", nullable=True),
        Field("track_id", "string", nullable=True),
    ]


@dataclass(frozen=True)
class Product:
    name: str  # img_mixer | magic_mix
    create: str
    fetch: str  # with {id}
    fields: list[Field]
    defaults: Mapping[str, Any]


PRODUCTS = (
    Product(
        "img_mixer",
        "/api/v6/image_editing/img_mixer",
        "/api/v6/image_editing/fetch/{id}",
        _img_mixer_fields(),
        {"steps": 20, "guidance_scale": 7.5, "samples": 1},
    ),
    Product(
        "magic_mix",
        "/api/v1/enterprise/image_editing/magic_mix",
        "/api/v1/enterprise/image_editing/fetch/{id}",
        _magic_mix_fields(1),
        {"width": 768, "height": 768, "kmin": 0.3, "kmax": 0.5, "mix_factor": 0.5, "steps": 20, "samples": 1},
    ),
    Product(
        "magic_mix",
        "/api/v5/magic_mix",
        "/api/v5/fetch/{id}",
        _magic_mix_fields(4),
        {"width": 768, "height": 768, "kmin": 0.3, "kmax": 0.5, "mix_factor": 0.5, "steps": 20, "samples": 1},
    ),
)


@dataclass
class Job:
    id: int
    product: Product
    body: dict[str, Any]
    seed: int
    prefix: str
    origin: str
    ready_at: float
    failed: bool = False
    fetched_done: int = 0

    @property
    def samples(self) -> int:
        return int(self.body.get("samples", self.product.defaults.get("samples", 1)))

    def urls(self, count: int) -> list[str]:
        if self.product.name == "magic_mix" and count == 1:
            return [f"{self.origin}/generations/{self.prefix}.png"]
        return [f"{self.origin}/generations/{self.prefix}-{index}.png" for index in range(count)]


class RefusedError(Exception):
    pass


# How the clone answers a request to one product's route, given its body (a dict with the right key).
Answer = Callable[[Product, Request, dict[str, Any]], Response]


def _label(name: str) -> str:
    return name.replace("_", " ")


@dataclass
class Clone:
    defect: str | None = None
    pages_only: bool = False
    key: str = KEY
    received: int = 0  # requests of any kind, for tests that must send nothing
    processing_s: float = 0.3  # how long a queued job takes
    jobs: dict[tuple[str, int], Job] = field(default_factory=dict)  # what fetch finds
    images: dict[str, Job] = field(default_factory=dict)  # file prefix -> job, for the image files
    _ids: Any = field(default_factory=lambda: itertools.count(1))
    _tasks: set[Any] = field(default_factory=set)

    def reset(self, defect: str | None = None, *, pages_only: bool = False, key: str = KEY) -> None:
        self.defect, self.pages_only, self.key, self.received = defect, pages_only, key, 0
        self.jobs.clear()
        self.images.clear()

    def app(self) -> Starlette:
        routes = [Route("/generations/{name}", self._image, methods=["GET"])]
        for product in PRODUCTS:
            routes.append(Route(product.create, self._endpoint(self._create, product), methods=["POST"]))
            routes.append(Route(product.fetch, self._endpoint(self._fetch, product), methods=["POST"]))
        return Starlette(routes=routes)

    # -- validation, by hand -------------------------------------------------------------------

    def _integer(self, name: str, value: Any) -> int:
        if self.defect == "integer_accepts_boolean" and isinstance(value, bool):
            return int(value)
        if self.defect == "integer_accepts_numeric_string" and isinstance(value, str) and value.isdigit():
            return int(value)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and self.defect == "integer_accepts_fraction":
            return int(value)
        if (
            isinstance(value, float)
            and value.is_integer()
            and self.defect != "integer_rejects_integral_float"
        ):
            return int(value)
        raise RefusedError(f"The {_label(name)} must be an integer.")

    def _number(self, name: str, value: Any) -> float:
        if self.defect == "number_accepts_numeric_string" and isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                pass
        if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
            return float(value)
        raise RefusedError(f"The {_label(name)} must be a number.")

    @staticmethod
    def _url(name: str, value: Any) -> str:
        if isinstance(value, str) and not any(c.isspace() for c in value):
            parts = urlsplit(value)
            if (parts.scheme in {"http", "https"} and parts.netloc) or parts.scheme == "data":
                return value
        raise RefusedError(f"The {_label(name)} must be a valid URL.")

    def _bounds(self, spec: Field, size: float) -> None:
        low = None if spec.inferred_low and self.pages_only else spec.low
        high = None if spec.inferred_high and self.pages_only else spec.high
        if spec.name == "init_image" and self.defect == "max_items_off_by_one" and high is not None:
            high += 1
        if spec.name == "prompt" and self.defect == "min_length_ignored":
            low = None
        checked = round(size) if self.defect == "minimum_rounded" else size
        if low is not None and checked < low:
            raise RefusedError(f"The {_label(spec.name)} must be at least {low:g}.")
        if high is not None:
            exclusive = self.defect == "maximum_exclusive" and spec.name == "steps"
            over = size >= high if exclusive else size > high
            if self.defect == "maximum_truncated":
                over = int(size) > high
            if over:
                raise RefusedError(f"The {_label(spec.name)} may not be greater than {high:g}.")

    def _value(self, spec: Field, value: Any) -> Any:
        if spec.kind == "string":
            if not isinstance(value, str):
                raise RefusedError(f"The {_label(spec.name)} must be a string.")
            self._bounds(spec, len(value))
            return value
        if spec.kind == "integer":
            if spec.name == "track_id" and self.defect == "track_id_string_only":
                raise RefusedError("The track id must be a string.")
            whole = self._integer(spec.name, value)
            self._bounds(spec, whole)
            return whole
        if spec.kind == "number":
            number = self._number(spec.name, value)
            self._bounds(spec, number)
            return number
        if spec.kind == "url":
            return self._url(spec.name, value)
        if not isinstance(value, list):
            raise RefusedError(f"The {_label(spec.name)} must be an array.")
        self._bounds(spec, len(value))
        checked = value[:1] if self.defect == "first_item_only" else value
        for index, item in enumerate(checked):
            self._url(f"{spec.name}.{index}", item)
        return value

    def _validated(self, product: Product, body: dict[str, Any]) -> dict[str, Any]:
        known = {spec.name for spec in product.fields} | {"key"}
        if self.defect == "unknown_fields_rejected" and set(body) - known:
            raise RefusedError(f"The {_label(sorted(set(body) - known)[0])} field is not allowed.")
        clean = dict(body)
        for spec in product.fields:
            if spec.name not in body:
                if spec.required:
                    raise RefusedError(f"The {_label(spec.name)} field is required.")
                continue
            value = body[spec.name]
            if value is None and spec.nullable and self.defect != "explicit_null_rejected":
                continue
            if value is None:
                raise RefusedError(f"The {_label(spec.name)} field must not be null.")
            clean[spec.name] = self._value(spec, value)
        if product.name == "magic_mix":
            self._magic_mix_rules(product, clean)
        if self.defect == "leaks_key" and body.get("prompt") == "a":
            raise RefusedError("The prompt a is reserved.")
        if self.defect == "webhook_refused" and body.get("webhook"):
            raise RefusedError("Webhooks are not available on this plan.")
        return clean

    @staticmethod
    def _or_default(product: Product, body: dict[str, Any], name: str) -> float:
        value = body.get(name)
        return float(value if value is not None else product.defaults[name])

    def _magic_mix_rules(self, product: Product, body: dict[str, Any]) -> None:
        kmax, steps = self._or_default(product, body, "kmax"), self._or_default(product, body, "steps")
        if not self.pages_only and math.floor(kmax * steps + 1e-9) < 1:
            raise RefusedError(
                "The kmax and steps leave no layout step: int(kmax * steps) must be 1 or more."
            )
        kmin = self._or_default(product, body, "kmin")
        if self.defect == "sdk_body_rejected" and kmin >= kmax:
            raise RefusedError("The kmin must be less than kmax.")

    # -- replies -------------------------------------------------------------------------------

    @staticmethod
    def _error(message: Any) -> JSONResponse:
        return JSONResponse({"status": "error", "message": message})

    def _refused(self, message: str) -> JSONResponse:
        if self.defect == "leaks_key":
            message = f"{message} [for account {self.key}-live]"
        if self.defect == "empty_error_message":
            message = ""
        elif self.defect == "message_without_field":
            message = "Validation failed."
        return self._error(message)

    async def _body(self, request: Request) -> Any:
        self.received += 1
        raw = await request.body()
        if self.defect == "empty_body_html_error" and not raw:
            return Response("<h1>400 Bad Request</h1>", status_code=400, media_type="text/html")
        media_type = request.headers.get("content-type", "").split(";")[0].strip()
        if media_type != "application/json" and self.defect != "wrong_content_type_accepted":
            return self._error(INVALID_REQUEST)
        try:
            body = json.loads(raw)
        except ValueError:
            return self._error(INVALID_REQUEST)
        if isinstance(body, list) and self.defect == "array_body_crashes":
            return Response("Internal Server Error", status_code=500, media_type="text/plain")
        if not isinstance(body, dict):
            return self._error(INVALID_REQUEST)
        if body.get("key") != self.key:
            return self._error("RefusedError Api Key")
        return body

    def _endpoint(self, answer: Answer, product: Product) -> Callable[[Request], Awaitable[Response]]:
        """A route for `product` that answers a body with the right key, and refuses any other request."""

        async def endpoint(request: Request) -> Response:
            body = await self._body(request)
            return body if isinstance(body, Response) else answer(product, request, body)

        return endpoint

    def _create(self, product: Product, request: Request, body: dict[str, Any]) -> Response:
        try:
            clean = self._validated(product, body)
        except RefusedError as error:
            return self._refused(str(error))
        return JSONResponse(self._accept(product, request, clean))

    def _seed(self, body: Mapping[str, Any]) -> int:
        seed = body.get("seed")
        if seed is None or (self.defect == "seed_zero_random" and not seed):
            return random.randrange(2**32)
        return int(seed)

    def _accept(self, product: Product, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        origin = str(request.base_url).rstrip("/")
        prefer = request.headers.get("prefer", "")
        queued = "scenario=processing" in prefer
        job = Job(
            next(self._ids),
            product,
            body,
            self._seed(body),
            str(uuid.uuid4()),
            origin,
            time.monotonic() + (self.processing_s if queued else 0.0),
        )
        job.failed = self.defect == "every_job_fails" or (queued and self.defect == "queued_jobs_fail")
        if not (self.defect == "instant_job_not_stored" and not queued):
            self.jobs[(product.create, job.id)] = job
        self.images[job.prefix] = job
        count = 1 if self.defect == "samples_capped" else job.samples
        meta = self._meta(job)
        if not queued and self.defect != "webhook_only_on_fetch":
            self._deliver_later(job, count)
        if job.failed and not queued:
            return {"status": "failed", "id": job.id, "message": "Failed, Try Again", "output": ""}
        if not queued:
            return {
                "status": "success",
                "generationTime": 0.42,
                "id": job.id,
                "output": job.urls(count),
                "meta": meta,
            }
        if self.defect != "webhook_only_on_fetch":
            self._deliver_later(job, count)
        return {
            "status": "processing",
            "tip": "Your image is processing in background, you can get this image using fetch API",
            "eta": math.ceil(self.processing_s),
            "message": "Try to fetch request after seconds estimated",
            "fetch_result": self._fetch_result(product, origin, job.id),
            "id": job.id,
            "output": [],
            "future_links": job.urls(count),
            "meta": meta,
        }

    def _fetch_result(self, product: Product, origin: str, job_id: int) -> str:
        path = product.fetch
        if self.defect == "fetch_result_other_product" and product.name == "magic_mix":
            path = "/api/v6/image_editing/fetch/{id}"
        if self.defect == "fetch_result_other_origin":
            origin = "http://fetch.invalid"
        return origin + path.replace("{id}", str(job_id))

    def _meta(self, job: Job) -> dict[str, Any]:
        names = {"width": "W", "height": "H", "samples": "n_samples"}
        meta: dict[str, Any] = {"file_prefix": job.prefix, "outdir": "out"}
        for name, value in {**job.product.defaults, **job.body}.items():
            if name in {"key", "webhook", "track_id"} or value is None:
                continue
            meta[names.get(name, name)] = ",".join(map(str, value)) if name == "init_image" else value
        meta["seed"] = job.seed if self.defect != "seed_not_echoed" else random.randrange(2**32)
        meta.setdefault("W", 512)
        meta.setdefault("H", 512)
        return meta

    # -- jobs, fetch, webhooks -----------------------------------------------------------------

    def _fetch(self, product: Product, request: Request, body: dict[str, Any]) -> Response:
        raw = request.path_params["id"]
        job = self.jobs.get((product.create, int(raw))) if raw.isdigit() else None
        if job is not None and self.defect == "fetch_returns_latest":
            job = max(
                (j for (create, _), j in self.jobs.items() if create == product.create),
                key=lambda j: j.id,
            )
        if job is None:
            return JSONResponse({"status": "failed", "id": "", "message": "Request not found", "output": ""})
        if time.monotonic() < job.ready_at:
            return JSONResponse({"status": "processing", "message": "try again later.", "output": ""})
        if job.failed:
            return JSONResponse(
                {"status": "failed", "id": job.id, "message": "Failed, Try Again", "output": ""}
            )
        job.fetched_done += 1
        if self.defect == "finished_job_forgotten" and job.fetched_done > 1:
            return JSONResponse({"status": "failed", "id": "", "message": "Request not found", "output": ""})
        count = 1 if self.defect == "samples_capped" else job.samples
        if self.defect == "webhook_only_on_fetch" and job.fetched_done == 1:
            self._deliver_later(job, count)
        return JSONResponse({"status": "success", "id": job.id, "output": job.urls(count)})

    def _deliver_later(self, job: Job, count: int) -> None:
        if not job.body.get("webhook"):
            return
        task = asyncio.get_running_loop().create_task(self._deliver(job, count))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _deliver(self, job: Job, count: int) -> None:
        await asyncio.sleep(max(0.0, job.ready_at - time.monotonic()))
        url = str(job.body["webhook"])
        if self.defect == "webhook_query_dropped":
            url = urlunsplit(urlsplit(url)._replace(query=""))
        track_id = job.body.get("track_id")
        if self.defect == "webhook_track_id_as_string" and track_id is not None:
            track_id = str(track_id)
        payload: dict[str, Any] = (
            {"status": "failed", "id": job.id, "message": "Failed, Try Again", "track_id": track_id}
            if job.failed
            else {
                "status": "success",
                "id": job.id,
                "output": job.urls(count),
                "generationTime": 0.42,
                "meta": self._meta(job),
                "track_id": track_id,
            }
        )
        async with httpx.AsyncClient(timeout=5) as client:
            for _ in range(2 if self.defect == "webhook_twice" else 1):
                if self.defect == "webhook_form_encoded":
                    await client.post(url, data={"payload": json.dumps(payload)})
                else:
                    await client.post(url, json=payload)

    # -- images --------------------------------------------------------------------------------

    def _picture(self, job: Job, index: int) -> bytes:
        size = (
            int(job.body.get("width", job.product.defaults.get("width", 512))),
            int(job.body.get("height", job.product.defaults.get("height", 512))),
        )
        if self.defect == "default_size_wrong" and "width" not in job.body:
            size = (512, 512)
        if self.defect == "transposed":
            size = (size[1], size[0])
        if self.defect == "big_images_clamped":
            size = (min(size[0], 1000), min(size[1], 1000))
        seed: Any = job.seed
        if self.defect == "seed_ignored":
            seed = random.random()
        if self.defect == "image_ignores_seed":
            seed = 0
        picture = {k: v for k, v in job.body.items() if k not in {"key", "webhook", "track_id", "seed"}}
        digest = hashlib.sha256(
            json.dumps([seed, index, picture], sort_keys=True, default=str).encode()
        ).digest()
        image = Image.new("RGB", size, tuple(digest[:3]))
        ImageDraw.Draw(image).rectangle((0, 0, size[0] // 2, size[1] // 3), fill=tuple(digest[3:6]))
        buffer = io.BytesIO()
        image.save(buffer, format="WEBP" if self.defect == "webp_named_png" else "PNG")
        return buffer.getvalue()

    async def _image(self, request: Request) -> Response:
        self.received += 1
        name = request.path_params["name"].removesuffix(".png")
        prefix, _, index = name.rpartition("-") if name.count("-") == 5 else (name, "", "0")
        job = self.images.get(prefix)
        if job is None:
            return Response("not found", status_code=404, media_type="text/plain")
        content = await asyncio.to_thread(self._picture, job, int(index or 0))
        return Response(content, media_type="image/png")
