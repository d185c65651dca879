"""`make bench`: run every benchmark; each rewrites its own section of bench/RESULTS.md.

    .venv/bin/python bench/run_all.py

Needs wrk (Debian package `wrk`) for the HTTP figures. Takes about 15 minutes on 2 cores,
most of it building the 100,000-consent and 1,000,000-leaf data sets (kept in bench/out/).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent
RUNS = [
    ["verify_http.py", "--sizes", "1000", "100000", "--seconds", "5", "--rounds", "3"],
    ["ledger.py", "--sizes", "1000", "100000", "1000000", "--appends", "2000"],
    ["pdf.py", "--rounds", "15", "--seconds", "5"],
]


def main() -> int:
    for script, *args in RUNS:
        print(f"== {script} {' '.join(args)}", flush=True)
        result = subprocess.run([sys.executable, str(BENCH / script), *args], check=False)
        if result.returncode:
            print(f"{script} failed with status {result.returncode}", file=sys.stderr)
            return result.returncode
    print(f"results: {BENCH / 'RESULTS.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
