"""The patient's tablet flow, server-rendered, one short page at a time.

open link -> start -> media -> read (at most five pages) -> check -> one question a use
(consent.pages.tablet_choose) -> summary -> who -> sign -> wait (the clinician confirms) -> done
(summary, withdrawal code, the receipt on the patient's phone) -> finish.

State lives in the signed session cookie (which step was passed, the answers) and in the
signing link, which is bound to the first browser that opens it and spent by the submission.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import Blueprint, Response, abort, redirect, render_template, request, session, url_for

from consent.accounts.scope import EVERY_TEAM
from consent.consents import signing
from consent.consents.case_texts import request_texts
from consent.consents.models import ConsentRequest, SigningLink
from consent.consents.requests import get_request, request_form, request_media, requested_uses
from consent.db import db
from consent.forms.glossary import use_label
from consent.forms.shown import shown_sections
from consent.media.faces import parse_faces
from consent.media.fingerprints import IMAGE_TYPES
from consent.media.subjects import shared_items
from consent.pages.tablet_steps import reading_pages, step_numbers
from consent.web.context import runtime
from consent.web.extensions import limiter
from consent.web.media import media_response, photo_response
from consent.web.ratelimits import limit_value, refused
from consent.workflows.face_mask import faces_to_hide, masked_states
from consent.workflows.screen_rendition import screen_rendition
from consent.workflows.screen_video import stored_video_copy

blp = Blueprint("tablet", __name__, url_prefix="/tablet")
F = TypeVar("F", bound=Callable[..., Any])


def _browser() -> str:
    """A random id for this browser's session: a link opened here cannot be used elsewhere."""
    if "browser" not in session:
        session["browser"] = secrets.token_hex(16)
    return str(session["browser"])


def signing_step(view: F) -> F:
    """The view needs a live link opened by this browser; ``link`` and ``ctx`` are passed in."""

    @wraps(view)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        link_id = session.get("link")
        if link_id is None:
            return _problem("unknown")
        try:
            link = signing.current_link(db.session, int(link_id), _browser())
        except signing.LinkProblem as problem:
            return _problem(problem.reason)
        return view(*args, link=link, ctx=_context(link), **kwargs)

    return guarded  # type: ignore[return-value]


def _problem(reason: str) -> tuple[str, int]:
    return render_template("tablet/link_problem.html", reason=reason), 410


def _context(link: SigningLink) -> dict[str, Any]:
    # The link is the patient's credential for its request, whatever the team.
    request_row = get_request(db.session, link.request_id, scope=EVERY_TEAM)
    form, definition = request_form(db.session, request_row)
    uses = [(use.purpose, use.channels) for use in requested_uses(db.session, request_row.id)]
    media = request_media(db.session, request_row.id)
    texts = request_texts(db.session, runtime().vault, request_row)
    # Only the requested uses' paragraphs, in the request's order (issue 21): the text the
    # receipt binds (consent.forms.binding).
    purposes = [purpose for purpose, _channels in uses]
    sections = shown_sections(definition, purposes)
    definition = {
        **definition,
        "comprehension": [
            question
            for question in definition["comprehension"]
            if question.get("purpose") in (None, *purposes)
        ],
    }
    steps = step_numbers(len(reading_pages(sections)), len(uses), bool(texts))
    masked = masked_states(db.session, runtime(), media)
    # The pages after the submission (wait, done) number their steps from this.
    session["steps_total"] = steps["total"]
    return {
        "request": request_row,
        "form": form,
        "definition": definition,
        "uses": [
            {
                "purpose": purpose,
                "channels": json.loads(channels),
                "label": use_label(purpose, form.language),
                "explanation": definition["purposes"][purpose]["explanation"],
            }
            for purpose, channels in uses
        ],
        "media": media,
        # Issue 19: the photos that show a face, by id (the tablet tells the patient).
        "faces": {item.id for item in media if parse_faces(item.faces)},
        # The photos that show other patients too: each decides for themselves.
        "shared": shared_items(db.session, [item.id for item in media]),
        # "Yes, only with my face hidden" is offered once every item's face-masked copy can be
        # shown: a photo's is made on view, a video's in the background (video id -> state).
        "masked": masked,
        # Only when a face is boxed: a copy hiding nothing would be a promise not kept.
        "face_hidden": faces_to_hide(media) and all(state == "ready" for state in masked.values()),
        "texts": texts,
        "sections": sections,
        "pages": reading_pages(sections),
        "steps": steps,
    }


