"""Latency of a normal request while 50 slow clients are connected (issue 17).

Each slow client opens a connection and sends `GET /withdraw` one byte a second, reconnecting
when the server closes it. Meanwhile one client sends `GET /withdraw` in a loop, each with a
timeout; its latencies are reported. Two servers in turn: `make run`'s options (read from the
Makefile) and what `make run` served before issue 17 (two sync workers, no proxy).

    .venv/bin/python bench/slow_clients.py [--slow 50 --seconds 30]
"""

from __future__ import annotations

import argparse
import re
import shlex
import socket
import statistics
import sys
import threading
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import OUT, ROOT, Gunicorn, Instance, free_port, machine, stamp, write_section

BREAK = "  "  # a Markdown line break
REQUEST = b"GET /withdraw HTTP/1.1\r\nHost: bench\r\nUser-Agent: slow\r\n\r\n"


def make_run_options() -> tuple[str, ...]:
    match = re.search(r"^RUN_SERVER_OPTIONS := (.+)$", (ROOT / "Makefile").read_text(), re.M)
    assert match
    return tuple(shlex.split(match.group(1)))


def slow_client(port: int, stop: threading.Event) -> None:
    while not stop.is_set():
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=5) as connection:
                for byte in REQUEST:
                    if stop.is_set():
                        return
                    connection.sendall(bytes([byte]))
                    stop.wait(1.0)
        except OSError:
            stop.wait(0.2)


def measure(server: Gunicorn, slow: int, seconds: float) -> dict[str, float]:
    stop = threading.Event()
    threads = [
        threading.Thread(target=slow_client, args=(server.port, stop), daemon=True)
        for _ in range(slow)
    ]
    for thread in threads:
        thread.start()
    time.sleep(2)  # every slow client connected and sending
    latencies, failures = [], 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        started = time.perf_counter()
        try:
            with urllib.request.urlopen(server.base + "/withdraw", timeout=30) as answer:
                answer.read()
            latencies.append((time.perf_counter() - started) * 1000)
        except OSError:
            failures += 1
        time.sleep(0.2)
    stop.set()
    for thread in threads:
        thread.join(timeout=5)
    latencies.sort()
    return {
        "answered": len(latencies),
        "failed": failures,
        "p50": statistics.median(latencies) if latencies else float("nan"),
        "max": latencies[-1] if latencies else float("nan"),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--slow", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=30)
    args = parser.parse_args(argv)
    instance = Instance.fresh("slow-clients")
    configurations = {
        "make run (deploy/gunicorn.conf.py, 2 workers x 8 threads, BufferingThreadWorker)": (
            make_run_options()
        ),
        "before issue 17 (gunicorn --workers 2, sync)": ("--workers", "2"),
    }
    rows = []
    for name, options in configurations.items():
        server = Gunicorn("consent:create_app()", free_port(), instance.env, extra=options)
        try:
            server.start()
            result = measure(server, args.slow, args.seconds)
        finally:
            server.close()
        rows.append(
            f"| {name} | {result['answered']} | {result['failed']} | "
            f"{result['p50']:,.1f} | {result['max']:,.1f} |"
        )
        print(rows[-1], flush=True)
    write_section(
        "slow_clients",
        f"""## A normal request while {args.slow} slow clients are connected (issue 17)

Command: `.venv/bin/python bench/slow_clients.py --slow {args.slow} --seconds {args.seconds:g}`\
{BREAK}
Machine: {machine()}; SQLite.  Date: {stamp()}

{args.slow} clients each send `GET /withdraw` one byte a second (reconnecting when closed) while
one client sends `GET /withdraw` every 0.2 s for {args.seconds:g} s, each with a 30 s timeout.
Latency of that client's requests, in ms (server and clients on the same 2 cores).

| server | answered | failed (timeout) | p50 ms | max ms |
|---|---:|---:|---:|---:|
"""
        + "\n".join(rows),
    )
    print(f"logs: {OUT}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
