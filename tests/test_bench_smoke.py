"""The benchmarks of issue 9 still run: each at a tiny size, on SQLite, into a scratch folder.

Nothing about speed is asserted (figures from a test run mean nothing); what is checked is that
the script completes, passes its own checks (exit status 0: zero errors, the audit passed), and
writes its section of the results file and its JSON figures.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# Hang guard, not a speed limit.
TIMEOUT = 600

SMOKE_RUNS = {
    "upload": (
        ["upload.py", "--rounds", "1", "--video-mb", "8", "--consents", "20", "--port", "0"],
        "upload.json",
    ),
    "recording": (
        ["recording.py", "--consents", "2", "--db", "sqlite", "--port", "0"],
        "recording.json",
    ),
    "crash_sqlite": (
        ["crash.py", "--writers", "1", "--seconds", "5", "--kills", "1", "--db", "sqlite"],
        "crash-sqlite.json",
    ),
    # The tablet's path in throttled Chromium, with a 3-second video (issue 21).
    "tablet_pages": (
        ["tablet_pages.py", "--video-seconds", "3", "--port", "0"],
        "tablet-pages.json",
    ),
    "load_sqlite": (
        [
            "load.py",
            "--seconds",
            "2",
            "--db",
            "sqlite",
            "--consents",
            "20",
            "--clients",
            "1",
            "--workers",
            "2",
            "--port",
            "0",
        ],
        "load-sqlite.json",
    ),
}


@pytest.mark.slow
@pytest.mark.parametrize("section", list(SMOKE_RUNS))
def test_benchmark_runs_and_writes_its_section(section: str, tmp_path: Path) -> None:
    arguments, figures = SMOKE_RUNS[section]
    if section == "tablet_pages" and not Path("/usr/bin/chromium").exists():
        pytest.skip("Debian's Chromium (/usr/bin/chromium) is not installed")
    results = tmp_path / "RESULTS.md"
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "CONSENT_BENCH_OUT": str(tmp_path / "out"),
        "CONSENT_BENCH_RESULTS": str(results),
    }
    env.pop("CONSENT_DATABASE_URL", None)
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / arguments[0]), *arguments[1:]],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    text = results.read_text()
    assert f"<!-- {section}:start -->" in text and f"<!-- {section}:end -->" in text
    assert "Command: `.venv/bin/python bench/" in text and "Machine: " in text
    assert json.loads((tmp_path / "out" / figures).read_text())
