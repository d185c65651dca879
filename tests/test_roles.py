"""Every route of the app, walked with every role: what docs/roles.md promises is what happens.

The table in docs/roles.md is the source of truth. A route the app serves without a row there,
or a row for a route that no longer exists, fails this test, so a new endpoint cannot land
without someone deciding who may call it. Its last column says what staff of another care team
get for a team's records; the second test walks it with real records.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from werkzeug.routing import Rule
from werkzeug.routing.converters import NumberConverter

from consent.accounts.models import Account
from consent.consents.models import Consent, ConsentRequest, ConsentUse, SigningLink
from consent.db import db
from consent.errors import ConfigurationError
from consent.interop.iso27560 import FORMATS
from consent.ledger.models import LogLeaf
from consent.media.models import MediaRendition
from consent.pages import admin_operations
from consent.pages.login import VERSION as SESSION_VERSION
from consent.patients.models import Patient
from consent.webhooks.models import WebhookEndpoint
from tests.factories import Flow, evidence, in_days, issue_key, member, photo, scan_pdf
from tests.media.test_faces import astronaut

ROLES = ("none", "publisher", "clinician", "admin", "auditor")
STAFF = ("clinician", "admin")
ROLES_DOC = Path(__file__).resolve().parents[1] / "docs" / "roles.md"
# A table row: | METHOD | `rule` | guard | none | publisher | clinician | admin | auditor | other |
ROW = re.compile(
    r"^\|\s*([A-Z]+)\s*\|\s*`([^`]+)`\s*\|([^|]*)\|"
    + r"\s*(yes|no|link|code)\s*\|" * 5
    + r"\s*(404|own|-)\s*\|"
)
# Placeholder values for the rule's variables: well-formed, pointing at nothing.
PLACEHOLDERS = {"filename": "css/app.css", "token": "x" * 43}
# Numeric ids name nothing: the walk runs the admin's POSTs too (revoke a key, disable an
# account or an integration), and id 1 would be the publisher's own key or system.
ABSENT_NUMBER = "999999"
# What the exports need to answer at all (each has its own test of the parameters).
QUERIES = {"fhir": "?version=R4", "record": f"?format={FORMATS[0]}"}
# The team whose records the second test reaches for, and the team of the callers.
THEIRS, OURS = "ward-a", "ward-b"


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
            table[(method, rule)] = dict(zip((*ROLES, "other"), marks, strict=True))
    return table


def served_routes(app: Flask) -> dict[tuple[str, str], Rule]:
    return {
        (method, rule.rule): rule
        for rule in app.url_map.iter_rules()
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"})
    }


def _credentials(team: str = OURS) -> dict[str, Credentials]:
    """A caller of each role, in ``team``: staff with an account (signed in on the pages) and
    a key; the publisher is a system of the team."""

    def person(role: str, scopes: list[str]) -> Credentials:
        account = member(
            email=f"{role}.{team}@hospital.test",
            display_name=f"{role} of {team}",
            role=role,
            team_slug=team,
        )
        key = issue_key(name=role, scopes=scopes, days=30, account=account, team_slug=team)
        return Credentials(key.secret, account.id)

    found = {
        "none": Credentials(None, None),
        "publisher": Credentials(
            issue_key(name="publisher", scopes=["verify"], days=30, team_slug=team).secret, None
        ),
        "clinician": person("clinician", ["verify", "consents:write"]),
        "admin": person("admin", ["verify", "consents:write", "webhooks:manage"]),
        "auditor": person("auditor", ["audit"]),
    }
    db.session.commit()
    return found


def _client(app: Flask, who: Credentials) -> FlaskClient:
    client = app.test_client()
    if who.account_id is not None:
        with client.session_transaction() as session:
            session["_user_id"] = str(who.account_id)
            session["_fresh"] = True
            # The account's current version (a log-out walked earlier moved it on).
            session[SESSION_VERSION] = db.session.get_one(Account, who.account_id).session_version
    return client


def _url(rule: Rule, values: dict[str, str]) -> str:
    url = rule.rule
    for name in rule.arguments:
        number = isinstance(rule._converters[name], NumberConverter)
        value = values.get(name, PLACEHOLDERS.get(name, ABSENT_NUMBER if number else "absent"))
        url = re.sub(rf"<[^>]*\b{name}>", value, url)
    return url


def _call(
    app: Flask,
    method: str,
    url: str,
    who: Credentials,
    body: dict[str, Any] | None = None,
) -> tuple[int, str, str]:
    headers = {"Authorization": f"Bearer {who.api_key}"} if who.api_key else {}
    kwargs: dict[str, Any] = {"headers": headers}
    if body is not None:
        kwargs.update(body)
    elif method in {"POST", "PUT", "PATCH"}:
        kwargs["json" if url.startswith("/api/") else "data"] = {}
    response = _client(app, who).open(url, method=method, **kwargs)
    text = response.get_data().decode("utf-8", "replace")
    response.close()  # a static file answers with an open file
    return response.status_code, response.location or "", text


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
    # Routes guarded by an API key: the API, and the metrics that operators' tools scrape.
    keyed = rule.startswith("/api/") or rule == "/metrics"
    if mark == "yes":
        # A page's own 401 is a wrong password on the login form, not a refused role.
        refused = (401, 403) if keyed else (403,)
        if status in refused or status == 405 or to_login:
            return f"refused ({status} {location})"
        return None
    if keyed:
        expected = 401 if role == "none" else 403
        return None if status == expected else f"{status} instead of {expected}"
    # A signed-in auditor has no staff page: refused outright rather than sent to log in; so is
    # a signed-in clinician on the admin pages.
    if status == 403 and (
        role == "auditor" or (role == "clinician" and rule.startswith("/admin/"))
    ):
        return None
    # A signed-in clinician on an administrator's page: refused outright, likewise.
    if rule.startswith("/admin/") and role == "clinician" and status == 403:
        return None
    return None if to_login else f"{status} instead of a redirect to the login page"


@pytest.fixture
def page_app(app: Flask) -> Flask:
    # CSRF is its own test (tests/pages); here an empty form must meet the role check.
    app.config["WTF_CSRF_ENABLED"] = False

    # The walk checks who may rotate the signing key, not the rotation (its own test, on a
    # private instance): the shared test keys must not change under the other tests.
    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise ConfigurationError("no rotation in the role walk")

    original = admin_operations.rotate_signing_key
    admin_operations.rotate_signing_key = refuse
    yield app  # type: ignore[misc]
    admin_operations.rotate_signing_key = original
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
            status, location, _text = _call(page_app, method, _url(rule, {}), credentials[role])
            problem = _verdict(path, role, marks[role], status, location)
            if problem:
                wrong.append(f"{method} {path} as {role} ({marks[role]}): {problem}")
    assert not wrong, "\n".join(wrong)


def test_the_table_is_not_vacuous() -> None:
    """Each role is allowed somewhere and, but for the admin, refused somewhere; and another
    team's records are out of reach on many routes."""
    table = documented_access()
    assert len(table) > 40
    for role in ROLES:
        marks = {row[role] for row in table.values()}
        assert "yes" in marks, role
        assert role == "admin" or "no" in marks, role
    others = [row["other"] for row in table.values()]
    assert others.count("404") > 25 and "own" in others


