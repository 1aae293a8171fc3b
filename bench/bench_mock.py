"""Throughput and latency of the mock against its peers, measured in one run on one machine.

Peers: Stoplight Prism (`prism mock` on the v6 spec, default settings) and a bare Starlette endpoint
returning a constant JSON (the ceiling). All three get the same valid img_mixer POST at each
concurrency; the load generator is wrk when installed, else an asyncio + httpx loop.

    python bench/bench_mock.py                       # Prism from PATH or PRISM_BIN
    python bench/bench_mock.py --prism-bin node_modules/.bin/prism --duration 10 --concurrency 1 16 64

Absolute numbers from different runs do not compare; the ratios printed at the end do.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import httpx

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "openapi" / "v6-image-editing.yaml"
BODY = {
    "key": "abc",
    "seed": 12345,
    "init_image": ["https://example.com/a.png", "https://example.com/b.png"],
    "prompt": "rose man",
    "negative_prompt": "A polluted city",
    "width": 800,
    "height": 600,
    "guidance_scale": 10,
    "steps": 41,
    "samples": 1,
}
BARE_APP = textwrap.dedent(
    """
    from starlette.applications import Starlette
    from starlette.responses import Response
    from starlette.routing import Route
    BODY = b'{"status":"success","id":1,"output":["http://127.0.0.1/generations/x-0.png"]}'
    async def constant(request):
        await request.body()
        return Response(BODY, media_type="application/json")
    async def health(request):
        return Response(b"{}", media_type="application/json")
    routes = [Route("/health", health), Route("/{path:path}", constant, methods=["GET", "POST"])]
    app = Starlette(routes=routes)
    """
)
WRK_SCRIPT = """
wrk.method = "POST"; wrk.headers["Content-Type"] = "application/json"
wrk.body = '%s'
done = function(s, lat, r)
  io.write(string.format("p50_ms=%%.3f\\np99_ms=%%.3f\\n", lat:percentile(50)/1000, lat:percentile(99)/1000))
  io.write(string.format("rps=%%.1f\\nnon2xx=%%d\\n", s.requests/(s.duration/1e6), s.errors.status))
  local e = s.errors
  io.write(string.format("errors=%%d\\n", e.connect + e.read + e.write + e.timeout))
