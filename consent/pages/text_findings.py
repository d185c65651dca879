"""The screening findings of a case text, for the clinician's page: the text cut into plain
and highlighted pieces, each finding with its reason in the interface's language."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _

from consent.consents.screening import BLOCKING_KINDS, Finding


def kind_label(kind: str) -> str:
    """What a finding is, said to the clinician (never the identity itself)."""
    labels = {
        "subject_name": _("the patient's name (or a part of it)"),
        "subject_record_number": _("the patient's record number"),
        "subject_birth_date": _("the patient's birth date"),
        "phone": _("a phone number"),
        "email": _("an e-mail address"),
        "nir": _("a social security number"),
        "postal_address": _("a postal address"),
        "date": _("an exact date"),
        "place": _("a hospital or ward name"),
    }
    return str(labels.get(kind, kind))


def highlighted(text: str, findings: list[Finding]) -> list[dict[str, Any]]:
    """``text`` as pieces in order: {"text", "labels"} where labels is empty for plain text;
    overlapping findings are merged into one highlighted piece naming each reason."""
    pieces: list[dict[str, Any]] = []
    cursor = 0
    spans: list[tuple[int, int, list[str], bool]] = []
    for finding in sorted(findings, key=lambda f: (f.start, -f.end)):
        label = kind_label(finding.kind)
        blocking = finding.kind in BLOCKING_KINDS
        if spans and finding.start < spans[-1][1]:
            start, end, labels, stop = spans[-1]
            if label not in labels:
                labels.append(label)
            spans[-1] = (start, max(end, finding.end), labels, stop or blocking)
        else:
            spans.append((finding.start, finding.end, [label], blocking))
    for start, end, labels, blocking in spans:
        if start > cursor:
            pieces.append({"text": text[cursor:start], "labels": [], "blocking": False})
        pieces.append({"text": text[start:end], "labels": labels, "blocking": blocking})
        cursor = end
    if cursor < len(text):
        pieces.append({"text": text[cursor:], "labels": [], "blocking": False})
    return pieces
