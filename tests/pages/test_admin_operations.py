"""The operations pages: an admin reads the log's state, the signing keys and the webhook
endpoints of their own teams with their deliveries; a clinician is refused."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient
from werkzeug.security import generate_password_hash

from consent.db import db
from tests.factories import Flow, csrf, issue_key, log_in, member, photo

PASSWORD = "correct horse battery staple"


def _signed_in(app: Flask, email: str, role: str, team: str) -> tuple[FlaskClient, str]:
    account = member(email=email, display_name="Someone", role=role, team_slug=team)
    account.password_hash = generate_password_hash(PASSWORD)
    scopes = ["webhooks:manage", "consents:write"] if role == "admin" else ["consents:write"]
    key = issue_key(name="k", scopes=scopes, days=30, account=account, team_slug=team)
    db.session.commit()
    client = app.test_client()
    assert log_in(client, email, PASSWORD).status_code == 302
    return client, key.secret


def test_an_admin_reads_the_log_keys_and_their_teams_webhooks_only(app: Flask) -> None:
    admin, key = _signed_in(app, "admin@hospital.test", "admin", "ward-a")
    flow = Flow(app.test_client(), key)
    created = flow.client.post(
        "/api/v1/webhooks",
        json={"url": "https://ours.example/hooks", "events": ["consent.created"]},
        headers=flow.headers,
    )
    assert created.status_code == 201, created.json
    flow.consent(photo(81), {"teaching": True})
    _other, other_key = _signed_in(app, "other@hospital.test", "admin", "ward-z")
    theirs = Flow(app.test_client(), other_key).client.post(
        "/api/v1/webhooks",
        json={"url": "https://theirs.example/hooks", "events": ["consent.created"]},
        headers={"Authorization": f"Bearer {other_key}"},
    )
    assert theirs.status_code == 201, theirs.json

    overview = admin.get("/admin/operations/")
    text = overview.get_data(as_text=True)
    assert overview.status_code == 200
    assert "1 entry in the log." in text and "signs now" in text
    hooks = admin.get("/admin/operations/webhooks").get_data(as_text=True)
    assert "https://ours.example/hooks" in hooks and "consent.created" in hooks
    assert "theirs.example" not in hooks


def test_a_clinician_is_refused_the_operations_pages(app: Flask) -> None:
    clinician, _key = _signed_in(app, "dr@hospital.test", "clinician", "ward-a")
    assert clinician.get("/admin/operations/").status_code == 403
    assert clinician.get("/admin/operations/webhooks").status_code == 403


def test_an_admin_runs_the_audit_and_sees_it_pass_then_see_a_tampered_leaf(app: Flask) -> None:
    from sqlalchemy import select, update

    from consent.ledger.models import LogLeaf

    client, key = _signed_in(app, "audit.admin@hospital.test", "admin", "ward")
    Flow(app.test_client(), key).consent(photo(97), {"teaching": True})
    page = client.get("/admin/operations/").get_data(as_text=True)
    answer = client.post("/admin/operations/audit", data={"csrf_token": csrf(page)})
    assert answer.status_code == 200
    assert "Audit passed" in answer.get_data(as_text=True)
    # Without the form's token: refused, nothing run.
    assert client.post("/admin/operations/audit").status_code in (400, 403)
    first = db.session.scalar(select(LogLeaf.index).order_by(LogLeaf.index).limit(1))
    db.session.execute(update(LogLeaf).where(LogLeaf.index == first).values(leaf_hash=b"\0" * 32))
    db.session.commit()
    text = client.post("/admin/operations/audit", data={"csrf_token": csrf(page)}).get_data(
        as_text=True
    )
    assert "The audit found" in text and "stored leaf hash" in text


def test_a_clinician_cannot_run_the_audit(app: Flask) -> None:
    client, _key = _signed_in(app, "audit.doc@hospital.test", "clinician", "ward")
    page = client.get("/clinician/").get_data(as_text=True)
    answer = client.post("/admin/operations/audit", data={"csrf_token": csrf(page)})
    assert answer.status_code == 403
