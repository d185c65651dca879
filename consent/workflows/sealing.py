"""What a receipt PDF's PAdES seal says, in the patient's language: PDF readers show its reason
and location next to the seal, so they say what is attested and by whom."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask_babel import force_locale, gettext

from consent.documents.seal import SealWords


def seal_words(language: str, *, document: str, controller: str, public_url: str) -> SealWords:
    """The seal's reason and location for a ``document`` ("consent" or "withdrawal")."""
    host = urlsplit(public_url).netloc or public_url
    with force_locale(language):
        if document == "withdrawal":
            reason = gettext(
                "%(controller)s certifies this withdrawal receipt as issued by its consent "
                "service, unchanged since.",
                controller=controller,
            )
        else:
            reason = gettext(
                "%(controller)s certifies this consent receipt as issued by its consent "
                "service, unchanged since.",
                controller=controller,
            )
        location = gettext(
            "Consent service of %(controller)s (%(host)s)", controller=controller, host=host
        )
    return SealWords(reason=str(reason), location=str(location))
