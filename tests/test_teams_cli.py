"""What an administrator does at the command line: teams, members, integrations, API keys bound
to an account or an integration of a team, listed with their last use, and revoked."""

from __future__ import annotations

from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import select

from consent.accounts.keys import LAST_USED_RESOLUTION
from consent.accounts.models import ApiKey, Team
from consent.db import db
from tests.conftest import LiveSettings
from tests.factories import auth, member

VERIFY = {"sha256": "a" * 64, "purpose": "teaching"}


def run(runner: FlaskCliRunner, *args: str) -> str:
    result = runner.invoke(args=list(args))
    assert result.exit_code == 0, result.output
    return str(result.output)


def refused(runner: FlaskCliRunner, *args: str) -> str:
    result = runner.invoke(args=list(args))
    assert result.exit_code != 0, result.output
    return str(result.output)


def test_teams_members_and_integrations(runner: FlaskCliRunner) -> None:
    run(runner, "create-team", "--slug", "dermatology", "--name", "Dermatology")
    assert "exists already" in refused(
        runner, "create-team", "--slug", "dermatology", "--name", "Again"
    )
    assert "lower-case" in refused(runner, "create-team", "--slug", "Bad Slug!", "--name", "X")
    run(runner, "rename-team", "--slug", "dermatology", "--name", "Skin")
    assert db.session.scalars(select(Team)).one().name == "Skin"
    member(email="dr.house@hospital.test", display_name="Dr House", team_slug="ward-a")
    db.session.commit()
    run(runner, "add-member", "--team", "dermatology", "--email", "dr.house@hospital.test")
    listing = run(runner, "list-teams")
    assert "dermatology\tSkin\tdr.house@hospital.test (clinician)" in listing
    assert "No team" in refused(runner, "add-member", "--team", "nope", "--email", "x@y.z")
    assert "No account" in refused(
        runner, "add-member", "--team", "dermatology", "--email", "nobody@hospital.test"
    )
    made = run(runner, "create-integration", "--team", "dermatology", "--name", "Portal")
    assert made.strip().rsplit(" ", 1)[-1].startswith("in_")


def test_keys_are_bound_listed_with_last_use_and_revoked(
    runner: FlaskCliRunner, client: FlaskClient, configure: LiveSettings
) -> None:
    configure["CONSENT_API_KEY_CACHE_SECONDS"] = 0  # this test checks every call against the db
    run(runner, "create-team", "--slug", "ward", "--name", "Ward")
    run(runner, "create-team", "--slug", "icu", "--name", "ICU")
    member(email="dr.house@hospital.test", display_name="Dr House", team_slug="ward")
    db.session.commit()
    tool = run(runner, "create-integration", "--team", "ward", "--name", "Desk").split()[-1]
    other = run(runner, "create-integration", "--team", "icu", "--name", "ICU desk").split()[-1]
    # One holder, of the team.
    both = ("--account", "dr.house@hospital.test", "--integration", tool)
    base = ("create-api-key", "--name", "k", "--scopes", "verify", "--team", "ward")
    assert "one of them" in refused(runner, *base)
    assert "one of them" in refused(runner, *base, *both)
    assert "another team" in refused(runner, *base, "--integration", other)
    assert "not a member" in refused(
        runner, "create-api-key", "--name", "k", "--scopes", "verify", "--team", "icu",
        "--account", "dr.house@hospital.test",
    )  # fmt: skip
    key = run(runner, *base, "--integration", tool).strip().splitlines()[-1]
    person = run(runner, *base, "--account", "dr.house@hospital.test").strip().splitlines()[-1]
    listing = run(runner, "list-api-keys")
    assert listing.count("never used") == 2 and key not in listing
    assert client.get("/api/v1/verify", query_string=VERIFY, headers=auth(key)).status_code == 200
    listing = run(runner, "list-api-keys", "--team", "ward")
    assert listing.count("never used") == 1 and "integration in_" in listing
    # Used keys are stamped at most once a minute, in their own transaction.
    stamped = db.session.scalars(select(ApiKey).where(ApiKey.last_used_at.is_not(None))).one()
    assert stamped.integration_id == tool and LAST_USED_RESOLUTION.total_seconds() == 60
    # Revoked: refused at once here (no key cache), within the cache's seconds elsewhere.
    revoked = run(runner, "revoke-api-key", str(stamped.id))
    assert "revoked" in revoked and "0 s" in revoked
    assert client.get("/api/v1/verify", query_string=VERIFY, headers=auth(key)).status_code == 401
    assert "active" in run(runner, "list-api-keys") and "revoked" in run(runner, "list-api-keys")
    # A person's key ends with their membership.
    ok = client.get("/api/v1/verify", query_string=VERIFY, headers=auth(person))
    assert ok.status_code == 200
    run(runner, "remove-member", "--team", "ward", "--email", "dr.house@hospital.test")
    gone = client.get("/api/v1/verify", query_string=VERIFY, headers=auth(person))
    assert gone.status_code == 401


def test_create_account_with_teams_and_the_auditor_role(runner: FlaskCliRunner) -> None:
    run(runner, "create-team", "--slug", "ward", "--name", "Ward")
    made = run(
        runner, "create-account", "--email", "audit@hospital.test", "--name", "Ann Auditor",
        "--role", "auditor", "--team", "ward", "--password", "a long enough passphrase 42",
    )  # fmt: skip
    assert "(auditor) created in ward" in made
    assert "No team" in refused(
        runner, "create-account", "--email", "x@hospital.test", "--name", "X", "--team", "nope",
        "--password", "a long enough passphrase 42",
    )  # fmt: skip
