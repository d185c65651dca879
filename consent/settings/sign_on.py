"""The settings of staff sign-on: local passwords and the hospital's OpenID Connect provider
(docs/hospital-sign-on.md)."""

from __future__ import annotations

from consent.settings.coerce import flag, group_map, http_url, optional, text
from consent.settings.setting import Setting, _s

SIGN_ON_SETTINGS: tuple[Setting, ...] = (
    _s(
        "CONSENT_LOCAL_PASSWORDS",
        True,
        flag,
        "Staff may log in with a password kept by the service; false leaves the hospital's "
        "sign-on only (the password form is hidden and its POST refused).",
    ),
    _s(
        "CONSENT_OIDC_ISSUER",
        None,
        optional(http_url),
        "The hospital's OpenID Connect provider (its issuer; discovery is read from "
        "ISSUER/.well-known/openid-configuration). Unset: no hospital sign-on.",
    ),
    _s(
        "CONSENT_OIDC_CLIENT_ID",
        None,
        optional(text(200)),
        "The client id the provider registered for this service.",
    ),
    _s(
        "CONSENT_OIDC_CLIENT_SECRET",
        None,
        optional(text(500)),
        "The client secret the provider gave (environment or instance/config.py only).",
        secret=True,
    ),
    _s(
        "CONSENT_OIDC_PROVIDER_NAME",
        "the hospital account",
        text(100),
        'Shown on the log-in page: "Sign in with <name>".',
    ),
    _s(
        "CONSENT_OIDC_SCOPES",
        "openid email profile",
        text(300),
        "Scopes asked of the provider, space separated (openid is required; add the one that "
        "releases the groups claim if the provider needs it).",
    ),
    _s(
        "CONSENT_OIDC_GROUPS_CLAIM",
        "groups",
        text(100),
        "The ID token claim that lists the person's groups.",
    ),
    _s(
        "CONSENT_OIDC_GROUP_MAP",
        None,
        optional(group_map),
        "Provider group to team and role, comma separated: "
        '"cardio-clinicians=cardiology:clinician,consent-admins=*:admin" (* is no team).',
    ),
)