# --- another team's records -----------------------------------------------------------------


@dataclass
class Theirs:
    """One team's records, with the ids the routes take, and what they look like before."""

    ids: dict[str, str]
    # Fresh for each call: a file is read once.
    bodies: dict[tuple[str, str], Callable[[], dict[str, Any]]]


def _their_records(app: Flask) -> tuple[Theirs, dict[str, Credentials]]:
    """A team's patient with a media item, an open request (with a tablet link), a consent
    signed on paper (one use with the face hidden) and partly withdrawn, a publishable copy,
    and a webhook endpoint."""
    theirs = _credentials(THEIRS)
    flow = Flow(app.test_client(), str(theirs["admin"].api_key))
    patient = flow.patient()
    second = flow.patient()
    # A photo with a face, boxed at upload: "face hidden" is offered only then (issue 19).
    media = flow.media(patient, astronaut())
    decided = flow.request(patient, [media["id"]], [{"purpose": "teaching"}, {"purpose": "survey"}])
    # survey: yes, only with the face hidden (issue 19): the masked copy is recorded too.
    paper = flow.paper(
        decided, {"teaching": "granted", "survey": "face_hidden"}, scan_pdf("TheirScan")
    )
    assert paper.status_code == 201, paper.json
    consent_id = paper.json["consent_id"]
    withdrawn = flow.client.post(
        f"/api/v1/consents/{consent_id}/withdrawal",
        json={"purposes": ["survey"]},
        headers=flow.headers,
    )
    assert withdrawn.status_code == 201, withdrawn.json
    copy = flow.client.post(f"/api/v1/media/{media['id']}/publishable", headers=flow.headers)
    assert copy.status_code == 200, copy.json
    other_media = flow.media(patient, photo(72))
    open_request = flow.request(patient, [other_media["id"]], [{"purpose": "teaching"}])
    endpoint = flow.client.post(
        "/api/v1/webhooks",
        json={"url": "https://publisher.example/hooks", "events": ["consent.created"]},
        headers=flow.headers,
    )
    assert endpoint.status_code == 201, endpoint.json
    ids = {
        "decided_request_id": decided,
        "patient_id": patient,
        "media_id": media["id"],
        "request_id": open_request,
        "consent_id": consent_id,
        "withdrawal_id": withdrawn.json["withdrawal_id"],
        "endpoint_id": endpoint.json["id"],
        "index": str(db.session.get_one(Consent, consent_id).log_index),
    }
    # Bodies that would succeed for the team's own staff: the only refusal left is the team.

    def scan() -> dict[str, Any]:
        return {"teaching": "granted", "scan": (io.BytesIO(scan_pdf()), "scan.pdf")}

    bodies: dict[tuple[str, str], Callable[[], dict[str, Any]]] = {
        ("POST", "/api/v1/media"): lambda: {
            "data": {"patient_id": patient, "file": (io.BytesIO(photo(73)), "p.jpg")}
        },
        # Adding their own patient to their photo: only the team is wrong.
        ("POST", "/api/v1/media/<string(maxlength=40):media_id>/subjects"): lambda: {
            "json": {"patient_id": second}
        },
        # Screening with another team's consent would read that patient's identity.
        ("POST", "/api/v1/screen/text"): lambda: {
            "json": {"text": "Seen on 3 March 2024.", "consent_id": consent_id}
        },
        ("POST", "/api/v1/requests"): lambda: {
            "json": {
                "patient_id": patient,
                "media_ids": [other_media["id"]],
                "form": "media-publication",
                "language": "en",
                "uses": [{"purpose": "teaching"}],
                "expires_at": in_days(30),
            }
        },
        ("POST", "/api/v1/requests/<request_id>/decision"): lambda: {
            "json": {
                "signer": {"role": "patient"},
                "choices": [{"purpose": "teaching", "granted": True}],
                "method": "external",
                "evidence": evidence(),
            }
        },
        ("POST", "/api/v1/requests/<request_id>/paper"): lambda: {"data": scan()},
        ("POST", "/clinician/requests/<request_id>/paper"): lambda: {
            "data": {**scan(), "role": "patient"}
        },
        ("POST", "/api/v1/consents/<consent_id>/withdrawal"): lambda: {"json": {}},
    }
    db.session.commit()
    return Theirs(ids, bodies), theirs