@blp.get("/s/<token>")
# Links that fail to open, per IP address: a guesser is slowed, a tablet that opens its links
# is not.
@limiter.limit(limit_value("signing_link"), deduct_when=refused)
def open_link(token: str) -> Any:
    """The link the clinician hands over (QR code or address)."""
    if len(token) > 100:
        return _problem("unknown")
    try:
        link = signing.open_link(db.session, token, _browser())
    except signing.LinkProblem as problem:
        return _problem(problem.reason)
    db.session.commit()
    for key in (
        "checked",
        "answers",
        "answers_link",
        "choices",
        "signer",
        "submitted",
        "submitted_link",
    ):
        session.pop(key, None)
    session["link"] = link.id
    form, _definition = request_form(
        db.session, db.session.get_one(ConsentRequest, link.request_id)
    )
    session.setdefault("lang", form.language)
    return redirect(url_for("tablet.start"))


@blp.get("/start")
@signing_step
def start(link: SigningLink, ctx: dict[str, Any]) -> str:
    return render_template("tablet/start.html", **ctx, step=ctx["steps"]["start"])


@blp.get("/media")
@signing_step
def media(link: SigningLink, ctx: dict[str, Any]) -> str:
    return render_template("tablet/media.html", **ctx, step=ctx["steps"]["media"])


@blp.get("/media/<media_id>")
@signing_step
def media_file(media_id: str, link: SigningLink, ctx: dict[str, Any]) -> Response:
    """The media item, decrypted, only for the request this browser is signing: a photo as its
    screen copy, a video as its screen copy (or as uploaded until that is made), in ranges."""
    item = next((m for m in ctx["media"] if m.id == media_id), None)
    if item is None:
        abort(404)
    rt = runtime()
    # Cached by this browser alone for the life of a signing link; videos start playing early.
    private_seconds = rt.settings.signing_link_minutes * 60
    if item.media_type in IMAGE_TYPES:
        # A photo as the screen needs it, never the original (consent.media.screen).
        copy = screen_rendition(db.session, rt, item)
        return photo_response(copy.data, copy.media_type, private_seconds=private_seconds)
    # A video as its screen copy once made (consent.media.screen_video), else as uploaded.
    video = stored_video_copy(db.session, rt, item)
    if video is not None:
        return photo_response(video, "video/mp4", ranges=True, private_seconds=private_seconds)
    return media_response(item, ranges=True, private_seconds=private_seconds)


@blp.get("/texts")
@signing_step
def texts(link: SigningLink, ctx: dict[str, Any]) -> Any:
    """The case texts, each in full, as they will be published (issue 20)."""
    if not ctx["texts"]:
        return redirect(url_for("tablet.read", number=1))
    return render_template("tablet/texts.html", **ctx, step=ctx["steps"]["texts"])


@blp.get("/read/<int(max=1000):number>")
@signing_step
def read(number: int, link: SigningLink, ctx: dict[str, Any]) -> Any:
    pages = ctx["pages"]
    if not 1 <= number <= len(pages):
        abort(404)
    return render_template(
        "tablet/read.html",
        **ctx,
        page_sections=pages[number - 1],
        number=number,
        total=len(pages),
        step=ctx["steps"]["read"] + number - 1,
    )


@blp.route("/check", methods=["GET", "POST"])
@signing_step
def check(link: SigningLink, ctx: dict[str, Any]) -> Any:
    """Two or three questions; a wrong answer explains and asks again."""
    questions = ctx["definition"]["comprehension"]
    answers: dict[str, str] = {}
    wrong: list[str] = []
    if request.method == "POST":
        answers = {q["key"]: request.form.get(q["key"], "") for q in questions}
        wrong = [q["key"] for q in questions if answers[q["key"]] != q["correct"]]
        if not wrong:
            session["checked"] = link.id
            return redirect(url_for("tablet.question", number=1))
    return render_template(
        "tablet/check.html",
        **ctx,
        questions=questions,
        answers=answers,
        wrong=wrong,
        step=ctx["steps"]["check"],
    ), (422 if wrong else 200)
