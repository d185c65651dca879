"""The signed-in person's own settings ("My settings"): whether the service e-mails them
notifications (withdrawals, signatures waiting, consents ending soon). The outbox honours it
when it sends."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from consent.db import db
from consent.pages.clinician import blp
from consent.web.staff import staff, staff_required

__all__ = ["blp"]


@blp.get("/settings")
@staff_required
def my_settings() -> ResponseReturnValue:
    return render_template("clinician/settings.html", account=staff())


@blp.post("/settings")
@staff_required
def save_my_settings() -> ResponseReturnValue:
    account = staff()
    account.notification_emails = request.form.get("emails", "")[:5] == "on"
    db.session.commit()
    flash(
        _("You will get notification e-mails.")
        if account.notification_emails
        else _("You will get no notification e-mails.")
    )
    return redirect(url_for("clinician.my_settings"))
