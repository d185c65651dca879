"""Crash test: writers record consents against gunicorn while its workers are killed with
SIGKILL (and, once, the master with them); the service is restarted; then nothing recorded may
be lost or half-written.

    .venv/bin/python bench/crash.py [--writers 4] [--seconds 120] [--kills 8] [--db postgres]

After the last kill and a restart it checks:
- ``flask --app consent audit`` passes (every leaf recomputed, every signature, the tree, the
  head, every record matched to its leaf);
- in SQL, no consent without its log leaf, no log leaf without its record, no gap in the log;
- every consent a writer saw acknowledged (a 201 with its receipt) is stored, at the log index
  and with the signature the writer was given, and the restarted service answers its receipt.
Exit status 1 when any check fails. Issue 9, part 2; tests/test_crash.py runs a bounded version.
"""

from __future__ import annotations

import argparse
import base64
import json
import multiprocessing
import random
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.client import CallFailed, call, record_consent
from bench.common import (
    OUT,
    Gunicorn,
    Instance,
    database_versions,
    free_port,
    machine,
    postgres_url,
    stamp,
    write_section,
)

# Receipts fetched back over HTTP after the restart (all of them up to this many).
RECEIPT_SAMPLE = 500


def writer(base: str, key: str, salt: int, until: float, acks: str, results: Any) -> None:
    """Record consents until the wall-clock time ``until``; append each acknowledged one to
    ``acks`` (one JSON line, flushed at once) and start over with a new patient on a failure."""
    acknowledged = failed = 0
    number = 0
    with open(acks, "a") as sink:
        while time.time() < until:
            number += 1
            try:
                recorded = record_consent(base, key, number, salt)
            except CallFailed:
                failed += 1
                time.sleep(0.05 + random.random() * 0.1)
                continue
            sink.write(
                json.dumps(
                    {
                        "consent_id": recorded.consent_id,
                        "log_index": recorded.log_index,
                        "signature": recorded.signature,
                        "sha256": recorded.sha256,
                    }
                )
                + "\n"
            )
            sink.flush()
            acknowledged += 1
    results.put((salt, acknowledged, failed))


@dataclass
class CrashReport:
    writers: int
    seconds: float
    kills: list[str] = field(default_factory=list)
    acknowledged: int = 0
    failed_calls: int = 0
    stored: int = 0
    audit_passed: bool = False
    audit: str = ""
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.audit_passed and not self.problems


def crash_run(
    *,
    server: Gunicorn,
    instance: Instance,
    key: str,
    writers: int,
    seconds: float,
    kills: int,
    acks_dir: Path,
    seed: int = 9,
) -> CrashReport:
    """Writers against ``server`` for ``seconds`` with ``kills`` kills spread over the run (the
    middle one takes the master too), a last kill of everything, a restart, then the checks."""
    rng = random.Random(seed)
    report = CrashReport(writers=writers, seconds=seconds)
    # Private like the instance it may sit in (the service refuses an instance others can read).
    acks_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    acks_dir.chmod(0o700)
    for old in acks_dir.glob("acks-*.jsonl"):
        old.unlink()
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    server.start()
    started = time.time()
    until = started + seconds
    processes = [
        context.Process(
            target=writer,
            args=(server.base, key, salt, until, str(acks_dir / f"acks-{salt}.jsonl"), results),
        )
        for salt in range(writers)
    ]
    for process in processes:
        process.start()
    slot = seconds / (kills + 1)
    for number in range(kills):
        # Somewhere in each slot, never at a predictable moment in the write path.
        time.sleep(max(0.0, started + slot * (number + 0.5 + rng.random()) - time.time()))
        if number == kills // 2:
            server.kill_all()
            report.kills.append(f"{time.time() - started:.1f}s master and workers")
            server.start()
        else:
            # A worker, once the master has one up (it may be replacing the last victim).
            deadline = time.time() + 30
            while not (pids := server.worker_pids()) and time.time() < deadline:
                time.sleep(0.05)
            if pids:
                server.kill_worker(rng.choice(pids))
                report.kills.append(f"{time.time() - started:.1f}s worker")
    for _ in processes:
        _, acknowledged, failed = results.get(timeout=seconds + 300)
        report.acknowledged += acknowledged
        report.failed_calls += failed
    for process in processes:
        process.join(timeout=30)
    server.kill_all()
    report.kills.append("end: master and workers")
    server.start()
    check(report, server=server, instance=instance, key=key, acks_dir=acks_dir)
    return report


