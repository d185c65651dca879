"""Accounts and API keys."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    false,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from consent.db import db
from consent.db.types import UTCDateTime, utcnow

# clinician: informs patients and records their consent, in the teams they are members of.
# admin: manages teams, memberships, accounts, API keys and webhooks; sees the patients of the
#   teams they are a member of, as a clinician would.
# auditor: reads the log and the (pseudonymous) records of every team, never an identity.
ROLES = ("clinician", "admin", "auditor")
# verify: ask verify only; consents:write: patients, media, requests, decisions, withdrawals;
# webhooks:manage: register, list and delete the key owner's webhook endpoints.
# An API key's scopes make its role (docs/roles.md): "verify" alone is a publisher, "audit" an
# auditor, "consents:write" a clinician's tool, "webhooks:manage" an administrator's.
SCOPES = ("verify", "consents:write", "webhooks:manage", "audit")


# A team's slug: what configuration (the sign-on's group mapping) and the CLI name it by.
TEAM_SLUG = r"^[a-z0-9][a-z0-9-]{0,58}[a-z0-9]$"


class Team(db.Model):  # type: ignore[name-defined,misc]
    """A care team (a hospital department): it owns its patients, media, requests, consents,
    withdrawals, webhook endpoints and API keys. Another team's object is a 404."""

    __tablename__ = "teams"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    slug: Mapped[str] = mapped_column(String(60), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # A patient's withdrawal is e-mailed to the whole team, not only to the informing clinician.
    withdrawal_notices_to_team: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false()
    )


class Membership(db.Model):  # type: ignore[name-defined,misc]
    """An account's membership of a team: it sees and acts on that team's records."""

    __tablename__ = "memberships"

    account_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True
    )
    team_id: Mapped[str] = mapped_column(ForeignKey("teams.id"), primary_key=True, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Integration(db.Model):  # type: ignore[name-defined,misc]
    """A system registered to act for one team (an EHR, a patient portal, a publishing tool):
    what a receipt names when no person recorded it."""

    __tablename__ = "integrations"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    team_id: Mapped[str] = mapped_column(ForeignKey("teams.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Account(db.Model):  # type: ignore[name-defined,misc]
    """A person who uses the service: a clinician who informs patients, or an administrator.

    It answers what Flask-Login asks of a signed-in user (the web layer logs people in); the
    domain itself does not depend on Flask-Login.
    """

    __tablename__ = "accounts"
    __table_args__ = (
        CheckConstraint(f"role IN {ROLES!r}", name="role_known"),
        CheckConstraint(
            "(oidc_issuer IS NULL) = (oidc_subject IS NULL)", name="oidc_link_complete"
        ),
        UniqueConstraint("oidc_issuer", "oidc_subject"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    # An account without one cannot log in with a password (hospital sign-on only).
    password_hash: Mapped[str | None] = mapped_column(String(255))
    # The hospital's identity provider's issuer and subject, once it signed this person in.
    oidc_issuer: Mapped[str | None] = mapped_column(String(255))
    oidc_subject: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # Each session names the version it was opened under: logging out, a new password or
    # disabling the account adds one, which ends every older session on every worker.
    session_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # A disabled account neither logs in nor keeps a session or an API key.
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The failed log-ins since then are shown to the owner at the next log-in.
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The person's own choice: notification e-mails (withdrawals, waiting signatures, digests).
    notification_emails: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())

    # Flask-Login's user protocol (its UserMixin, without the import).
    is_authenticated = True
    is_anonymous = False

    @property
    def is_active(self) -> bool:
        return self.disabled_at is None

    def get_id(self) -> str:
        return str(self.id)


class AccountInvitation(db.Model):  # type: ignore[name-defined,misc]
    """An administrator's invitation to an account without a password: a single-use link,
    e-mailed to the person, where they choose their password. Only the SHA-256 of the token
    is stored (a 256-bit random token: nothing to guess); a re-sent invitation gets a new one."""

    __tablename__ = "account_invitations"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    account_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    # The team the person was invited to: what the invitation page names.
    team_id: Mapped[str] = mapped_column(ForeignKey("teams.id"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_by: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    account: Mapped[Account] = relationship(Account, foreign_keys=[account_id])
    inviter: Mapped[Account] = relationship(Account, foreign_keys=[created_by])
    team: Mapped[Team] = relationship(Team)


class LoginFailure(db.Model):  # type: ignore[name-defined,misc]
    """A wrong password for an existing account, and the address it came from: what slows the
    next try from that address (consent.accounts.logins), and what its owner is shown."""

    __tablename__ = "login_failures"
    __table_args__ = (Index("ix_login_failures_pair", "account_id", "address", "attempted_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    address: Mapped[str] = mapped_column(String(45))
    attempted_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ApiKey(db.Model):  # type: ignore[name-defined,misc]
    """A bearer key for the JSON API. Only the SHA-256 of the key is stored.

    A fast hash is enough: keys are 256-bit random, so there is nothing to guess.
    """

    __tablename__ = "api_keys"
    __table_args__ = (
        # Exactly one holder: a person's account or a registered system.
        CheckConstraint("(account_id IS NULL) <> (integration_id IS NULL)", name="one_holder"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    # The first characters of the key, to tell keys apart in listings; not a secret.
    prefix: Mapped[str] = mapped_column(String(16))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[str] = mapped_column(String(200))
    # Whom the key acts for, an account (a person's tool) or an integration (a system), and the
    # team it acts in: what a receipt recorded with it names.
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"))
    integration_id: Mapped[str | None] = mapped_column(ForeignKey("integrations.id"))
    team_id: Mapped[str] = mapped_column(ForeignKey("teams.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # When a worker last found it valid (updated at most once a minute per worker).
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    # For listings; the per-call look-up (consent.accounts.keys) reads the table directly.
    account: Mapped[Account | None] = relationship(Account)
    integration: Mapped[Integration | None] = relationship(Integration)
    team: Mapped[Team] = relationship(Team)


# What the admin journal records: every change an administrator makes, and the audit runs.
# The one list: a new action also needs a migration that sets the CHECK constraint to the new
# list (as 0022 does); tests/test_migrated_constraints.py fails until there is one.
ADMIN_ACTIONS = (
    "account.invited",
    "account.invitation_resent",
    "account.invitation_cancelled",
    "account.invitation_accepted",
    "account.disabled",
    "account.enabled",
    "membership.added",
    "membership.removed",
    "team.notices_changed",
    "api_key.created",
    "api_key.revoked",
    "integration.created",
    "webhook_endpoint.registered",
    "webhook_endpoint.deleted",
    "webhook_endpoint.test_event",
    "signing_key.rotated",
    "log.audited",
)


class AdminJournalEntry(db.Model):  # type: ignore[name-defined,misc]
    """One administrator's action: who (account), what (action and the object's id), when.

    Written in the transaction of the action itself, so that neither exists without the other.
    Never a secret: an API key is named by its id, a webhook endpoint by its id.
    """

    __tablename__ = "admin_journal"
    __table_args__ = (CheckConstraint(f"action IN {ADMIN_ACTIONS!r}", name="action_known"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    action: Mapped[str] = mapped_column(String(40))
    object_id: Mapped[str] = mapped_column(String(100))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    account: Mapped[Account] = relationship(Account)
