"""Expiry: verify says expired past the end date; `flask --app consent expire` records each
expiry once and emits consent.expired once, rewriting no receipt. Minors: a consent given for
a patient under 18 is flagged for review on their 18th birthday, listed, never revoked."""

from __future__ import annotations

import json
import threading
from datetime import date, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskCliRunner
from sqlalchemy import delete, select

from consent import clock
from consent.cli.expiry import expire_due
from consent.consents.expiry import due_reviews, majority_date
from consent.consents.models import Consent, ConsentExpiry, ConsentUse, MajorityReview
from consent.db import db
from consent.webhooks.models import WebhookDelivery
from tests.factories import Flow, in_days, photo
from tests.webhooks.conftest import Clock, register

CHOICES = {"teaching": True, "survey": False}


def expired_events() -> list[dict[str, Any]]:
    rows = db.session.scalars(
        select(WebhookDelivery.payload).where(WebhookDelivery.event_type == "consent.expired")
    )
    return [json.loads(payload) for payload in rows]


def birth_date_aged(years: int, days: int = 0) -> str:
    """The birth date of someone who turned ``years`` ``days`` days ago (in -days days when
    negative)."""
    today = clock.now().date()
    try:
        birthday = today.replace(year=today.year - years)
    except ValueError:  # 29 February
        birthday = today.replace(year=today.year - years, day=28)
    return (birthday - timedelta(days=days)).isoformat()


def test_expire_emits_consent_expired_once_and_rewrites_no_receipt(
    flow: Flow, runner: FlaskCliRunner, moving_clock: Clock, receiver: Any, key: str
) -> None:
    register(flow.client, key, receiver.url, ["consent.expired"])
    ending = flow.consent(photo(1), CHOICES, expires_at=in_days(2))
    lasting = flow.consent(photo(2), CHOICES, expires_at=in_days(30))
    sha = ending["media"]["sha256"]
    receipts = {row.id: (row.receipt, row.signature) for row in db.session.scalars(select(Consent))}
    assert flow.verify(sha, "teaching")["answer"]["decision"] == "allowed"

    nothing_yet = runner.invoke(args=["expire"])
    assert nothing_yet.exit_code == 0, nothing_yet.output
    assert "0 consents expired" in nothing_yet.output

    moving_clock.advance(days=3)
    # Verify needs no expiry run: the signed end date decides.
    assert flow.verify(sha, "teaching")["answer"]["decision"] == "expired"
    first = runner.invoke(args=["expire"])
    assert first.exit_code == 0, first.output
    assert f"expired {ending['consent_id']}" in first.output
    assert "queued for 1 webhook endpoints" in first.output
    assert "1 consents expired, 0 reviews due" in first.output
    assert lasting["consent_id"] not in first.output

    second = runner.invoke(args=["expire"])
    assert "0 consents expired" in second.output
    (event,) = expired_events()
    assert event["type"] == "consent.expired"
    assert event["data"]["consent_id"] == ending["consent_id"]
    assert event["data"]["log_index"] == ending["receipt"]["receipt"]["log_index"]
    assert event["data"]["media_sha256"] == [sha]
    assert event["data"]["expired_at"] == ending["receipt"]["receipt"]["expires_at"]
    (recorded,) = db.session.scalars(select(ConsentExpiry)).all()
    assert recorded.consent_id == ending["consent_id"]

    db.session.expire_all()
    after = {row.id: (row.receipt, row.signature) for row in db.session.scalars(select(Consent))}
    assert after == receipts
    audit = runner.invoke(args=["audit"])
    assert audit.exit_code == 0, audit.output

    # The delivery reaches the receiver like any other event.
    delivered = runner.invoke(args=["deliver"])
    assert "1 delivered" in delivered.output
    assert json.loads(receiver.wait_for(1)[0].body)["type"] == "consent.expired"


def test_concurrent_expire_runs_emit_once(
    app: Flask, flow: Flow, moving_clock: Clock, receiver: Any, key: str
) -> None:
    register(flow.client, key, receiver.url, ["consent.expired"])
    for seed in range(4):
        flow.consent(photo(10 + seed), CHOICES, expires_at=in_days(1))
    moving_clock.advance(days=2)
    db.session.commit()
    found: list[list[str]] = []
    errors: list[BaseException] = []
    start = threading.Barrier(3)

    def run() -> None:
        with app.app_context():
            try:
                start.wait(10)
                found.append([item.consent_id for item in expire_due()])
            except BaseException as exc:
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    # Each consent expired by exactly one run, and told to the publishers once.
    expired = [consent_id for run_found in found for consent_id in run_found]
    assert len(expired) == len(set(expired)) == 4
    events = expired_events()
    assert sorted(event["data"]["consent_id"] for event in events) == sorted(expired)
    assert expire_due() == []


