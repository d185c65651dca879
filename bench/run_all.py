"""`make bench`: run every benchmark; each rewrites its own section of bench/RESULTS.md, with
the date, the machine (cores, memory, CPU, Python, SQLite and PostgreSQL versions) and the
command that produced it.

    .venv/bin/python bench/run_all.py [--quick] [--only upload load_sqlite ...]

Needs wrk (Debian package `wrk`) for the verify figures, and PostgreSQL for the recording,
crash and load figures on PostgreSQL: the database of CONSENT_BENCH_DATABASE_URL (default
postgresql://postgres@127.0.0.1:5432/consent_bench, created if missing and emptied by each
run). Takes about 45 minutes on 2 cores: building the 100,000-consent and 1,000,000-leaf data
sets (kept in bench/out/), five minutes of mixed load on each database, two minutes of crashes.

``--quick`` runs every benchmark at a tiny size, to check that they all still work (a smoke
run, no figure worth keeping): its results go to bench/out/RESULTS-quick.md and its files to
bench/out/quick/, unless CONSENT_BENCH_RESULTS and CONSENT_BENCH_OUT name others;
bench/RESULTS.md is left alone.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent
# name: (script, full arguments, quick arguments)
RUNS: dict[str, tuple[str, list[str], list[str]]] = {
    "verify_http": (
        "verify_http.py",
        ["--sizes", "1000", "100000", "1000000", "--seconds", "5", "--rounds", "3"],
        ["--sizes", "200", "--seconds", "1", "--rounds", "1"],
    ),
    "ledger": (
        "ledger.py",
        ["--sizes", "1000", "100000", "1000000", "--appends", "2000"],
        ["--sizes", "1000", "--appends", "20", "--samples", "20"],
    ),
    "pdf": ("pdf.py", ["--rounds", "15", "--seconds", "5"], ["--rounds", "2", "--seconds", "1"]),
    "upload": (
        "upload.py",
        ["--rounds", "41", "--video-mb", "500"],
        ["--rounds", "2", "--video-mb", "8", "--consents", "20"],
    ),
    "recording": (
        "recording.py",
        ["--consents", "300", "--pg-writers", "4"],
        ["--consents", "3", "--pg-writers", "2"],
    ),
    "crash_postgres": (
        "crash.py",
        ["--writers", "4", "--seconds", "120", "--kills", "8", "--db", "postgres"],
        ["--writers", "2", "--seconds", "8", "--kills", "2", "--db", "postgres"],
    ),
    "crash_sqlite": (
        "crash.py",
        ["--writers", "2", "--seconds", "60", "--kills", "4", "--db", "sqlite"],
        ["--writers", "1", "--seconds", "6", "--kills", "1", "--db", "sqlite"],
    ),
    "decode": ("decode.py", ["--rounds", "3"], ["--rounds", "1"]),
    "slow_clients": (
        "slow_clients.py",
        ["--slow", "50", "--seconds", "30"],
        ["--slow", "5", "--seconds", "3"],
    ),
    "tablet_pages": (
        "tablet_pages.py",
        ["--video-seconds", "30"],
        ["--video-seconds", "3"],
    ),
    "load_sqlite": (
        "load.py",
        ["--seconds", "300", "--db", "sqlite"],
        ["--seconds", "3", "--db", "sqlite", "--consents", "50", "--clients", "2"],
    ),
    "load_postgres": (
        "load.py",
        ["--seconds", "300", "--db", "postgres"],
        ["--seconds", "3", "--db", "postgres", "--consents", "50", "--clients", "2"],
    ),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes: a smoke run")
    parser.add_argument("--only", nargs="+", choices=list(RUNS), help="these benchmarks only")
    args = parser.parse_args(argv)
    env = dict(os.environ)
    if args.quick:
        env.setdefault("CONSENT_BENCH_OUT", str(BENCH / "out" / "quick"))
        env.setdefault("CONSENT_BENCH_RESULTS", str(BENCH / "out" / "RESULTS-quick.md"))
    failed = []
    for name in args.only or list(RUNS):
        script, full, quick = RUNS[name]
        arguments = quick if args.quick else full
        print(f"== {script} {' '.join(arguments)}", flush=True)
        result = subprocess.run(
            [sys.executable, str(BENCH / script), *arguments], env=env, check=False
        )
        if result.returncode:
            print(f"{script} failed with status {result.returncode}", file=sys.stderr)
            failed.append(name)
    print(f"results: {env.get('CONSENT_BENCH_RESULTS') or BENCH / 'RESULTS.md'}")
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
