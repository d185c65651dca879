"""Care teams, who belongs to them, and the systems registered to act for them."""

from __future__ import annotations

import re

from sqlalchemy import delete, select

from consent.accounts.models import TEAM_SLUG, Account, Integration, Membership, Team
from consent.accounts.scope import Scope
from consent.db import AnySession
from consent.db.types import new_id
from consent.errors import Conflict, InvalidInput, NotFound

_SLUG = re.compile(TEAM_SLUG)


def create_team(session: AnySession, *, slug: str, name: str) -> Team:
    """Add a team. Raises InvalidInput for a bad slug or name, Conflict for a slug in use."""
    slug = slug.strip().lower()
    if not _SLUG.fullmatch(slug):
        raise InvalidInput(
            "A team's short name is 2 to 60 lower-case letters, digits and dashes.",
            errors={"slug": ["Lower-case letters, digits and dashes, 2 to 60."]},
        )
    if not name.strip() or len(name) > 200:
        raise InvalidInput("A team needs a name of 1 to 200 characters.", errors={"name": []})
    if session.scalar(select(Team.id).where(Team.slug == slug)) is not None:
        raise Conflict(f"A team {slug} exists already.", errors={"slug": ["In use."]})
    team = Team(id=new_id("tm"), slug=slug, name=name.strip())
    session.add(team)
    session.flush()
    return team


def rename_team(session: AnySession, team: Team, name: str) -> None:
    """Raises InvalidInput for an empty or too long name."""
    if not name.strip() or len(name) > 200:
        raise InvalidInput("A team needs a name of 1 to 200 characters.", errors={"name": []})
    team.name = name.strip()
    session.flush()


def team_by_slug(session: AnySession, slug: str) -> Team:
    """The team. Raises NotFound."""
    team: Team | None = session.scalar(select(Team).where(Team.slug == slug.strip().lower()))
    if team is None:
        raise NotFound(f"No team {slug}.")
    return team


def add_member(session: AnySession, *, account: Account, team: Team) -> None:
    """Make the account a member of the team (nothing changes if it is one already)."""
    if session.get(Membership, (account.id, team.id)) is None:
        session.add(Membership(account_id=account.id, team_id=team.id))
        session.flush()


def remove_member(session: AnySession, *, account: Account, team: Team) -> None:
    """End a membership: the account no longer sees the team's records, and its API keys for
    that team stop working (checked on every look-up)."""
    session.execute(
        delete(Membership).where(Membership.account_id == account.id, Membership.team_id == team.id)
    )
    session.flush()


def team_ids_of(session: AnySession, account_id: int) -> list[str]:
    """The teams an account is a member of, oldest membership first."""
    return list(
        session.scalars(
            select(Membership.team_id)
            .where(Membership.account_id == account_id)
            .order_by(Membership.created_at, Membership.team_id)
        )
    )


def teams_of(session: AnySession, account_id: int) -> list[Team]:
    """The teams an account is a member of, by name."""
    return list(
        session.scalars(
            select(Team)
            .join(Membership, Membership.team_id == Team.id)
            .where(Membership.account_id == account_id)
            .order_by(Team.name)
        )
    )


def scope_of(session: AnySession, account: Account) -> Scope:
    """What a signed-in person sees: the records of their teams (auditors: pseudonymous records
    of every team, through the API only)."""
    return Scope.of(team_ids_of(session, account.id))


def members_of(session: AnySession, team_id: str) -> list[Account]:
    return list(
        session.scalars(
            select(Account)
            .join(Membership, Membership.account_id == Account.id)
            .where(Membership.team_id == team_id)
            .order_by(Account.display_name)
        )
    )


def is_member(session: AnySession, *, account_id: int, team_id: str) -> bool:
    return session.get(Membership, (account_id, team_id)) is not None


def create_integration(session: AnySession, *, team: Team, name: str) -> Integration:
    """Register a system that acts for the team (its API keys name it in receipts)."""
    if not name.strip() or len(name) > 100:
        raise InvalidInput("An integration needs a name of 1 to 100 characters.")
    integration = Integration(id=new_id("in"), team_id=team.id, name=name.strip())
    session.add(integration)
    session.flush()
    return integration


def member_for(
    session: AnySession, *, email: str | None, account_id: int | None, team_id: str, field: str
) -> Account:
    """The account a caller names (by e-mail; by default its own), a member of the team.

    Raises InvalidInput on ``field`` when it names no account, or one that is not a member:
    receipts name accounts the service knows, never a name as typed.
    """
    account: Account | None = None
    if email:
        account = session.scalar(select(Account).where(Account.email == email.strip().lower()))
    elif account_id is not None:
        account = session.get(Account, account_id)
    if account is None or not is_member(session, account_id=account.id, team_id=team_id):
        raise InvalidInput(
            "Name a clinician of the patient's team by the e-mail of their account.",
            errors={field: ["The e-mail of an account that is a member of the patient's team."]},
        )
    return account


def all_teams(session: AnySession) -> list[Team]:
    """Every team, by name."""
    return list(session.scalars(select(Team).order_by(Team.name, Team.slug)))


def integrations(session: AnySession) -> list[Integration]:
    """Every registered system, newest first."""
    return list(
        session.scalars(select(Integration).order_by(Integration.created_at.desc(), Integration.id))
    )
