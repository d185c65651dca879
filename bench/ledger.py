"""The log: append rate, and inclusion-proof time at 1,000, 100,000 and 1,000,000 leaves.

    .venv/bin/python bench/ledger.py [--sizes 1000 100000 1000000] [--appends 2000]

Appends go through consent.records.log.sign_and_log (reserve the index under the database's
lock, sign, append leaf and subtree hashes, move the head), one transaction each, as a consent
or withdrawal does. Proof logs are built in bulk: leaves are real signed envelopes' bytes
(kept small), subtree hashes computed with consent.ledger.merkle; the timed part is
consent.ledger.store.prove_inclusion reading them back. Target (issue 3): under 5 ms per
inclusion proof at a million leaves.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.bulklog import BulkLog
from bench.common import OUT, database_versions, machine, stamp, write_section
from consent import create_app
from consent.db import db
from consent.ledger import store
from consent.ledger.merkle_verify import verify_inclusion
from consent.records.log import sign_and_log
from consent.scripts.bootstrap import prepare_database, write_instance_secrets


def fresh_app(name: str):  # type: ignore[no-untyped-def]
    instance = OUT / name
    shutil.rmtree(instance, ignore_errors=True)
    write_instance_secrets(instance, key_name="bench.example/consent-log")
    app = create_app({"INSTANCE_PATH": str(instance)})
    prepare_database(app)
    return app


def append_rate(count: int) -> dict[str, float]:
    app = fresh_app("ledger-appends")
    with app.app_context():
        start = time.perf_counter()
        for number in range(count):
            sign_and_log(
                kind="consent",
                record_id=f"cs_{number:032x}",
                body={"type": "consent", "receipt_id": f"cs_{number:032x}"},
            )
            db.session.commit()
        elapsed = time.perf_counter() - start
    return {"appends": count, "seconds": elapsed, "per_second": count / elapsed}


def build_log(size: int):  # type: ignore[no-untyped-def]
    """A log of ``size`` leaves written in bulk, with every complete subtree hash."""
    app = fresh_app(f"ledger-{size}")
    with app.app_context():
        log = BulkLog(db.session)
        for index in range(size):
            data = json.dumps({"receipt": {"log_index": index}, "key_id": "bench"}).encode()
            log.add(data=data, kind="consent", record_id=f"cs_{index:032x}")
            if index % 20_000 == 0:
                log.flush()
        log.finish()
        db.session.commit()
    return app


def proof_times(app, size: int, samples: int) -> dict[str, float]:  # type: ignore[no-untyped-def]
    rng = random.Random(size)
    with app.app_context():
        head = store.head(db.session)
        # The right edge of a tree whose size is not a power of two is where proofs are longest.
        indices = [size - 1, size // 2] + [rng.randrange(size) for _ in range(samples)]
        for index in indices[:50]:  # warm the cache, and check the proofs are right
            proof = store.prove_inclusion(db.session, index=index, size=size)
            leaf = store.entry(db.session, index)
            verify_inclusion(
                leaf_hash=bytes(leaf.leaf_hash), index=index, size=size, proof=proof, root=head.root
            )
        timings = []
        for index in indices:
            start = time.perf_counter()
            store.prove_inclusion(db.session, index=index, size=size)
            timings.append((time.perf_counter() - start) * 1000)
        db.session.remove()
    timings.sort()
    return {
        "median_ms": statistics.median(timings),
        "p99_ms": timings[int(len(timings) * 0.99) - 1],
        "max_ms": timings[-1],
        "samples": len(timings),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 100_000, 1_000_000])
    parser.add_argument("--appends", type=int, default=2000)
    parser.add_argument("--samples", type=int, default=1000)
    args = parser.parse_args()
    OUT.mkdir(exist_ok=True)
    appends = append_rate(args.appends)
    print("appends", appends, flush=True)
    proofs = {}
    for size in args.sizes:
        started = time.perf_counter()
        app = build_log(size)
        built = time.perf_counter() - started
        proofs[size] = proof_times(app, size, args.samples)
        print(size, f"built in {built:.0f}s", proofs[size], flush=True)
    lines = [
        "## Log: appends and inclusion proofs (issue 3)",
        "",
        f"Command: `.venv/bin/python bench/ledger.py --sizes {' '.join(map(str, args.sizes))} "
        f"--appends {args.appends} --samples {args.samples}`  ",
        f"Machine: {machine()}; {database_versions()} (WAL, synchronous=FULL).  Date: {stamp()}",
        "",
        f"Appends through sign_and_log, one committed transaction each: "
        f"**{appends['per_second']:,.0f} per second** ({args.appends} appends).",
        "",
        "| leaves | inclusion proof median (ms) | p99 (ms) | max (ms) | target |",
        "|---:|---:|---:|---:|---|",
    ]
    for size, result in proofs.items():
        lines.append(
            f"| {size:,} | {result['median_ms']:.2f} | {result['p99_ms']:.2f} | "
            f"{result['max_ms']:.2f} | < 5 ms at 1,000,000 |"
        )
    write_section("ledger", "\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
