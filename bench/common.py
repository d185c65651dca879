"""Helpers shared by the benchmarks: the machine, wrk runs, gunicorn servers, RESULTS.md."""

from __future__ import annotations

import os
import platform
import re
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
OUT = BENCH / "out"
RESULTS = BENCH / "RESULTS.md"
VENV_BIN = Path(sys.executable).parent


def machine() -> str:
    mem_kb = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            mem_kb = int(line.split()[1])
    cpu = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    return (
        f"{os.cpu_count()} cores ({cpu}), {mem_kb / 1024 / 1024:.0f} GiB, "
        f"Python {platform.python_version()}, {platform.system()} {platform.release()}"
    )


@contextmanager
def gunicorn(app_spec: str, port: int, env: dict[str, str], workers: int = 2) -> Iterator[str]:
    """Serve ``app_spec`` with gunicorn sync workers on 127.0.0.1:port until the block ends.

    The service's JSON request log (one line per request, as in production) goes to
    bench/out/gunicorn-<port>.log.
    """
    OUT.mkdir(exist_ok=True)
    log = (OUT / f"gunicorn-{port}.log").open("w")
    process = subprocess.Popen(
        [
            str(VENV_BIN / "gunicorn"),
            "--workers",
            str(workers),
            "--bind",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
            app_spec,
        ],
        env={**os.environ, **env},
        cwd=ROOT,
        stderr=log,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(base + "/.well-known/consent-keys", timeout=1)
                break
            except urllib.error.HTTPError:
                break  # any HTTP answer means it is up
            except OSError:
                time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=20)
        log.close()


def wrk(
    url: str, *, seconds: int, connections: int, script: Path | None = None
) -> dict[str, float]:
    """Requests per second and latency percentiles (ms) reported by wrk."""
    command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", url]
    if script:
        command[1:1] = ["-s", str(script)]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    result = {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))}
    for label in ("50%", "90%", "99%"):
        match = re.search(rf"{re.escape(label)}\s+([\d.]+)(us|ms|s)", output)
        value, unit = float(match.group(1)), match.group(2)
        result["p" + label[:-1]] = (
            value / 1000 if unit == "us" else value * (1000 if unit == "s" else 1)
        )
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    result["non_2xx"] = float(errors.group(1)) if errors else 0.0
    return result


def write_section(name: str, markdown: str) -> None:
    """Replace this benchmark's section in RESULTS.md (other sections are kept)."""
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    text = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n\n"
    block = f"{start}\n{markdown.strip()}\n{end}"
    if start in text:
        text = re.sub(re.escape(start) + r".*?" + re.escape(end), lambda _: block, text, flags=re.S)
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    RESULTS.write_text(text)


def stamp() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
