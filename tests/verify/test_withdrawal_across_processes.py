"""Verify reflects a withdrawal at once, on every worker: a second process (a worker of its own,
app, connection pool and key cache) answers ``allowed`` through the verify fast path, this
process records the patient's withdrawal, and the other's very next call says ``withdrawn``.

The fast path keeps one database connection per thread (consent/rawsql.py) and a per-worker
cache of API keys; neither may hide a committed withdrawal. On PostgreSQL each statement of
that connection runs in autocommit, so it sees every commit made before it started.
"""

from __future__ import annotations

import multiprocessing
import queue
import re
import traceback
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from consent.db import db
from consent.scripts.bootstrap import prepare_database
from tests.conftest import POSTGRES_URL, dispose, make_app
from tests.factories import Flow, api_key, photo

# Hang guards, not speed limits.
ANSWER_TIMEOUT = 120.0
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def verifier(instance_dir: str, database_url: str, key: str, commands: Any, answers: Any) -> None:
    """Process B: answer each (sha256, purpose) from ``commands`` with GET /api/v1/verify.

    Puts ("ok", status, decision, answered_by_fast_path) per command, or ("error", traceback).
    """
    app: Flask | None = None
    try:
        # Keys stay trusted for the whole test, so every call after the first is a fast-path one.
        app = make_app(Path(instance_dir), database_url, CONSENT_API_KEY_CACHE_SECONDS=600)
        fast = app.wsgi_app.wsgi_app.wsgi_app  # type: ignore[attr-defined]  # log, headers, fast
        reached_flask: list[str] = []
        inner = fast.flask_wsgi_app

        def counted(environ: dict[str, Any], start_response: Any) -> Any:
            reached_flask.append(environ["PATH_INFO"])
            return inner(environ, start_response)

        fast.flask_wsgi_app = counted
        client = app.test_client()
        while (command := commands.get(timeout=ANSWER_TIMEOUT)) is not None:
            sha256, purpose = command
            before = len(reached_flask)
            response = client.get(
                "/api/v1/verify",
                query_string={"sha256": sha256, "purpose": purpose},
                headers={"Authorization": f"Bearer {key}"},
            )
            body = response.get_json()
            answers.put(
                (
                    "ok",
                    response.status_code,
                    body["answer"]["decision"] if response.status_code == 200 else body,
                    len(reached_flask) == before,
                )
            )
    except BaseException:
        answers.put(("error", traceback.format_exc()))
    finally:
        if app is not None:
            dispose(app)


def withdraw_on_the_patients_page(app: Flask, code: str) -> None:
    """The patient withdraws everything with their code, in this process (A)."""
    patient = app.test_client()
    page = patient.get("/withdraw").get_data(as_text=True)
    token = CSRF.search(page).group(1)  # type: ignore[union-attr]
    assert patient.post("/withdraw", data={"csrf_token": token, "code": code}).status_code == 302
    assert (
        patient.post("/withdraw/consent", data={"csrf_token": token, "scope": "all"}).status_code
        == 302
    )
    assert patient.post("/withdraw/confirm", data={"csrf_token": token}).status_code == 302


def run(app: Flask, client: FlaskClient, instance_dir: Path, database_url: str) -> None:
    key = api_key()
    flow = Flow(client, key)
    decision = flow.consent(photo(31), {"teaching": True})
    sha256 = decision["media"]["sha256"]
    code = decision["withdrawal_url"].split("#code=", 1)[1]
    db.session.remove()  # hold no connection or lock while the other process reads

    context = multiprocessing.get_context("spawn")
    commands = context.Queue()
    answers = context.Queue()
    process = context.Process(
        target=verifier,
        args=(str(instance_dir), database_url, key, commands, answers),
        name="consent-verifier",
    )

    def ask() -> tuple[int, Any, bool]:
        commands.put((sha256, "teaching"))
        try:
            report = answers.get(timeout=ANSWER_TIMEOUT)
        except queue.Empty:
            pytest.fail(f"the verifier process did not answer (alive: {process.is_alive()})")
        if report[0] == "error":
            pytest.fail(f"the verifier process failed:\n{report[1]}", pytrace=False)
        return report[1], report[2], report[3]

    process.start()
    try:
        assert ask() == (200, "allowed", False)  # the key is looked up by Flask's route
        assert ask() == (200, "allowed", True)  # warm: answered by the fast path
        assert ask() == (200, "allowed", True)
        withdraw_on_the_patients_page(app, code)
        # The next call after the commit, on the other worker's same connection and key cache.
        assert ask() == (200, "withdrawn", True)
        commands.put(None)
        process.join(timeout=60)
        assert process.exitcode == 0
    finally:
        if process.is_alive():
            process.terminate()
            process.join(timeout=10)
        commands.close()
        answers.close()
        commands.join_thread()
        answers.join_thread()


@pytest.mark.postgres_only
@pytest.mark.skipif(not POSTGRES_URL, reason="needs PostgreSQL (CONSENT_TEST_DATABASE_URL)")
def test_verify_on_another_worker_says_withdrawn_at_once_on_postgresql(
    app: Flask, client: FlaskClient, instance_dir: Path, database_url: str
) -> None:
    run(app, client, instance_dir, database_url)


@pytest.mark.skipif(bool(POSTGRES_URL), reason="the PostgreSQL variant runs instead")
def test_verify_on_another_worker_says_withdrawn_at_once_on_sqlite(
    instance_dir: Path, tmp_path: Path
) -> None:
    # A database file of its own: a second process opening and closing the session's SQLite
    # file (WAL mode) left later tests' new connections with "disk I/O error".
    url = "sqlite:///" + str(tmp_path / "two-workers.sqlite3")
    own = make_app(instance_dir, url)
    try:
        prepare_database(own)
        with own.app_context():
            run(own, own.test_client(), instance_dir, url)
            db.session.remove()
    finally:
        dispose(own)
