"""Verify by hash under gunicorn (2 sync workers), against a bare Flask endpoint under the same
server in the same run; and verify latency with 1,000 versus 100,000 consents stored.

    .venv/bin/python bench/verify_http.py [--sizes 1000 100000] [--seconds 10]

Targets (issue 2): throughput at least 0.7x the bare endpoint's; latency at 100,000 consents
within 1.3x of the latency at 1,000. Needs wrk (Debian package `wrk`). SQLite in bench/out/.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import sys
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from consent.db import db

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import (
    BENCH_LIMITS,
    OUT,
    database_versions,
    gunicorn,
    machine,
    stamp,
    write_section,
    wrk,
)
from bench.dataset import populate


def prepare(size: int) -> tuple[Path, str, list[str]]:
    """An instance with ``size`` consents (reused if already built), a verify key, sample hashes."""
    from bench.common import publisher_key
    from consent import create_app
    from consent.scripts.bootstrap import prepare_database, write_instance_secrets
    from consent.workflows.audit import audit

    instance = OUT / f"verify-{size}"
    marker = instance / "populated.json"
    if not marker.exists():
        shutil.rmtree(instance, ignore_errors=True)
        write_instance_secrets(instance, key_name="bench.example/consent-log")
        app = create_app({"INSTANCE_PATH": str(instance)})
        prepare_database(app)
        hashes = populate(app, size)
        with app.app_context():
            report = audit(db.session, app.extensions["consent"].keyring)
            if not report.ok:
                raise SystemExit(f"the generated data set fails the audit: {report.findings[:3]}")
        marker.write_text(
            json.dumps({"size": size, "sample": random.Random(1).sample(hashes, min(1000, size))})
        )
    app = create_app({"INSTANCE_PATH": str(instance)})
    prepare_database(app)  # a data set kept from an older run: migrated to head, if behind
    with app.app_context():
        key = publisher_key()
        db.session.commit()
        # Start every run from a checkpointed WAL, as a service that has been idle would:
        # readers of a long WAL look each page up in it first.
        with db.engine.connect() as connection:
            connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    return instance, key, json.loads(marker.read_text())["sample"]


def lua_script(instance: Path, key: str, sample: list[str]) -> Path:
    """A wrk script that asks verify for a different stored hash on each request."""
    path = instance / "verify.lua"
    hashes = ",".join(f'"{h}"' for h in sample)
    path.write_text(
        f"local hashes = {{{hashes}}}\nlocal i = 0\n"
        f'wrk.headers["Authorization"] = "Bearer {key}"\n'
        "request = function()\n  i = i % #hashes + 1\n"
        '  return wrk.format("GET", "/api/v1/verify?purpose=teaching&sha256=" .. hashes[i])\nend\n'
    )
    return path


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 100_000])
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=8)
    args = parser.parse_args()
    OUT.mkdir(exist_ok=True)
    results: dict[str, Any] = {"machine": machine(), "date": stamp()}
    prepared = {size: prepare(size) for size in args.sizes}
    with ExitStack() as servers:
        # Every server up at once, measured in turn, round after round: this machine's speed
        # drifts (shared host), and interleaving spreads the drift over every target alike.
        # The bare endpoint gets the same requests as verify (same script), see bare_app.py.
        first_instance, first_key, first_sample = next(iter(prepared.values()))
        targets = {
            "bare": (
                servers.enter_context(gunicorn("bench.bare_app:app", 5301, {})) + "/",
                lua_script(first_instance, first_key, first_sample),
            )
        }
        for number, (size, (instance, key, sample)) in enumerate(prepared.items()):
            base = servers.enter_context(
                gunicorn(
                    "consent:create_app()",
                    5302 + number,
                    {"CONSENT_INSTANCE_PATH": str(instance), **BENCH_LIMITS},
                )
            )
            targets[f"verify_{size}"] = (base + "/", lua_script(instance, key, sample))
        for url, script in targets.values():
            wrk(url, seconds=2, connections=2, script=script)  # warm up both workers
        runs: dict[str, dict[str, list[float]]] = {name: {} for name in targets}
        for _ in range(args.rounds):
            for name, (url, script) in targets.items():
                throughput = wrk(
                    url, seconds=args.seconds, connections=args.connections, script=script
                )
                latency = wrk(url, seconds=args.seconds, connections=1, script=script)
                entry = runs[name]
                entry.setdefault("rps", []).append(throughput["rps"])
                entry.setdefault("p50", []).append(latency["p50"])
                entry.setdefault("p99", []).append(latency["p99"])
                entry.setdefault("non_2xx", []).append(throughput["non_2xx"] + latency["non_2xx"])
                print(name, throughput["rps"], latency["p50"], flush=True)
    for name, entry in runs.items():
        results[name] = {
            "rps": statistics.median(entry["rps"]),
            "p50": statistics.median(entry["p50"]),
            "p99": statistics.median(entry["p99"]),
            "non_2xx": sum(entry["non_2xx"]),
            "runs": entry,
        }
    (OUT / "verify_http.json").write_text(json.dumps(results, indent=2))
    report(results, args)


def report(results: dict[str, Any], args: argparse.Namespace) -> None:
    sizes = args.sizes
    bare_rps = results["bare"]["rps"]
    lines = [
        "## Verify by hash under gunicorn (issue 2)",
        "",
        f"Command: `.venv/bin/python bench/verify_http.py --sizes {' '.join(map(str, sizes))} "
        f"--seconds {args.seconds} --rounds {args.rounds}`  ",
        f"Machine: {results['machine']}; {database_versions()} (WAL); gunicorn 2 sync workers; "
        "wrk 1 thread on "
        f"the same machine.  Date: {results['date']}",
        "",
        f"Bare Flask endpoint (constant JSON, same gunicorn, sent the same requests by the same "
        f"wrk script): {bare_rps:,.0f} req/s. Every "
        f"server runs at once and is measured in turn, {args.rounds} rounds of "
        f"{args.seconds} s; each figure is the median over the rounds.",
        "",
        f"| consents stored | verify req/s ({args.connections} conns) "
        "| ratio to bare (target >= 0.7) | p50 ms (1 conn) | p99 ms (1 conn) | non-2xx |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for size in sizes:
        entry = results[f"verify_{size}"]
        lines.append(
            f"| {size:,} | {entry['rps']:,.0f} | {entry['rps'] / bare_rps:.2f} | "
            f"{entry['p50']:.2f} | {entry['p99']:.2f} | {entry['non_2xx']:.0f} |"
        )
    if len(sizes) >= 2:
        small, large = results[f"verify_{sizes[0]}"], results[f"verify_{sizes[-1]}"]
        ratio = large["p50"] / small["p50"]
        lines += [
            "",
            f"Latency p50 at {sizes[-1]:,} / at {sizes[0]:,}: **{ratio:.2f}x** (target <= 1.3x).",
        ]
    write_section("verify_http", "\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    main()
