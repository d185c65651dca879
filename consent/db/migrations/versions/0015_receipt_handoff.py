"""The patient's copy on their phone: short-lived, one-device links from the tablet's last page
(issue 21). A new table; nothing recorded changes.

Revision ID: 0015
Revises: 0014
"""

import sqlalchemy as sa
from alembic import op

import consent.db.types

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "receipt_handoffs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("consent_id", sa.String(length=40), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", consent.db.types.UTCDateTime(), nullable=False),
        sa.Column("expires_at", consent.db.types.UTCDateTime(), nullable=False),
        sa.Column("device", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["consent_id"], ["consents.id"], name=op.f("fk_receipt_handoffs_consent_id_consents")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_receipt_handoffs")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_receipt_handoffs_token_hash")),
    )
    with op.batch_alter_table("receipt_handoffs", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_receipt_handoffs_consent_id"), ["consent_id"], unique=False
        )


def downgrade():
    with op.batch_alter_table("receipt_handoffs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_receipt_handoffs_consent_id"))
    op.drop_table("receipt_handoffs")