end
"""


@dataclass(frozen=True)
class Point:
    target: str
    concurrency: int
    rps: float
    p50_ms: float
    p99_ms: float
    failures: int


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def process(
    command: Sequence[str], url: str, ready_path: str, name: str, cwd: Path | None = None
) -> Iterator[None]:
    """Start a server process, wait until `ready_path` answers, stop it (and its children) on exit."""
    with tempfile.TemporaryFile() as log:
        child = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, cwd=cwd
        )
        yield from _serve_until_done(child, log, url, ready_path, name)


def _serve_until_done(
    child: subprocess.Popen[bytes], log: IO[bytes], url: str, ready_path: str, name: str
) -> Iterator[None]:
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.request(
                    "POST" if "img_mixer" in ready_path else "GET", url + ready_path, json=BODY, timeout=2
                )
                break
            except httpx.TransportError:
                if child.poll() is not None or time.monotonic() > deadline:
                    log.seek(0)
                    raise RuntimeError(
                        f"{name} did not start: {log.read().decode(errors='replace')[-2000:]}"
                    ) from None
                time.sleep(0.2)
        yield
    finally:
        os.killpg(child.pid, 15)  # the process group: Prism runs node under a shell wrapper
        try:
            child.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(child.pid, 9)
            child.wait()


def run_wrk(url: str, concurrency: int, duration: float, script: Path) -> tuple[float, float, float, int]:
    command = ["wrk", "-t1", f"-c{concurrency}", f"-d{duration:g}s", "--latency", "-s", str(script), url]
    output = subprocess.run(command, capture_output=True, text=True, check=True, timeout=duration + 60).stdout
    values = dict(re.findall(r"^(\w+)=([\d.]+)$", output, re.MULTILINE))
    return (
        float(values["rps"]),
        float(values["p50_ms"]),
        float(values["p99_ms"]),
        int(values["non2xx"]) + int(values["errors"]),
    )


async def _httpx_load(url: str, concurrency: int, duration: float) -> tuple[float, float, float, int]:
    latencies: list[float] = []
    failures = 0
    payload = json.dumps(BODY).encode()
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, headers={"content-type": "application/json"}) as client:
        stop = time.perf_counter() + duration

        async def worker() -> None:
            nonlocal failures
            while time.perf_counter() < stop:
                started = time.perf_counter()
                reply = await client.post(url, content=payload)
                latencies.append(time.perf_counter() - started)
                failures += reply.status_code >= 300

        began = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - began
    cuts = statistics.quantiles(latencies, n=100)
    return len(latencies) / elapsed, cuts[49] * 1000, cuts[98] * 1000, failures


def measure(
    target: str, url: str, concurrencies: Sequence[int], duration: float, script: Path | None
) -> list[Point]:
    points = []
    warm = min(duration, 3.0)
    if script is not None:
        run_wrk(url, 8, warm, script)
    else:
        asyncio.run(_httpx_load(url, 8, warm))
    for concurrency in concurrencies:
        if script is not None:
            rps, p50, p99, failures = run_wrk(url, concurrency, duration, script)
        else:
            rps, p50, p99, failures = asyncio.run(_httpx_load(url, concurrency, duration))
        points.append(Point(target, concurrency, rps, p50, p99, failures))
        figures = f"{rps:9.1f} req/s  p50 {p50:7.2f} ms  p99 {p99:7.2f} ms  failures {failures}"
        print(f"{target:6} c={concurrency:<3} {figures}")
        time.sleep(1)
    return points


def find_prism(explicit: str | None) -> str | None:
    candidate = explicit or os.environ.get("PRISM_BIN") or shutil.which("prism")
    return candidate if candidate and Path(candidate).exists() else None


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per point (default 10)")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 16, 64])
    parser.add_argument("--prism-bin", help="the prism executable (default: PRISM_BIN or PATH)")
    parser.add_argument("--loadgen", choices=["auto", "wrk", "httpx"], default="auto")
    args = parser.parse_args(argv)

    use_wrk = args.loadgen == "wrk" or (args.loadgen == "auto" and shutil.which("wrk") is not None)
    workdir = Path(tempfile.mkdtemp(prefix="mixmock-bench-"))
    script = None
    if use_wrk:
        script = workdir / "post.lua"
        script.write_text(WRK_SCRIPT % json.dumps(BODY, separators=(",", ":")))
    print(
        f"load generator: {'wrk (1 thread)' if use_wrk else 'asyncio + httpx'}; {args.duration:g} s per point"
    )
    results: dict[str, list[Point]] = {}
    python = sys.executable

    port = free_port()
    mock = [
        python,
        "-m",
        "mock_server",
        "serve",
        "--port",
        str(port),
        "--store",
        str(workdir / "jobs.sqlite3"),
    ]
    with process(mock, f"http://127.0.0.1:{port}", "/health", "mixmock", cwd=ROOT):
        results["mock"] = measure(
            "mock",
            f"http://127.0.0.1:{port}/api/v6/image_editing/img_mixer",
            args.concurrency,
            args.duration,
            script,
        )

    prism = find_prism(args.prism_bin)
    if prism is None:
        print("prism: not found; npm install --prefix DIR @stoplight/prism-cli, then pass --prism-bin")
    else:
        port = free_port()
        with process(
            [prism, "mock", "-h", "127.0.0.1", "-p", str(port), str(SPEC)],
            f"http://127.0.0.1:{port}",
            "/image_editing/img_mixer",
            "prism",
        ):
            results["prism"] = measure(
                "prism",
                f"http://127.0.0.1:{port}/image_editing/img_mixer",
                args.concurrency,
                args.duration,
                script,
            )

    port = free_port()
    (workdir / "bare_app.py").write_text(BARE_APP)
    bare = [
        python,
        "-m",
        "uvicorn",
        "bare_app:app",
        "--port",
        str(port),
        "--no-access-log",
        "--app-dir",
        str(workdir),
    ]
    with process(bare, f"http://127.0.0.1:{port}", "/health", "bare"):
        results["bare"] = measure(
            "bare",
            f"http://127.0.0.1:{port}/api/v6/image_editing/img_mixer",
            args.concurrency,
            args.duration,
            script,
        )

    print("\nratios (requests/s):")
    for index, concurrency in enumerate(args.concurrency):
        mock_rps = results["mock"][index].rps
        parts = [f"mock/bare {mock_rps / results['bare'][index].rps:.2f}"]
        if "prism" in results:
            parts.insert(0, f"mock/prism {mock_rps / results['prism'][index].rps:.2f}")
        print(f"  c={concurrency:<3} " + "  ".join(parts))
    shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
