"""The stage stored on each request never disagrees with what its records say, whatever the
sequence of events (a signature waiting, confirmed, a decision entered, withdrawals, an
erasure), and the worklist's state today from the stored stage is the state computed from the
records on any day (before, near and after the end date)."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta

import pytest
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import and_, case, literal, select

from consent.accounts.models import Account
from consent.accounts.scope import EVERY_TEAM
from consent.consents import signing
from consent.consents.decisions import Signer
from consent.consents.models import Consent, ConsentRequest, ConsentUse, PendingDecision
from consent.consents.signature import drawn_signature
from consent.consents.stage import computed_stage, stages_from_records
from consent.db import db
from consent.patients.models import Patient
from consent.web.context import runtime
from consent.workflows.decide import confirm_on_tablet
from consent.workflows.erase import erase_patient
from consent.workflows.withdraw import withdraw_with_code
from consent.workflows.worklist import EXPIRING_DAYS, STATES, counts, in_state, state_of
from tests.factories import WARD, Flow, issue_key, member, photo, signature_strokes

USES = ["teaching", "survey", "public_social_network"]
SEEDS = itertools.count(300)
EVENTS = ("submit", "confirm", "decide", "withdraw_one", "withdraw_all", "erase")


def _state_from_records(now: datetime) -> object:
    """The worklist's state before the stage was stored: every rule from the records."""
    stage = computed_stage()
    return case(
        (stage.in_(("erased", "waiting_confirmation", "waiting_patient", "withdrawn")), stage),
        (Consent.expires_at <= now, literal("expired")),
        (stage == "partly_withdrawn", stage),
        (Consent.expires_at <= now + timedelta(days=EXPIRING_DAYS), literal("expiring")),
        else_=literal("decided"),
    )


def _check_everything() -> None:
    ids = list(db.session.scalars(select(ConsentRequest.id)))
    stored = dict(db.session.execute(select(ConsentRequest.id, ConsentRequest.stage)).all())
    assert stored == stages_from_records(db.session, ids)
    ends = list(db.session.scalars(select(Consent.expires_at)))
    for end in ends[:3]:
        for now in (end - timedelta(days=EXPIRING_DAYS + 1), end - timedelta(days=1), end):
            reference = dict(
                db.session.execute(
                    select(ConsentRequest.id, _state_from_records(now))  # type: ignore[call-overload]
                    .join(Patient, Patient.id == ConsentRequest.patient_id)
                    .outerjoin(Consent, Consent.request_id == ConsentRequest.id)
                ).all()
            )
            today = dict(db.session.execute(select(ConsentRequest.id, state_of(now))).all())
            assert today == reference
            for name in STATES:
                chosen = set(
                    db.session.scalars(select(ConsentRequest.id).where(in_state(name, now)))
                )
                assert chosen == {key for key, value in reference.items() if value == name}
            by_state = counts(db.session, EVERY_TEAM, now=now)
            assert by_state == {name: list(reference.values()).count(name) for name in STATES}


def _apply(event: str, request_id: str, flow: Flow, account: Account, pick: int) -> None:
    rt = runtime()
    request = db.session.get_one(ConsentRequest, request_id)
    consent = db.session.scalar(select(Consent).where(Consent.request_id == request_id))
    patient = db.session.get_one(Patient, request.patient_id)
    waiting = db.session.get(PendingDecision, request_id) is not None
    if patient.erased_at is not None:
        return
    if event == "submit" and consent is None and not waiting:
        issued = signing.issue_link(db.session, request_id=request_id, minutes=30, scope=EVERY_TEAM)
        link = signing.open_link(db.session, issued.token, "tablet")
        choices = {use: (pick + n) % 2 == 0 for n, use in enumerate(USES)}
        signing.submit(
            db.session,
            rt.vault,
            link=link,
            choices=choices,
            signer=Signer("patient"),
            drawn=drawn_signature(signature_strokes()),
        )
    elif event == "confirm" and waiting:
        confirm_on_tablet(db.session, rt, request_id=request_id, account=account, scope=EVERY_TEAM)
    elif event == "decide" and consent is None and not waiting:
        db.session.commit()
        flow.decide(request_id, {use: (pick + n) % 3 != 0 for n, use in enumerate(USES)})
    elif event.startswith("withdraw") and consent is not None:
        granted = db.session.scalars(
            select(ConsentUse.purpose).where(
                and_(
                    ConsentUse.consent_id == consent.id,
                    ConsentUse.granted.is_(True),
                    ConsentUse.withdrawal_id.is_(None),
                )
            )
        ).all()
        if granted:
            purposes = None if event == "withdraw_all" else [granted[pick % len(granted)]]
            withdraw_with_code(db.session, rt.keyring, consent_id=consent.id, purposes=purposes)
    elif event == "erase":
        erase_patient(
            db.session,
            rt.keyring,
            rt.files,
            patient.id,
            scope=EVERY_TEAM,
            recorded_by={"team": request.team_id},
        )
    db.session.commit()


@pytest.fixture
def walk(app: Flask) -> tuple[Flow, Account]:
    account = member(email="stage@hospital.test", display_name="Dr Stage", team_slug=WARD)
    key = issue_key(name="ehr", scopes=["consents:write"], days=30, account=account)
    db.session.commit()
    return Flow(app.test_client(), key.secret), account


@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    steps=st.lists(
        st.tuples(st.integers(0, 2), st.sampled_from(EVENTS), st.integers(0, 5)),
        min_size=1,
        max_size=10,
    )
)
def test_the_stored_stage_agrees_with_the_records_after_every_event(
    walk: tuple[Flow, Account], steps: list[tuple[int, str, int]]
) -> None:
    flow, account = walk
    seed = next(SEEDS)
    patient = flow.patient(record_number=f"STAGE{seed}")
    media = flow.media(patient, photo(seed))
    uses = [{"purpose": use} for use in USES]
    requests = [flow.request(patient, [media["id"]], uses) for _ in range(3)]
    _check_everything()
    for which, event, pick in steps:
        _apply(event, requests[which], flow, account, pick)
        _check_everything()
