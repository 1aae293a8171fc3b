"""What `mixmock proxy` costs: the same img_mixer POSTs to the mock directly, through the proxy, and
through the proxy while it records, measured in one run on one machine.

    python bench/bench_proxy.py                          # 3 rounds of 10 s per point, c = 1 and 16
    python bench/bench_proxy.py --duration 5 --rounds 5 --concurrency 1 16 64

Each request through the proxy is read, checked against the spec, forwarded, its reply checked against
its branch (and, recording, redacted and appended to a HAR file). The peer is the mock itself; the ratios
printed at the end are what compares between runs, not the absolute numbers. Requests per second are
the median of the rounds; the latency percentiles pool every round.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import httpx

from mock_server.tooling.testing import free_port, stop_process, wait_until_answering

CREATE = "/api/v6/image_editing/img_mixer"
BODY = {
    "key": "bench-key-0123456789",
    "prompt": "rose man",
    "init_image": ["https://example.com/a.png"],
    "seed": 1,
}


@contextmanager
def running(*args: str) -> Iterator[str]:
    """`python -m mock_server ARGS --port P` until the block ends; yields its base URL."""
    port = free_port()
    command = [sys.executable, "-m", "mock_server", *args, "--port", str(port), "--no-access-log"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_answering(base + CREATE, process)
        yield base
    finally:
        stop_process(process)


async def load(url: str, concurrency: int, seconds: float) -> list[float]:
    """Latencies of valid creates sent by `concurrency` loops for `seconds` (errors stop the run)."""
    latencies: list[float] = []
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=30.0, trust_env=False) as client:
        until = time.monotonic() + seconds

        async def loop() -> None:
            while time.monotonic() < until:
                started = time.perf_counter()
                reply = await client.post(url, json=BODY)
                latencies.append(time.perf_counter() - started)
                if reply.status_code != 200 or reply.json().get("status") != "success":
                    raise SystemExit(f"{url} answered HTTP {reply.status_code}: {reply.text[:200]}")

        await asyncio.gather(*(loop() for _ in range(concurrency)))
    return latencies


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per point; default 10")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 16], help="default 1 16")
    parser.add_argument("--rounds", type=int, default=3, help="rounds per target, in rotation; default 3")
    args = parser.parse_args(argv)
    rates: dict[tuple[str, int], float] = {}
    with (
        tempfile.TemporaryDirectory() as folder,
        running("serve", "--store", ":memory:") as vendor,
        running("proxy", "--target", vendor) as proxy,
        running("proxy", "--target", vendor, "--record", folder) as recording,
    ):
        targets = {"mock": vendor, "proxy": proxy, "proxy+record": recording}
        print(f"{'target':13} {'c':>3} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8}")
        for concurrency in args.concurrency:
            for base in targets.values():
                asyncio.run(load(base + CREATE, concurrency, min(2.0, args.duration)))  # warm-up
            # Rounds in rotation, so that a change in the machine's load falls on every target alike.
            latencies: dict[str, list[float]] = {name: [] for name in targets}
            round_rates: dict[str, list[float]] = {name: [] for name in targets}
            for _ in range(args.rounds):
                for name, base in targets.items():
                    measured = asyncio.run(load(base + CREATE, concurrency, args.duration))
                    latencies[name] += measured
                    round_rates[name].append(len(measured) / args.duration)
            for name in targets:
                rates[(name, concurrency)] = statistics.median(round_rates[name])
                p50 = statistics.median(latencies[name]) * 1000
                p99 = statistics.quantiles(latencies[name], n=100)[98] * 1000
                rate = rates[(name, concurrency)]
                print(f"{name:13} {concurrency:3d} {rate:8.0f} {p50:8.2f} {p99:8.2f}", flush=True)
    for concurrency in args.concurrency:
        mock = rates[("mock", concurrency)]
        print(
            f"c={concurrency}: proxy/mock {rates[('proxy', concurrency)] / mock:.2f}, "
            f"proxy+record/mock {rates[('proxy+record', concurrency)] / mock:.2f} (requests per second)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
