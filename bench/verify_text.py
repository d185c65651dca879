"""Verify for case texts (issue 20): latency of POST /api/v1/verify/text's decision in process
(consent.verify.texts.decide_text, no HTTP) with 1,000 and 100,000 consented texts.

One consented request carries a real case text (its receipt binds it); the other texts are
added beside it in bulk (random words, so that they share no sentence with it), with their
MinHash bands, as the service writes them. Calls: the exact text, an edited copy (answered
``modified``) and an unrelated text (``unknown``). SQLite in a scratch folder.

Usage: .venv/bin/python bench/verify_text.py [--sizes 1000,100000] [--calls 300] [--no-write]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import insert, select

from bench.common import machine, stamp, write_section
from consent.consents.models import CaseText, CaseTextBand
from consent.consents.text_norm import band_values, minhash, pack, text_sha256
from consent.db import db
from consent.scripts.bootstrap import prepare_database, write_instance_secrets
from consent.verify.texts import decide_text
from consent.web.context import runtime
from tests.conftest import make_app
from tests.factories import Flow, api_key, photo

CASE = (
    "A man in his fifties came to the emergency department with chest pain that had lasted "
    "three days. The scan showed an aortic dissection of type A. He was operated on the same "
    "night and went home after two weeks without complications."
)
EDITED = CASE.replace("of type A", "type A").replace(" without complications", "")
UNRELATED = (
    "A woman of thirty came to the clinic with a rash that appeared after a trip abroad; the "
    "skin biopsy showed a drug reaction and the rash cleared after the drug was stopped."
)


def _filler(rng: random.Random, vocabulary: list[str]) -> str:
    return " ".join(rng.choice(vocabulary) for _ in range(rng.randint(40, 90))) + "."


def populate(size: int, seed: int = 20) -> None:
    flow = Flow(app_client(), api_key(("consents:write", "verify")))
    patient = flow.patient()
    media = flow.media(patient, photo(5))
    request_id = flow.request(patient, [media["id"]], [{"purpose": "teaching"}], texts=[CASE])
    flow.decide(request_id, {"teaching": True})
    row = db.session.scalars(select(CaseText)).one()
    rng = random.Random(seed)
    vocabulary = [
        "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(3, 9)))
        for _ in range(20000)
    ]
    texts, bands = [], []
    for number in range(1, size):
        text = _filler(rng, vocabulary)
        signature = minhash(text)
        ident = f"txb{number:08d}"
        texts.append(
            {
                "id": ident,
                "team_id": row.team_id,
                "request_id": row.request_id,
                "ordinal": number,
                "sha256": text_sha256(text),
                "characters": len(text),
                "text_sealed": b"bench",
                "minhash": pack(signature),
                "identifiers_confirmed": False,
                "created_at": row.created_at,
            }
        )
        bands.extend(
            {"band": band, "value": value, "text_id": ident}
            for band, value in band_values(signature)
        )
        if len(texts) >= 5000:
            db.session.execute(insert(CaseText), texts)
            db.session.execute(insert(CaseTextBand), bands)
            texts, bands = [], []
    if texts:
        db.session.execute(insert(CaseText), texts)
        db.session.execute(insert(CaseTextBand), bands)
    db.session.commit()


def app_client():  # type: ignore[no-untyped-def]
    from flask import current_app

    return current_app.test_client()


def measure(calls: int) -> dict[str, tuple[float, float, str]]:
    keyring = runtime().keyring
    figures = {}
    for name, text in (("exact", CASE), ("edited", EDITED), ("unrelated", UNRELATED)):
        times, decision = [], ""
        for _ in range(calls):
            started = time.perf_counter()
            answer = decide_text(
                text=text, purpose="teaching", channel=None, engine=db.engine, keyring=keyring
            )
            times.append((time.perf_counter() - started) * 1000)
            decision = answer.answer["decision"]
        times.sort()
        figures[name] = (statistics.median(times), times[int(len(times) * 0.95)], decision)
    return figures


def ratio(rows: list[tuple[int, str, str, float, float]], name: str) -> float:
    mine = sorted((size, p50) for size, n, _d, p50, _p95 in rows if n == name)
    return mine[-1][1] / mine[0][1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="1000,100000")
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    rows = []
    for size in (int(s) for s in args.sizes.split(",")):
        with tempfile.TemporaryDirectory() as folder:
            write_instance_secrets(Path(folder))
            app = make_app(Path(folder), f"sqlite:///{folder}/bench.db")
            prepare_database(app)
            with app.app_context():
                started = time.perf_counter()
                populate(size)
                filled = time.perf_counter() - started
                for name, (p50, p95, decision) in measure(args.calls).items():
                    rows.append((size, name, decision, p50, p95))
                    print(
                        f"{size} {name} {decision} p50 {p50:.2f} ms p95 {p95:.2f} ms "
                        f"(filled in {filled:.0f} s)",
                        flush=True,
                    )
                db.session.remove()
                db.engine.dispose()
    if args.no_write:
        return
    lines = [
        "## Verify for case texts (issue 20)",
        "",
        f"Command: `.venv/bin/python bench/verify_text.py --sizes {args.sizes} --calls "
        f"{args.calls}` (in process: consent.verify.texts.decide_text, SQLite).  ",
        f"Machine: {machine()}.  Date: {stamp()}",
        "",
        "| consented texts | text asked | decision | p50 (ms) | p95 (ms) |",
        "|---:|---|---|---:|---:|",
        *(f"| {s:,} | {n} | {d} | {p50:.2f} | {p95:.2f} |" for s, n, d, p50, p95 in rows),
        "",
        "p50 at the largest size over p50 at the smallest: "
        + ", ".join(f"{name} {ratio(rows, name):.2f}x" for name in ("exact", "edited", "unrelated"))
        + " (exact and near look-ups go through indexes: no scan of the texts).",
    ]
    write_section("verify_text", "\n".join(lines))


if __name__ == "__main__":
    main()