def _state() -> dict[str, Any]:
    """Everything another team's call could change."""
    return {
        "log": db.session.scalar(select(func.count()).select_from(LogLeaf)),
        "consents": db.session.scalar(select(func.count()).select_from(Consent)),
        "withdrawn": db.session.scalar(
            select(func.count()).where(ConsentUse.withdrawal_id.is_not(None))
        ),
        "requests": sorted(db.session.execute(select(ConsentRequest.id, ConsentRequest.status))),
        "links": sorted(
            db.session.execute(select(SigningLink.id, SigningLink.revoked_at.is_(None)))
        ),
        "renditions": db.session.scalar(select(func.count()).select_from(MediaRendition)),
        "erased": db.session.scalar(select(func.count()).where(Patient.erased_at.is_not(None))),
        "endpoints": sorted(
            db.session.execute(select(WebhookEndpoint.id, WebhookEndpoint.deleted_at))
        ),
    }


def test_another_teams_records_answer_as_if_they_did_not_exist(page_app: Flask) -> None:
    records, theirs = _their_records(page_app)
    ours = _credentials(OURS)
    table = documented_access()
    before = _state()
    wrong = []
    for (method, path), rule in sorted(served_routes(page_app).items()):
        marks = table[(method, path)]
        ids = dict(records.ids)
        if path.endswith("/paper/done"):  # the page after a paper decision
            ids["request_id"] = ids["decided_request_id"]
        url = _url(rule, ids) + QUERIES.get(path.rsplit("/", 1)[-1], "")
        body = records.bodies.get((method, path), dict)
        if marks["other"] == "404":
            for role in STAFF:
                if marks[role] != "yes":
                    continue
                status, _location, _text = _call(page_app, method, url, ours[role], body() or None)
                if status != 404:
                    wrong.append(f"{method} {url} as {role} of {OURS}: {status}, not 404")
            # Not vacuous: the ids are real, the same team's staff read them; an auditor
            # reads every team's pseudonymous records.
            if method == "GET":
                for role, who in (("admin", theirs["admin"]), ("auditor", ours["auditor"])):
                    if marks[role] == "yes":
                        status, _location, _text = _call(page_app, method, url, who)
                        if status != 200:
                            wrong.append(f"{method} {url} as {role}: {status}, not 200")
        elif marks["other"] == "own":
            for role in STAFF:
                if marks[role] != "yes":
                    continue
                status, _location, text = _call(page_app, method, url, ours[role])
                leaked = [
                    name for name, value in records.ids.items() if name != "index" and value in text
                ]
                if status != 200 or leaked:
                    wrong.append(f"{method} {url} as {role} of {OURS}: {status}, shows {leaked}")
    assert not wrong, "\n".join(wrong)
    assert _state() == before, "another team's calls changed this team's records"
    # And the listings do show the team its own.
    status, _location, text = _call(page_app, "GET", "/api/v1/webhooks", theirs["admin"])
    assert status == 200 and records.ids["endpoint_id"] in text
    status, _location, text = _call(page_app, "GET", "/clinician/", theirs["clinician"])
    assert status == 200 and records.ids["patient_id"] in text


def test_the_attack_paths_of_another_team_are_walked() -> None:
    """The routes an outsider used against another team's patient (dashboard, request page,
    new tablet link, receipt PDF, withdrawal, publishable copy, by page and API) are rows
    marked 404 or own: the walk above covers each."""
    table = documented_access()
    for row in (
        ("GET", "/clinician/"),
        ("GET", "/clinician/requests/<request_id>"),
        ("POST", "/clinician/requests/<request_id>/link"),
        ("GET", "/api/v1/consents/<consent_id>/receipt.pdf"),
        ("POST", "/api/v1/consents/<consent_id>/withdrawal"),
        ("POST", "/api/v1/media/<string(maxlength=40):media_id>/publishable"),
        ("POST", "/api/v1/media/<string(maxlength=40):media_id>/subjects"),
        ("POST", "/api/v1/requests/<request_id>/decision"),
    ):
        assert table[row]["other"] in ("404", "own"), row
