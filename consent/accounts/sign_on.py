"""Hospital sign-on: the person a checked ID token names becomes an account of this service,
with the role and the team memberships that the provider's groups map to by configuration
(CONSENT_OIDC_GROUP_MAP), synced at every sign-in. Flask-free; the pages run the OpenID
Connect flow (consent.pages.sign_on) and hand the checked identity here.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, select

from consent.accounts.id_tokens import Identity
from consent.accounts.invitations import mark_signed_on
from consent.accounts.models import Account, Membership, Team
from consent.db import AnySession
from consent.errors import SignOnRefused

# The rights a role gives, most first: a person in several mapped groups gets the widest role.
_ROLE_RANK = ("admin", "clinician", "auditor")
EVERY_TEAM_OR_NONE = "*"


@dataclass(frozen=True)
class GroupRule:
    """One provider group: the team (a slug, or None for no team) and role it gives."""

    group: str
    team_slug: str | None
    role: str


def parse_group_map(spec: str) -> tuple[GroupRule, ...]:
    """``"cardio-clinicians=cardiology:clinician,consent-admins=*:admin"`` as rules.

    The settings checked the syntax (consent.settings.coerce.group_map); ``*`` gives the role
    in no team: an administrator who manages teams, keys and accounts, and sees no patient
    unless another group makes them a member of a team.
    """
    rules = []
    for part in spec.split(","):
        group, _, target = part.strip().partition("=")
        team, _, role = target.partition(":")
        rules.append(GroupRule(group, None if team == EVERY_TEAM_OR_NONE else team, role))
    return tuple(rules)


@dataclass(frozen=True)
class Grant:
    """What a person's groups give here: one role, and the teams they are a member of."""

    role: str
    team_slugs: tuple[str, ...]


def grant_for(groups: tuple[str, ...], rules: tuple[GroupRule, ...]) -> Grant:
    """The role and teams ``groups`` map to. Raises SignOnRefused when they map to nothing."""
    matched = [rule for rule in rules if rule.group in groups]
    if not matched:
        raise SignOnRefused(
            "Your hospital account is in no group that gives access to this service.",
            errors={"groups": ["None of the person's groups is in CONSENT_OIDC_GROUP_MAP."]},
        )
    role = min((rule.role for rule in matched), key=_ROLE_RANK.index)
    slugs = sorted({rule.team_slug for rule in matched if rule.team_slug is not None})
    return Grant(role=role, team_slugs=tuple(slugs))


def sign_on(session: AnySession, identity: Identity, rules: tuple[GroupRule, ...]) -> Account:
    """The account of the person ``identity`` names, created on their first sign-in, with its
    role and memberships set to what their groups map to now.

    An account is found by (issuer, subject); failing that, on the first sign-in only, by its
    e-mail when the provider says it verified that address. Raises SignOnRefused when the
    groups map to nothing, a mapped team does not exist, the account is disabled, the
    provider gives no e-mail for a new account, or the e-mail belongs to an account that
    cannot be linked (unverified, or linked to another person at the provider).
    """
    grant = grant_for(identity.groups, rules)
    teams = _teams(session, grant.team_slugs)
    account: Account | None = session.scalar(
        select(Account).where(
            Account.oidc_issuer == identity.issuer, Account.oidc_subject == identity.subject
        )
    )
    if account is None:
        account = _first_sign_in(session, identity, grant)
    if account.disabled_at is not None:
        raise SignOnRefused("This account is disabled; ask an administrator.")
    # An invited person's first sign-in is their invitation's acceptance.
    mark_signed_on(session, account)
    account.role = grant.role
    if identity.name:
        account.display_name = identity.name
    _sync_memberships(session, account, teams)
    session.flush()
    return account


def _teams(session: AnySession, slugs: tuple[str, ...]) -> list[Team]:
    teams = list(session.scalars(select(Team).where(Team.slug.in_(slugs))))
    missing = sorted(set(slugs) - {team.slug for team in teams})
    if missing:
        raise SignOnRefused(
            f"The sign-on maps your groups to a team that does not exist here "
            f"({', '.join(missing)}); ask an administrator."
        )
    return teams


def _first_sign_in(session: AnySession, identity: Identity, grant: Grant) -> Account:
    if identity.email is None:
        raise SignOnRefused("The hospital's sign-on gave no e-mail address for this account.")
    existing: Account | None = session.scalar(
        select(Account).where(Account.email == identity.email)
    )
    if existing is not None:
        # Taking over a local account by its e-mail needs the provider's word that the
        # person controls that address; and an account is linked to one person only.
        if not identity.email_verified or existing.oidc_subject is not None:
            raise SignOnRefused(
                "An account with this e-mail exists and cannot be linked to your hospital "
                "sign-in; ask an administrator."
            )
        existing.oidc_issuer, existing.oidc_subject = identity.issuer, identity.subject
        return existing
    account = Account(
        email=identity.email,
        display_name=identity.name or identity.email,
        role=grant.role,
        # No password: this person signs in through the hospital's provider only.
        password_hash=None,
        oidc_issuer=identity.issuer,
        oidc_subject=identity.subject,
    )
    session.add(account)
    session.flush()
    return account


def _sync_memberships(session: AnySession, account: Account, teams: list[Team]) -> None:
    """The account's memberships become exactly ``teams`` (the provider is the source)."""
    wanted = {team.id for team in teams}
    current = set(
        session.scalars(select(Membership.team_id).where(Membership.account_id == account.id))
    )
    if current - wanted:
        session.execute(
            delete(Membership).where(
                Membership.account_id == account.id, Membership.team_id.in_(current - wanted)
            )
        )
    for team_id in sorted(wanted - current):
        session.add(Membership(account_id=account.id, team_id=team_id))
