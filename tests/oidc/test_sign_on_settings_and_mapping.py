"""The sign-on's configuration and its mapping of groups to teams and roles, without a
provider: a misconfiguration stops the start, naming the setting; a mapping is never guessed."""

from __future__ import annotations

import pytest

from consent.accounts.id_tokens import Identity
from consent.accounts.sign_on import grant_for, parse_group_map, sign_on
from consent.db import db
from consent.errors import ConfigurationError, SignOnRefused
from consent.settings import load
from tests.factories import care_team

MAP = "cardio-clinicians=cardiology:clinician,consent-admins=*:admin,dpo=*:auditor"


def _load(**environ: str) -> object:
    return load(instance_path=None, environ=environ)


def test_an_issuer_without_client_id_or_group_map_stops_the_start() -> None:
    with pytest.raises(ConfigurationError, match="CONSENT_OIDC_CLIENT_ID"):
        _load(CONSENT_OIDC_ISSUER="https://id.hospital.example", CONSENT_OIDC_GROUP_MAP=MAP)
    with pytest.raises(ConfigurationError, match="CONSENT_OIDC_GROUP_MAP"):
        _load(CONSENT_OIDC_ISSUER="https://id.hospital.example", CONSENT_OIDC_CLIENT_ID="c")


def test_passwords_off_without_a_provider_stops_the_start() -> None:
    with pytest.raises(ConfigurationError, match="nobody could log in"):
        _load(CONSENT_LOCAL_PASSWORDS="false")


@pytest.mark.parametrize(
    "bad",
    ["cardio", "cardio=cardiology", "cardio=cardiology:surgeon", "cardio=Cardiology:clinician"],
)
def test_a_malformed_group_map_stops_the_start_naming_the_setting(bad: str) -> None:
    with pytest.raises(ConfigurationError, match="CONSENT_OIDC_GROUP_MAP"):
        _load(CONSENT_OIDC_GROUP_MAP=bad)


def test_the_client_secret_is_hidden_from_the_settings_repr_and_errors() -> None:
    loaded = _load(
        CONSENT_OIDC_ISSUER="https://id.hospital.example",
        CONSENT_OIDC_CLIENT_ID="consent",
        CONSENT_OIDC_CLIENT_SECRET="very-secret-value",
        CONSENT_OIDC_GROUP_MAP=MAP,
    )
    assert "very-secret-value" not in repr(loaded)


def test_the_widest_role_and_every_mapped_team_are_given() -> None:
    rules = parse_group_map(MAP + ",derm=dermatology:clinician")
    grant = grant_for(("derm", "consent-admins", "cardio-clinicians", "other"), rules)
    assert grant.role == "admin" and grant.team_slugs == ("cardiology", "dermatology")
    assert grant_for(("dpo",), rules).team_slugs == ()


def test_groups_mapped_to_nothing_are_refused() -> None:
    with pytest.raises(SignOnRefused, match="no group"):
        grant_for(("visitors", "Cardio-Clinicians"), parse_group_map(MAP))


def test_a_group_mapped_to_a_team_that_does_not_exist_is_refused(app: object) -> None:
    identity = Identity(
        issuer="https://id.hospital.example",
        subject="s1",
        email="a@hospital.test",
        email_verified=True,
        name="A",
        groups=("cardio-clinicians",),
    )
    care_team("dermatology")
    with pytest.raises(SignOnRefused, match="cardiology"):
        sign_on(db.session, identity, parse_group_map(MAP))
