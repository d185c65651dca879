"""Case texts of a request (issue 20): the texts, sealed, with their normalised SHA-256 and
MinHash, and the band index of the near match. New tables; nothing recorded changes.

Revision ID: 0017
Revises: 0016
"""

import sqlalchemy as sa
from alembic import op

import consent.db.types

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "case_texts",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("team_id", sa.String(length=40), nullable=False),
        sa.Column("request_id", sa.String(length=40), nullable=False),
        sa.Column("ordinal", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("characters", sa.Integer(), nullable=False),
        sa.Column("text_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("minhash", sa.LargeBinary(), nullable=False),
        sa.Column("identifiers_confirmed", sa.Boolean(), nullable=False),
        sa.Column("confirmed_by", sa.Integer(), nullable=True),
        sa.Column("created_at", consent.db.types.UTCDateTime(), nullable=False),
        sa.CheckConstraint("length(sha256) = 64", name=op.f("ck_case_texts_sha256_hex")),
        sa.CheckConstraint("characters > 0", name=op.f("ck_case_texts_not_empty")),
        sa.ForeignKeyConstraint(
            ["confirmed_by"], ["accounts.id"], name=op.f("fk_case_texts_confirmed_by_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["consent_requests.id"],
            name=op.f("fk_case_texts_request_id_consent_requests"),
        ),
        sa.ForeignKeyConstraint(
            ["team_id"], ["teams.id"], name=op.f("fk_case_texts_team_id_teams")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_texts")),
        sa.UniqueConstraint("request_id", "ordinal", name=op.f("uq_case_texts_request_id_ordinal")),
    )
    with op.batch_alter_table("case_texts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_case_texts_request_id"), ["request_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_case_texts_sha256"), ["sha256"], unique=False)
        batch_op.create_index(batch_op.f("ix_case_texts_team_id"), ["team_id"], unique=False)
    op.create_table(
        "case_text_bands",
        sa.Column("band", sa.SmallInteger(), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.Column("text_id", sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(
            ["text_id"],
            ["case_texts.id"],
            name=op.f("fk_case_text_bands_text_id_case_texts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("band", "value", "text_id", name=op.f("pk_case_text_bands")),
    )


def downgrade():
    op.drop_table("case_text_bands")
    with op.batch_alter_table("case_texts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_texts_team_id"))
        batch_op.drop_index(batch_op.f("ix_case_texts_sha256"))
        batch_op.drop_index(batch_op.f("ix_case_texts_request_id"))
    op.drop_table("case_texts")
