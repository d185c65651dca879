"""Which teams' records a caller may see: the one check every getter of a team's object makes.

Another team's object is answered exactly as a missing one (NotFound, a 404), never as a
refusal that would confirm it exists.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from consent.errors import NotFound


@dataclass(frozen=True)
class Scope:
    """The teams whose records a caller reaches; ``teams`` None means every team (auditors
    reading pseudonymous records, and the service's own commands and workers)."""

    teams: frozenset[str] | None

    @classmethod
    def of(cls, teams: Iterable[str]) -> Scope:
        return cls(frozenset(teams))

    def allows(self, team_id: str) -> bool:
        return self.teams is None or team_id in self.teams

    def check(self, team_id: str, missing: str) -> None:
        """Raise NotFound(``missing``) when ``team_id`` is not one of the caller's teams."""
        if not self.allows(team_id):
            raise NotFound(missing)


# The service itself (commands, workers, the patient's own credential): every team.
EVERY_TEAM = Scope(None)
