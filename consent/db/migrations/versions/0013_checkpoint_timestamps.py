"""RFC 3161 timestamps of checkpoints

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 12:00:00.000000

One row per timestamped checkpoint (the tree of ``tree_size`` entries): the signed note as it
was timestamped, the authority's address, its DER reply and its time. A new table: nothing
recorded changes; a downgrade drops the tokens (the checkpoints can be timestamped again, at a
later time).
"""

import sqlalchemy as sa
from alembic import op

import consent.db.types

# revision identifiers, used by Alembic.
revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "checkpoint_timestamps",
        sa.Column("tree_size", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("note_sha256", sa.LargeBinary(length=32), nullable=False),
        sa.Column("tsa_url", sa.String(length=2000), nullable=False),
        sa.Column("response", sa.LargeBinary(), nullable=False),
        sa.Column("gen_time", consent.db.types.UTCDateTime(), nullable=False),
        sa.Column("stamped_at", consent.db.types.UTCDateTime(), nullable=False),
        sa.CheckConstraint(
            "tree_size >= 1", name=op.f("ck_checkpoint_timestamps_tree_size_positive")
        ),
        sa.CheckConstraint(
            "length(note_sha256) = 32", name=op.f("ck_checkpoint_timestamps_note_sha256_length")
        ),
        sa.PrimaryKeyConstraint("tree_size", name=op.f("pk_checkpoint_timestamps")),
    )


def downgrade():
    op.drop_table("checkpoint_timestamps")
