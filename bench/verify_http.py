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
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import OUT, gunicorn, machine, stamp, write_section, wrk
from bench.dataset import populate


def prepare(size: int) -> tuple[Path, str, list[str]]:
    """An instance with ``size`` consents (reused if already built), a verify key, sample hashes."""
    from consent import create_app
    from consent.accounts.service import create_api_key
    from consent.bootstrap import prepare_database, write_instance_secrets
    from consent.extensions import db

    instance = OUT / f"verify-{size}"
    marker = instance / "populated.json"
    if not marker.exists():
        shutil.rmtree(instance, ignore_errors=True)
        write_instance_secrets(instance, key_name="bench.example/consent-log")
        app = create_app({"INSTANCE_PATH": str(instance)})
        prepare_database(app)
        hashes = populate(app, size)
        marker.write_text(
            json.dumps({"size": size, "sample": random.Random(1).sample(hashes, min(1000, size))})
        )
    app = create_app({"INSTANCE_PATH": str(instance)})
    with app.app_context():
        key = create_api_key(name="bench", scopes=["verify"], days=1).secret
        db.session.commit()
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
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=8)
    args = parser.parse_args()
    OUT.mkdir(exist_ok=True)
    results: dict[str, object] = {"machine": machine(), "date": stamp()}
    port = 5301
    with gunicorn("bench.bare_app:app", port, {}) as base:
        results["bare"] = wrk(base + "/bare", seconds=args.seconds, connections=args.connections)
    for size in args.sizes:
        instance, key, sample = prepare(size)
        script = lua_script(instance, key, sample)
        env = {"CONSENT_INSTANCE_PATH": str(instance)}
        with gunicorn("consent:create_app()", port + 1, env) as base:
            wrk(base + "/", seconds=2, connections=2, script=script)  # warm up both workers
            throughput = wrk(
                base + "/", seconds=args.seconds, connections=args.connections, script=script
            )
            latency = wrk(base + "/", seconds=args.seconds, connections=1, script=script)
        results[f"verify_{size}"] = {"throughput": throughput, "latency": latency}
        print(size, throughput, latency, flush=True)
    # The bare endpoint once more, so that both sides saw the same machine state.
    with gunicorn("bench.bare_app:app", port, {}) as base:
        again = wrk(base + "/bare", seconds=args.seconds, connections=args.connections)
    bare_rps = (results["bare"]["rps"] + again["rps"]) / 2  # type: ignore[index]
    results["bare_again"] = again
    (OUT / "verify_http.json").write_text(json.dumps(results, indent=2))
    report(results, bare_rps, args)


def report(results: dict, bare_rps: float, args: argparse.Namespace) -> None:  # type: ignore[type-arg]
    sizes = args.sizes
    lines = [
        "## Verify by hash under gunicorn (issue 2)",
        "",
        f"Command: `.venv/bin/python bench/verify_http.py --sizes {' '.join(map(str, sizes))} "
        f"--seconds {args.seconds}`  ",
        f"Machine: {results['machine']}; SQLite (WAL); gunicorn 2 sync workers; wrk 1 thread on "
        f"the same machine.  Date: {results['date']}",
        "",
        f"Bare Flask endpoint (constant JSON, same gunicorn): {bare_rps:,.0f} req/s "
        f"(mean of a run before and after).",
        "",
        f"| consents stored | verify req/s ({args.connections} conns) | ratio to bare (target >= 0.7) "
        "| p50 ms (1 conn) | p99 ms (1 conn) | non-2xx |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for size in sizes:
        entry = results[f"verify_{size}"]
        lines.append(
            f"| {size:,} | {entry['throughput']['rps']:,.0f} | "
            f"{entry['throughput']['rps'] / bare_rps:.2f} | {entry['latency']['p50']:.2f} | "
            f"{entry['latency']['p99']:.2f} | "
            f"{entry['throughput']['non_2xx'] + entry['latency']['non_2xx']:.0f} |"
        )
    if len(sizes) >= 2:
        small, large = results[f"verify_{sizes[0]}"], results[f"verify_{sizes[-1]}"]
        ratio = large["latency"]["p50"] / small["latency"]["p50"]
        lines += [
            "",
            f"Latency p50 at {sizes[-1]:,} / at {sizes[0]:,}: **{ratio:.2f}x** (target <= 1.3x).",
        ]
    write_section("verify_http", "\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    main()
