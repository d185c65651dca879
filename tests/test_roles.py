"""Every route of the app, walked with every role: what docs/roles.md promises is what happens.

The table in docs/roles.md is the source of truth. A route the app serves without a row there,
or a row for a route that no longer exists, fails this test, so a new endpoint cannot land
without someone deciding who may call it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.routing import Rule
from werkzeug.routing.converters import NumberConverter

from consent.accounts.service import create_account, create_api_key
from consent.db import db

ROLES = ("none", "publisher", "clinician", "admin", "auditor")
ROLES_DOC = Path(__file__).resolve().parents[1] / "docs" / "roles.md"
# A table row: | METHOD | `rule` | guard | none | publisher | clinician | admin | auditor |
ROW = re.compile(
    r"^\|\s*([A-Z]+)\s*\|\s*`([^`]+)`\s*\|([^|]*)\|" + r"\s*(yes|no|link|code)\s*\|" * 5
)
# Placeholder values for the rule's variables: well-formed, pointing at nothing.
PLACEHOLDERS = {"filename": "css/app.css", "token": "x" * 43}


@dataclass(frozen=True)
class Credentials:
    api_key: str | None
    account_id: int | None


def documented_access() -> dict[tuple[str, str], dict[str, str]]:
    table: dict[tuple[str, str], dict[str, str]] = {}
    for line in ROLES_DOC.read_text(encoding="utf-8").splitlines():
        match = ROW.match(line.strip())
        if match:
            method, rule, _guard, *marks = match.groups()
            assert (method, rule) not in table, f"{method} {rule} is in docs/roles.md twice"
            table[(method, rule)] = dict(zip(ROLES, marks, strict=True))
    return table


def served_routes(app: Flask) -> dict[tuple[str, str], Rule]:
    return {
        (method, rule.rule): rule
        for rule in app.url_map.iter_rules()
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"})
    }


def _credentials() -> dict[str, Credentials]:
    def account(role: str) -> int:
        return create_account(
            db.session, email=f"{role}@hospital.test", display_name=f"{role} test", role=role
        ).id

    clinician, admin = account("clinician"), account("admin")
    keys = {
        "publisher": create_api_key(db.session, name="publisher", scopes=["verify"], days=30),
        "auditor": create_api_key(db.session, name="auditor", scopes=["audit"], days=30),
        "clinician": create_api_key(
            db.session, name="clinician tool", scopes=["verify", "consents:write"], days=30
        ),
        "admin": create_api_key(
            db.session,
            name="admin tool",
            scopes=["verify", "consents:write", "webhooks:manage"],
            days=30,
        ),
    }
    keys["clinician"].record.account_id = clinician
    keys["admin"].record.account_id = admin
    db.session.commit()
    return {
        "none": Credentials(None, None),
        "publisher": Credentials(keys["publisher"].secret, None),
        "auditor": Credentials(keys["auditor"].secret, None),
        "clinician": Credentials(keys["clinician"].secret, clinician),
        "admin": Credentials(keys["admin"].secret, admin),
    }


def _client(app: Flask, who: Credentials) -> FlaskClient:
    client = app.test_client()
    if who.account_id is not None:
        with client.session_transaction() as session:
            session["_user_id"] = str(who.account_id)
            session["_fresh"] = True
    return client


def _call(app: Flask, method: str, rule: Rule, who: Credentials) -> tuple[int, str]:
    url = rule.rule
    for name in rule.arguments:
        number = isinstance(rule._converters[name], NumberConverter)
        value = PLACEHOLDERS.get(name, "1" if number else "absent")
        url = re.sub(rf"<[^>]*\b{name}>", value, url)
    headers = {"Authorization": f"Bearer {who.api_key}"} if who.api_key else {}
    kwargs: dict[str, object] = {"headers": headers}
    if method in {"POST", "PUT", "PATCH"}:
        kwargs["json" if url.startswith("/api/") else "data"] = {}
    response = _client(app, who).open(url, method=method, **kwargs)  # type: ignore[arg-type]
    response.close()  # a static file answers with an open file
    return response.status_code, response.location or ""


def _verdict(rule: str, role: str, mark: str, status: int, location: str) -> str | None:
    """What is wrong with the answer, or None when it is what the table says."""
    # Flask-Login sends the refused to the login page with ?next=; logging out also ends there,
    # without it.
    to_login = status == 302 and "/clinician/login?next=" in location
    if status >= 500:
        return f"server error {status}"
    if mark == "link":
        # Tablet steps: whoever asks, without a signing link opened in this browser, gets the
        # page that says the link is not valid (410), or nothing at all (404) for the steps
        # that only follow another, never the patient's documents.
        return None if status in (404, 410) else f"{status} instead of 410 or 404"
    if mark == "code":
        # Withdrawal steps: without the code typed in this browser, back to the code page.
        back = status == 302 and location.rstrip("/").endswith("/withdraw")
        return None if back or status == 404 else f"{status} {location} instead of /withdraw"
    if mark == "yes":
        # A page's own 401 is a wrong password on the login form, not a refused role.
        refused = (401, 403) if rule.startswith("/api/") else (403,)
        if status in refused or status == 405 or to_login:
            return f"refused ({status} {location})"
        return None
    if rule.startswith("/api/"):
        expected = 401 if role == "none" else 403
        return None if status == expected else f"{status} instead of {expected}"
    return None if to_login else f"{status} instead of a redirect to the login page"


@pytest.fixture
def page_app(app: Flask) -> Flask:
    # CSRF is its own test (tests/pages); here an empty form must meet the role check.
    app.config["WTF_CSRF_ENABLED"] = False
    yield app  # type: ignore[misc]
    app.config["WTF_CSRF_ENABLED"] = True


def test_every_route_has_a_row_in_the_roles_table(app: Flask) -> None:
    served, documented = set(served_routes(app)), set(documented_access())
    assert not served - documented, f"routes missing from docs/roles.md: {served - documented}"
    assert not documented - served, f"rows for routes that do not exist: {documented - served}"


def test_every_route_answers_each_role_as_the_table_says(page_app: Flask) -> None:
    credentials = _credentials()
    table = documented_access()
    wrong = []
    for (method, path), rule in sorted(served_routes(page_app).items()):
        marks = table.get((method, path))
        if marks is None:
            continue  # the test above names it
        for role in ROLES:
            status, location = _call(page_app, method, rule, credentials[role])
            problem = _verdict(path, role, marks[role], status, location)
            if problem:
                wrong.append(f"{method} {path} as {role} ({marks[role]}): {problem}")
    assert not wrong, "\n".join(wrong)


def test_the_table_is_not_vacuous() -> None:
    """Each role is allowed somewhere and, but for the admin, refused somewhere."""
    table = documented_access()
    assert len(table) > 40
    for role in ROLES:
        marks = {row[role] for row in table.values()}
        assert "yes" in marks, role
        assert role == "admin" or "no" in marks, role
