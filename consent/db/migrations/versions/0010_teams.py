"""Care teams own their records; keys act for an account or an integration; evidence for
decisions collected elsewhere

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 06:00:00.000000

Every patient, media item, request, consent, withdrawal, webhook endpoint and API key now
belongs to a team. Existing rows move into one team, "default" (rename it afterwards with
`flask --app consent rename-team`), and every existing account becomes a member of it; a
database without records gets no team (its administrator makes them). API keys
that acted for no account are bound to one integration, "Keys from before teams", in that team.
Record numbers are unique within a team instead of across the hospital. Nothing stored is
rewritten otherwise: receipts keep their bytes and verify as before.
"""

import uuid
from contextlib import contextmanager
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import consent.db.types

# revision identifiers, used by Alembic.
revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

OWNED = ("patients", "media_items", "consent_requests", "consents", "withdrawals")
OLD_ROLES = "role IN ('clinician', 'admin')"
NEW_ROLES = "role IN ('clinician', 'admin', 'auditor')"
OLD_METHODS = "method IN ('tablet', 'paper', 'integration')"
NEW_METHODS = "method IN ('tablet', 'paper', 'external', 'integration')"


@contextmanager
def _sqlite_rebuilds():
    """On SQLite, tables with rows that others reference (accounts, patients, consents...) are
    rebuilt to add their columns and constraints; dropping the old copy fails while foreign
    keys are enforced. They go off for the migration (which SQLite allows only outside a
    transaction), every reference is checked before the changes are committed, and they are
    enforced again whatever happens. Other databases alter in place."""
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        yield
        return
    raw = bind.connection.dbapi_connection
    if raw.in_transaction:
        raise RuntimeError("0010 must start outside a transaction on SQLite.")
    raw.execute("PRAGMA foreign_keys = OFF")
    try:
        # One transaction for all of it (SQLite's DDL is transactional): refused, it leaves
        # nothing half done.
        raw.execute("BEGIN")
        yield
        broken = raw.execute("PRAGMA foreign_key_check").fetchall()
        if broken:
            raw.rollback()
            raise RuntimeError(f"0010 would break references: {broken[:3]}")
        raw.commit()
    finally:
        if raw.in_transaction:
            raw.rollback()
        raw.execute("PRAGMA foreign_keys = ON")


def upgrade():
    with _sqlite_rebuilds():
        _upgrade()


