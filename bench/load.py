"""Mixed load: 90% verify, 10% writes, from separate client processes on 127.0.0.1, for five
minutes; every error counted, p50 and p99 of each kind recorded.

    .venv/bin/python bench/load.py [--seconds 300] [--db sqlite|postgres] [--clients 4]

The server: gunicorn (``--workers`` sync workers) on a fresh instance holding ``--consents``
consents with real receipts (bench/dataset.py). The clients: ``--clients`` processes, each in a
closed loop (the next call when the last is answered, or paced with ``--rate`` operations per
second in all); each operation is a verify with probability 0.9, else a write:
- verify: GET /api/v1/verify?sha256=...&purpose=teaching for a stored photo; the answer must be
  200 and ``allowed``;
- write: the whole write path of one consent (patient, photo, request, decision: four calls,
  bench/client.py), every call with its expected status.
An error is any other status, a wrong decision, or no answer. Issue 9, part 3: zero errors.
The clients' and the server's CPU time are reported, to show which side the machine spent on.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import random
import resource
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.client import CallFailed, percentile, record_consent, verify
from bench.common import (
    OUT,
    Gunicorn,
    Instance,
    database_versions,
    load_average,
    machine,
    postgres_url,
    served,
    stamp,
    write_section,
)
from bench.dataset import populate

WRITE_SHARE = 0.1
START_TIMEOUT = 120.0


def client(
    base: str,
    key: str,
    hashes: list[str],
    number: int,
    seconds: float,
    rate: float,
    barrier: Any,
    results: Any,
) -> None:
    """One client process: mixed operations until ``seconds`` have passed; reports latencies."""
    rng = random.Random(number)
    verifies: list[float] = []
    writes: list[float] = []
    decisions: list[float] = []
    errors: list[str] = []
    barrier.wait(timeout=START_TIMEOUT)
    started = time.perf_counter()
    until = started + seconds
    operation = 0
    while (now := time.perf_counter()) < until:
        if rate:
            due = started + operation / rate
            if due > now:
                time.sleep(due - now)
        operation += 1
        sent = time.perf_counter()
        try:
            if rng.random() < WRITE_SHARE:
                recorded = record_consent(base, key, operation, salt=1000 + number)
                writes.append(recorded.seconds)
                decisions.append(recorded.decision_seconds)
            else:
                decision = verify(base, key, rng.choice(hashes))
                verifies.append(time.perf_counter() - sent)
                if decision != "allowed":
                    errors.append(f"verify answered {decision}")
        except CallFailed as exc:
            errors.append(str(exc))
    results.put((number, verifies, writes, decisions, errors))


def cpu_seconds(pids: list[int]) -> float:
    """User and system time of these processes so far (/proc/<pid>/stat), in seconds."""
    import os

    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (proc(5), from field 3)
    return total / os.sysconf("SC_CLK_TCK")


def run(args: argparse.Namespace) -> dict[str, Any]:
    url = postgres_url() if args.db == "postgres" else None
    instance = Instance.fresh(f"load-{args.db}", url)
    stored = populate(instance.app, args.consents)
    hashes = random.Random(3).sample(stored, min(1000, len(stored)))
    key = instance.api_key()
    instance.dispose()
    context = multiprocessing.get_context("spawn")
    with served("consent:create_app()", args.port, instance.env, workers=args.workers) as server:
        warm_up(server, key, hashes)
        barrier = context.Barrier(args.clients + 1)
        results = context.Queue()
        per_client_rate = args.rate / args.clients if args.rate else 0.0
        processes = [
            context.Process(
                target=client,
                args=(
                    server.base,
                    key,
                    hashes,
                    number,
                    args.seconds,
                    per_client_rate,
                    barrier,
                    results,
                ),
            )
            for number in range(args.clients)
        ]
        for process in processes:
            process.start()
        barrier.wait(timeout=START_TIMEOUT)
        workers = server.worker_pids()
        server_cpu = cpu_seconds(workers)
        started = time.perf_counter()
        reports = [results.get(timeout=args.seconds + 600) for _ in processes]
        wall = time.perf_counter() - started
        server_cpu = cpu_seconds(workers) - server_cpu
        respawned = sorted(set(server.worker_pids()) - set(workers))
        for process in processes:
            process.join(timeout=30)
        clients_cpu = resource.getrusage(resource.RUSAGE_CHILDREN)
    verifies = [value for report in reports for value in report[1]]
    writes = [value for report in reports for value in report[2]]
    decisions = [value for report in reports for value in report[3]]
    errors = [value for report in reports for value in report[4]]
    passed, verdict = instance.audit()
    return {
        "db": args.db,
        "seconds": wall,
        "verify": summary(verifies, wall),
        "write": summary(writes, wall),
        "decision": summary(decisions, wall),
        "errors": len(errors),
        "error_samples": errors[:10],
        "server_cpu_seconds": server_cpu,
        # The gunicorn servers of this process were its children too, but they are still
        # running here (RUSAGE_CHILDREN counts waited-for children only): this is the clients.
        "clients_cpu_seconds": clients_cpu.ru_utime + clients_cpu.ru_stime,
        "workers_respawned": len(respawned),
        "audit_passed": passed,
        "audit": verdict,
    }


def warm_up(server: Gunicorn, key: str, hashes: list[str]) -> None:
    """A few calls of each kind, so that no worker's first import counts as load."""
    for number in range(server.workers * 2):
        verify(server.base, key, hashes[number % len(hashes)])
        record_consent(server.base, key, number, salt=999)


