"""The admin journal: every administrator's action is recorded with who, what and when, in
the action's own transaction; admins and auditors read it newest first, a page at a time;
no secret ever goes in."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from sqlalchemy import select

from consent.accounts import journal
from consent.accounts.models import Account, AdminJournalEntry, ApiKey
from consent.db import db
from tests.factories import staff
from tests.pages.test_admin_pages import _signed_in


@pytest.fixture
def admin_id(app: Flask, monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", False)
    account = staff("admin", name="Ada Admin")
    db.session.commit()
    return int(account.id)


def _entries() -> list[tuple[int, str, str]]:
    db.session.expire_all()
    rows = db.session.scalars(select(AdminJournalEntry).order_by(AdminJournalEntry.id))
    return [(row.account_id, row.action, row.object_id) for row in rows]


def test_each_admin_action_is_recorded_with_who_and_what(app: Flask, admin_id: int) -> None:
    admin = _signed_in(app, admin_id)
    clinician = staff(name="Dr Journal")
    db.session.commit()
    issued = admin.post(
        "/admin/keys",
        data={
            "name": "tool",
            "team": "ward-a",
            "holder": f"account:{clinician.id}",
            "scopes": ["verify"],
            "days": "30",
        },
    ).get_data(as_text=True)
    secret = re.search(r"csk_[A-Za-z0-9_-]{40,}", issued)
    assert secret is not None
    key_id = db.session.scalar(select(ApiKey.id).where(ApiKey.name == "tool"))
    admin.post(f"/admin/keys/{key_id}/revoke")
    admin.post("/admin/integrations", data={"team": "ward-a", "name": "EHR"})
    admin.post(f"/admin/accounts/{clinician.id}/disable")
    admin.post(f"/admin/accounts/{clinician.id}/enable")
    admin.post(f"/admin/teams/ward-a/members/{clinician.id}/remove")
    admin.post("/admin/teams/ward-a/members", data={"email": clinician.email})
    admin.post("/admin/operations/audit")

    entries = _entries()
    assert {who for who, _action, _object in entries} == {admin_id}
    actions = [action for _who, action, _object in entries]
    assert actions[:2] == ["api_key.created", "api_key.revoked"]
    assert actions[2:] == [
        "integration.created",
        "account.disabled",
        "account.enabled",
        "membership.removed",
        "membership.added",
        "log.audited",
    ]
    assert entries[0][2] == entries[1][2] == str(key_id)
    assert entries[3][2] == str(clinician.id)
    # The key's secret (and its prefix) is nowhere in the journal, nor on its page.
    page = admin.get("/admin/journal").get_data(as_text=True)
    for _who, _action, object_id in entries:
        assert secret.group(0)[:12] not in object_id
    assert secret.group(0)[:12] not in page
    assert "API key revoked" in page and "Ada Admin" in page


def test_a_refused_action_leaves_no_entry(app: Flask, admin_id: int) -> None:
    admin = _signed_in(app, admin_id)
    refused = admin.post("/admin/keys", data={"name": "x", "team": "ward-a", "holder": "nobody"})
    assert refused.status_code == 422
    assert _entries() == []


def test_the_journal_reads_newest_first_in_pages(
    app: Flask, admin_id: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(journal, "PAGE_SIZE", 3)
    for number in range(7):
        journal.record_admin_action(
            db.session, account_id=admin_id, action="api_key.revoked", object_id=number
        )
    db.session.commit()
    admin = _signed_in(app, admin_id)
    first = admin.get("/admin/journal").get_data(as_text=True)
    assert re.findall(r"<code>(\d+)</code>", first) == ["6", "5", "4"]
    assert "Page 1 of 3" in first and 'rel="next"' in first and 'rel="prev"' not in first
    last = admin.get("/admin/journal?page=3").get_data(as_text=True)
    assert re.findall(r"<code>(\d+)</code>", last) == ["0"]
    # Past the end, or not a number: the nearest page, never an error.
    beyond = admin.get("/admin/journal?page=99").get_data(as_text=True)
    assert re.findall(r"<code>(\d+)</code>", beyond) == ["0"]
    assert admin.get("/admin/journal?page=x").status_code == 200


def test_an_auditor_reads_the_journal_and_a_clinician_does_not(app: Flask, admin_id: int) -> None:
    journal.record_admin_action(
        db.session, account_id=admin_id, action="signing_key.rotated", object_id="k2"
    )
    auditor, clinician = staff("auditor"), staff()
    db.session.commit()
    read = _signed_in(app, auditor.id).get("/admin/journal")
    assert read.status_code == 200 and "Signing key rotated" in read.get_data(as_text=True)
    assert _signed_in(app, auditor.id).get("/admin/keys").status_code == 403
    assert _signed_in(app, clinician.id).get("/admin/journal").status_code == 403
    assert app.test_client().get("/admin/journal").status_code == 302


def test_the_database_refuses_an_unknown_action(app: Flask, admin_id: int) -> None:
    from sqlalchemy.exc import IntegrityError

    db.session.add(AdminJournalEntry(account_id=admin_id, action="anything", object_id="1"))
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()


def test_webhook_endpoints_changed_through_the_api_are_recorded(app: Flask, admin_id: int) -> None:
    from tests.factories import auth, key_for

    key = key_for(db.session.get_one(Account, admin_id), ("webhooks:manage",), days=30)
    db.session.commit()
    client = app.test_client()
    made = client.post(
        "/api/v1/webhooks",
        json={"url": "https://publisher.example/hooks", "events": ["consent.created"]},
        headers=auth(key),
    )
    assert made.status_code == 201, made.json
    assert (
        client.delete(f"/api/v1/webhooks/{made.json['id']}", headers=auth(key)).status_code == 204
    )
    assert _entries() == [
        (admin_id, "webhook_endpoint.registered", made.json["id"]),
        (admin_id, "webhook_endpoint.deleted", made.json["id"]),
    ]
    # The endpoint's signing secret is never recorded.
    assert all(made.json["secret"] not in object_id for _who, _what, object_id in _entries())
