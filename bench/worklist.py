"""The clinician's worklist with 10,000 patients: time to answer a page, on SQLite and on
PostgreSQL, in process (the app's WSGI call through Flask's test client, signed in).

    .venv/bin/python bench/worklist.py [--patients 10000] [--postgres URL] [--calls 20]

Each figure is the median of ``--calls`` requests after one warm-up: the first page, a page
deep in the list, a state filter, and a search by record number (the keyed look-up). Names are
opened for the rows of the page only, so the cost should not grow with the number of patients.
Target (issue 18): under 100 ms a page.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from werkzeug.security import generate_password_hash

from bench.common import (
    Instance,
    bench_clinician,
    database_versions,
    load_average,
    machine,
    stamp,
    write_section,
)
from bench.dataset import populate
from consent.db import db

PASSWORD = "bench password, long enough"  # noqa: S105 (a throw-away bench account)


def measure(instance: Instance, patients: int, calls: int) -> dict[str, float]:
    app = instance.app
    populate(app, patients)
    with app.app_context():
        account = bench_clinician()
        account.password_hash = generate_password_hash(PASSWORD)
        email = account.email
        db.session.commit()
    app.config["WTF_CSRF_ENABLED"] = False
    app.config["RATELIMIT_ENABLED"] = False
    client = app.test_client()
    answer = client.post("/clinician/login", data={"email": email, "password": PASSWORD})
    assert answer.status_code == 302, answer.status_code
    with app.app_context():
        from sqlalchemy import select

        from consent.patients.models import Patient

        some = db.session.scalars(select(Patient.id).limit(1)).one()
    urls = {
        "first page": "/clinician/",
        "page 200": "/clinician/?page=200",
        "state filter (decided)": "/clinician/?state=decided&page=3",
        "record-number search": f"/clinician/?q=BENCH-{some}",
        "status (polled)": "/clinician/status",
    }
    results = {}
    for name, url in urls.items():
        assert client.get(url).status_code == 200, url
        times = []
        for _ in range(calls):
            started = time.perf_counter()
            response = client.get(url)
            times.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, url
        results[name] = statistics.median(times)
    return results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--patients", type=int, default=10_000)
    parser.add_argument("--calls", type=int, default=20)
    parser.add_argument("--postgres", default="")
    parser.add_argument("--results", action="store_true", help="write bench/RESULTS.md")
    args = parser.parse_args()
    table = {"SQLite": measure(Instance.fresh("worklist-sqlite"), args.patients, args.calls)}
    if args.postgres:
        table["PostgreSQL"] = measure(
            Instance.fresh("worklist-pg", args.postgres), args.patients, args.calls
        )
    names = list(next(iter(table.values())))
    lines = [
        "## The clinician's worklist with 10,000 patients (issue 18)",
        "",
        f"Command: `.venv/bin/python bench/worklist.py --patients {args.patients} "
        f"--calls {args.calls}{' --postgres URL' if args.postgres else ''} --results`  ",
        f"Machine: {machine()}; {database_versions(args.postgres or None)}; load {load_average()}."
        f"  Date: {stamp()}",
        "",
        f"In process (Flask test client, signed in as a clinician of the team), median of "
        f"{args.calls} calls in ms; {args.patients:,} patients, one decided request each. "
        "Target: under 100 ms a page.",
        "",
        "| page | " + " | ".join(table) + " |",
        "|---|" + "---:|" * len(table),
    ]
    for name in names:
        lines.append(f"| {name} | " + " | ".join(f"{table[db][name]:.1f}" for db in table) + " |")
    text = "\n".join(lines)
    print(text)
    if args.results:
        write_section("worklist", text)


if __name__ == "__main__":
    main()
