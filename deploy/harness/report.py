"""The self-test's figures as a section of bench/RESULTS.md (``deploy/selftest.py --results``)."""

from __future__ import annotations

import re
import subprocess

from bench.common import database_versions, load_average, machine, stamp, write_section
from deploy.harness.results import Results


def cpu_model() -> str:
    """The CPU model as lscpu names it."""
    output = subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout
    found = re.search(r"Model name:\s+(.+)", output)
    return found.group(1).strip() if found else "unknown"


def nginx_version() -> str:
    output = subprocess.run(["nginx", "-v"], capture_output=True, text=True, check=False).stderr
    return output.strip().split("/")[-1] or "unknown"


NOTES = """Each node runs gunicorn with deploy/gunicorn.conf.py and 2 sync workers; nginx runs
deploy/nginx/consent.conf (2 worker processes). Throughput: `wrk -t2 -c16 -d10s` over HTTPS
(keep-alive to nginx, a new connection from nginx to a node per request), verify by hash with
one API key, its per-key counter in Redis. Everything shares one 2-core host (nginx, wrk,
PostgreSQL, Redis, both nodes, and other sessions: see the load average), so "two nodes" is 4
workers on the same 2 cores: the ratio says how much more of those cores two nodes keep busy
(a sync worker waits on PostgreSQL), not how two hosts scale. Slow clients: 50 TLS connections
to nginx sending a byte a second (25 still in their headers, dropped by nginx after 10 s and
reconnecting; 25 in a 1 MB body) for 15 s, while verify is called 5 times a second on one
keep-alive connection; the contrast sends 2 such header clients straight to a node's gunicorn.
SIGKILL: 4 writer threads record consents (patient, photo, request, decision) through nginx for
30 s; node A's process group is killed at 35 % and started again at 65 %; then every
acknowledged consent is looked up (id, log index, signature), the receipts fetched, and
`flask --app consent audit` run. Rolling restart: 3 clients (each: a consent, three verifies
and its receipt, over and over; GETs asked again on a gateway error, POSTs never) while
`flask db upgrade` runs, node A is drained in nginx, stopped (SIGTERM), started and put back,
and node B is reloaded (SIGHUP)."""


def write_results(results: Results, argv: list[str]) -> None:
    """Add (or replace) the ``deployment`` section at the end of bench/RESULTS.md."""
    from deploy.selftest import DEFAULT_DATABASE

    lines = [
        "## Deployment self-test: nginx, two nodes, PostgreSQL, Redis (issue 22)",
        "",
        f"Command: `.venv/bin/python deploy/selftest.py {' '.join(argv)}`  ",
        f"Date: {stamp()}; CPU (lscpu): {cpu_model()}; machine: {machine()}; "
        f"{database_versions(DEFAULT_DATABASE)}; nginx {nginx_version()}; "
        f"load average at the end: {load_average()}",
        "",
        NOTES,
        "",
        "| figure | value |",
        "|---|---|",
    ]
    lines += [f"| {name} | {value} |" for name, value in results.figures.items()]
    lines += [
        "",
        "Checks: "
        + ", ".join(
            f"{name} ({'ok' if passed else 'FAILED'})" for name, passed, _ in results.checks
        ),
    ]
    write_section("deployment", "\n".join(lines))
