"""A verify answer as the publisher client hands it over, once its signature held: the
decision, how the consent was collected, and the publisher's own policy on methods."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# "modified": a case text edited from a consented one (verify/text); never allowed.
# "masked_only": granted only with the patient's face hidden; publish ``masked_sha256`` instead.
DECISIONS = ("allowed", "masked_only", "not_covered", "withdrawn", "expired", "unknown", "modified")
# How consent may have been collected; "integration" is what version 1 receipts said of a
# decision entered through the API.
METHODS = ("tablet", "paper", "external", "integration")


@dataclass(frozen=True)
class CheckedAnswer:
    """A verify answer whose signature held and which answers the question asked.

    ``accept_methods``: the publisher's policy on how consent was collected (for example
    tablet and paper only); an ``allowed`` answer resting on another method is not allowed.
    """

    answer: dict[str, Any]
    key_id: str
    accept_methods: frozenset[str] | None = None

    @property
    def decision(self) -> str:
        return str(self.answer["decision"])

    @property
    def method(self) -> str | None:
        """How the governing consent was collected: tablet, paper or external."""
        method = self.answer.get("method")
        return str(method) if method is not None else None

    @property
    def methods(self) -> list[str | None]:
        """How each subject's governing consent was collected (a file may show several
        people, each deciding for themselves); the top-level method for an answer without the
        per-subject list."""
        governing = self.answer.get("governing")
        if isinstance(governing, list) and governing:
            return [item.get("method") for item in governing if isinstance(item, dict)]
        return [self.method]

    @property
    def subjects(self) -> int:
        """How many people the file shows (1 for an answer from before several subjects)."""
        count = self.answer.get("subjects")
        return int(count) if isinstance(count, int) else 1

    @property
    def method_accepted(self) -> bool:
        """Whether every subject's consent was collected by a method the publisher accepts."""
        return self.accept_methods is None or all(
            method in self.accept_methods for method in self.methods
        )

    @property
    def allowed(self) -> bool:
        return self.decision == "allowed" and self.method_accepted

    @property
    def masked_sha256(self) -> str | None:
        """For ``masked_only``: the SHA-256 of the face-masked copy to publish instead (verify
        answers ``allowed`` for it); None otherwise, or when there is no copy (a video)."""
        masked = self.answer.get("masked_sha256") if self.decision == "masked_only" else None
        return str(masked) if masked is not None else None
