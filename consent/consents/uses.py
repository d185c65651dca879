"""Who signs, how, and whether a use covers a channel (the uses themselves: consent.forms.uses)."""

from __future__ import annotations

from consent.forms.uses import CHANNEL, PURPOSES

__all__ = ["CHANNEL", "METHODS", "PURPOSES", "RELATIONSHIPS", "SIGNER_ROLES", "channel_covered"]

SIGNER_ROLES = ("patient", "legal_representative")
RELATIONSHIPS = ("parent", "guardian", "other_legal_representative")
METHODS = ("tablet", "paper", "integration")


def channel_covered(channels: list[str], channel: str | None) -> bool:
    """Whether a use limited to ``channels`` (empty: any channel) covers ``channel``.

    A caller that names no channel is covered only by a use that is not limited.
    """
    if not channels:
        return True
    return channel is not None and channel in channels
