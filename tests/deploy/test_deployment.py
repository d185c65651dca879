"""The whole deployment on one machine (deploy/selftest.py): nginx with TLS in front of two
gunicorn nodes over one PostgreSQL database, Redis and a shared media directory, and a webhook
deliverer. It passes every check, and whether it ends normally or is interrupted, it leaves no
process of its own behind.

Needs Debian's nginx (skipped without it), PostgreSQL on 127.0.0.1:5432 (its own database,
consent_deploy, emptied), Redis on 127.0.0.1:6379, openssl and wrk.
"""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SELFTEST = ROOT / "deploy" / "selftest.py"
WORK_PREFIX = "consent-deploy-"  # the self-test's working directories (tempfile prefix)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.deployment,
    pytest.mark.skipif(
        not shutil.which("nginx"), reason="nginx is not installed: apt-get install nginx"
    ),
]


def left_behind() -> list[str]:
    """Processes still running that belong to a self-test run (by their command line or
    environment naming its working directory, or its gunicorn configuration)."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            environ = (proc / "environ").read_bytes()
        except OSError:
            continue
        if WORK_PREFIX.encode() in environ or WORK_PREFIX in cmdline:
            found.append(f"{proc.name}: {cmdline[:160]}")
    return found


def test_deployment_passes_every_check_and_stops_everything() -> None:
    before = left_behind()
    result = subprocess.run(
        [sys.executable, str(SELFTEST), "--quick"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-3000:]
    assert "FAILED" not in result.stdout
    time.sleep(1)
    assert left_behind() == before


def test_interrupted_deployment_stops_everything() -> None:
    before = left_behind()
    process = subprocess.Popen(
        [sys.executable, str(SELFTEST), "--quick"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    output = []
    for line in process.stdout:  # until the deployment is up and the checks begin
        output.append(line)
        if line.startswith("-- "):
            break
    process.send_signal(signal.SIGINT)
    rest, _ = process.communicate(timeout=120)
    output.append(rest)
    text = "".join(output)
    assert process.returncode == 1, text
    assert "interrupted" in text
    time.sleep(1)
    assert left_behind() == before
    kept = re.search(r"working directory kept: (\S+)", text)
    if kept and WORK_PREFIX in kept.group(1):
        shutil.rmtree(kept.group(1), ignore_errors=True)
