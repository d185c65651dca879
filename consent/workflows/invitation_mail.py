"""The text of an invitation's e-mail: who invited the person, to which team, the link where
they choose their password (or, with the hospital's sign-on, the log-in page) and until when
it works. English, then French; no patient data."""

from __future__ import annotations

from datetime import datetime

from consent.accounts.models import AccountInvitation
from consent.documents.dates import long_date
from consent.runtime import Runtime

LOGIN = "clinician.login"


def expiry_en(when: datetime) -> str:
    return f"{long_date(when, language='en')}, {when:%H:%M} UTC"


def expiry_fr(when: datetime) -> str:
    day = long_date(when, language="fr")
    if when.day == 1:  # French writes the first of a month as an ordinal: "1er mars".
        day = "1er" + day[1:]
    return f"{day} à {when:%H} h {when:%M} (UTC)"


def invitation_body(rt: Runtime, invitation: AccountInvitation, token: str | None) -> str:
    """The e-mail's text; ``token`` None: sign in with the hospital's sign-on instead."""
    who, team = invitation.inviter.display_name, invitation.team.name
    provider = rt.settings.oidc_provider_name
    head = (
        f"{who} invited you to the consent service of the team {team}.\n"
        f"{who} vous a invité(e) sur le service de consentement, équipe soignante {team}.\n\n"
    )
    if token is None:
        url = rt.links.url(LOGIN)
        return head + (
            f"Log in with {provider} (the hospital sign-on); you need no other password:\n"
            f"{url}\n\n"
            f"Connectez-vous avec {provider} (l'identification de l'hôpital) ; aucun autre mot "
            f"de passe n'est nécessaire :\n{url}\n"
        )
    url = rt.links.invitation(token)
    return head + (
        "Choose your password here; the link works once, until "
        f"{expiry_en(invitation.expires_at)}:\n"
        f"{url}\n"
        "If it has expired, ask your administrator for a new invitation.\n\n"
        "Choisissez votre mot de passe ici ; le lien fonctionne une seule fois, jusqu'au "
        f"{expiry_fr(invitation.expires_at)} :\n{url}\n"
        "S'il a expiré, demandez une nouvelle invitation à votre administrateur.\n"
    )
