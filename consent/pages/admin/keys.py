"""API keys on the admin pages: issue one for an account or an integration of a team (shown
once), list them with their last use, revoke one after a confirmation."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from consent.accounts.journal import record_admin_action
from consent.accounts.keys import api_keys, create_api_key, revoke_api_key
from consent.accounts.models import SCOPES, Account, ApiKey, Integration
from consent.accounts.service import accounts
from consent.accounts.teams import all_teams, integrations, team_by_slug
from consent.db import db
from consent.errors import ConsentError, InvalidInput
from consent.pages.admin import admin_required, blp
from consent.web.context import settings
from consent.web.staff import staff


def _form_page(*, error: str | None = None, form: Any = None, status: int = 200) -> Any:
    page = render_template(
        "admin/keys.html",
        keys=api_keys(db.session),
        teams=all_teams(db.session),
        accounts=[account for account in accounts(db.session) if account.disabled_at is None],
        integrations=[item for item in integrations(db.session) if item.disabled_at is None],
        scopes=SCOPES,
        default_days=settings().api_key_days,
        cache_seconds=settings().api_key_cache_seconds,
        error=error,
        form=form or {},
        chosen_scopes=form.getlist("scopes") if form is not None else [],
    )
    return page, status


@blp.get("/keys")
@admin_required
def keys() -> Any:
    return _form_page()


@blp.post("/keys")
@admin_required
def create_key() -> Any:
    form = request.form
    holder = form.get("holder", "")[:60]
    try:
        days = int(form.get("days", "") or settings().api_key_days)
    except ValueError:
        days = 0
    try:
        team = team_by_slug(db.session, form.get("team", "")[:60])
        account = integration = None
        if holder.startswith("account:") and holder[8:].isdigit():
            account = db.session.get(Account, int(holder[8:]))
        elif holder.startswith("integration:"):
            integration = db.session.get(Integration, holder[12:])
        if account is None and integration is None:
            raise InvalidInput(_("Choose whom the key acts for: an account or an integration."))
        issued = create_api_key(
            db.session,
            name=form.get("name", "")[:100],
            scopes=[scope for scope in form.getlist("scopes") if scope in SCOPES],
            days=days,
            team=team,
            account=account,
            integration=integration,
        )
        record_admin_action(
            db.session, account_id=staff().id, action="api_key.created", object_id=issued.record.id
        )
    except ConsentError as exc:
        db.session.rollback()
        return _form_page(error=exc.message, form=form, status=422)
    db.session.commit()
    # The secret is on this answer only: never cached, never shown again.
    response = make_response(render_template("admin/key_created.html", issued=issued))
    response.headers["Cache-Control"] = "no-store"
    return response


@blp.get("/keys/<int:key_id>/revoke")
@admin_required
def confirm_revoke(key_id: int) -> Any:
    return render_template(
        "admin/revoke.html", key=_key(key_id), cache_seconds=settings().api_key_cache_seconds
    )


@blp.post("/keys/<int:key_id>/revoke")
@admin_required
def revoke_key(key_id: int) -> Any:
    key = _key(key_id)
    revoke_api_key(db.session, key)
    record_admin_action(
        db.session, account_id=staff().id, action="api_key.revoked", object_id=key.id
    )
    db.session.commit()
    flash(
        _(
            "The key %(name)s is revoked: every worker refuses it within %(seconds)s seconds.",
            name=key.name,
            seconds=f"{settings().api_key_cache_seconds:g}",
        )
    )
    return redirect(url_for("admin.keys"))


def _key(key_id: int) -> ApiKey:
    key: ApiKey | None = db.session.scalar(select(ApiKey).where(ApiKey.id == key_id))
    if key is None:
        abort(404)
    return key
