"""``flask --app consent`` commands for care teams, accounts and integrations: what an
administrator does at the command line (the admin pages call the same functions)."""

from __future__ import annotations

import click

from consent.accounts.service import account_by_email
from consent.accounts.teams import (
    add_member,
    create_integration,
    create_team,
    members_of,
    remove_member,
    rename_team,
    team_by_slug,
)
from consent.db import db
from consent.errors import ConsentError


def _fail(exc: ConsentError) -> click.ClickException:
    db.session.rollback()
    return click.UsageError(exc.message)


@click.command("create-team")
@click.option("--slug", required=True, help="Short name: lower-case letters, digits, dashes.")
@click.option("--name", required=True, help="As shown to staff, e.g. 'Dermatology'.")
def create_team_command(slug: str, name: str) -> None:
    """Add a care team (a department): its patients and records are seen by its members."""
    try:
        team = create_team(db.session, slug=slug, name=name)
    except ConsentError as exc:
        raise _fail(exc) from exc
    db.session.commit()
    click.echo(f"team {team.slug} ({team.name}) created: {team.id}")


@click.command("rename-team")
@click.option("--slug", required=True, help="The team's short name.")
@click.option("--name", required=True, help="Its new name, as shown to staff.")
def rename_team_command(slug: str, name: str) -> None:
    """Give a team a new name (its short name and its records stay)."""
    try:
        team = team_by_slug(db.session, slug)
        rename_team(db.session, team, name)
    except ConsentError as exc:
        raise _fail(exc) from exc
    db.session.commit()
    click.echo(f"team {team.slug} is now {team.name}")


@click.command("list-teams")
def list_teams_command() -> None:
    """Every team with its members."""
    from sqlalchemy import select

    from consent.accounts.models import Team

    for team in db.session.scalars(select(Team).order_by(Team.slug)):
        members = ", ".join(
            f"{account.email} ({account.role})" for account in members_of(db.session, team.id)
        )
        click.echo(f"{team.slug}\t{team.name}\t{members or 'no members'}")


@click.command("add-member")
@click.option("--team", "slug", required=True, help="The team's short name.")
@click.option("--email", required=True, help="The account's e-mail.")
def add_member_command(slug: str, email: str) -> None:
    """Make an account a member of a team."""
    try:
        team = team_by_slug(db.session, slug)
        account = account_by_email(db.session, email)
        add_member(db.session, account=account, team=team)
    except ConsentError as exc:
        raise _fail(exc) from exc
    db.session.commit()
    click.echo(f"{account.email} is a member of {team.slug}")


@click.command("remove-member")
@click.option("--team", "slug", required=True, help="The team's short name.")
@click.option("--email", required=True, help="The account's e-mail.")
def remove_member_command(slug: str, email: str) -> None:
    """End a membership: the account no longer sees the team's records, and its API keys for
    the team stop working (within CONSENT_API_KEY_CACHE_SECONDS on every worker)."""
    try:
        team = team_by_slug(db.session, slug)
        account = account_by_email(db.session, email)
        remove_member(db.session, account=account, team=team)
    except ConsentError as exc:
        raise _fail(exc) from exc
    db.session.commit()
    click.echo(f"{account.email} is no longer a member of {team.slug}")


@click.command("create-integration")
@click.option("--team", "slug", required=True, help="The team the system acts for.")
@click.option("--name", required=True, help="The system, e.g. 'Patient portal'.")
def create_integration_command(slug: str, name: str) -> None:
    """Register a system (an EHR, a patient portal, a publishing tool) that acts for a team;
    receipts it records name it. Give it keys with create-api-key --integration."""
    try:
        team = team_by_slug(db.session, slug)
        integration = create_integration(db.session, team=team, name=name)
    except ConsentError as exc:
        raise _fail(exc) from exc
    db.session.commit()
    click.echo(f"integration {integration.name} for {team.slug}: {integration.id}")
