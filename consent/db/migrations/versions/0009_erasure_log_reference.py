"""Erasure receipts refer to their log leaf like every other signed record

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 06:00:00.000000

consents, withdrawals and media_renditions name their log leaf with a foreign key and check that
their signature is 64 bytes; patient_erasures had neither (the columns were copied by hand and
drifted). They now come from one mixin (consent.records.mixin.SignedRecord). Rows that would
break the new rules are named and the upgrade refused, changing nothing.
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade():
    # Checked first: on SQLite each statement below commits on its own.
    orphans = (
        op.get_bind()
        .execute(
            sa.text(
                "SELECT id FROM patient_erasures WHERE length(signature) != 64 "
                'OR log_index NOT IN (SELECT "index" FROM log_leaves)'
            )
        )
        .scalars()
        .all()
    )
    if orphans:
        raise RuntimeError(
            "These erasure receipts have no log leaf or a damaged signature; run the audit "
            f"(flask --app consent audit) before upgrading: {', '.join(orphans)}"
        )
    with op.batch_alter_table("patient_erasures") as batch:
        batch.create_foreign_key(
            op.f("fk_patient_erasures_log_index_log_leaves"),
            "log_leaves",
            ["log_index"],
            ["index"],
        )
        batch.create_check_constraint(
            op.f("ck_patient_erasures_signature_length"), "length(signature) = 64"
        )


def downgrade():
    with op.batch_alter_table("patient_erasures") as batch:
        batch.drop_constraint(op.f("ck_patient_erasures_signature_length"), type_="check")
        batch.drop_constraint(op.f("fk_patient_erasures_log_index_log_leaves"), type_="foreignkey")
