"""What a receipt binds of the form: the exact text this patient was shown, and how to re-render it.

For a form with per-use paragraphs (version 3 on, consent.forms.shown) the text depends on the
request, so the receipt's form block carries, besides id, version and language:
``sha256``, the SHA-256 of the text as shown (only the requested uses, in the request's order);
``version_sha256``, the SHA-256 of the catalogued whole text, which names the definition; and
``purposes``, the uses whose paragraphs the text includes, in order. Anyone holding the definition
renders the text again with consent.forms.catalogue.render_text and compares the hash. Forms
without per-use paragraphs are bound as before: ``sha256`` of the whole text, nothing else, so
their receipts keep their bytes.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Any

from consent.errors import IntegrityFailure
from consent.forms.catalogue import render_text
from consent.forms.models import FormVersion
from consent.forms.shown import per_use, shown_purposes


def shown_text(form: FormVersion, purposes: Sequence[str]) -> str:
    """The text of ``form`` as shown for a request asking about ``purposes`` (in its order)."""
    definition = json.loads(form.definition)
    if not per_use(definition):
        return form.text
    return render_text(definition, {}, purposes)


def form_binding(form: FormVersion, purposes: Sequence[str]) -> dict[str, Any]:
    """The receipt's form block for a request asking about ``purposes``, in its order."""
    definition = json.loads(form.definition)
    block: dict[str, Any] = {
        "id": form.form_id,
        "version": form.version,
        "language": form.language,
        "sha256": hashlib.sha256(shown_text(form, purposes).encode()).hexdigest(),
    }
    if per_use(definition):
        block["version_sha256"] = form.text_sha256
        block["purposes"] = shown_purposes(definition, purposes)
    return block


def check_binding(form: FormVersion, bound: dict[str, Any]) -> None:
    """Check a receipt's form block against the catalogued ``form`` by rendering its text again.

    Raises IntegrityFailure when the version, the catalogued text or the shown text differ.
    """
    if (bound.get("id"), bound.get("version"), bound.get("language")) != (
        form.form_id,
        form.version,
        form.language,
    ):
        raise IntegrityFailure("the receipt names another form version")
    purposes = bound.get("purposes")
    if purposes is None:
        if bound.get("sha256") != form.text_sha256 or "version_sha256" in bound:
            raise IntegrityFailure("the receipt's form hash is not the form's text")
        return
    if bound.get("version_sha256") != form.text_sha256:
        raise IntegrityFailure("the receipt's form version hash is not the catalogued text's")
    if not isinstance(purposes, list) or form_binding(form, purposes) != bound:
        raise IntegrityFailure("the receipt's form hash is not the text shown for its uses")
