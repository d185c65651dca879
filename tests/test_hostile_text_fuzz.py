"""Every JSON and form field of the OpenAPI document, and every query parameter, sent text that
is not text (lone surrogates, control characters, CR/LF) by hypothesis: never a 5xx, always the
422 of consent.web.textinput, nothing stored; then every staff page still renders.

A lone surrogate in a patient's name was once stored with 201, and from then on the clinician
dashboard answered 500 for every clinician.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.security import generate_password_hash

from consent.db import db
from tests.factories import CSRF, Flow, issue_key, member, photo
from tests.test_errors import snapshot

DOCUMENT = json.loads((Path(__file__).parents[1] / "schemas" / "openapi.json").read_text())
PASSWORD = "correct horse battery staple"
# Refused in any field: never a character of a name, an address or a note.
REFUSED = ["\x00", "\x07", "\x1b", "\x7f", "\x85", "\x9b"]
# JSON may also carry an unpaired surrogate (the escape \ud800); a form cannot (UTF-8 bytes).
SURROGATES = ["\ud800", "\udbff", "\udc00", "\udfff"]
EXAMPLES = 25


def _places(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Where strings sit in a generated body (dict keys and list indexes, in order)."""
    if isinstance(value, str):
        return [path]
    if isinstance(value, dict):
        return [p for key, item in value.items() for p in _places(item, (*path, key))]
    if isinstance(value, list):
        return [p for number, item in enumerate(value) for p in _places(item, (*path, number))]
    return []


def _put(container: Any, path: tuple[Any, ...], value: str) -> None:
    for step in path[:-1]:
        container = container[step]
    container[path[-1]] = value


def _resolve(schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[1]
        schema = DOCUMENT["components"]["schemas"][name]
    return schema


def _operations() -> list[tuple[str, str, str, list[str]]]:
    """(method, path, where, field names): every body field and query parameter."""
    found = []
    for path, item in DOCUMENT["paths"].items():
        for method, operation in item.items():
            if method not in {"get", "post", "put", "patch", "delete"}:
                continue
            query = [p["name"] for p in operation.get("parameters", []) if p["in"] == "query"]
            if query:
                found.append((method.upper(), path, "query", query))
            for content, body in operation.get("requestBody", {}).get("content", {}).items():
                fields = list(_resolve(body["schema"]).get("properties", {}))
                if fields:
                    found.append((method.upper(), path, content, fields))
    return found


OPERATIONS = _operations()


def hostile(surrogates: bool) -> st.SearchStrategy[str]:
    bad = st.sampled_from(REFUSED + (SURROGATES if surrogates else []))
    plain = st.text(st.characters(codec="utf-8", categories=["L", "N", "Zs"]), max_size=8)
    return st.builds(lambda a, b, c: a + b + c, plain, bad, plain)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("method", "path", "where", "fields"),
    OPERATIONS,
    ids=[f"{m} {p} {w}" for m, p, w, _ in OPERATIONS],
)
def test_hostile_text_in_any_field_gets_422_and_nothing_is_stored(
    app: Flask, method: str, path: str, where: str, fields: list[str]
) -> None:
    account = member(email=f"fuzz{random.randrange(10**9)}@hospital.test", display_name="Dr Fuzz")
    key = issue_key(
        name="fuzz",
        scopes=["verify", "consents:write", "webhooks:manage"],
        days=30,
        account=account,
    ).secret
    db.session.commit()
    client = app.test_client()
    flow = Flow(client, key)
    given_consent = flow.consent(photo(41), {"teaching": True})
    patient = flow.patient()
    media = flow.media(patient, photo(43))
    real = {
        "consent_id": given_consent["consent_id"],
        "patient_id": patient,
        "request_id": flow.request(patient, [media["id"]], [{"purpose": "teaching"}]),
    }
    operation = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)[path][method]
    before = snapshot()

    @given(
        case=operation.as_strategy(),
        value=hostile(where == "application/json"),
        choice=st.integers(min_value=0, max_value=1000),
    )
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    def exchange(case: Any, value: str, choice: int) -> None:
        for name in case.path_parameters or {}:
            if name in real:
                case.path_parameters[name] = real[name]
        if where == "query":
            case.query = dict(case.query or {})
            places = [(name,) for name, item in case.query.items() if isinstance(item, str)]
            target = case.query
        else:
            if not isinstance(case.body, dict):
                case.body = {}
            places = [p for p in _places(case.body) if p[0] in fields]
            target = case.body
        if places:
            _put(target, places[choice % len(places)], value)
        else:
            target[fields[choice % len(fields)]] = value
        response = case.call(headers=flow.headers)
        shown = response.text[:300]
        assert response.status_code < 500, (case.body, case.query, shown)
        assert response.status_code == 422, (case.body, case.query, shown)
        assert set(response.json()) == {"code", "status", "message", "errors"}

    exchange()
    assert snapshot() == before
    # Every staff page still renders.
    account.password_hash = generate_password_hash(PASSWORD)
    db.session.commit()
    staff = app.test_client()
    token = CSRF.search(staff.get("/clinician/login").get_data(as_text=True))
    assert token
    staff.post(
        "/clinician/login",
        data={"csrf_token": token.group(1), "email": account.email, "password": PASSWORD},
    )
    pages = [
        "/clinician/",
        "/clinician/patients/new",
        f"/clinician/patients/{patient}",
        f"/clinician/requests/{real['request_id']}",
    ]
    for page in pages:
        assert staff.get(page).status_code == 200, page