def test_consent_given_for_a_minor_is_due_for_review_at_18(
    flow: Flow, runner: FlaskCliRunner, moving_clock: Clock
) -> None:
    birth = birth_date_aged(18, days=-40)  # 17, and 18 in 40 days
    patient = flow.patient(birth_date=birth)
    media = flow.media(patient, photo(3))
    request_id = flow.request(
        patient,
        [media["id"]],
        [{"purpose": "teaching"}, {"purpose": "survey"}],
        form="media-publication-representative",
        expires_at=in_days(3 * 365),
    )
    given = flow.decide(
        request_id,
        {"teaching": True, "survey": False},
        signer={"role": "legal_representative", "name": "Marie Martin", "relationship": "parent"},
    )
    review = db.session.get_one(MajorityReview, given["consent_id"])
    assert review.minor and review.basis == "birth_date"
    assert review.review_on == majority_date(date.fromisoformat(birth))
    assert (review.review_on - clock.now().date()).days == 40

    assert "0 reviews due" in runner.invoke(args=["due-reviews"]).output
    soon = runner.invoke(args=["due-reviews", "--within", "60"])
    assert f"review soon {given['consent_id']}" in soon.output
    assert "0 reviews due, 1 soon" in soon.output

    moving_clock.advance(days=41)
    listed = runner.invoke(args=["due-reviews"])
    line = next(line for line in listed.output.splitlines() if given["consent_id"] in line)
    assert f"patient {patient} is 18 on {review.review_on.isoformat()}" in line
    assert "signed by legal_representative (parent)" in line
    assert "still grants teaching;" in line
    assert "Marie" not in listed.output and "Jeanne" not in listed.output

    expired = runner.invoke(args=["expire"])
    assert f"review due {given['consent_id']}" in expired.output
    assert "0 consents expired, 1 reviews due" in expired.output
    # Nothing revoked: the grant stands, verify still allows.
    sha = media["sha256"]
    assert flow.verify(sha, "teaching")["answer"]["decision"] == "allowed"
    uses = db.session.scalars(
        select(ConsentUse).where(ConsentUse.consent_id == given["consent_id"])
    ).all()
    assert all(use.withdrawal_id is None for use in uses)
    assert db.session.scalars(select(ConsentExpiry)).all() == []


def test_adult_patient_is_not_flagged(flow: Flow) -> None:
    given = flow.consent(photo(4), CHOICES, patient_id=flow.patient(birth_date=birth_date_aged(18)))
    review = db.session.get_one(MajorityReview, given["consent_id"])
    assert not review.minor and review.review_on is None


def test_withdrawn_or_expired_consents_need_no_review(flow: Flow, moving_clock: Clock) -> None:
    withdrawn = flow.consent(
        photo(5),
        {"teaching": True},
        patient_id=flow.patient(birth_date=birth_date_aged(17)),
        expires_at=in_days(800),
    )
    response = flow.client.post(
        f"/api/v1/consents/{withdrawn['consent_id']}/withdrawal", json={}, headers=flow.headers
    )
    assert response.status_code == 201
    refused = flow.consent(
        photo(6),
        {"teaching": False},
        patient_id=flow.patient(birth_date=birth_date_aged(17)),
        expires_at=in_days(800),
    )
    ending = flow.consent(
        photo(7),
        {"teaching": True},
        patient_id=flow.patient(birth_date=birth_date_aged(17, days=200)),
        expires_at=in_days(100),
    )
    moving_clock.advance(days=366)
    # Of age by now, all three; the first withdrawn, the second refused, the third ended.
    assert due_reviews(db.session) == []
    flagged = {row.consent_id for row in db.session.scalars(select(MajorityReview)) if row.minor}
    assert flagged == {withdrawn["consent_id"], refused["consent_id"], ending["consent_id"]}


def test_consents_recorded_before_assessments_are_assessed_by_the_commands(
    flow: Flow, runner: FlaskCliRunner, moving_clock: Clock
) -> None:
    minor = flow.consent(
        photo(8),
        {"teaching": True},
        patient_id=flow.patient(birth_date=birth_date_aged(17)),
        expires_at=in_days(800),
    )
    adult = flow.consent(photo(9), {"teaching": True})
    db.session.execute(delete(MajorityReview))
    db.session.commit()
    moving_clock.advance(days=366)
    listed = runner.invoke(args=["due-reviews"])
    assert f"review due {minor['consent_id']}" in listed.output
    assert adult["consent_id"] not in listed.output
    assert len(db.session.scalars(select(MajorityReview)).all()) == 2


@pytest.mark.parametrize(
    ("birth", "adult_on"),
    [
        (date(2008, 3, 9), date(2026, 3, 9)),
        (date(2008, 2, 29), date(2026, 3, 1)),
        (date(2012, 2, 29), date(2030, 3, 1)),
        (date(2010, 12, 31), date(2028, 12, 31)),
    ],
)
def test_majority_is_the_18th_birthday(birth: date, adult_on: date) -> None:
    assert majority_date(birth) == adult_on
