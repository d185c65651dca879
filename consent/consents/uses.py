"""Who signs, how, and whether a use covers a channel (the uses themselves: consent.forms.uses)."""

from __future__ import annotations

from consent.forms.uses import CHANNEL, PURPOSES

__all__ = [
    "CHANNEL",
    "FACE_HIDDEN",
    "METHODS",
    "PURPOSES",
    "RELATIONSHIPS",
    "SIGNER_ROLES",
    "Choice",
    "channel_covered",
    "granted",
]

# A patient's answer for one use: yes (True), no (False), or "yes, only with my face hidden"
# (issue 19): the use is granted for the face-masked copy of each photo, never the original.
FACE_HIDDEN = "face_hidden"
Choice = bool | str
ANSWERS: tuple[Choice, ...] = (True, False, FACE_HIDDEN)

SIGNER_ROLES = ("patient", "legal_representative")
RELATIONSHIPS = ("parent", "guardian", "other_legal_representative")
# How a decision was collected, each with its evidence: "tablet" (the drawn signature and the
# signing session, only by the tablet flow), "paper" (the scan of the signed form), "external"
# (a document from the system that collected it). "integration" is what decisions sent through
# the API without evidence said before that was refused; kept for their receipts.
METHODS = ("tablet", "paper", "external", "integration")


def channel_covered(channels: list[str], channel: str | None) -> bool:
    """Whether a use limited to ``channels`` (empty: any channel) covers ``channel``.

    A caller that names no channel is covered only by a use that is not limited.
    """
    if not channels:
        return True
    return channel is not None and channel in channels


def granted(choice: Choice) -> bool:
    """Whether an answer grants the use (with the face hidden or not)."""
    return choice is True or choice == FACE_HIDDEN
