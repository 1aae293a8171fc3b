"""What one valid img_mixer create costs the mock's app, in-process, against the app of earlier revisions.

The ASGI app is driven directly (no socket, no HTTP parser, no access log), 16 requests at a time on one
uvloop event loop, with a file job store: what is left is the mock's own work per request (intake,
validation, negotiation, the job write, rendering, the journal). It is far steadier than a socket
benchmark on a shared machine, which makes it the regression check for the hot path: each `--baseline
REV` is checked out in a temporary git worktree and measured the same way, the checkouts taking turns.

    python bench/bench_app.py --baseline main                     # this working tree against main
    python bench/bench_app.py --baseline 6558286 --baseline HEAD~5 --rounds 5 --requests 4000

Printed: microseconds per request for each checkout, the median and the least of its `--rounds` runs (on a
shared machine other work only ever adds time, so the least is the closest to the app's own cost), and the
ratio of each baseline's cost to this tree's (above 1: this tree is cheaper).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path

from bench_mock import BODY, ROOT, baseline_checkout, stop_on_sigterm, turns

# Run in a child process with the checkout first on sys.path. It uses only what every revision has:
# `mock_server.app.app_from_environment` and the MIXMOCK_STORE / MIXMOCK_ACCESS_LOG settings.
DRIVER = textwrap.dedent(
    """
    import asyncio, gc, json, os, sys, time
    sys.path.insert(0, os.getcwd())
    import uvloop
    from mock_server.app import app_from_environment

    BODY = os.environ["BENCH_BODY"].encode()
    REQUESTS, CONCURRENCY = int(sys.argv[1]), int(sys.argv[2])
    PATH = "/api/v6/image_editing/img_mixer"
    HEADERS = [(b"host", b"127.0.0.1:8000"), (b"content-type", b"application/json"),
               (b"content-length", str(len(BODY)).encode())]
    SCOPE = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
             "scheme": "http", "path": PATH, "raw_path": PATH.encode(), "root_path": "", "query_string": b"",
             "headers": HEADERS, "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 8000)}

    async def create(app):
        messages = [{"type": "http.request", "body": BODY, "more_body": False}]
        async def receive():
            if messages:
                return messages.pop()
            await asyncio.sleep(3600)
        statuses = []
        async def send(message):
            if message["type"] == "http.response.start":
                statuses.append(message["status"])
        await app(dict(SCOPE), receive, send)
        if statuses != [200]:
            raise SystemExit(f"a create was answered {statuses}")

    async def main():
        app = app_from_environment()
        inbox, outbox = asyncio.Queue(), asyncio.Queue()
        await inbox.put({"type": "lifespan.startup"})
        scope = {"type": "lifespan", "asgi": {"version": "3.0"}}
        lifespan = asyncio.create_task(app(scope, inbox.get, outbox.put))
        started = await outbox.get()
        if started["type"] != "lifespan.startup.complete":
            raise SystemExit(f"the app did not start: {started}")
        async def client(count):
            for _ in range(count):
                await create(app)
        await asyncio.gather(*(client(max(1, REQUESTS // 10 // CONCURRENCY)) for _ in range(CONCURRENCY)))
        gc.collect()
        began = time.perf_counter()
        await asyncio.gather(*(client(REQUESTS // CONCURRENCY) for _ in range(CONCURRENCY)))
        elapsed = time.perf_counter() - began
        print(json.dumps({"us_per_request": elapsed / (REQUESTS // CONCURRENCY * CONCURRENCY) * 1e6}))
        await inbox.put({"type": "lifespan.shutdown"})
        await outbox.get()
        await lifespan

    uvloop.install()
    asyncio.run(main())
    """
)


def cost(checkout: Path, requests: int, concurrency: int, workdir: Path) -> float:
    """Microseconds per create for the app in `checkout`, measured in a fresh process."""
    store = workdir / f"store-{len(list(workdir.glob('store-*')))}.sqlite3"
    environment = {  # the caller's own MIXMOCK_* settings would change what is measured
        **{name: value for name, value in os.environ.items() if not name.startswith("MIXMOCK_")},
        "MIXMOCK_STORE": str(store),
        "MIXMOCK_ACCESS_LOG": "false",
        "BENCH_BODY": json.dumps(BODY, separators=(",", ":")),
    }
    command = [sys.executable, "-c", DRIVER, str(requests), str(concurrency)]
    done = subprocess.run(command, cwd=checkout, env=environment, capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        raise SystemExit(f"the app of {checkout} failed:\n{done.stderr[-3000:]}")
    figure: float = json.loads(done.stdout.strip().splitlines()[-1])["us_per_request"]
    return figure


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--baseline", metavar="REV", action="append", default=[], help="a git revision (repeatable)"
    )
    parser.add_argument("--rounds", type=int, default=5, help="runs per checkout, taking turns (default 5)")
    parser.add_argument("--requests", type=int, default=10000, help="creates per run (default 10000)")
    parser.add_argument("--concurrency", type=int, default=16, help="creates in flight (default 16)")
    args = parser.parse_args(argv)
    if args.rounds < 1 or args.requests < args.concurrency or args.concurrency < 1:
        parser.error("--rounds and --concurrency must be positive and --requests at least --concurrency")
    stop_on_sigterm()
    with ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="mixmock-bench-app-")))
        checkouts = {"this tree": ROOT}
        for revision in args.baseline:
            checkouts[revision] = stack.enter_context(baseline_checkout(revision, workdir))
        figures: dict[str, list[float]] = {name: [] for name in checkouts}
        for round_number in range(1, args.rounds + 1):
            for name, checkout in turns(list(checkouts.items()), round_number):
                figures[name].append(cost(checkout, args.requests, args.concurrency, workdir))
                print(f"round {round_number}  {name:14} {figures[name][-1]:7.1f} us/request")
    print(f"\n{args.requests} creates, {args.concurrency} in flight, in-process (us/request):")
    mine = figures["this tree"]
    for name, values in figures.items():
        median, least = statistics.median(values), min(values)
        figure = f"  {name:14} median {median:7.1f}  least {least:7.1f}"
        if name != "this tree":
            figure += f"   {name} / this tree: {median / statistics.median(mine):.2f} (median), "
            figure += f"{least / min(mine):.2f} (least)"
        print(figure)
    return 0


if __name__ == "__main__":
    sys.exit(main())
