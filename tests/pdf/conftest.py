"""The PDF tests' clinician (with a password and an API key) and their API flow."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from werkzeug.security import generate_password_hash

from consent.db import db
from tests.factories import Flow, issue_key, member

PASSWORD = "correct horse battery staple"


@pytest.fixture
def doctor(app: Flask) -> dict[str, Any]:
    account = member(email="dr.pdf@hospital.test", display_name="Dr Fiona", role="clinician")
    account.password_hash = generate_password_hash(PASSWORD)
    key = issue_key(name="ehr", scopes=["verify", "consents:write"], days=30, account=account)
    db.session.commit()
    return {"email": account.email, "key": key.secret}


@pytest.fixture
def flow(app: Flask, doctor: dict[str, Any]) -> Flow:
    return Flow(app.test_client(), doctor["key"])
