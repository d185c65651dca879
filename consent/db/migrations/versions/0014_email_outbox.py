"""The e-mail outbox: messages to staff (a patient's withdrawal to the informing clinician)

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 12:10:00.000000

A new table only; nothing stored changes.
"""

import sqlalchemy as sa
from alembic import op

import consent.db.types

# revision identifiers, used by Alembic.
revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "email_outbox",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("team_id", sa.String(length=40), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", consent.db.types.UTCDateTime(), nullable=False),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("created_at", consent.db.types.UTCDateTime(), nullable=False),
        sa.Column("sent_at", consent.db.types.UTCDateTime(), nullable=True),
        sa.CheckConstraint(
            "kind IN ('consent.withdrawn')", name=op.f("ck_email_outbox_kind_known")
        ),
        sa.CheckConstraint(
            "state IN ('pending', 'sent', 'dead')", name=op.f("ck_email_outbox_state_known")
        ),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_email_outbox_account_id_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["consent_requests.id"],
            name=op.f("fk_email_outbox_request_id_consent_requests"),
        ),
        sa.ForeignKeyConstraint(
            ["team_id"], ["teams.id"], name=op.f("fk_email_outbox_team_id_teams")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_email_outbox")),
    )
    with op.batch_alter_table("email_outbox", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_email_outbox_account_id"), ["account_id"])
        batch_op.create_index(batch_op.f("ix_email_outbox_request_id"), ["request_id"])
        batch_op.create_index(batch_op.f("ix_email_outbox_team_id"), ["team_id"])
        batch_op.create_index("ix_email_outbox_state_next_attempt_at", ["state", "next_attempt_at"])


def downgrade():
    op.drop_table("email_outbox")
