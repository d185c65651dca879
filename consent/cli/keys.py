"""``flask --app consent`` commands for API keys: create one for an account or an integration
of a team, list them with their last use, revoke one."""

from __future__ import annotations

import click
from sqlalchemy import select

from consent.accounts.keys import api_keys, create_api_key, revoke_api_key
from consent.accounts.models import ApiKey, Integration
from consent.accounts.service import account_by_email
from consent.accounts.teams import team_by_slug
from consent.db import db
from consent.errors import ConsentError
from consent.web.context import runtime


@click.command("create-api-key")
@click.option("--name", required=True, help="Who or what will use the key.")
@click.option(
    "--scopes",
    required=True,
    help="Comma separated: verify, consents:write, webhooks:manage, audit.",
)
@click.option("--team", "slug", required=True, help="The team the key acts for.")
@click.option("--account", "account_email", default=None, help="E-mail of the person it acts for.")
@click.option("--integration", "integration_id", default=None, help="Id of the system it acts for.")
@click.option("--days", default=None, type=int, help="Lifetime in days (default from config).")
def create_api_key_command(
    name: str,
    scopes: str,
    slug: str,
    account_email: str | None,
    integration_id: str | None,
    days: int | None,
) -> None:
    """Create an API key for an account or an integration of a team and print it, alone on the
    last line. It is shown only this once."""
    if (account_email is None) == (integration_id is None):
        raise click.UsageError("give --account EMAIL or --integration ID (one of them)")
    try:
        team = team_by_slug(db.session, slug)
        account = account_by_email(db.session, account_email) if account_email else None
        integration = db.session.get(Integration, integration_id) if integration_id else None
        if integration_id and integration is None:
            raise click.UsageError(f"no integration {integration_id}")
        issued = create_api_key(
            db.session,
            name=name,
            scopes=[scope.strip() for scope in scopes.split(",") if scope.strip()],
            days=days or runtime().settings.api_key_days,
            team=team,
            account=account,
            integration=integration,
        )
    except ConsentError as exc:
        db.session.rollback()
        raise click.UsageError(exc.message) from exc
    db.session.commit()
    record = issued.record
    click.echo(
        f"API key {record.id} {record.prefix}... for {record.name} in {team.slug}, scopes "
        f"{record.scopes}, expires {record.expires_at:%Y-%m-%d}. Shown once:",
        err=True,
    )
    click.echo(issued.secret)


@click.command("list-api-keys")
@click.option("--team", "slug", default=None, help="Only the keys of this team.")
def list_api_keys_command(slug: str | None) -> None:
    """Every key (never its secret): id, prefix, team, holder, scopes, expiry, last use, state."""
    try:
        team_id = team_by_slug(db.session, slug).id if slug else None
    except ConsentError as exc:
        raise click.UsageError(exc.message) from exc
    for key in api_keys(db.session, team_id=team_id):
        state = "revoked" if key.revoked_at else "active"
        used = f"{key.last_used_at:%Y-%m-%d %H:%M}" if key.last_used_at else "never used"
        holder = key.account.email if key.account else f"integration {key.integration_id}"
        click.echo(
            f"{key.id}\t{key.prefix}...\t{key.team.slug}\t{holder}\t{key.scopes}\t"
            f"expires {key.expires_at:%Y-%m-%d}\t{used}\t{state}\t{key.name}"
        )


@click.command("revoke-api-key")
@click.argument("key_id", type=int)
def revoke_api_key_command(key_id: int) -> None:
    """Revoke a key (by the id list-api-keys shows). Every worker refuses it within
    CONSENT_API_KEY_CACHE_SECONDS."""
    key = db.session.scalar(select(ApiKey).where(ApiKey.id == key_id))
    if key is None:
        raise click.UsageError(f"no API key {key_id}")
    revoke_api_key(db.session, key)
    db.session.commit()
    seconds = runtime().settings.api_key_cache_seconds
    click.echo(f"API key {key.id} ({key.name}) revoked; refused everywhere within {seconds:g} s")
