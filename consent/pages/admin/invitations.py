"""Inviting a person on the admin accounts page: their account (no password), a member of one
of the administrator's own teams, e-mailed a single-use link (consent.workflows.invite); and
sending a pending invitation again, or cancelling it."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from consent import clock
from consent.accounts.invitations import pending
from consent.accounts.models import AccountInvitation, Team
from consent.accounts.service import accounts
from consent.accounts.teams import teams_of
from consent.db import db
from consent.errors import InvalidInput
from consent.pages.admin import admin_required, blp
from consent.web.context import runtime
from consent.web.staff import staff
from consent.workflows.invite import cancel_invitation, invite_account, resend_invitation

# What the form's fields may hold; longer is refused before anything else looks at it.
LIMITS = {"email": 254, "display_name": 200, "team": 60, "role": 20}


def accounts_page(*, error: str | None = None, form: dict[str, str] | None = None) -> Any:
    everyone = accounts(db.session)
    teams = {account.id: teams_of(db.session, account.id) for account in everyone}
    page = render_template(
        "admin/accounts.html",
        accounts=everyone,
        teams=teams,
        invitations=pending(db.session),
        own_teams=teams_of(db.session, staff().id),
        error=error,
        form=form or {},
        now=clock.now(),
    )
    return page, 422 if error else 200


@blp.post("/accounts/invite")
@admin_required
def invite_page() -> Any:
    form = {name: request.form.get(name, "") for name in LIMITS}
    if any(len(form[name]) > limit for name, limit in LIMITS.items()):
        return accounts_page(error=_("A field is too long."), form={})
    team = _own_team(form["team"])
    try:
        invitation = invite_account(
            db.session,
            runtime(),
            admin_id=staff().id,
            email=form["email"],
            display_name=form["display_name"],
            role=form["role"],
            team=team,
        )
    except InvalidInput as exc:
        db.session.rollback()
        return accounts_page(error=_invalid(exc.message), form=form)
    name, email = invitation.account.display_name, invitation.account.email
    db.session.commit()
    flash(_("%(name)s is invited: an e-mail goes to %(email)s.", name=name, email=email))
    return redirect(url_for("admin.accounts_page"))


@blp.post("/invitations/<invitation_id>/resend")
@admin_required
def resend_invitation_page(invitation_id: str) -> Any:
    invitation = _pending(invitation_id)
    resend_invitation(db.session, runtime(), invitation, admin_id=staff().id)
    name = invitation.account.display_name
    db.session.commit()
    flash(_("A new invitation goes to %(name)s; the former link no longer works.", name=name))
    return redirect(url_for("admin.accounts_page"))


@blp.post("/invitations/<invitation_id>/cancel")
@admin_required
def cancel_invitation_page(invitation_id: str) -> Any:
    invitation = _pending(invitation_id)
    cancel_invitation(db.session, invitation, admin_id=staff().id)
    name = invitation.account.display_name
    db.session.commit()
    flash(_("The invitation of %(name)s is cancelled: its link no longer works.", name=name))
    return redirect(url_for("admin.accounts_page"))


def _own_team(slug: str) -> Team:
    """One of the administrator's own teams; another team (or none) is a 404."""
    for team in teams_of(db.session, staff().id):
        if team.slug == slug:
            return team
    abort(404)


def _pending(invitation_id: str) -> AccountInvitation:
    """A pending invitation to one of the administrator's own teams, else 404."""
    invitation = db.session.get(AccountInvitation, invitation_id[:40])
    own = {team.id for team in teams_of(db.session, staff().id)}
    if (
        invitation is None
        or invitation.used_at is not None
        or invitation.cancelled_at is not None
        or invitation.team_id not in own
    ):
        abort(404)
    return invitation


def _invalid(message: str) -> str:
    # The domain's plain words, translated here.
    return str(
        {
            "Give the person's e-mail address.": _("Give the person's e-mail address."),
            "Give the person's name (at most 200 characters).": _(
                "Give the person's name (at most 200 characters)."
            ),
            "Choose a role.": _("Choose a role."),
            "An account with this e-mail exists already.": _(
                "An account with this e-mail exists already."
            ),
        }.get(message, message)
    )
