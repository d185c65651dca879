"""Crash safety, bounded: two writer processes record consents over HTTP against gunicorn while
its workers, and once the master with them, are killed with SIGKILL; after a restart nothing
acknowledged is lost, and no consent lacks its log leaf nor any leaf its consent.

bench/crash.py runs the same thing longer (issue 9, part 2). No timing is asserted: the run
lasts a fixed time, and what is checked is what was stored.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from flask import Flask

from bench.common import Gunicorn, Instance, free_port
from bench.crash import check, crash_run
from consent.db import db
from tests.conftest import POSTGRES_URL
from tests.factories import api_key

WRITERS, SECONDS, KILLS = 2, 25, 3


def crash_and_check(instance: Instance, key: str, tmp_path: Path) -> None:
    server = Gunicorn("consent:create_app()", free_port(), instance.env, workers=2)
    try:
        report = crash_run(
            server=server,
            instance=instance,
            key=key,
            writers=WRITERS,
            seconds=SECONDS,
            kills=KILLS,
            acks_dir=tmp_path / "acks",
        )
        assert report.ok, (report.audit, report.problems[:20])
        # The run did what it claims: consents were acknowledged, every kill happened.
        assert report.acknowledged > 0
        assert report.stored >= report.acknowledged
        assert len(report.kills) == KILLS + 1
        # And the checks can fail: a consent acknowledged but not stored is reported.
        with (tmp_path / "acks" / "acks-0.jsonl").open("a") as acks:
            acks.write(
                json.dumps(
                    {"consent_id": "cs_" + "0" * 32, "log_index": 0, "signature": "", "sha256": ""}
                )
                + "\n"
            )
        report.problems.clear()
        report.acknowledged += 1
        check(report, server=server, instance=instance, key=key, acks_dir=tmp_path / "acks")
        assert any("cs_" + "0" * 32 in problem for problem in report.problems)
    finally:
        server.close()


@pytest.mark.slow
@pytest.mark.postgres_only
@pytest.mark.skipif(not POSTGRES_URL, reason="the PostgreSQL crash test needs PostgreSQL")
def test_sigkilled_workers_on_postgresql_lose_nothing_acknowledged(
    app: Flask, instance_dir: Path, database_url: str, tmp_path: Path
) -> None:
    key = api_key()
    db.session.remove()  # hold no connection or lock while the writers run
    crash_and_check(Instance(instance_dir, database_url, app), key, tmp_path)


@pytest.mark.slow
@pytest.mark.skipif(bool(POSTGRES_URL), reason="the suite runs on PostgreSQL: its variant ran")
def test_sigkilled_workers_on_sqlite_lose_nothing_acknowledged(tmp_path: Path) -> None:
    # A database of its own: the suite's SQLite file stays out of the way of processes that
    # are killed while they write to it.
    instance = Instance.fresh("instance", root=tmp_path)
    try:
        crash_and_check(instance, instance.api_key(), tmp_path)
    finally:
        instance.dispose()
