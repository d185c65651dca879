"""Who signs, how, and whether a use covers a channel (the uses themselves: consent.forms.uses)."""

from __future__ import annotations

from consent.forms.uses import CHANNEL, PURPOSES

__all__ = ["CHANNEL", "METHODS", "PURPOSES", "RELATIONSHIPS", "SIGNER_ROLES", "channel_covered"]

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
