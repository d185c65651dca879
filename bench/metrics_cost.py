"""What counting a request for GET /metrics costs (consent.web.metrics.observe_request, called by
the request log for every request, the verify fast path's included).

    .venv/bin/python bench/metrics_cost.py [--results]

Measured twice: with the process's own registry (``make run``, tests) and with
PROMETHEUS_MULTIPROC_DIR set (gunicorn under deploy/gunicorn.conf.py: each count is written to
a memory-mapped file). Best of 5 rounds of 200,000 calls, a verify call's labels.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import load_average, machine, stamp, write_section

CALLS = 200_000
MEASURE = f"""
import timeit
from consent.web import metrics
environ = {{"consent.route": "/api/v1/verify", "REQUEST_METHOD": "GET"}}
best = min(timeit.repeat(lambda: metrics.observe_request(environ, 200, 0.002),
                         number={CALLS}, repeat=5))
print(round(best / {CALLS} * 1e6, 2))
"""


def measure(multiprocess_dir: str | None) -> float:
    env = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
    if multiprocess_dir:
        env["PROMETHEUS_MULTIPROC_DIR"] = multiprocess_dir
    out = subprocess.run(
        [sys.executable, "-c", MEASURE], env=env, capture_output=True, text=True, check=True
    ).stdout
    return float(out.strip())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--results", action="store_true", help="write bench/RESULTS.md")
    args = parser.parse_args(argv)
    own = measure(None)
    with tempfile.TemporaryDirectory() as directory:
        shared = measure(directory)
    print(f"per request: {own} µs (own registry), {shared} µs (multiprocess files)")
    if args.results:
        write_section(
            "metrics",
            "\n".join(
                [
                    "## Counting a request for /metrics (issue 22)",
                    "",
                    "Command: `.venv/bin/python bench/metrics_cost.py --results`  ",
                    f"Date: {stamp()}; machine: {machine()}; load average: {load_average()}",
                    "",
                    "`consent.web.metrics.observe_request` for a verify call (a counter and the "
                    "latency histogram, label children looked up once), best of 5 rounds of "
                    f"{CALLS:,} calls: {own} µs with the process's own registry, {shared} µs "
                    "with PROMETHEUS_MULTIPROC_DIR (each count written to a memory-mapped file, "
                    "as under deploy/gunicorn.conf.py). The machine is shared: see the load.",
                ]
            ),
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
