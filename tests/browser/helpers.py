"""What the browser tests check on every page: axe-core (WCAG 2.1 A and AA), keyboard order,
200% zoom without sideways scrolling, and a screenshot of each step."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Any
from weakref import WeakKeyDictionary

AXE = Path(__file__).resolve().parents[1] / "assets" / "axe" / "axe.min.js"
SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"
# WCAG 2.1 levels A and AA, as axe-core tags its rules.
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]

# Each page's viewport at 100%, so that zoom(page, 2) then zoom(page, 1) comes back to it.
_FULL_SIZE: WeakKeyDictionary[Any, dict[str, int]] = WeakKeyDictionary()


@lru_cache(maxsize=1)
def _axe_source() -> str:
    return AXE.read_text()


def assert_no_axe_violations(page: Any, *, context: str) -> None:
    """Run axe-core (WCAG 2.1 A and AA) on the page as it is now.

    Raises AssertionError listing, per violation, the rule id, impact, help text and the CSS
    selectors of the offending elements; ``context`` names the page or step in that message.
    """
    if not page.evaluate("typeof window.axe !== 'undefined'"):  # gone after each navigation
        # Evaluated through the DevTools protocol, which the page's Content-Security-Policy
        # does not govern (a <script> tag with inline source would be refused by it).
        page.evaluate(_axe_source() + "\n;true")
    result = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", WCAG_TAGS
    )
    problems = []
    for violation in result["violations"]:
        targets = [" ".join(map(str, node["target"])) for node in violation["nodes"]]
        shown = "; ".join(targets[:5]) + (f"; and {len(targets) - 5} more" if targets[5:] else "")
        problems.append(
            f"- {violation['id']} ({violation['impact']}): {violation['help']}\n"
            f"    on: {shown}\n    see: {violation['helpUrl']}"
        )
    assert not problems, f"axe-core found {len(problems)} problem(s) on {context}:\n" + "\n".join(
        problems
    )


def screenshot(page: Any, name: str) -> Path:
    """Save a full-page PNG under tests/browser/screenshots/ (git-ignored); return its path."""
    SCREENSHOTS.mkdir(exist_ok=True)
    path = SCREENSHOTS / (re.sub(r"[^a-z0-9-]+", "-", name.lower()).strip("-") + ".png")
    page.screenshot(path=str(path), full_page=True)
    return path


# An iPad-size tablet in CSS pixels, on which the right-to-left pages are walked (issue 21).
IPAD = {"portrait": {"width": 820, "height": 1180}, "landscape": {"width": 1180, "height": 820}}


def ipad(tablet_page: Any, orientation: str, *, locale: str = "ar") -> Any:
    """A page of ``tablet_page`` laid out as on an iPad, its browser asking for ``locale``."""
    page = tablet_page(orientation, locale=locale)
    page.set_viewport_size(IPAD[orientation])
    remember_full_size(page, IPAD[orientation])
    return page


def assert_right_to_left(page: Any) -> None:
    """The page is in Arabic and laid out right to left (dir="rtl" lang="ar" on its html)."""
    html = page.locator("html")
    assert (html.get_attribute("lang"), html.get_attribute("dir")) == ("ar", "rtl")
    assert page.evaluate("getComputedStyle(document.body).direction") == "rtl"


def remember_full_size(page: Any, viewport: dict[str, int]) -> None:
    """Record the page's viewport at 100% (for a page opened already zoomed)."""
    _FULL_SIZE[page] = dict(viewport)


def zoom(page: Any, factor: float) -> None:
    """Lay the page out as a browser zoomed to ``factor`` (2.0 = 200%) would; 1.0 undoes it.

    A browser's zoom divides the CSS pixels across the screen by the factor, so media queries,
    ``vw`` units and reflow (WCAG 1.4.10) respond as they do for a person; CSS ``zoom`` on the
    root element does not (media queries still see the full width). A live page's
    device-pixel ratio cannot change, so only the screenshot's sharpness differs from a real
    zoom: for pixel-true screenshots open the page with ``tablet_page(..., zoom=2.0)``.
    """
    if factor <= 0:
        raise ValueError(f"zoom factor must be positive, not {factor}")
    full = _FULL_SIZE.setdefault(page, dict(page.viewport_size))
    page.set_viewport_size(
        {"width": round(full["width"] / factor), "height": round(full["height"] / factor)}
    )


def zoom_200(page: Any) -> None:
    """zoom(page, 2.0): WCAG 1.4.4 and 1.4.10 ask for 200% without loss of content."""
    zoom(page, 2.0)


def assert_no_horizontal_scroll(page: Any, *, context: str = "the page") -> None:
    """Raises AssertionError when the page is wider than its viewport (sideways scrolling)."""
    overflow = page.evaluate(
        "Math.max(document.documentElement.scrollWidth, document.body ? "
        "document.body.scrollWidth : 0) - document.documentElement.clientWidth"
    )
    width = page.viewport_size["width"]
    assert overflow <= 1, (
        f"{context}: content is {overflow}px wider than the {width}px viewport (sideways scroll)"
    )


_FOCUSED_ELEMENT = "document.activeElement || document.body"


def tab_through(page: Any, presses: int) -> list[str]:
    """Press Tab ``presses`` times; return the accessible name of each element focused.

    Names are Chromium's own (labels, aria-labelledby, aria-label, text), read through the
    DevTools accessibility tree, so they are what a screen reader announces. An element with
    no name shows as ``<tag>`` (``<body>`` when the focus left the page's controls).
    """
    session = page.context.new_cdp_session(page)
    try:
        names = []
        for _ in range(presses):
            page.keyboard.press("Tab")
            names.append(_accessible_name(session, page))
        return names
    finally:
        session.detach()


def _accessible_name(session: Any, page: Any) -> str:
    focused = session.send(
        "Runtime.evaluate", {"expression": _FOCUSED_ELEMENT, "returnByValue": False}
    )
    object_id = focused["result"]["objectId"]
    tree = session.send(
        "Accessibility.getPartialAXTree", {"objectId": object_id, "fetchRelatives": False}
    )
    session.send("Runtime.releaseObject", {"objectId": object_id})
    for node in tree["nodes"]:
        name = str(node.get("name", {}).get("value", "")).strip()
        if name:
            return name
    tag = page.evaluate(f"({_FOCUSED_ELEMENT}).tagName.toLowerCase()")
    return f"<{tag}>"


# The name the first browser tests used.
focus_order = tab_through
