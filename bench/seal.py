"""Evidence costs (issue 23): sealing a receipt PDF (PAdES) and timestamping a checkpoint.

    .venv/bin/python bench/seal.py [--rounds 15]

Through the real code paths, on SQLite, with Flask's test client; the timestamping authority is
tests/tsa (`openssl ts -reply` behind a local HTTP handler: each token costs an openssl process,
so its figure is an upper bound for a local authority and a lower bound for one across a
network). Measured:

- the receipt PDF (GET .../receipt.pdf) with the PDF cache emptied before each call: rendered
  and not sealed, sealed without an authority (PAdES B-B), and sealed with one (B-LT: the seal's
  timestamp, asked for twice by pyHanko, once to size it, and the certificates embedded); the
  difference is the seal's cost; the very first seal in the process (pyHanko imported, the key
  parsed) apart; and cached (the sealed PDF from the cache);
- recording a consent (POST .../decision) with and without an authority configured: the
  consent never calls it (its checkpoint is timestamped afterwards), so the two are the same;
- timestamping one checkpoint (`timestamp_due`: sign the note, ask, check the token, store).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import shutil
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import EVIDENCE, OUT, machine, stamp, write_section
from bench.pdf import USES, fetch, setup
from consent import create_app
from consent.db import db
from consent.documents.cache import RenderCache
from consent.documents.seal import SealWords, seal_pdf
from consent.runtime import load_sealer, load_timestamping
from consent.scripts.bootstrap import prepare_database, write_instance_secrets
from consent.web.context import EXTENSION, runtime
from consent.workflows.timestamps import timestamp_due
from tests.tsa.authority import OpensslTsa


def fresh_app(tsa: OpensslTsa) -> Any:
    instance = OUT / "seal"
    shutil.rmtree(instance, ignore_errors=True)
    write_instance_secrets(instance, key_name="bench.example/consent-log")
    app = create_app(
        {
            "INSTANCE_PATH": str(instance),
            "CONSENT_PUBLIC_URL": "https://bench.example",
            "CONSENT_TSA_URLS": tsa.url,
            "CONSENT_TSA_CA_CERTS": str(tsa.ca_path),
        }
    )
    prepare_database(app)
    return app


def cold(app: Any, client: Any, path: str, headers: dict[str, str], rounds: int) -> list[float]:
    times = []
    for _ in range(rounds):
        rt = runtime()
        app.extensions[EXTENSION] = dataclasses.replace(rt, pdf_cache=RenderCache(64 << 20))
        start = time.perf_counter()
        fetch(client, path, headers)
        times.append(time.perf_counter() - start)
    return times


def decide_times(client: Any, headers: dict[str, str], rounds: int) -> list[float]:
    """POST a decision on a fresh request each round (the request made outside the timing)."""
    import io

    from tests.factories import photo

    times = []
    for n in range(rounds):
        patient = client.post(
            "/api/v1/patients",
            json={
                "record_number": f"MRN-S-{time.monotonic_ns()}",
                "name": "B",
                "birth_date": "1950-01-01",
            },
            headers=headers,
        ).json["id"]
        media = client.post(
            "/api/v1/media",
            data={
                "patient_id": patient,
                "description": "",
                "file": (io.BytesIO(photo(n + 7)), "p.jpg"),
            },
            headers=headers,
        ).json["id"]
        request_id = client.post(
            "/api/v1/requests",
            json={
                "patient_id": patient,
                "media_ids": [media],
                "form": "media-publication",
                "language": "en",
                "uses": USES,
                "expires_at": "2031-06-30T00:00:00Z",
            },
            headers=headers,
        ).json["id"]
        body = {
            "signer": {"role": "patient"},
            "choices": [{"purpose": u["purpose"], "granted": True} for u in USES],
            "method": "external",
            "evidence": EVIDENCE,
        }
        start = time.perf_counter()
        answer = client.post(f"/api/v1/requests/{request_id}/decision", json=body, headers=headers)
        times.append(time.perf_counter() - start)
        assert answer.status_code == 201, answer.get_data()[:300]
    return times


def ms(values: list[float]) -> str:
    return f"{statistics.median(values) * 1000:.1f}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    load_before = os.getloadavg()[0]
    tsa = OpensslTsa()
    app = fresh_app(tsa)
    with app.app_context():
        client = app.test_client()
        headers, _, consent_id = setup(client)
        path = f"/api/v1/consents/{consent_id}/receipt.pdf"
        full = runtime()
        plain = dataclasses.replace(full, sealer=None)
        no_tsa = dataclasses.replace(full, sealer=load_sealer(full.settings, None))
        app.extensions[EXTENSION] = plain
        fetch(client, path, headers)  # WeasyPrint imported, fonts loaded: a warm worker
        app.extensions[EXTENSION] = no_tsa
        start = time.perf_counter()
        fetch(client, path, headers)  # render cached above; this is the first seal
        first_seal = time.perf_counter() - start
        app.extensions[EXTENSION] = plain
        unsealed = cold(app, client, path, headers, args.rounds)
        app.extensions[EXTENSION] = no_tsa
        sealed_bb = cold(app, client, path, headers, args.rounds)
        app.extensions[EXTENSION] = full
        sealed_blt = cold(app, client, path, headers, args.rounds)
        # The seal alone, on the rendered bytes (less noisy than a difference of renders).
        app.extensions[EXTENSION] = plain
        rendered = fetch(client, path, headers)
        words = SealWords("bench", "bench")
        seal_only: dict[str, list[float]] = {"bb": [], "blt": []}
        for name, sealer in (("bb", no_tsa.sealer), ("blt", full.sealer)):
            assert sealer is not None
            for _ in range(args.rounds * 2):
                start = time.perf_counter()
                sealed = seal_pdf(rendered, sealer=sealer, words=words)
                seal_only[name].append(time.perf_counter() - start)
            assert sealed.level == ("PAdES-B-B" if name == "bb" else "PAdES-B-LT")
        app.extensions[EXTENSION] = full
        count, start = 0, time.perf_counter()
        while time.perf_counter() - start < 3:
            fetch(client, path, headers)
            count += 1
        cached = count / (time.perf_counter() - start)

        app.extensions[EXTENSION] = dataclasses.replace(full, timestamping=None)
        decide_without = decide_times(client, headers, args.rounds)
        app.extensions[EXTENSION] = full
        timestamp_due(db.session, runtime())  # what waited so far
        decide_with = decide_times(client, headers, args.rounds)
        timestamp_due(db.session, runtime())  # the checkpoints of those consents
        stamps = []
        for _ in range(args.rounds):
            decide_times(client, headers, 1)
            start = time.perf_counter()
            done = timestamp_due(db.session, runtime())
            stamps.append(time.perf_counter() - start)
            assert len(done.stamped) == 1
        assert load_timestamping(full.settings) is not None
    tsa.close()
    seal_bb = statistics.median(sealed_bb) - statistics.median(unsealed)
    seal_blt = statistics.median(sealed_blt) - statistics.median(unsealed)
    lines = [
        "## Evidence: sealing receipt PDFs and timestamping checkpoints (issue 23)",
        "",
        f"Command: `.venv/bin/python bench/seal.py --rounds {args.rounds}`  ",
        f"Machine: {machine()}; SQLite; Flask test client, one process; RSA-3072 throw-away "
        f"document-signing certificate; the authority is `openssl ts` behind a local HTTP "
        f"handler (tests/tsa). Load average {load_before:.1f} before, "
        f"{os.getloadavg()[0]:.1f} after (a shared host).  Date: {stamp()}",
        "",
        f"Medians of {args.rounds} calls, PDF cache emptied before each (the worker warm).",
        "",
        "| what | median (ms) |",
        "|---|---:|",
        f"| receipt PDF rendered, not sealed | {ms(unsealed)} |",
        f"| receipt PDF rendered and sealed, no authority (PAdES B-B) | {ms(sealed_bb)} |",
        f"| receipt PDF rendered and sealed with its timestamp (B-LT) | {ms(sealed_blt)} |",
        f"| the seal alone, on the rendered bytes, B-B (median of {args.rounds * 2}) | "
        f"{ms(seal_only['bb'])} |",
        f"| the seal alone, B-LT (two tokens from the authority, certificates embedded) | "
        f"{ms(seal_only['blt'])} |",
        f"| difference of the medians above: B-B / B-LT | {seal_bb * 1000:.1f} / "
        f"{seal_blt * 1000:.1f} |",
        f"| first seal in a process (pyHanko imported, key parsed; render cached) | "
        f"{first_seal * 1000:.0f} |",
        f"| receipt PDF, sealed, from the cache | {1000 / cached:.2f} ({cached:,.0f} per second) |",
        f"| record a consent (POST decision), no authority configured | {ms(decide_without)} |",
        f"| record a consent, authority configured (never called by it) | {ms(decide_with)} |",
        f"| timestamp one checkpoint (sign note, ask, check token, store) | {ms(stamps)} |",
        "",
        "A consent is recorded at the same cost with or without an authority: its checkpoint is "
        "timestamped afterwards by the worker. A receipt PDF costs its render plus the seal, "
        "once per worker: the sealed PDF is cached (a seal whose timestamp failed is not).",
    ]
    write_section("seal", "\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
