"""Log appends from several processes at once: the database serialises them, not a lock held
by one process. Every writer is its own process with its own app and connection pool, released
together; afterwards the log must be gapless, every leaf its consent's, and every proof sound."""

from __future__ import annotations

import io
import multiprocessing
import queue
import time
import traceback
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from multiprocessing.context import SpawnProcess
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from PIL import Image
from sqlalchemy import func, select

from consent.accounts.models import Account
from consent.accounts.scope import Scope
from consent.accounts.teams import teams_of
from consent.consents.models import Consent
from consent.consents.requests import UseRequest, open_request
from consent.db import db
from consent.ledger import store
from consent.ledger.merkle import leaf_hash
from consent.ledger.merkle_verify import verify_inclusion
from consent.ledger.models import LogHead, LogLeaf
from consent.media.service import add_media
from consent.patients.service import register_patient
from consent.web.context import runtime
from consent.workflows.audit import audit
from tests.conftest import POSTGRES_URL, dispose, make_app
from tests.factories import staff, tablet_consent

# Hang guards, not speed limits: a writer that never reaches the start line, or a run that never
# ends, is a deadlock to report with whatever the writers said, never a silent wait.
START_TIMEOUT = 120.0
RUN_TIMEOUT = 1800.0


def consent_png(number: int) -> bytes:
    """An 8x8 PNG that no other consent of the run shares: the number in the first pixel,
    and a pattern from it in the rest."""
    image = Image.new("RGB", (8, 8))
    image.putpixel((0, 0), (number & 0xFF, (number >> 8) & 0xFF, (number >> 16) & 0xFF))
    for position in range(1, 64):
        lit = (number * 2654435761 >> position) & 1
        shade = 255 if lit else (number * 37 + position * 11) % 128
        image.putpixel((position % 8, position // 8), (shade, 255 - shade, position * 4))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    data = buffer.getvalue()
    with Image.open(io.BytesIO(data)) as check:
        check.verify()  # a PNG the media service will accept, not merely bytes
    return data


def record_consents(
    worker: int,
    count: int,
    instance_dir: str,
    database_url: str,
    barrier: Any,
    results: Any,
) -> None:
    """One writer process: build an app, wait for the others, record ``count`` consents.

    Reports ("ok", worker, [(consent_id, log_index), ...]) or ("error", worker, traceback).
    """
    app: Flask | None = None
    try:
        app = make_app(Path(instance_dir), database_url)
        recorded: list[tuple[str, int]] = []
        with app.app_context():
            # Open the pool's first connection before the start line, so the race is the
            # appends and not the connection handshakes.
            db.session.execute(select(func.count()).select_from(LogHead))
            # Each writer is a clinician of its own team.
            clinician_id = staff(team_slug=f"writer-{worker}").id
            db.session.commit()
            db.session.remove()
            barrier.wait(timeout=START_TIMEOUT)
            for sequence in range(count):
                number = worker * count + sequence
                rt = runtime()
                clinician = db.session.get_one(Account, clinician_id)
                scope = Scope.of(team.id for team in teams_of(db.session, clinician.id))
                patient = register_patient(
                    db.session,
                    rt.vault,
                    team_id=next(iter(scope.teams or ())),
                    record_number=f"MRN-{worker:02d}-{sequence:04d}",
                    name=f"Writer {worker} Patient {sequence}",
                    birth_date=date(1950 + number % 50, 1 + number % 12, 1 + number % 28),
                )
                media = add_media(
                    db.session,
                    rt.vault,
                    rt.files,
                    patient_id=patient.id,
                    scope=scope,
                    description="",
                    stream=io.BytesIO(consent_png(number)),
                    limit=rt.settings.max_media_bytes,
                    max_pixels=rt.settings.max_image_pixels,
                )
                request = open_request(
                    db.session,
                    patient_id=patient.id,
                    media_ids=[media.id],
                    form_id="media-publication",
                    language="en",
                    uses=[UseRequest("teaching", [])],
                    expires_at=datetime.now(UTC) + timedelta(days=30),
                    clinician=clinician,
                    scope=scope,
                )
                db.session.commit()
                consent = tablet_consent(request.id, {"teaching": True})
                recorded.append((consent.id, consent.log_index))
                db.session.remove()
        results.put(("ok", worker, recorded))
    except BaseException:
        barrier.abort()  # the others stop waiting for a writer that will never come
        results.put(("error", worker, traceback.format_exc()))
    finally:
        if app is not None:
            dispose(app)


def run_writers(
    *, writers: int, per_writer: int, instance_dir: Path, database_url: str
) -> dict[int, list[tuple[str, int]]]:
    """Start ``writers`` spawned processes together; return what each recorded.

    Fails the test with every writer's traceback if one raised, died or never finished.
    """
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(writers)
    results = context.Queue()
    processes: list[SpawnProcess] = [
        context.Process(
            target=record_consents,
            args=(worker, per_writer, str(instance_dir), database_url, barrier, results),
            name=f"consent-writer-{worker}",
        )
        for worker in range(writers)
    ]
    recorded: dict[int, list[tuple[str, int]]] = {}
    failures: dict[int, str] = {}
    started = time.monotonic()
    try:
        for process in processes:
            process.start()
        while len(recorded) + len(failures) < writers:
            try:
                status, worker, payload = results.get(timeout=5)
            except queue.Empty:
                reported = recorded.keys() | failures.keys()
                dead = [
                    worker
                    for worker, process in enumerate(processes)
                    if worker not in reported and not process.is_alive()
                ]
                if dead:
                    # A report may still be in the pipe: read once more before giving up.
                    try:
                        status, worker, payload = results.get(timeout=5)
                    except queue.Empty:
                        for worker in dead:
                            failures[worker] = (
                                f"exited with code {processes[worker].exitcode} and no report"
                            )
                        continue
                elif time.monotonic() - started > RUN_TIMEOUT:
                    waiting = sorted(set(range(writers)) - reported)
                    pytest.fail(
                        f"writers {waiting} still running after {RUN_TIMEOUT:.0f} s "
                        f"(deadlock?); reports so far: {failures or 'none failed'}"
                    )
                else:
                    continue
            if status == "ok":
                recorded[worker] = payload
            else:
                failures[worker] = payload
        for process in processes:
            process.join(timeout=60)
    finally:
        for process in processes:
            if process.is_alive():
                process.terminate()
                process.join(timeout=10)
        results.close()
        results.join_thread()
    if failures:
        pytest.fail(
            "\n\n".join(
                f"--- writer {worker} failed ---\n{text}"
                for worker, text in sorted(failures.items())
            ),
            pytrace=False,
        )
    return recorded


def check_log(recorded: dict[int, list[tuple[str, int]]], total: int) -> None:
    """The log after the race: gapless, one leaf per consent, every proof and the audit sound."""
    db.session.remove()  # a fresh transaction sees every writer's commits
    reported = [pair for pairs in recorded.values() for pair in pairs]
    assert len(reported) == total

    leaves = db.session.scalars(select(LogLeaf).order_by(LogLeaf.index)).all()
    assert len(leaves) == total
    assert [leaf.index for leaf in leaves] == list(range(total))  # no gap, no duplicate
    head = store.head(db.session)
    assert head.size == total
    assert db.session.get_one(LogHead, 1).size == total

    consents = {consent.id: consent for consent in db.session.scalars(select(Consent))}
    assert len(consents) == total
    assert {consent_id: index for consent_id, index in reported} == {
        consent_id: consent.log_index for consent_id, consent in consents.items()
    }
    assert len({consent.log_index for consent in consents.values()}) == total

    for worker, pairs in recorded.items():
        # One writer's consents commit one after another, so their indices must rise.
        indices = [index for _, index in pairs]
        assert indices == sorted(indices), f"writer {worker} got indices out of order"
    # Otherwise the writers ran one after another and the test proved nothing about races.
    spans = sorted((pairs[0][1], pairs[-1][1]) for pairs in recorded.values() if pairs)
    assert any(later[0] < earlier[1] for earlier, later in pairwise(spans)), (
        f"no two writers' appends interleaved: {spans}"
    )

    for consent in consents.values():
        leaf = leaves[consent.log_index]
        assert leaf.record_id == consent.id
        assert leaf.kind == "consent"
        proof = store.prove_inclusion(db.session, index=leaf.index, size=total)
        verify_inclusion(
            leaf_hash=leaf_hash(bytes(leaf.data)),
            index=leaf.index,
            size=total,
            proof=proof,
            root=head.root,
        )

    report = audit(db.session, runtime().keyring)
    assert report.ok, "\n".join(str(finding) for finding in report.findings[:20])
    assert (report.leaves, report.consents, report.root) == (total, total, head.root)


@pytest.mark.slow
@pytest.mark.skipif(
    not POSTGRES_URL, reason="8 writer processes need PostgreSQL; the SQLite variant runs 4x50"
)
def test_eight_writer_processes_append_a_gapless_log_on_postgresql(
    app: Flask, instance_dir: Path, database_url: str
) -> None:
    db.session.remove()  # hold no connection or lock while the writers run
    recorded = run_writers(
        writers=8, per_writer=250, instance_dir=instance_dir, database_url=database_url
    )
    check_log(recorded, total=2000)


@pytest.mark.slow
def test_four_writer_processes_append_a_gapless_log(
    app: Flask, instance_dir: Path, database_url: str
) -> None:
    db.session.remove()  # hold no connection or lock while the writers run
    recorded = run_writers(
        writers=4, per_writer=50, instance_dir=instance_dir, database_url=database_url
    )
    check_log(recorded, total=200)