def check(
    report: CrashReport, *, server: Gunicorn, instance: Instance, key: str, acks_dir: Path
) -> None:
    """Fill in the audit's verdict and every problem found (see the module's docstring)."""
    from sqlalchemy import text

    from consent.db import db

    report.audit_passed, report.audit = instance.audit()
    acks = [
        json.loads(line)
        for path in sorted(acks_dir.glob("acks-*.jsonl"))
        for line in path.read_text().splitlines()
        if line.strip()
    ]
    problems = report.problems
    with instance.app.app_context():
        session = db.session
        orphans = session.execute(
            text(
                'SELECT c.id FROM consents c LEFT JOIN log_leaves l ON l."index" = c.log_index '
                "AND l.record_id = c.id AND l.kind = 'consent' WHERE l.\"index\" IS NULL"
            )
        ).all()
        problems += [f"consent {row.id} has no log leaf" for row in orphans]
        lonely = session.execute(
            text(
                'SELECT l."index", l.kind, l.record_id FROM log_leaves l WHERE '
                "(l.kind = 'consent' AND NOT EXISTS "
                "(SELECT 1 FROM consents c WHERE c.id = l.record_id)) OR "
                "(l.kind = 'withdrawal' AND NOT EXISTS "
                "(SELECT 1 FROM withdrawals w WHERE w.id = l.record_id)) OR "
                "(l.kind = 'erasure' AND NOT EXISTS "
                "(SELECT 1 FROM patient_erasures e WHERE e.id = l.record_id))"
            )
        ).all()
        problems += [
            f"log leaf {index} ({kind} {record_id}) has no record"
            for index, kind, record_id in lonely
        ]
        count, top = session.execute(text('SELECT count(*), max("index") FROM log_leaves')).one()
        size = session.execute(text("SELECT size FROM log_head")).scalar_one()
        if count != size or (top if top is not None else -1) != size - 1:
            problems.append(f"log of {count} leaves, last index {top}, but the head says {size}")
        stored = {
            row.id: (row.log_index, base64.b64encode(bytes(row.signature)).decode())
            for row in session.execute(text("SELECT id, log_index, signature FROM consents"))
        }
        session.remove()
    report.stored = len(stored)
    for ack in acks:
        found = stored.get(ack["consent_id"])
        if found is None:
            problems.append(f"acknowledged consent {ack['consent_id']} is missing")
        elif found != (ack["log_index"], ack["signature"]):
            problems.append(f"acknowledged consent {ack['consent_id']} differs from its receipt")
    for ack in random.Random(1).sample(acks, min(RECEIPT_SAMPLE, len(acks))):
        try:
            envelope = call(
                server.base, "GET", f"/api/v1/consents/{ack['consent_id']}/receipt", key
            )
        except CallFailed as exc:
            problems.append(f"receipt of acknowledged consent {ack['consent_id']}: {exc}")
            continue
        if envelope["signature"] != ack["signature"]:
            problems.append(f"the service answers another receipt for {ack['consent_id']}")
    if len(acks) != report.acknowledged:
        problems.append(f"writers counted {report.acknowledged} acks but wrote {len(acks)}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--writers", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=120)
    parser.add_argument("--kills", type=int, default=8)
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="postgres")
    args = parser.parse_args(argv)
    url = postgres_url() if args.db == "postgres" else None
    instance = Instance.fresh(f"crash-{args.db}", url)
    key = instance.api_key()
    server = Gunicorn(
        "consent:create_app()", free_port(), instance.env, workers=max(2, args.writers)
    )
    try:
        report = crash_run(
            server=server,
            instance=instance,
            key=key,
            writers=args.writers,
            seconds=args.seconds,
            kills=args.kills,
            acks_dir=instance.path / "acks",
        )
    finally:
        server.close()
        instance.dispose()
    results = {
        "machine": machine(),
        "databases": database_versions(url),
        "date": stamp(),
        "database": args.db,
        **report.__dict__,
        "ok": report.ok,
    }
    (OUT / f"crash-{args.db}.json").write_text(json.dumps(results, indent=2))
    lines = [
        f"## Crash test on {'PostgreSQL' if args.db == 'postgres' else 'SQLite'} (issue 9, part 2)",
        "",
        f"Command: `.venv/bin/python bench/crash.py --writers {args.writers} "
        f"--seconds {args.seconds:g} --kills {args.kills} --db {args.db}`  ",
        f"Machine: {results['machine']}; {results['databases']}.  Date: {results['date']}",
        "",
        f"{args.writers} writer processes recorded consents over HTTP (patient, photo, request, "
        f"decision) against gunicorn ({server.workers} sync workers) for {args.seconds:g} s; "
        f"SIGKILLs: {', '.join(report.kills)}; then a restart.",
        "",
        f"- acknowledged consents: {report.acknowledged}; stored: {report.stored} "
        f"(the difference: decisions committed whose answer was lost in a kill); failed calls "
        f"during the kills: {report.failed_calls}",
        f"- audit: {'passed' if report.audit_passed else 'FAILED'} ({report.audit})",
        "- consents without their leaf, leaves without their record, log gaps, acknowledged "
        "consents missing or different, receipts not answered after the restart: "
        + ("none" if not report.problems else f"**{len(report.problems)}**"),
    ]
    lines += [f"  - {problem}" for problem in report.problems[:20]]
    write_section(f"crash_{args.db}", "\n".join(lines))
    print("\n".join(lines))
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
