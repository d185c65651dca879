"""The admin journal on the admin pages: who did what, when; newest first, a page at a time.
Administrators and auditors read it; nobody writes it but the actions themselves."""

from __future__ import annotations

from typing import Any

from flask import render_template, request
from flask_babel import lazy_gettext as _l

from consent.accounts.journal import journal_page
from consent.db import db
from consent.pages.admin import blp, reader_required

ACTION_LABELS = {
    "account.invited": _l("Account invited"),
    "account.invitation_resent": _l("Invitation sent again"),
    "account.invitation_cancelled": _l("Invitation cancelled"),
    "account.invitation_accepted": _l("Invitation accepted (password chosen)"),
    "account.disabled": _l("Account disabled"),
    "account.enabled": _l("Account enabled"),
    "membership.added": _l("Member added to a team"),
    "membership.removed": _l("Member removed from a team"),
    "team.notices_changed": _l("Who gets a team's withdrawal e-mails changed"),
    "api_key.created": _l("API key issued"),
    "api_key.revoked": _l("API key revoked"),
    "integration.created": _l("Integration registered"),
    "webhook_endpoint.registered": _l("Webhook endpoint registered"),
    "webhook_endpoint.deleted": _l("Webhook endpoint deleted"),
    "webhook_endpoint.test_event": _l("Test event sent to a webhook endpoint"),
    "signing_key.rotated": _l("Signing key rotated"),
    "log.audited": _l("Log audited"),
}
# Page numbers beyond this are refused as input (the journal page clamps to its last page).
MAX_PAGE_DIGITS = 6


@blp.get("/journal")
@reader_required
def journal() -> Any:
    raw = request.args.get("page", "1")[:MAX_PAGE_DIGITS]
    page = journal_page(db.session, int(raw) if raw.isdigit() else 1)
    return render_template("admin/journal.html", page=page, labels=ACTION_LABELS)
