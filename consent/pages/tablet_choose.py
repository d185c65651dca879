"""One question a screen (issue 21): each requested use asked in the patient's words, answered
with a large Yes or No button; then a summary of every answer, to check and change before
signing. Routes of the tablet blueprint (consent.pages.tablet); also the language switch, which
keeps the patient's place and switches the form text with the interface.
"""

from __future__ import annotations

from typing import Any

from flask import abort, redirect, render_template, request, session, url_for

from consent.accounts.scope import EVERY_TEAM
from consent.consents import signing
from consent.consents.models import SigningLink
from consent.consents.requests import form_in_language, get_request, request_form
from consent.db import db
from consent.forms.glossary import use_question
from consent.pages.tablet import _browser, blp, signing_step
from consent.web.i18n import LANGUAGES
from consent.web.textinput import local_address

__all__ = ["blp"]


def _answers(link: SigningLink) -> dict[str, str]:
    """The answers given so far on this link (a new link starts with none)."""
    if session.get("answers_link") != link.id:
        return {}
    return dict(session.get("answers") or {})


@blp.route("/question/<int(min=1, max=100):number>", methods=["GET", "POST"])
@signing_step
def question(number: int, link: SigningLink, ctx: dict[str, Any]) -> Any:
    """One use, one question, two large buttons; nothing is answered in advance."""
    if session.get("checked") != link.id:
        return redirect(url_for("tablet.check"))
    uses = ctx["uses"]
    if number > len(uses):
        abort(404)
    use = uses[number - 1]
    answers = _answers(link)
    missing = False
    if request.method == "POST":
        answer = request.form.get("answer", "")
        # "hidden": yes, only with my face hidden (issue 19), offered once every photo's and
        # video's face-masked copy can be shown (consent.pages.tablet).
        if answer in ("yes", "no") or (answer == "hidden" and ctx["face_hidden"]):
            answers[use["purpose"]] = answer
            session["answers"], session["answers_link"] = answers, link.id
            # A change made from the summary goes back to the summary.
            if request.form.get("back") == "summary" or number == len(uses):
                return redirect(url_for("tablet.choose"))
            return redirect(url_for("tablet.question", number=number + 1))
        missing = True
    return render_template(
        "tablet/question.html",
        **ctx,
        use=use,
        question_text=use_question(use["purpose"], ctx["form"].language),
        number=number,
        total=len(uses),
        answer=answers.get(use["purpose"]),
        back_to_summary=request.values.get("back") == "summary",
        missing=missing,
        step=ctx["steps"]["question"] + number - 1,
    ), (422 if missing else 200)


@blp.route("/choose", methods=["GET", "POST"])
@signing_step
def choose(link: SigningLink, ctx: dict[str, Any]) -> Any:
    """Every answer, to check and change; continuing records them for the signature."""
    if session.get("checked") != link.id:
        return redirect(url_for("tablet.check"))
    answers = _answers(link)
    for number, use in enumerate(ctx["uses"], start=1):
        if answers.get(use["purpose"]) not in ("yes", "no", "hidden"):
            return redirect(url_for("tablet.question", number=number))
    if request.method == "POST":
        session["choices"] = {use["purpose"]: answers[use["purpose"]] for use in ctx["uses"]}
        return redirect(url_for("tablet.who"))
    return render_template(
        "tablet/choose.html", **ctx, answers=answers, step=ctx["steps"]["summary"]
    )


@blp.post("/language")
def choose_language() -> Any:
    """Switch the language of the page and of the form text, and stay on the same step.

    Before the patient submits, the request is moved to the same form version in the chosen
    language (the text read is the text hashed into the receipt); after, only the interface
    changes.
    """
    language = request.form.get("lang")
    if language in LANGUAGES:
        session["lang"] = language
        _switch_form_language(str(language))
    target = local_address(request.form.get("next", ""), prefix="/tablet/")
    return redirect(target or url_for("tablet.start"))


def _switch_form_language(language: str) -> None:
    link_id = session.get("link")
    if link_id is None or session.get("submitted_link") == link_id:
        return
    try:
        link = signing.current_link(db.session, int(link_id), _browser())
    except signing.LinkProblem:
        return
    request_row = get_request(db.session, link.request_id, scope=EVERY_TEAM)
    if request_row.status != "open":
        return
    form, _definition = request_form(db.session, request_row)
    sibling = form_in_language(db.session, form, language)
    if sibling is not None and sibling.id != form.id:
        request_row.form_version_id = sibling.id
        db.session.commit()
