"""Rotating the signing key from the admin page: a confirmation page, then a POST with its
CSRF token; the new key signs at once, the old one is retired and still verifies the receipts
it signed; the admin journal names the new key. Administrators only. The rotation is the
CLI's own service (consent.workflows.key_rotation)."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from consent.accounts.models import AdminJournalEntry
from consent.crypto.receipts import verify_envelope
from consent.db import db
from tests.conftest import dispose, empty_tables, make_app
from tests.factories import Flow, api_key, photo, staff
from tests.pages.test_admin_pages import _signed_in


@pytest.fixture
def private_app(
    app: Flask, tmp_path: Path, database_url: str, instance_dir: Path
) -> Iterator[Flask]:
    """An app on a copy of the instance folder: rotating must not change the shared keys.
    (``app`` first: the shared database is migrated.)"""
    private = tmp_path / "instance"
    shutil.copytree(instance_dir, private, ignore=shutil.ignore_patterns("*.sqlite3*", "media"))
    rotating = make_app(private, database_url)
    empty_tables(rotating)
    with rotating.app_context():
        yield rotating
        db.session.remove()
    empty_tables(rotating)
    dispose(rotating)


def _csrf(page: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found is not None
    return found.group(1)


def test_an_admin_rotates_the_key_and_old_receipts_still_verify(private_app: Flask) -> None:
    flow = Flow(private_app.test_client(), api_key())
    old = flow.consent(photo(5), {"teaching": True})
    admin = staff("admin", name="Ada Admin")
    db.session.commit()
    page = _signed_in(private_app, admin.id)
    confirm = page.get("/admin/operations/keys/rotate")
    assert confirm.status_code == 200
    text = confirm.get_data(as_text=True)
    assert old["receipt"]["key_id"] in text and "still verifies" in text
    # Without the form's token: refused, nothing rotated.
    assert page.post("/admin/operations/keys/rotate").status_code == 400
    assert len(private_app.extensions["consent"].keyring.public_keys()) == 1

    done = page.post("/admin/operations/keys/rotate", data={"csrf_token": _csrf(text)})
    assert done.status_code == 302 and done.location.endswith("/admin/operations/")
    keyring = private_app.extensions["consent"].keyring
    keys = [(key.key_id, key.status) for key in keyring.public_keys()]
    assert keys[0] == (old["receipt"]["key_id"], "retired") and keys[1][1] == "active"
    overview = page.get("/admin/operations/").get_data(as_text=True)
    assert "retired, verifies only" in overview and keys[1][0] in overview

    new = flow.consent(photo(6), {"teaching": True})
    assert new["receipt"]["key_id"] == keys[1][0]
    verify_envelope(envelope=old["receipt"], body_key="receipt", keys=keyring)
    verify_envelope(envelope=new["receipt"], body_key="receipt", keys=keyring)
    assert flow.verify(old["media"]["sha256"], "teaching")["answer"]["decision"] == "allowed"
    entry = db.session.query(AdminJournalEntry).one()
    assert (entry.account_id, entry.action, entry.object_id) == (
        admin.id,
        "signing_key.rotated",
        keys[1][0],
    )


def test_a_clinician_cannot_rotate(private_app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(private_app.config, "WTF_CSRF_ENABLED", False)
    clinician = staff()
    db.session.commit()
    page = _signed_in(private_app, clinician.id)
    assert page.get("/admin/operations/keys/rotate").status_code == 403
    assert page.post("/admin/operations/keys/rotate").status_code == 403
    assert len(private_app.extensions["consent"].keyring.public_keys()) == 1
