"""Throughput and latency of the mock against its peers, measured in one run on one machine.

Peers: Stoplight Prism (`prism mock` on the v6 spec, default settings), a bare Starlette endpoint
returning a constant JSON (the ceiling) and, with `--baseline REV`, the mock as it was at an earlier git
revision (a regression check). All get the same valid img_mixer POST at each concurrency; the load
generator is wrk when installed, else an asyncio + httpx loop. All servers run at once and take turns at
each point; with `--rounds N` each point is measured N times and the median kept, so a change in the
machine's load falls on every target alike.

    python bench/bench_mock.py                       # Prism from PATH or PRISM_BIN
    python bench/bench_mock.py --prism-bin node_modules/.bin/prism --duration 10 --concurrency 1 16 64
    python bench/bench_mock.py --rounds 3 --baseline main --concurrency 16   # a change against main

Absolute numbers from different runs do not compare; the ratios printed at the end do.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TypeVar

import httpx

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "openapi" / "v6-image-editing.yaml"
T = TypeVar("T")
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


def warm_up(url: str, duration: float, script: Path | None) -> None:
    if script is not None:
        run_wrk(url, 8, duration, script)
    else:
        asyncio.run(_httpx_load(url, 8, duration))


def measure_point(target: str, url: str, concurrency: int, duration: float, script: Path | None) -> Point:
    if script is not None:
        rps, p50, p99, failures = run_wrk(url, concurrency, duration, script)
    else:
        rps, p50, p99, failures = asyncio.run(_httpx_load(url, concurrency, duration))
    return Point(target, concurrency, rps, p50, p99, failures)


def find_prism(explicit: str | None) -> str | None:
    candidate = explicit or os.environ.get("PRISM_BIN") or shutil.which("prism")
    return candidate if candidate and Path(candidate).exists() else None


@dataclass(frozen=True)
class Target:
    name: str
    command: list[str]
    port: int
    ready_path: str
    create_path: str
    cwd: Path | None = None


def mock_target(name: str, workdir: Path, checkout: Path) -> Target:
    """`mixmock serve` from `checkout`, default settings and a file store, as a user starts it."""
    port = free_port()
    store = workdir / f"{name.replace('@', '-')}.sqlite3"
    command = [sys.executable, "-m", "mock_server", "serve", "--port", str(port), "--store", str(store)]
    return Target(name, command, port, "/health", "/api/v6/image_editing/img_mixer", checkout)


@contextmanager
def baseline_checkout(revision: str, workdir: Path) -> Iterator[Path]:
    """The repository at `revision`, checked out in a temporary worktree (removed on exit)."""
    folder = workdir / f"baseline-{len(list(workdir.glob('baseline-*')))}"
    git = ["git", "-C", str(ROOT)]
    found = subprocess.run(
        [*git, "rev-parse", "--verify", "--quiet", f"{revision}^{{commit}}"], capture_output=True
    )
    if found.returncode != 0:
        raise SystemExit(f"--baseline {revision!r} is not a commit of {ROOT}")
    # A run killed outright (SIGKILL) cannot remove its worktree; git forgets one whose folder is gone.
    subprocess.run([*git, "worktree", "prune"], check=False)
    try:
        subprocess.run([*git, "worktree", "add", "--detach", "--quiet", str(folder), revision], check=True)
        yield folder
    finally:
        subprocess.run([*git, "worktree", "remove", "--force", str(folder)], check=False, capture_output=True)


def stop_on_sigterm() -> None:
    """A SIGTERM (a CI timeout, `kill`) unwinds like Ctrl-C: servers stopped, worktrees removed."""

    def stop(signum: int, frame: object) -> None:
        raise SystemExit(f"stopped by signal {signum}")

    signal.signal(signal.SIGTERM, stop)


def targets(args: argparse.Namespace, workdir: Path, baselines: dict[str, Path]) -> list[Target]:
    found = [mock_target("mock", workdir, ROOT)]
    found += [mock_target(f"mock@{revision}", workdir, folder) for revision, folder in baselines.items()]
    prism = find_prism(args.prism_bin)
    if prism is None:
        print("prism: not found; npm install --prefix DIR @stoplight/prism-cli, then pass --prism-bin")
    else:
        port = free_port()
        command = [prism, "mock", "-h", "127.0.0.1", "-p", str(port), str(SPEC)]
        found.append(Target("prism", command, port, "/image_editing/img_mixer", "/image_editing/img_mixer"))
    (workdir / "bare_app.py").write_text(BARE_APP)
    port = free_port()
    bare = [sys.executable, "-m", "uvicorn", "bare_app:app", "--port", str(port), "--no-access-log"]
    found.append(
        Target("bare", [*bare, "--app-dir", str(workdir)], port, "/health", "/api/v6/image_editing/img_mixer")
    )
    return found


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per point (default 10)")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 16, 64])
    parser.add_argument("--prism-bin", help="the prism executable (default: PRISM_BIN or PATH)")
    parser.add_argument("--loadgen", choices=["auto", "wrk", "httpx"], default="auto")
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="measure every target this many times, taking turns; medians are reported (default 1)",
    )
    parser.add_argument(
        "--baseline",
        metavar="REV",
        action="append",
        default=[],
        help="also measure the mock as it was at git revision REV, from a temporary worktree (repeatable)",
    )
    args = parser.parse_args(argv)
    if args.rounds < 1 or args.duration <= 0 or min(args.concurrency) < 1:
        parser.error("--rounds, --duration and each --concurrency must be positive")

    stop_on_sigterm()
    use_wrk = args.loadgen == "wrk" or (args.loadgen == "auto" and shutil.which("wrk") is not None)
    workdir = Path(tempfile.mkdtemp(prefix="mixmock-bench-"))
    script = None
    if use_wrk:
        script = workdir / "post.lua"
        script.write_text(WRK_SCRIPT % json.dumps(BODY, separators=(",", ":")))
    print(
        f"load generator: {'wrk (1 thread)' if use_wrk else 'asyncio + httpx'}; "
        f"{args.duration:g} s per point, {args.rounds} round(s), targets taking turns"
    )
    try:
        with ExitStack() as stack:
            baselines = {
                revision: stack.enter_context(baseline_checkout(revision, workdir))
                for revision in args.baseline
            }
            chosen = targets(args, workdir, baselines)
            for target in chosen:
                url = f"http://127.0.0.1:{target.port}"
                stack.enter_context(
                    process(target.command, url, target.ready_path, target.name, cwd=target.cwd)
                )
            results = measure_all(chosen, args.concurrency, args.duration, args.rounds, script)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    report(results, args.concurrency)
    return 0


def measure_all(
    chosen: Sequence[Target], concurrencies: Sequence[int], duration: float, rounds: int, script: Path | None
) -> dict[str, list[Point]]:
    """Every target at every concurrency, `rounds` times, the targets taking turns at each point (so a
    change in the machine's load falls on all of them); a point's median round is kept."""
    runs: dict[tuple[str, int], list[Point]] = {}
    for target in chosen:
        warm_up(f"http://127.0.0.1:{target.port}{target.create_path}", min(duration, 3.0), script)
    for round_number in range(1, rounds + 1):
        for concurrency in concurrencies:
            for target in turns(chosen, round_number):
                url = f"http://127.0.0.1:{target.port}{target.create_path}"
                point = measure_point(target.name, url, concurrency, duration, script)
                runs.setdefault((target.name, concurrency), []).append(point)
                print(f"round {round_number}  {_line(point)}")
                time.sleep(1)
    return {
        target.name: [_median(runs[(target.name, concurrency)]) for concurrency in concurrencies]
        for target in chosen
    }


def turns(items: Sequence[T], round_number: int) -> list[T]:
    """`items` in the order of this round: each round starts one later, so no target always goes first."""
    shift = (round_number - 1) % len(items)
    return [*items[shift:], *items[:shift]]


def _line(point: Point) -> str:
    figures = f"{point.rps:9.1f} req/s  p50 {point.p50_ms:7.2f} ms  p99 {point.p99_ms:7.2f} ms"
    return f"{point.target:14} c={point.concurrency:<3} {figures}  failures {point.failures}"


def _median(points: list[Point]) -> Point:
    return sorted(points, key=lambda point: point.rps)[len(points) // 2]


def report(results: dict[str, list[Point]], concurrencies: Sequence[int]) -> None:
    print("\nmedians:")
    for points in results.values():
        for point in points:
            print(f"  {_line(point)}")
    print("\nratios (requests/s):")
    peers = [name for name in results if name != "mock"]
    for index, concurrency in enumerate(concurrencies):
        mock_rps = results["mock"][index].rps
        parts = [f"mock/{peer} {mock_rps / results[peer][index].rps:.2f}" for peer in peers]
        print(f"  c={concurrency:<3} " + "  ".join(parts))


if __name__ == "__main__":
    sys.exit(main())
