"""The form text a patient is shown for one request: only the uses it asks about, in its order.

Forms from version 3 write the parts of their text that concern one use as per-use paragraphs
(a section's ``uses``: purpose -> paragraph). For a request, each section shows its body, then the
paragraphs of the requested uses in the request's order; the closing list of uses names only
those. Forms without per-use paragraphs (version 1 and 2) are shown whole, as they always were:
their receipts bind the whole text.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def per_use(block: dict[str, Any]) -> bool:
    """Whether this language block's text depends on the requested uses."""
    return any("uses" in section for section in block["sections"])


def shown_purposes(block: dict[str, Any], purposes: Sequence[str] | None) -> list[str]:
    """The uses whose paragraphs the text includes, in the order they are shown.

    ``None`` (the catalogue's own text) or a form without per-use paragraphs: every use the
    block labels, in its own order.
    """
    if purposes is None or not per_use(block):
        return list(block["purposes"])
    return [purpose for purpose in purposes if purpose in block["purposes"]]


def shown_sections(
    block: dict[str, Any], purposes: Sequence[str] | None = None
) -> list[dict[str, Any]]:
    """The sections as shown: each body followed by the paragraphs of the shown uses."""
    shown = shown_purposes(block, purposes)
    sections = []
    for section in block["sections"]:
        body = section["body"].strip()
        paragraphs = section.get("uses", {})
        extra = [paragraphs[p].strip() for p in shown if p in paragraphs]
        if extra:
            body = "\n".join([body, *extra])
        sections.append({"key": section["key"], "heading": section["heading"], "body": body})
    return sections
