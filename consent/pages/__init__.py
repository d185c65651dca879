"""The HTML pages: the tablet, the clinician's (with the hospital sign-on), the admin's, the
paper path's, the public consent page and the patient's withdrawal pages. Server-rendered, in
French or English."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """CSRF on every form, clinician log-in, the FR/EN interface, and the page blueprints."""
    from flask_babel import get_locale

    from consent.documents.dates import long_date, number
    from consent.pages import (
        admin,
        admin_operations,
        clinician,
        face_boxes,
        invitation,
        login,
        my_settings,
        new_request,
        paper,
        phone,
        public,
        request_page,
        sign_on,
        tablet,
        tablet_choose,
        tablet_end,
        tablet_faces,
        tablet_sign,
        withdraw,
        worklist,
    )
    from consent.pages.labels import (
        PURPOSE_LABELS,
        RELATIONSHIP_LABELS,
        ROLE_LABELS,
        STATE_LABELS,
    )
    from consent.web.context import settings
    from consent.web.extensions import babel, csrf, login_manager
    from consent.web.i18n import NATIVE_NAMES, direction, page_languages, select_locale

    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "clinician.login"
    login_manager.user_loader(login.load_account)
    babel.init_app(app, locale_selector=select_locale)
    # The login and tablet_end modules add their routes to the clinician and tablet blueprints.
    assert login.blp is clinician.blp is sign_on.blp
    assert tablet_end.blp is tablet_choose.blp is tablet_sign.blp is tablet.blp
    assert tablet_faces.blp is tablet.blp
    assert worklist.blp is clinician.blp and request_page.blp is clinician.blp
    assert new_request.blp is clinician.blp and my_settings.blp is clinician.blp
    assert face_boxes.blp is clinician.blp
    for module in (tablet, clinician, paper, public, withdraw, admin_operations, phone, invitation):
        app.register_blueprint(module.blp)
    app.register_blueprint(admin.init_app())
    app.jinja_env.globals.update(
        get_locale=get_locale,
        consent_settings=settings,
        purpose_labels=PURPOSE_LABELS,
        relationship_labels=RELATIONSHIP_LABELS,
        state_labels=STATE_LABELS,
        role_labels=ROLE_LABELS,
        page_languages=page_languages,
        native_language_names=NATIVE_NAMES,
    )
    app.jinja_env.filters["text_direction"] = direction
    app.jinja_env.filters["purpose_label"] = lambda purpose: PURPOSE_LABELS.get(purpose, purpose)
    # "29 November 2027" in the person's language, rather than 2027-11-29.
    app.jinja_env.filters["long_date"] = long_date
    app.jinja_env.filters["number"] = number

    @app.context_processor
    def current_path() -> dict[str, str]:
        # Pages are handed their own ``request`` (a consent request) by some views, which hides
        # Flask's; the language switch needs the page's own address to come back to it.
        from flask import request

        path = request.full_path
        return {"current_path": path[:-1] if path.endswith("?") else path}

    # "Enseignement : oui" in French (a no-break space before the colon), "Teaching: yes".
    app.jinja_env.globals["colon"] = lambda: "\u00a0:" if str(get_locale()) == "fr" else ":"
