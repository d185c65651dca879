"""Recording consents over HTTP: per second on SQLite (one writer), and on PostgreSQL with four
concurrent writer processes; then the audit of what was written.

    .venv/bin/python bench/recording.py [--consents 300] [--pg-writers 4] [--db sqlite postgres]

Each consent is the whole write path a clinician's system drives (bench/client.py): register a
patient, upload a photo (a 16x16 PNG), open a request, record the decision (signed receipt and
log leaf in one transaction). The server is gunicorn (sync workers: 2 on SQLite, one per writer
on PostgreSQL) on 127.0.0.1; writers are separate processes on the same host. PostgreSQL: the
database of CONSENT_BENCH_DATABASE_URL (default postgresql://postgres@127.0.0.1/consent_bench),
emptied first. Issue 9 part 1.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.client import CallFailed, percentile, record_consent
from bench.common import (
    OUT,
    Instance,
    database_versions,
    load_average,
    machine,
    postgres_url,
    served,
    stamp,
    write_section,
)

START_TIMEOUT = 120.0


def writer(base: str, key: str, count: int, salt: int, barrier: Any, results: Any) -> None:
    """One writer process: ``count`` consents in a row; reports timings or the first failure."""
    try:
        barrier.wait(timeout=START_TIMEOUT)
        started = time.perf_counter()
        timings = []
        for number in range(count):
            recorded = record_consent(base, key, number, salt)
            timings.append((recorded.seconds, recorded.decision_seconds))
        results.put(("ok", salt, started, time.perf_counter(), timings))
    except CallFailed as exc:
        results.put(("error", salt, 0.0, 0.0, str(exc)))


def run(database: str, *, writers: int, consents: int, port: int) -> dict[str, Any]:
    """Record ``consents`` per writer on a fresh instance; the figures and the audit's verdict."""
    url = postgres_url() if database == "postgres" else None
    instance = Instance.fresh(f"recording-{database}", url)
    key = instance.api_key()
    instance.dispose()
    workers = max(2, writers)
    context = multiprocessing.get_context("spawn")
    with served("consent:create_app()", port, instance.env, workers=workers) as server:
        barrier = context.Barrier(writers)
        results = context.Queue()
        processes = [
            context.Process(
                target=writer, args=(server.base, key, consents, salt, barrier, results)
            )
            for salt in range(writers)
        ]
        for process in processes:
            process.start()
        reports = [results.get(timeout=START_TIMEOUT + 3600) for _ in processes]
        for process in processes:
            process.join(timeout=30)
    failures = [report[4] for report in reports if report[0] != "ok"]
    if failures:
        raise SystemExit(f"a writer failed on {database}: {failures[0]}")
    first = min(report[2] for report in reports)
    last = max(report[3] for report in reports)
    flows = [timing[0] for report in reports for timing in report[4]]
    decisions = [timing[1] for report in reports for timing in report[4]]
    passed, verdict = instance.audit()
    return {
        "database": database,
        "writers": writers,
        "gunicorn_workers": workers,
        "consents": len(flows),
        "seconds": last - first,
        "per_second": len(flows) / (last - first),
        "p50_ms": percentile(flows, 0.5) * 1000,
        "p99_ms": percentile(flows, 0.99) * 1000,
        "decision_p50_ms": percentile(decisions, 0.5) * 1000,
        "decision_p99_ms": percentile(decisions, 0.99) * 1000,
        "audit_passed": passed,
        "audit": verdict,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--consents", type=int, default=300, help="per writer")
    parser.add_argument("--pg-writers", type=int, default=4)
    parser.add_argument("--db", nargs="+", choices=["sqlite", "postgres"], default=None)
    parser.add_argument("--port", type=int, default=5311)
    args = parser.parse_args(argv)
    databases = args.db or ["sqlite", "postgres"]
    OUT.mkdir(exist_ok=True)
    load_before = load_average()
    runs = [
        run(
            database,
            writers=1 if database == "sqlite" else args.pg_writers,
            consents=args.consents,
            port=args.port,
        )
        for database in databases
    ]
    results = {
        "machine": machine(),
        "databases": database_versions(postgres_url() if "postgres" in databases else None),
        "date": stamp(),
        "load_before": load_before,
        "load_after": load_average(),
        "runs": runs,
    }
    (OUT / "recording.json").write_text(json.dumps(results, indent=2))
    report(results, args, databases)
    return 0 if all(entry["audit_passed"] for entry in runs) else 1


def report(results: dict[str, Any], args: argparse.Namespace, databases: list[str]) -> None:
    lines = [
        "## Recording consents over HTTP (issue 9, part 1)",
        "",
        f"Command: `.venv/bin/python bench/recording.py --consents {args.consents} "
        f"--pg-writers {args.pg_writers} --db {' '.join(databases)}`  ",
        f"Machine: {results['machine']}; {results['databases']}; load average "
        f"{results['load_before']} before, {results['load_after']} after.  "
        f"Date: {results['date']}",
        "",
        "One consent = the whole write path over HTTP: register the patient, upload the photo, "
        "open the request, record the decision (signed receipt and log leaf in one "
        "transaction). Writers are separate processes on 127.0.0.1, each recording "
        f"{args.consents} consents in a row; gunicorn sync workers. Then "
        "`flask --app consent audit` on what was written.",
        "",
        "| database | writers | gunicorn workers | consents | consents/s | p50 ms per consent "
        "| p99 ms per consent | decision p50 ms | decision p99 ms | audit |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for entry in results["runs"]:
        lines.append(
            f"| {entry['database']} | {entry['writers']} | {entry['gunicorn_workers']} | "
            f"{entry['consents']} | **{entry['per_second']:.1f}** | {entry['p50_ms']:.1f} | "
            f"{entry['p99_ms']:.1f} | {entry['decision_p50_ms']:.1f} | "
            f"{entry['decision_p99_ms']:.1f} | "
            f"{'passed' if entry['audit_passed'] else 'FAILED: ' + entry['audit']} |"
        )
    write_section("recording", "\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    sys.exit(main())
