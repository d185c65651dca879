"""How the tablet flow is cut into screens (issue 21): the form read in at most five pages, one
question a use, and the step numbers of an honest progress indicator."""

from __future__ import annotations

from typing import Any

# Issue 21: the form is read in at most this many pages, whatever its number of sections.
MAX_READING_PAGES = 5


def reading_pages(sections: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """The form's sections in at most MAX_READING_PAGES pages of nearly equal length, in order."""
    count = min(MAX_READING_PAGES, len(sections))
    size, extra = divmod(len(sections), count)
    pages, start = [], 0
    for index in range(count):
        end = start + size + (1 if index < extra else 0)
        pages.append(sections[start:end])
        start = end
    return pages


def step_numbers(pages: int, uses: int, texts: bool = False) -> dict[str, int]:
    """The number of each step of the flow, for an honest "Step n of N" (one per screen).

    A request with case texts has their own reading step after the media (issue 20): the
    patient reads every word that will be published, in full.
    """
    extra = 1 if texts else 0
    steps = {"start": 1, "media": 2, "texts": 3, "read": 3 + extra}
    steps["check"] = steps["read"] + pages
    steps["question"] = steps["check"] + 1
    steps["summary"] = steps["question"] + uses
    for offset, name in enumerate(("who", "sign", "wait", "done"), start=1):
        steps[name] = steps["summary"] + offset
    steps["total"] = steps["done"]
    return steps
