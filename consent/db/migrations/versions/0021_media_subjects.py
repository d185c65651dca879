"""Several people in one picture (issue 19): media_subjects, one row per patient seen in a
media item, backfilled with the patient each existing item was uploaded for; and the group id
shared by the requests made at once for the several subjects of the same media.

Existing items keep their bytes under their patient's own key (key_sealed NULL); nothing
recorded changes.

Revision ID: 0021
Revises: 0020
"""

import sqlalchemy as sa
from alembic import op

import consent.db.types

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "media_subjects",
        sa.Column("media_id", sa.String(length=40), nullable=False),
        sa.Column("patient_id", sa.String(length=40), nullable=False),
        sa.Column("added_at", consent.db.types.UTCDateTime(), nullable=False),
        sa.Column("added_by", sa.String(length=60), nullable=False),
        sa.Column("key_sealed", sa.LargeBinary(), nullable=True),
        sa.ForeignKeyConstraint(
            ["media_id"], ["media_items.id"], name=op.f("fk_media_subjects_media_id_media_items")
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_media_subjects_patient_id_patients")
        ),
        sa.PrimaryKeyConstraint("media_id", "patient_id", name=op.f("pk_media_subjects")),
    )
    op.create_index("ix_media_subjects_patient_id", "media_subjects", ["patient_id"], unique=False)
    op.execute(
        "INSERT INTO media_subjects (media_id, patient_id, added_at, added_by, key_sealed) "
        "SELECT id, patient_id, created_at, 'upload', NULL FROM media_items"
    )
    # Not in batch mode: recreating consent_requests on SQLite would trip the foreign keys of
    # the rows that name it; a nullable column is added in place on both engines.
    op.add_column("consent_requests", sa.Column("group_id", sa.String(length=40), nullable=True))
    op.create_index("ix_consent_requests_group_id", "consent_requests", ["group_id"], unique=False)


def downgrade():
    # Nothing recorded is ever lost: once a second person was added to an item, an item's bytes
    # moved under a media key (held only in these rows), or requests were grouped, the table
    # holds what the older schema cannot, and 0021 cannot be undone.
    recorded = (
        op.get_bind()
        .execute(
            sa.text(
                "SELECT (SELECT count(*) FROM media_subjects s JOIN media_items m"
                " ON m.id = s.media_id WHERE s.key_sealed IS NOT NULL"
                " OR s.patient_id <> m.patient_id)"
                " + (SELECT count(*) FROM consent_requests WHERE group_id IS NOT NULL)"
            )
        )
        .scalar()
    )
    if recorded:
        raise RuntimeError(
            "media items have several subjects or their own keys, or requests are grouped; "
            "0021 cannot be undone."
        )
    # In place, as 0016 does (SQLite 3.35+ and PostgreSQL drop a column without a copy).
    op.drop_index("ix_consent_requests_group_id", table_name="consent_requests")
    op.drop_column("consent_requests", "group_id")
    op.drop_index("ix_media_subjects_patient_id", table_name="media_subjects")
    op.drop_table("media_subjects")
