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


def test_every_worker_follows_a_rotation_made_by_another(
    private_app: Flask, tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two workers on one instance folder: one rotates (the admin page's service); the other
    takes up the new key by itself, on the verify fast path and on Flask's routes, within the
    watch's second, without a reload (before, it kept signing with the retired key and failed
    on the receipts the new key signed)."""
    from consent.web import keywatch
    from consent.workflows.key_rotation import rotate_signing_key

    other = make_app(tmp_path / "instance", database_url)
    try:
        flow = Flow(private_app.test_client(), api_key())
        db.session.commit()
        first = flow.consent(photo(7), {"teaching": True})
        elsewhere = Flow(other.test_client(), flow.headers["Authorization"].split()[1])
        before = elsewhere.verify(first["media"]["sha256"], "teaching")
        assert before["key_id"] == first["receipt"]["key_id"]

        rotation = rotate_signing_key(private_app.extensions["consent"])
        private_app.extensions["consent"] = rotation.runtime
        new_key = rotation.key.key_id
        second = flow.consent(photo(8), {"teaching": True})
        assert second["receipt"]["key_id"] == new_key
        # The other worker looks at the file again once its second is up.
        monkeypatch.setattr(keywatch, "CHECK_EVERY", 0.0)
        fast = elsewhere.verify(second["media"]["sha256"], "teaching")  # the fast path
        assert fast["answer"]["decision"] == "allowed" and fast["key_id"] == new_key
        upload = elsewhere.verify_upload(photo(7), "teaching")  # a Flask route
        assert upload["answer"]["decision"] == "allowed" and upload["key_id"] == new_key
        assert other.extensions["consent"].keyring.active.key_id == new_key
    finally:
        dispose(other)
