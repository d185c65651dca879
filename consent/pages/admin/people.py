"""Integrations, accounts and team memberships on the admin pages: the same service functions
as `flask create-integration`, `add-member`, `remove-member` (consent.cli.teams)."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from consent.accounts.journal import record_admin_action
from consent.accounts.models import Account, Team
from consent.accounts.service import account_by_email, disable_account, enable_account
from consent.accounts.teams import (
    add_member,
    all_teams,
    create_integration,
    integrations,
    members_of,
    remove_member,
    team_by_slug,
)
from consent.db import db
from consent.errors import ConsentError, NotFound
from consent.pages.admin import admin_required, blp
from consent.web.staff import staff


@blp.get("/integrations")
@admin_required
def integrations_page() -> Any:
    return _integrations_page()


def _integrations_page(*, error: str | None = None, status: int = 200) -> Any:
    teams = {team.id: team for team in all_teams(db.session)}
    page = render_template(
        "admin/integrations.html",
        integrations=integrations(db.session),
        teams=teams,
        error=error,
    )
    return page, status


@blp.post("/integrations")
@admin_required
def create_integration_page() -> Any:
    try:
        team = team_by_slug(db.session, request.form.get("team", "")[:60])
        integration = create_integration(
            db.session, team=team, name=request.form.get("name", "")[:100]
        )
        _journal("integration.created", integration.id)
    except ConsentError as exc:
        db.session.rollback()
        return _integrations_page(error=exc.message, status=422)
    db.session.commit()
    flash(_("The integration %(name)s acts for %(team)s.", name=integration.name, team=team.name))
    return redirect(url_for("admin.integrations_page"))


@blp.get("/accounts")
@admin_required
def accounts_page() -> Any:
    from consent.pages.admin.invitations import accounts_page as page

    return page()


@blp.post("/accounts/<int:account_id>/disable")
@admin_required
def disable_account_page(account_id: int) -> Any:
    account = _account(account_id)
    if account.id == staff().id:
        flash(_("You cannot disable your own account."))
        return redirect(url_for("admin.accounts_page"))
    disable_account(db.session, account)
    _journal("account.disabled", account.id)
    db.session.commit()
    flash(
        _("%(name)s can no longer log in; their API keys stop working.", name=account.display_name)
    )
    return redirect(url_for("admin.accounts_page"))


@blp.post("/accounts/<int:account_id>/enable")
@admin_required
def enable_account_page(account_id: int) -> Any:
    account = _account(account_id)
    enable_account(db.session, account)
    _journal("account.enabled", account.id)
    db.session.commit()
    flash(_("%(name)s can log in again.", name=account.display_name))
    return redirect(url_for("admin.accounts_page"))


@blp.get("/teams")
@admin_required
def teams_page() -> Any:
    return _teams_page()


def _teams_page(*, error: str | None = None, status: int = 200) -> Any:
    teams = all_teams(db.session)
    page = render_template(
        "admin/teams.html",
        teams=teams,
        members={team.id: members_of(db.session, team.id) for team in teams},
        error=error,
    )
    return page, status


@blp.post("/teams/<team_slug>/members")
@admin_required
def add_member_page(team_slug: str) -> Any:
    team = _team(team_slug)
    try:
        account = account_by_email(db.session, request.form.get("email", "")[:254])
    except NotFound:
        return _teams_page(error=_("No account has this e-mail."), status=422)
    add_member(db.session, account=account, team=team)
    _journal("membership.added", f"{team.id}:{account.id}")
    db.session.commit()
    flash(_("%(name)s is a member of %(team)s.", name=account.display_name, team=team.name))
    return redirect(url_for("admin.teams_page"))


@blp.post("/teams/<team_slug>/members/<int:account_id>/remove")
@admin_required
def remove_member_page(team_slug: str, account_id: int) -> Any:
    team = _team(team_slug)
    account = _account(account_id)
    remove_member(db.session, account=account, team=team)
    _journal("membership.removed", f"{team.id}:{account.id}")
    db.session.commit()
    flash(
        _("%(name)s is no longer a member of %(team)s.", name=account.display_name, team=team.name)
    )
    return redirect(url_for("admin.teams_page"))


@blp.post("/teams/<team_slug>/notices")
@admin_required
def team_notices_page(team_slug: str) -> Any:
    """Whether a patient's withdrawal is e-mailed to the whole team or only to the clinician
    who informed them (the default)."""
    team = _team(team_slug)
    choice = request.form.get("to", "")[:20]
    if choice not in ("clinician", "team"):
        return _teams_page(error=_("Choose who gets the withdrawal e-mails."), status=422)
    team.withdrawal_notices_to_team = choice == "team"
    _journal("team.notices_changed", f"{team.id}:{choice}")
    db.session.commit()
    flash(
        _("Withdrawals in %(team)s are e-mailed to the whole team.", team=team.name)
        if team.withdrawal_notices_to_team
        else _(
            "Withdrawals in %(team)s are e-mailed to the informing clinician only.",
            team=team.name,
        )
    )
    return redirect(url_for("admin.teams_page"))


def _journal(action: str, object_id: str | int) -> None:
    record_admin_action(db.session, account_id=staff().id, action=action, object_id=object_id)


def _account(account_id: int) -> Account:
    account = db.session.get(Account, account_id)
    if account is None:
        abort(404)
    return account


def _team(slug: str) -> Team:
    try:
        return team_by_slug(db.session, slug[:60])
    except NotFound:
        abort(404)
