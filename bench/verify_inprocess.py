"""Verify by hash in process: WSGI calls straight into the app, against the bare endpoint.

    .venv/bin/python bench/verify_inprocess.py [--calls 3000] [--repeats 7] [--profile]

No server and no load generator: the cost of the app's own Python per call, the figure to
watch when optimising verify (bench/verify_http.py gives the throughput the issue's target
names). Reports the minimum over the repeats, which is the least disturbed by a busy host.
``--profile`` prints cProfile's top functions by own time.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.bare_app import app as bare
from bench.verify_http import prepare

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def environ(query: str, headers: dict[str, str]) -> dict[str, Any]:
    return {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": "/api/v1/verify",
        "QUERY_STRING": query,
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "5302",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_HOST": "127.0.0.1:5302",
        "wsgi.url_scheme": "http",
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
        "wsgi.version": (1, 0),
        **headers,
    }


def run(app: WSGIApp, environs: list[dict[str, Any]], calls: int) -> float:
    """Microseconds per call; fails on any answer but 200."""
    statuses: list[str] = []
    started = time.perf_counter()
    for number in range(calls):
        env = dict(environs[number % len(environs)])
        env["wsgi.input"] = io.BytesIO()
        b"".join(app(env, lambda status, headers, exc_info=None: statuses.append(status)))
    elapsed = time.perf_counter() - started
    if any(not status.startswith("200") for status in statuses):
        raise SystemExit(f"non-200 answers: {set(statuses)}")
    return elapsed / calls * 1e6


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", type=int, default=1000)
    parser.add_argument("--calls", type=int, default=3000)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    from consent import create_app

    instance, key, sample = prepare(args.size)
    # The per-key limit is counted, as in production, but out of reach of this many calls.
    app = create_app(
        {"INSTANCE_PATH": str(instance), "CONSENT_RATELIMIT_VERIFY": "1000000000/minute"}
    )
    header = {"HTTP_AUTHORIZATION": f"Bearer {key}"}
    verify_environs = [environ(f"purpose=teaching&sha256={sha}", header) for sha in sample]
    bare_environs = [environ(f"purpose=teaching&sha256={sample[0]}", header)]
    run(app, verify_environs, 100)  # the key looked up once, connections opened
    bare_us, verify_us = [], []
    for _ in range(args.repeats):
        bare_us.append(run(bare, bare_environs, args.calls))
        verify_us.append(run(app, verify_environs, args.calls))
    print(
        f"verify {min(verify_us):.1f} us per call, bare {min(bare_us):.1f} us "
        f"({min(verify_us) / min(bare_us):.2f}x), {args.size:,} consents"
    )
    if args.profile:
        profile = cProfile.Profile()
        profile.runcall(run, app, verify_environs, args.calls)
        pstats.Stats(profile).sort_stats("tottime").print_stats(30)


if __name__ == "__main__":
    main()