def summary(latencies: list[float], wall: float) -> dict[str, float]:
    return {
        "count": len(latencies),
        "per_second": len(latencies) / wall if wall else 0.0,
        "p50_ms": percentile(latencies, 0.5) * 1000,
        "p99_ms": percentile(latencies, 0.99) * 1000,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=300)
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--workers", type=int, default=4, help="gunicorn sync workers")
    parser.add_argument("--rate", type=float, default=0, help="operations/s in all; 0: closed")
    parser.add_argument("--consents", type=int, default=1000, help="stored before the load")
    parser.add_argument("--port", type=int, default=5331)
    args = parser.parse_args(argv)
    OUT.mkdir(exist_ok=True)
    load_before = load_average()
    result = run(args)
    result.update(
        machine=machine(),
        databases=database_versions(postgres_url() if args.db == "postgres" else None),
        date=stamp(),
        load_before=load_before,
        load_after=load_average(),
    )
    (OUT / f"load-{args.db}.json").write_text(json.dumps(result, indent=2))
    report(result, args)
    return 0 if result["errors"] == 0 and result["audit_passed"] else 1


def report(result: dict[str, Any], args: argparse.Namespace) -> None:
    pacing = f"paced at {args.rate:g} operations/s in all" if args.rate else "closed loop"
    name = "PostgreSQL" if args.db == "postgres" else "SQLite"
    lines = [
        f"## Mixed load on {name}: 90% verify, 10% writes (issue 9, part 3)",
        "",
        f"Command: `.venv/bin/python bench/load.py --seconds {args.seconds:g} --db {args.db} "
        f"--clients {args.clients} --workers {args.workers} --rate {args.rate:g} "
        f"--consents {args.consents}`  ",
        f"Machine: {result['machine']}; {result['databases']}; load average "
        f"{result['load_before']} before, {result['load_after']} after.  Date: {result['date']}",
        "",
        f"gunicorn {args.workers} sync workers on 127.0.0.1, {args.consents:,} consents stored; "
        f"{args.clients} client processes on the same host ({pacing}) for "
        f"{result['seconds']:.0f} s. A write is the whole write path of one consent (four "
        "calls); an error is any non-2xx answer, a wrong verify decision, or no answer.",
        "",
        "| operation | count | per second | p50 ms | p99 ms |",
        "|---|---:|---:|---:|---:|",
    ]
    for label, key in (
        ("verify (GET by hash)", "verify"),
        ("write (one consent, 4 calls)", "write"),
        ("of which the decision call", "decision"),
    ):
        entry = result[key]
        lines.append(
            f"| {label} | {entry['count']:,} | {entry['per_second']:,.1f} | "
            f"{entry['p50_ms']:.2f} | {entry['p99_ms']:.2f} |"
        )
    lines += [
        "",
        f"Errors: **{result['errors']}**"
        + (f" (first: {'; '.join(result['error_samples'][:3])})" if result["errors"] else "")
        + f". Audit afterwards: {'passed' if result['audit_passed'] else 'FAILED'}. "
        f"CPU time: server workers {result['server_cpu_seconds']:.0f} s, clients "
        f"{result['clients_cpu_seconds']:.0f} s, over {result['seconds']:.0f} s on "
        f"{machine().split(' ', 1)[0]} cores (the clients share the machine: on a host this "
        "small they take CPU the server could have used; a load generator on another host "
        "would show higher rates).",
    ]
    write_section(f"load_{args.db}", "\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    sys.exit(main())
