"""The tablet's last steps before the clinician confirms: who signs (the patient, or their
legal representative), then the signature drawn with a finger; the submission waits for the
informing clinician (consent.pages.tablet_end). Routes of the tablet blueprint."""

from __future__ import annotations

from typing import Any

from flask import redirect, render_template, request, session, url_for
from flask_babel import gettext as _

from consent.consents import signing
from consent.consents.decisions import Signer
from consent.consents.models import SigningLink
from consent.consents.signature import drawn_signature
from consent.consents.uses import FACE_HIDDEN, RELATIONSHIPS
from consent.db import db
from consent.errors import InvalidInput
from consent.notifications.service import notify_waiting
from consent.pages.tablet import blp, signing_step
from consent.web.context import runtime

__all__ = ["blp"]


@blp.route("/who", methods=["GET", "POST"])
@signing_step
def who(link: SigningLink, ctx: dict[str, Any]) -> Any:
    """The patient signs, or their legal representative (name and relationship)."""
    if not session.get("choices"):
        return redirect(url_for("tablet.choose"))
    errors: dict[str, str] = {}
    representative_only = ctx["definition"].get("audience") == "legal_representative"
    values = dict(session.get("signer") or {})
    if representative_only:
        values.setdefault("role", "legal_representative")
    if request.method == "POST":
        values = {
            "role": request.form.get("role", ""),
            "name": request.form.get("name", "").strip()[:200],
            "relationship": request.form.get("relationship", ""),
        }
        if values["role"] not in ("patient", "legal_representative"):
            errors["role"] = _("Please say who is signing.")
        elif representative_only and values["role"] != "legal_representative":
            errors["role"] = _(
                "This form is for the patient's legal representative. Please ask your care "
                "team for the patient's own form."
            )
        elif values["role"] == "legal_representative":
            if not values["name"]:
                errors["name"] = _("Please write your full name.")
            if values["relationship"] not in RELATIONSHIPS:
                errors["relationship"] = _("Please say how you represent the patient.")
        if not errors:
            session["signer"] = values
            return redirect(url_for("tablet.sign"))
    return render_template(
        "tablet/who.html",
        **ctx,
        values=values,
        errors=errors,
        relationships=RELATIONSHIPS,
        representative_only=representative_only,
        step=ctx["steps"]["who"],
    ), (422 if errors else 200)


@blp.route("/sign", methods=["GET", "POST"])
@signing_step
def sign(link: SigningLink, ctx: dict[str, Any]) -> Any:
    """A summary of the choices, and the signature drawn with a finger or a stylus."""
    chosen = session.get("choices")
    signer_values = session.get("signer")
    if not chosen or not signer_values:
        return redirect(url_for("tablet.choose"))
    error = None
    if request.method == "POST":
        try:
            drawn = drawn_signature(request.form.get("signature", ""))
            signer = Signer(
                signer_values["role"],
                signer_values.get("name") or None,
                signer_values.get("relationship") or None,
            )
            if signer.role == "patient":
                signer = Signer("patient")
            signing.submit(
                db.session,
                runtime().vault,
                link=link,
                choices={
                    purpose: FACE_HIDDEN if value == "hidden" else value == "yes"
                    for purpose, value in chosen.items()
                },
                signer=signer,
                drawn=drawn,
            )
            notify_waiting(db.session, link.request_id)
        except InvalidInput as exc:
            error = (
                _("Please sign in the box.")
                if "empty" in str(exc.errors)
                else _(
                    "This is too short to be a signature. Please sign with your name or your "
                    "usual mark."
                )
            )
        else:
            db.session.commit()
            session["submitted"] = link.request_id
            # The end pages show the consent recorded from this submission, and no other.
            session["submitted_link"] = link.id
            return redirect(url_for("tablet.wait"))
    return render_template(
        "tablet/sign.html",
        **ctx,
        chosen=chosen,
        signer=signer_values,
        error=error,
        step=ctx["steps"]["sign"],
    ), (422 if error else 200)
