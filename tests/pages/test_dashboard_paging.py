"""The clinician's dashboard is paged: one visit decrypts a page of patients at most, however
many the team has (it once decrypted every patient on every visit, linear in the team's size)."""

from __future__ import annotations

import random
import re
from datetime import date
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event
from werkzeug.security import generate_password_hash

from consent.crypto.vault import Vault
from consent.db import db
from consent.patients.listing import patients_page
from consent.patients.service import register_patient
from consent.web.context import runtime
from tests.conftest import LiveSettings
from tests.factories import CSRF, care_team, member

PASSWORD = "correct horse battery staple"


@pytest.fixture
def team(app: Flask) -> dict[str, Any]:
    slug = f"paging{random.randrange(10**9)}"
    account = member(
        email=f"{slug}@hospital.test", display_name="Dr Page", role="clinician", team_slug=slug
    )
    account.password_hash = generate_password_hash(PASSWORD)
    return {"slug": slug, "email": account.email, "team_id": care_team(slug).id}


def register(team: dict[str, Any], count: int) -> None:
    for number in range(count):
        register_patient(
            db.session,
            runtime().vault,
            team_id=team["team_id"],
            record_number=f"{team['slug']}-{number}",
            name=f"Patient {number:03d}",
            birth_date=date(1950, 1, 1),
        )
    db.session.commit()


def logged_in(app: Flask, email: str) -> FlaskClient:
    client = app.test_client()
    token = CSRF.search(client.get("/clinician/login").get_data(as_text=True))
    assert token
    response = client.post(
        "/clinician/login",
        data={"csrf_token": token.group(1), "email": email, "password": PASSWORD},
    )
    assert response.status_code == 302
    return client


@pytest.fixture
def decryptions(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """Every data key unwrapped (one per identity decrypted), as it happens."""
    seen: list[bytes] = []
    unwrap = Vault.unwrap

    def counted(self: Vault, wrapped: bytes) -> bytes:
        seen.append(wrapped)
        return unwrap(self, wrapped)

    monkeypatch.setattr(Vault, "unwrap", counted)
    return seen


def shown(page: str) -> list[str]:
    return re.findall(r"Patient \d{3}", page)


def test_a_dashboard_visit_decrypts_one_page_of_patients_at_most(
    app: Flask, team: dict[str, Any], decryptions: list[bytes], configure: LiveSettings
) -> None:
    configure["CONSENT_DASHBOARD_PAGE_SIZE"] = 10
    register(team, 25)
    client = logged_in(app, team["email"])
    decryptions.clear()
    first = client.get("/clinician/").get_data(as_text=True)
    assert len(decryptions) == 10
    assert shown(first) == [f"Patient {n:03d}" for n in range(24, 14, -1)]
    assert "Page 1 of 3 (25 patients)" in first and 'rel="next"' in first
    french = client.get("/clinician/", headers={"Accept-Language": "fr"}).get_data(as_text=True)
    assert "Page 1 sur 3 (25 patients)" in french and "Patients plus anciens" in french
    decryptions.clear()
    last = client.get("/clinician/?page=3").get_data(as_text=True)
    assert len(decryptions) == 5
    assert shown(last) == [f"Patient {n:03d}" for n in range(4, -1, -1)]
    assert 'rel="prev"' in last and 'rel="next"' not in last
    # Past the end, or not a number: a page that exists.
    assert shown(client.get("/clinician/?page=99").get_data(as_text=True)) == shown(last)
    assert shown(client.get("/clinician/?page=x").get_data(as_text=True)) == shown(first)


def test_the_work_of_a_page_does_not_grow_with_the_team(
    app: Flask, team: dict[str, Any], decryptions: list[bytes]
) -> None:
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(args[2])

    work = []
    for added in (5, 40):
        register({**team, "slug": f"{team['slug']}-{added}"}, added)
        decryptions.clear()
        event.listen(db.engine, "before_cursor_execute", count)
        try:
            page = patients_page(
                db.session, runtime().vault, team_ids=[team["team_id"]], number=1, per_page=5
            )
        finally:
            event.remove(db.engine, "before_cursor_execute", count)
        work.append((len(page.patients), len(decryptions), len(statements)))
        statements.clear()
    assert work[0] == work[1] == (5, 5, work[0][2])
    assert work[0][2] <= 2  # the count, and the page with its keys