def _upgrade():
    op.create_table(
        "teams",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("slug", sa.String(length=60), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("created_at", consent.db.types.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_teams")),
        sa.UniqueConstraint("slug", name=op.f("uq_teams_slug")),
    )
    op.create_table(
        "integrations",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("team_id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("created_at", consent.db.types.UTCDateTime(), nullable=False),
        sa.Column("disabled_at", consent.db.types.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["team_id"], ["teams.id"], name=op.f("fk_integrations_team_id_teams")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_integrations")),
    )
    op.create_index(op.f("ix_integrations_team_id"), "integrations", ["team_id"], unique=False)
    op.create_table(
        "memberships",
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.String(length=40), nullable=False),
        sa.Column("created_at", consent.db.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_memberships_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["team_id"], ["teams.id"], name=op.f("fk_memberships_team_id_teams")
        ),
        sa.PrimaryKeyConstraint("account_id", "team_id", name=op.f("pk_memberships")),
    )
    op.create_index(op.f("ix_memberships_team_id"), "memberships", ["team_id"], unique=False)
    op.create_table(
        "external_evidence",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("consent_id", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("media_type", sa.String(length=100), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("created_at", consent.db.types.UTCDateTime(), nullable=False),
        sa.CheckConstraint(
            "kind IN ('e-signature', 'patient-portal', 'signed-document', 'other')",
            name=op.f("ck_external_evidence_kind_known"),
        ),
        sa.CheckConstraint(
            "media_type IN ('application/pdf', 'image/jpeg', 'image/png', 'application/json', 'text/plain')",
            name=op.f("ck_external_evidence_media_type_known"),
        ),
        sa.CheckConstraint("length(sha256) = 64", name=op.f("ck_external_evidence_sha256_hex")),
        sa.CheckConstraint("size_bytes > 0", name=op.f("ck_external_evidence_not_empty")),
        sa.ForeignKeyConstraint(
            ["consent_id"], ["consents.id"], name=op.f("fk_external_evidence_consent_id_consents")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_external_evidence")),
        sa.UniqueConstraint("consent_id", name=op.f("uq_external_evidence_consent_id")),
    )

    # The default team, its members (every account) and, for keys that acted for no account,
    # an integration to act for: only when there are records to move (a new database starts
    # empty; its administrator makes its teams).
    bind = op.get_bind()
    now = datetime.now(UTC).replace(tzinfo=None)
    team_id = "tm_" + uuid.uuid4().hex
    recorded = any(
        bind.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar()  # noqa: S608 (our names)
        for table in ("accounts", "api_keys", *OWNED, "webhook_endpoints")
    )
    if recorded:
        bind.execute(
            sa.text(
                "INSERT INTO teams (id, slug, name, created_at) "
                "VALUES (:id, 'default', 'Default team', :now)"
            ),
            {"id": team_id, "now": now},
        )
    bind.execute(
        sa.text(
            "INSERT INTO memberships (account_id, team_id, created_at) SELECT id, :team, :now FROM accounts"
        ),
        {"team": team_id, "now": now},
    )
    unbound = bind.execute(
        sa.text("SELECT count(*) FROM api_keys WHERE account_id IS NULL")
    ).scalar()
    integration_id = "in_" + uuid.uuid4().hex
    if unbound:
        bind.execute(
            sa.text(
                "INSERT INTO integrations (id, team_id, name, created_at) "
                "VALUES (:id, :team, 'Keys from before teams', :now)"
            ),
            {"id": integration_id, "team": team_id, "now": now},
        )

    with op.batch_alter_table("accounts") as batch:
        batch.add_column(sa.Column("oidc_issuer", sa.String(length=255), nullable=True))
        batch.add_column(sa.Column("oidc_subject", sa.String(length=255), nullable=True))
        batch.create_unique_constraint(
            op.f("uq_accounts_oidc_issuer_oidc_subject"), ["oidc_issuer", "oidc_subject"]
        )
        batch.create_check_constraint(
            op.f("ck_accounts_oidc_link_complete"), "(oidc_issuer IS NULL) = (oidc_subject IS NULL)"
        )
        batch.drop_constraint(op.f("ck_accounts_role_known"), type_="check")
        batch.create_check_constraint(op.f("ck_accounts_role_known"), NEW_ROLES)

    with op.batch_alter_table("api_keys") as batch:
        batch.add_column(sa.Column("integration_id", sa.String(length=40), nullable=True))
        batch.add_column(sa.Column("team_id", sa.String(length=40), nullable=True))
        batch.add_column(sa.Column("last_used_at", consent.db.types.UTCDateTime(), nullable=True))
    bind.execute(sa.text("UPDATE api_keys SET team_id = :team"), {"team": team_id})
    bind.execute(
        sa.text("UPDATE api_keys SET integration_id = :integration WHERE account_id IS NULL"),
        {"integration": integration_id},
    )
    with op.batch_alter_table("api_keys") as batch:
        batch.alter_column("team_id", existing_type=sa.String(length=40), nullable=False)
        batch.create_index(op.f("ix_api_keys_team_id"), ["team_id"], unique=False)
        batch.create_foreign_key(
            op.f("fk_api_keys_integration_id_integrations"),
            "integrations",
            ["integration_id"],
            ["id"],
        )
        batch.create_foreign_key(op.f("fk_api_keys_team_id_teams"), "teams", ["team_id"], ["id"])
        batch.create_check_constraint(
            op.f("ck_api_keys_one_holder"), "(account_id IS NULL) <> (integration_id IS NULL)"
        )

    for table in (*OWNED, "webhook_endpoints"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("team_id", sa.String(length=40), nullable=True))
        # The table names are this migration's own constants, never input.
        bind.execute(sa.text(f"UPDATE {table} SET team_id = :team"), {"team": team_id})  # noqa: S608
        with op.batch_alter_table(table) as batch:
            batch.alter_column("team_id", existing_type=sa.String(length=40), nullable=False)
            batch.create_index(op.f(f"ix_{table}_team_id"), ["team_id"], unique=False)
            batch.create_foreign_key(
                op.f(f"fk_{table}_team_id_teams"), "teams", ["team_id"], ["id"]
            )
            if table == "patients":
                batch.drop_constraint(op.f("uq_patients_record_lookup"), type_="unique")
                batch.create_unique_constraint(
                    op.f("uq_patients_team_id_record_lookup"), ["team_id", "record_lookup"]
                )
            if table == "consents":
                batch.drop_constraint(op.f("ck_consents_method_known"), type_="check")
                batch.create_check_constraint(op.f("ck_consents_method_known"), NEW_METHODS)


def downgrade():
    with _sqlite_rebuilds():
        _downgrade()


def _downgrade():
    # Checked first: on SQLite each statement below commits on its own.
    bind = op.get_bind()
    lossy = {
        "teams beyond the first": "SELECT count(*) - 1 FROM teams",
        "integrations": "SELECT count(*) FROM integrations WHERE name <> 'Keys from before teams'",
        "auditor accounts": "SELECT count(*) FROM accounts WHERE role = 'auditor'",
        "consents collected elsewhere": "SELECT count(*) FROM external_evidence",
        "accounts linked to the hospital's sign-on": "SELECT count(*) FROM accounts WHERE oidc_subject IS NOT NULL",
    }
    found = [
        what for what, query in lossy.items() if (bind.execute(sa.text(query)).scalar() or 0) > 0
    ]
    if found:
        raise RuntimeError(f"0010 cannot be undone without losing: {', '.join(found)}.")
    for table in ("webhook_endpoints", *reversed(OWNED)):
        with op.batch_alter_table(table) as batch:
            if table == "consents":
                batch.drop_constraint(op.f("ck_consents_method_known"), type_="check")
                batch.create_check_constraint(op.f("ck_consents_method_known"), OLD_METHODS)
            if table == "patients":
                batch.drop_constraint(op.f("uq_patients_team_id_record_lookup"), type_="unique")
                batch.create_unique_constraint(op.f("uq_patients_record_lookup"), ["record_lookup"])
            batch.drop_constraint(op.f(f"fk_{table}_team_id_teams"), type_="foreignkey")
            batch.drop_index(op.f(f"ix_{table}_team_id"))
            batch.drop_column("team_id")
    with op.batch_alter_table("api_keys") as batch:
        batch.drop_constraint(op.f("ck_api_keys_one_holder"), type_="check")
        batch.drop_constraint(op.f("fk_api_keys_team_id_teams"), type_="foreignkey")
        batch.drop_constraint(op.f("fk_api_keys_integration_id_integrations"), type_="foreignkey")
        batch.drop_index(op.f("ix_api_keys_team_id"))
        batch.drop_column("last_used_at")
        batch.drop_column("team_id")
        batch.drop_column("integration_id")
    with op.batch_alter_table("accounts") as batch:
        batch.drop_constraint(op.f("ck_accounts_role_known"), type_="check")
        batch.create_check_constraint(op.f("ck_accounts_role_known"), OLD_ROLES)
        batch.drop_constraint(op.f("ck_accounts_oidc_link_complete"), type_="check")
        batch.drop_constraint(op.f("uq_accounts_oidc_issuer_oidc_subject"), type_="unique")
        batch.drop_column("oidc_subject")
        batch.drop_column("oidc_issuer")
    op.drop_table("external_evidence")
    op.drop_index(op.f("ix_memberships_team_id"), table_name="memberships")
    op.drop_table("memberships")
    op.drop_index(op.f("ix_integrations_team_id"), table_name="integrations")
    op.drop_table("integrations")
    op.drop_table("teams")
