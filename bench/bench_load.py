"""Load benchmark: nothing lost and memory that levels off under sustained load.

64 concurrent clients send img_mixer requests to `mixmock serve` (a file store, 30 % processing replies)
and poll each queued job's fetch_result until it succeeds. Printed every 10 s: requests, errors and the
server's RSS. The peer, measured in the same invocation, is the same create request against a bare
Starlette endpoint that returns a constant reply: the ratio says what the mock's stages cost.

    python bench/bench_load.py                       # 60 s mock + 15 s peer
    python bench/bench_load.py --seconds 20 --peer-seconds 5 --concurrency 16
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from mock_server.tooling.testing import stop_process

BODY = {
    "key": "bench-key",
    "prompt": "rose man",
    "negative_prompt": "A polluted city",
    "init_image": ["https://img.example/a.png", "https://img.example/b.png"],
    "width": 512,
    "height": 512,
    "steps": 20,
    "seed": 12345,
}
CREATE = "/api/v6/image_editing/img_mixer"
PEER_APP = textwrap.dedent(
    """
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    async def reply(request):
        await request.body()
        return JSONResponse({"status": "success", "id": 1, "output": ["http://127.0.0.1/x.png"]})

    app = Starlette(routes=[Route("/{path:path}", reply, methods=["POST"])])
    """
)


@dataclass
class Tally:
    requests: int = 0
    errors: int = 0
    creates: int = 0
    queued: int = 0
    completed: int = 0
    latencies: list[float] = field(default_factory=list)
    first_errors: list[str] = field(default_factory=list)

    def error(self, what: str) -> None:
        self.errors += 1
        if len(self.first_errors) < 5:
            self.first_errors.append(what)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def rss_mib(pid: int) -> float:
    """Resident memory of a process and its children (uvicorn workers), from /proc."""
    total = 0.0
    for candidate in [pid, *_children(pid)]:
        try:
            for line in Path(f"/proc/{candidate}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) / 1024
        except OSError:
            continue
    return total


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(child) for child in text.split()]


async def _request(
    client: httpx.AsyncClient, url: str, body: dict[str, object], tally: Tally
) -> dict[str, object]:
    started = time.perf_counter()
    tally.requests += 1
    reply = await client.post(url, json=body)
    tally.latencies.append(time.perf_counter() - started)
    if reply.status_code != 200:
        raise RuntimeError(f"HTTP {reply.status_code} from {url}")
    data: dict[str, object] = reply.json()
    return data


async def _one_job(client: httpx.AsyncClient, base: str, tally: Tally, poll_s: float) -> None:
    reply = await _request(client, base + CREATE, BODY, tally)
    tally.creates += 1
    status = reply.get("status")
    if status == "success":
        tally.completed += 1
        return
    if status != "processing":
        raise RuntimeError(f"create answered status={status!r}")
    tally.queued += 1
    fetch_url = str(reply["fetch_result"])
    for _ in range(600):
        await asyncio.sleep(poll_s)
        fetched = await _request(client, fetch_url, {"key": BODY["key"]}, tally)
        if fetched.get("status") == "success":
            tally.completed += 1
            return
        if fetched.get("status") != "processing":
            raise RuntimeError(f"fetch answered status={fetched.get('status')!r}")
    raise RuntimeError(f"job {reply.get('id')} never finished")


async def _client_loop(
    client: httpx.AsyncClient, base: str, tally: Tally, until: float, poll_s: float
) -> None:
    while time.monotonic() < until:
        try:
            await _one_job(client, base, tally, poll_s)
        except (httpx.HTTPError, RuntimeError, ValueError) as error:
            tally.error(f"{type(error).__name__}: {error}")


async def drive(base: str, seconds: float, concurrency: int, poll_s: float, pid: int, label: str) -> Tally:
    tally = Tally()
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=30.0, trust_env=False) as client:
        started = time.monotonic()
        until = started + seconds
        loops = [
            asyncio.create_task(_client_loop(client, base, tally, until, poll_s)) for _ in range(concurrency)
        ]
        next_report = started
        while not all(loop.done() for loop in loops):
            if time.monotonic() >= next_report:
                elapsed = time.monotonic() - started
                print(
                    f"  {label:5} t={elapsed:5.1f}s requests={tally.requests:7d} errors={tally.errors:3d} "
                    f"rss={rss_mib(pid):7.1f} MiB",
                    flush=True,
                )
                next_report += 10
            await asyncio.sleep(0.2)
        await asyncio.gather(*loops)
        print(
            f"  {label:5} end    requests={tally.requests:7d} errors={tally.errors:3d} "
            f"rss={rss_mib(pid):7.1f} MiB"
        )
    return tally


def wait_until_up(base: str, process: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the server exited with code {process.returncode} before it answered")
        try:
            httpx.post(base + CREATE, json={}, timeout=1.0, trust_env=False)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise SystemExit(f"the server at {base} did not answer within {timeout} s")


def serve(command: Sequence[str], port: int, cwd: str | None = None) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    wait_until_up(f"http://127.0.0.1:{port}", process)
    return process


def summary(label: str, tally: Tally, seconds: float) -> float:
    rate = tally.requests / seconds
    p50 = statistics.median(tally.latencies) * 1000 if tally.latencies else 0.0
    p99 = statistics.quantiles(tally.latencies, n=100)[98] * 1000 if len(tally.latencies) > 100 else 0.0
    print(
        f"{label}: {tally.requests} requests ({rate:.0f}/s), {tally.errors} errors, p50 {p50:.1f} ms, "
        f"p99 {p99:.1f} ms; jobs created {tally.creates}, queued {tally.queued}, completed {tally.completed}"
    )
    for what in tally.first_errors:
        print(f"  error: {what}")
    return rate


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--peer-seconds", type=float, default=15.0)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--processing", type=float, default=0.3, help="share of processing replies")
    parser.add_argument("--eta", type=float, default=1.0, help="seconds a processing job takes")
    parser.add_argument("--poll", type=float, default=0.0, help="seconds between fetches of a queued job")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="mixmock-bench-") as folder:
        port = free_port()
        mock = serve(
            [
                sys.executable,
                "-m",
                "mock_server",
                "serve",
                "--port",
                str(port),
                "--no-access-log",
                "--store",
                str(Path(folder) / "jobs.sqlite3"),
                "--processing-ratio",
                str(args.processing),
                "--eta",
                str(args.eta),
            ],
            port,
        )
        print(
            f"mock: mixmock serve, file store, {args.processing:.0%} processing, eta {args.eta} s, "
            f"{args.concurrency} clients, {args.seconds:.0f} s"
        )
        try:
            mock_tally = asyncio.run(
                drive(f"http://127.0.0.1:{port}", args.seconds, args.concurrency, args.poll, mock.pid, "mock")
            )
            mock_rss = rss_mib(mock.pid)
        finally:
            stop_process(mock)

        Path(folder, "peer_app.py").write_text(PEER_APP)
        peer_port = free_port()
        peer = serve(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "peer_app:app",
                "--port",
                str(peer_port),
                "--no-access-log",
                "--log-level",
                "warning",
            ],
            peer_port,
            cwd=folder,
        )
        print(f"peer: bare Starlette constant reply, {args.concurrency} clients, {args.peer_seconds:.0f} s")
        try:
            peer_tally = asyncio.run(
                drive(
                    f"http://127.0.0.1:{peer_port}",
                    args.peer_seconds,
                    args.concurrency,
                    args.poll,
                    peer.pid,
                    "peer",
                )
            )
        finally:
            stop_process(peer)

    print()
    mock_rate = summary("mock", mock_tally, args.seconds)
    peer_rate = summary("peer", peer_tally, args.peer_seconds)
    print(f"mock RSS at the end: {mock_rss:.1f} MiB")
    print(f"ratio mock/peer requests per second: {mock_rate / peer_rate:.2f}")
    return 1 if mock_tally.errors else 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    raise SystemExit(main())
