"""The clinician's home page: the worklist of their teams' requests by state, with search,
filters and paging, and the small status answer its page polls to update itself.

Routes of the clinician blueprint (registered with it)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from urllib.parse import urlencode

from babel import Locale
from flask import jsonify, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import format_date, format_datetime, format_decimal, get_locale, ngettext
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from consent.consents.uses import PURPOSES
from consent.db import db
from consent.forms.models import FormVersion
from consent.pages.clinician import blp
from consent.web.context import runtime
from consent.web.staff import staff_required, staff_scope, staff_teams
from consent.workflows.worklist import MAX_PAGE, STATES, Filters, counts, worklist

WORKLIST_STATES = {
    "waiting_confirmation": _l("Waiting for your confirmation"),
    "waiting_patient": _l("Waiting for the patient"),
    "withdrawn": _l("Withdrawn"),
    "partly_withdrawn": _l("Partly withdrawn"),
    "expiring": _l("Ending within 30 days"),
    "decided": _l("Decided"),
    "expired": _l("Expired"),
    "erased": _l("Patient erased"),
}
assert set(WORKLIST_STATES) == set(STATES)
MAX_QUERY = 200
__all__ = ["blp", "parse_filters"]


@blp.record_once
def _states_in_templates(state: Any) -> None:
    state.app.jinja_env.globals["worklist_states"] = WORKLIST_STATES


@blp.app_template_filter("moment")
def moment(value: datetime) -> str:
    """ "7 December 2026, 14:05" (UTC unless configured), in the interface language."""
    return str(format_datetime(value, format="d MMMM y, HH:mm"))


@blp.app_template_filter("language_name")
def language_name(code: str) -> str:
    """ "English" / "anglais": a form's language in the interface's language."""
    try:
        return str(Locale.parse(code).get_display_name(str(get_locale() or "en")))
    except (ValueError, TypeError):
        return code


@blp.app_template_filter("decimal")
def decimal(value: float) -> str:
    """ "85.2" / "85,2": a number with the interface language's decimal sign."""
    return str(format_decimal(value, format="#,##0.#"))


@blp.app_template_filter("fromiso")
def fromiso(value: str) -> date | None:
    """A stored ISO date (a birth date in the sealed identity) as a date, for ``day``."""
    return _date(value)


@blp.app_template_filter("day")
def day(value: datetime | date | None) -> str:
    """ "7 December 2026" / "7 décembre 2026", in the interface language."""
    if value is None:
        return ""
    return str(format_date(value, format="d MMMM y"))


def _date(text: str) -> date | None:
    try:
        return date.fromisoformat(text[:10]) if text else None
    except ValueError:
        return None


def _form_ids() -> list[tuple[str, str]]:
    rows = db.session.execute(
        select(FormVersion.form_id, FormVersion.title).order_by(
            FormVersion.form_id, FormVersion.version.desc()
        )
    ).all()
    return list({form_id: title for form_id, title in reversed(rows)}.items())


def parse_filters(args: Any, form_ids: list[str]) -> Filters:
    """The filters of the query string; anything unknown or malformed is ignored."""
    page = args.get("page", "1")
    state = args.get("state", "")
    form = args.get("form", "")
    use = args.get("use", "")
    return Filters(
        state=state if state in STATES else "",
        form=form if form in form_ids else "",
        use=use if use in PURPOSES else "",
        since=_date(args.get("since", "")),
        until=_date(args.get("until", "")),
        query=args.get("q", "").strip()[:MAX_QUERY],
        page=min(int(page), MAX_PAGE) if page.isdigit() and int(page) > 0 else 1,
    )


def _link(filters: Filters, **changes: Any) -> str:
    values = {
        "q": filters.query,
        "state": filters.state,
        "form": filters.form,
        "use": filters.use,
        "since": filters.since.isoformat() if filters.since else "",
        "until": filters.until.isoformat() if filters.until else "",
        "page": "",
    }
    values.update({key: str(value) for key, value in changes.items()})
    query = urlencode({key: value for key, value in values.items() if value})
    return url_for("clinician.dashboard") + (f"?{query}" if query else "")


def _version(found: dict[str, int]) -> str:
    return ".".join(str(found[state]) for state in STATES)


def _waiting_message(waiting: int) -> str:
    return str(
        ngettext(
            "%(num)d signature waits for your confirmation.",
            "%(num)d signatures wait for your confirmation.",
            waiting,
        )
    )


@blp.get("/")
@staff_required
def dashboard() -> ResponseReturnValue:
    forms = _form_ids()
    filters = parse_filters(request.args, [form_id for form_id, _title in forms])
    teams = staff_teams()
    page = worklist(db.session, runtime().vault, staff_scope(), filters)
    return render_template(
        "clinician/dashboard.html",
        page=page,
        filters=filters,
        forms=forms,
        purposes=PURPOSES,
        states=WORKLIST_STATES,
        several_teams=len(teams) > 1,
        team_names={team.id: team.name for team in teams},
        link=lambda **changes: _link(filters, **changes),
        version=_version(page.counts),
        waiting_message=_waiting_message(page.counts["waiting_confirmation"]),
    )


@blp.get("/status")
@staff_required
def worklist_status() -> ResponseReturnValue:
    """How many requests are in each state: the worklist polls it and reloads its list when
    it changed. No name, no id: counts only."""
    found = counts(db.session, staff_scope())
    waiting = found["waiting_confirmation"]
    return jsonify(
        {
            "counts": found,
            "version": _version(found),
            "message": _waiting_message(waiting) if waiting else str(_l("The list was updated.")),
        }
    )
