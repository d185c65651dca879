"""The admin journal: who did what, when, on the administration pages and API

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07 15:10:00.000000

A new table only; nothing stored changes.
"""

import sqlalchemy as sa
from alembic import op

import consent.db.types

# revision identifiers, used by Alembic.
revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

ACTIONS = (
    "account.invited",
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


def upgrade():
    op.create_table(
        "admin_journal",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("object_id", sa.String(length=100), nullable=False),
        sa.Column("at", consent.db.types.UTCDateTime(), nullable=False),
        sa.CheckConstraint(f"action IN {ACTIONS!r}", name=op.f("ck_admin_journal_action_known")),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_admin_journal_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_admin_journal")),
    )
    with op.batch_alter_table("admin_journal", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_admin_journal_account_id"), ["account_id"])


def downgrade():
    op.drop_table("admin_journal")
