"""PDF documents: cold and cached render times of the blank form and of the receipt.

    .venv/bin/python bench/pdf.py [--rounds 15] [--seconds 5]

Through the real code path: the API routes (GET /api/v1/requests/<id>/form.pdf and
/api/v1/consents/<id>/receipt.pdf) called with Flask's test client, so authentication, the
database reads, the cache look-up and the response are all counted. The request has two photos
(640x480 JPEG), three uses and the English media-publication form. "Cold" empties the PDF cache
before each call (the process is warm: fonts and templates loaded once, as in a worker that has
served one document); the very first render in the process is reported apart. "Cached" repeats
the same call for a few seconds. Targets (issue 5): a 2-page form cold in at most 0.6 s; cached,
at least 100 per second.
"""

from __future__ import annotations

import argparse
import dataclasses
import io
import os
import shutil
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from flask import Flask
from flask.testing import FlaskClient
from pypdf import PdfReader

from bench.common import (
    EVIDENCE,
    OUT,
    clinician_key,
    database_versions,
    machine,
    stamp,
    write_section,
)
from consent import create_app
from consent.db import db
from consent.documents.cache import RenderCache
from consent.scripts.bootstrap import prepare_database, write_instance_secrets
from consent.web.context import EXTENSION
from tests.factories import photo

USES = [
    {"purpose": "teaching"},
    {"purpose": "public_social_network", "channels": ["linkedin"]},
    {"purpose": "journal_publication"},
]


def fresh_app() -> Flask:
    instance = OUT / "pdf"
    shutil.rmtree(instance, ignore_errors=True)
    write_instance_secrets(instance, key_name="bench.example/consent-log")
    app = create_app(
        {"INSTANCE_PATH": str(instance), "CONSENT_PUBLIC_URL": "https://bench.example"}
    )
    prepare_database(app)
    return app


def setup(client: FlaskClient) -> tuple[dict[str, str], str, str]:
    """A key, an open request (the form) and a decided one (the receipt)."""
    key = clinician_key(("consents:write",))
    db.session.commit()
    headers = {"Authorization": f"Bearer {key}"}

    def request() -> str:

        patient = client.post(
            "/api/v1/patients",
            json={
                "record_number": f"MRN-{time.monotonic_ns()}",
                "name": "Bench",
                "birth_date": "1950-01-01",
            },
            headers=headers,
        ).json["id"]
        media = []
        for seed in (1, 2):
            answer = client.post(
                "/api/v1/media",
                data={
                    "patient_id": patient,
                    "description": "",
                    "file": (io.BytesIO(photo(seed)), "p.jpg"),
                },
                headers=headers,
            )
            media.append(answer.json["id"])
        body = {
            "patient_id": patient,
            "media_ids": media,
            "form": "media-publication",
            "language": "en",
            "uses": USES,
            "expires_at": "2031-06-30T00:00:00Z",
        }
        return str(client.post("/api/v1/requests", json=body, headers=headers).json["id"])

    form_request = request()
    decided = request()
    choices = [{"purpose": use["purpose"], "granted": True} for use in USES]
    answer = client.post(
        f"/api/v1/requests/{decided}/decision",
        json={
            "signer": {"role": "patient"},
            "choices": choices,
            "method": "external",
            "evidence": EVIDENCE,
        },
        headers=headers,
    )
    return headers, form_request, str(answer.json["consent_id"])


def fetch(client: FlaskClient, path: str, headers: dict[str, str]) -> bytes:
    response = client.get(path, headers=headers)
    assert response.status_code == 200, response.get_data()[:300]
    return response.get_data()


def measure(
    app: Flask, client: FlaskClient, path: str, headers: dict[str, str], rounds: int, seconds: float
) -> dict[str, float]:
    start = time.perf_counter()
    pdf = fetch(client, path, headers)
    first = time.perf_counter() - start
    cold = []
    for _ in range(rounds):
        rt = app.extensions[EXTENSION]  # an empty cache: the next call renders
        app.extensions[EXTENSION] = dataclasses.replace(
            rt, pdf_cache=RenderCache(rt.settings.pdf_cache_bytes)
        )
        start = time.perf_counter()
        fetch(client, path, headers)
        cold.append(time.perf_counter() - start)
    count = 0
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        fetch(client, path, headers)
        count += 1
    elapsed = time.perf_counter() - start
    return {
        "pages": len(PdfReader(io.BytesIO(pdf)).pages),
        "bytes": len(pdf),
        "first": first,
        "cold_median": statistics.median(cold),
        "cold_max": max(cold),
        "cached_per_second": count / elapsed,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    load_before = os.getloadavg()[0]
    app = fresh_app()
    with app.app_context():
        client = app.test_client()
        headers, request_id, consent_id = setup(client)
        results = {
            "Blank form (`form.pdf`)": measure(
                app,
                client,
                f"/api/v1/requests/{request_id}/form.pdf",
                headers,
                args.rounds,
                args.seconds,
            ),
            "Receipt, PDF/A-3b with 4 attachments (`receipt.pdf`)": measure(
                app,
                client,
                f"/api/v1/consents/{consent_id}/receipt.pdf",
                headers,
                args.rounds,
                args.seconds,
            ),
        }
    lines = [
        "## PDF documents: cold and cached renders (issue 5)",
        "",
        "Command: `.venv/bin/python bench/pdf.py "
        f"--rounds {args.rounds} --seconds {args.seconds:g}`  ",
        f"Machine: {machine()}; {database_versions()}; Flask test client, one process; "
        "load average "
        f"{load_before:.1f} before, {os.getloadavg()[0]:.1f} after (a shared host).  "
        f"Date: {stamp()}",
        "",
        "Two 640x480 photos, three uses, the English form. Cold: the PDF cache emptied before each "
        f"call, median of {args.rounds} (the process already warm); first: the first render in a "
        "new process. Cached: the same call repeated.",
        "",
        "| document | pages | size (KiB) | first in process (s) | cold median (s) | cold max (s) "
        "| cached per second |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, row in results.items():
        lines.append(
            f"| {name} | {row['pages']:.0f} | {row['bytes'] / 1024:.0f} | {row['first']:.2f} | "
            f"{row['cold_median']:.3f} | {row['cold_max']:.3f} | {row['cached_per_second']:,.0f} |"
        )
    lines += [
        "",
        "Targets: a 2-page form cold in at most 0.6 s; cached, at least 100 per second.",
    ]
    write_section("pdf", "\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
